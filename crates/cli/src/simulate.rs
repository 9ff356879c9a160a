//! `orderport simulate`: serve the channel simulators until interrupted.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use orderport_sim::{
    ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock, StatusMix, Tz,
};

use crate::exit::Failure;
use crate::shutdown::Shutdown;

/// Arguments of `orderport simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// First port: the Spark Shipping, Listing Mirror, Order Time and Klaviyo simulators listen
    /// on this port and the three after it. 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The generator's seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Stores per channel.
    #[arg(long, default_value_t = 1)]
    stores: usize,
    /// Orders per day per store.
    #[arg(long, default_value_t = 20)]
    orders_per_day: u32,
    /// Days of history.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Final status weights: awaiting_payment,awaiting_shipment,on_hold,shipped,cancelled.
    #[arg(long)]
    status_mix: Option<StatusMix>,
    /// The simulated store servers' IANA time zone.
    #[arg(long, default_value = "UTC")]
    timezone: Tz,
    /// Share of invalid orders, from 0 to 1.
    #[arg(long, default_value_t = 0.05)]
    invalid_share: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Every Nth data request gets a 429 with Retry-After (0 = never).
    #[arg(long, default_value_t = 0)]
    rate_limit_every: u32,
    /// Every Nth data request gets a 500.
    #[arg(long, default_value_t = 0)]
    error_500_every: u32,
    /// Every Nth data request gets a 503.
    #[arg(long, default_value_t = 0)]
    error_503_every: u32,
    /// Every Nth data request gets an HTML error page with status 200.
    #[arg(long, default_value_t = 0)]
    html_200_every: u32,
    /// Every Nth data request gets a truncated body.
    #[arg(long, default_value_t = 0)]
    truncate_every: u32,
    /// Modify an order while a page walk is under way, shifting the rows after it.
    #[arg(long)]
    shift_during_walk: bool,
    /// Also write a stores file for the simulated stores here.
    #[arg(long)]
    write_config: Option<PathBuf>,
}

impl SimulateArgs {
    fn faults(&self) -> Faults {
        Faults {
            latency: std::time::Duration::from_millis(self.latency_ms),
            rate_limit_every: self.rate_limit_every,
            retry_after_secs: 1,
            error_500_every: self.error_500_every,
            error_503_every: self.error_503_every,
            html_200_every: self.html_200_every,
            truncate_every: self.truncate_every,
            shift_during_walk: self.shift_during_walk,
            ..Faults::default()
        }
    }

    fn generator(&self, offset: u64) -> GeneratorConfig {
        let defaults = GeneratorConfig::default();
        GeneratorConfig {
            seed: self.seed + offset,
            stores: self.stores,
            orders_per_day: self.orders_per_day,
            days: self.days,
            status_mix: self.status_mix.clone().unwrap_or(defaults.status_mix),
            timezone: self.timezone,
            invalid_share: self.invalid_share,
        }
    }

    fn addr(&self, offset: u16) -> SocketAddr {
        let port = if self.port == 0 {
            0
        } else {
            self.port.saturating_add(offset)
        };
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }
}

/// Serves until SIGTERM or Ctrl-C, then exits 0.
pub async fn run(args: SimulateArgs, json: bool) -> Result<(), Failure> {
    let shutdown = Shutdown::listen();
    let clock = SimClock::system();
    let mut sims = Vec::new();
    for (i, flavor) in Flavor::ALL.into_iter().enumerate() {
        let sim = ChannelSim::start(
            flavor,
            args.generator(i as u64),
            args.faults(),
            clock.clone(),
            args.addr(i as u16),
        )
        .await
        .with_context(|| format!("starting the {} simulator", flavor.channel_id()))
        .map_err(Failure::usage)?;
        sims.push(sim);
    }
    let klaviyo = KlaviyoSim::start(args.faults(), args.addr(3))
        .await
        .context("starting the Klaviyo simulator")
        .map_err(Failure::usage)?;
    let toml: String = sims
        .iter()
        .map(ChannelSim::stores_toml)
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(path) = &args.write_config {
        std::fs::write(path, &toml)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::usage)?;
    }
    print_endpoints(&sims, &klaviyo, &toml, json);
    shutdown.token().cancelled().await;
    for sim in sims {
        eprintln!(
            "{}: {} requests served",
            sim.flavor().channel_id(),
            sim.request_count()
        );
        sim.shutdown().await;
    }
    klaviyo.shutdown().await;
    Ok(())
}

fn print_endpoints(sims: &[ChannelSim], klaviyo: &KlaviyoSim, toml: &str, json: bool) {
    if json {
        let stores: Vec<_> = sims
            .iter()
            .flat_map(|sim| {
                sim.stores().into_iter().map(move |s| {
                    serde_json::json!({
                        "channel": sim.flavor().channel_id(), "id": s.id, "name": s.name,
                        "url": s.url, "timezone": s.timezone.name(), "username": s.username,
                        "password": s.password, "api_key": s.api_key,
                    })
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "stores": stores, "klaviyo_url": klaviyo.url() })
        );
        return;
    }
    println!(
        "Simulators on loopback (fake credentials, for local use only). Ctrl-C (or SIGTERM) stops them.\n"
    );
    for sim in sims {
        for s in sim.stores() {
            println!(
                "{:<15} {}  store {}  user {}  password {}{}",
                sim.flavor().channel_id(),
                s.url,
                s.id,
                s.username,
                s.password,
                s.api_key
                    .as_deref()
                    .map(|k| format!("  api_key {k}"))
                    .unwrap_or_default()
            );
        }
    }
    println!("{:<15} {}\n", "klaviyo", klaviyo.url());
    println!("A stores file for them (or use --write-config FILE):\n\n{toml}");
}
