//! `orderport demo`: the whole job against in-process simulators, for a newcomer with no
//! account anywhere. It writes nothing outside a temporary directory (or `--dir`).
//!
//! Two acts: an import of every store with a shipment pushed back to each (this module), then
//! the status sync to Klaviyo ([`status_sync`]).

mod status_sync;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use chrono::{Duration, Utc};
use clap::Args;
use orderport::{
    CanonicalStatus, FetchOutcome, Order, OrderRef, SellingChannel, ShipmentKind, ShipmentScope,
    ShipmentUpdate, ShippedItem, StoreConfig, StoresFile, TimeWindow,
};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock};
use serde::Serialize;

use crate::exit::{Failure, INTERRUPTED};
use crate::import::write_line;
use crate::progress::Progress;
use crate::shutdown::Shutdown;
use crate::walk::{walk, Tally, WalkError};

/// Arguments of `orderport demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files (stores.toml, orders, rejects) in this directory instead of a
    /// temporary one that is removed at the end.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Days of history to import.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Orders per day each simulated store receives.
    #[arg(long, default_value_t = 20)]
    orders_per_day: u32,
    /// The generator's seed: the same seed gives the same orders.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// What the demo did for one store.
#[derive(Debug, Serialize)]
struct StoreReport {
    store: String,
    channel: String,
    timezone: String,
    imported: usize,
    rejected: usize,
    pages: usize,
    by_status: std::collections::BTreeMap<CanonicalStatus, usize>,
    top_rejection_reasons: Vec<(String, usize)>,
    shipment: Option<ShipmentReport>,
    orders_file: PathBuf,
    rejects_file: PathBuf,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct ShipmentReport {
    order_number: String,
    tracking_number: String,
    received_by_simulator: bool,
}

/// Runs the demo. SIGTERM or Ctrl-C stops it at once with exit 130 (the temporary directory
/// is removed as usual).
pub async fn run(args: DemoArgs, json: bool) -> Result<(), Failure> {
    let shutdown = Shutdown::listen();
    let temp = match &args.dir {
        Some(_) => None,
        None => Some(
            tempfile::tempdir()
                .context("creating a temporary directory")
                .map_err(Failure::usage)?,
        ),
    };
    let dir = match (&args.dir, &temp) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating {}", dir.display()))
                .map_err(Failure::usage)?;
            dir.clone()
        }
        (None, Some(temp)) => temp.path().to_path_buf(),
        (None, None) => return Err(Failure::usage(anyhow!("no directory for the demo"))),
    };
    let clock = SimClock::system();
    let sims = start_simulators(&args, &clock).await?;
    let config_path = dir.join("stores.toml");
    let toml: String = sims
        .iter()
        .map(ChannelSim::stores_toml)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config_path, toml)
        .with_context(|| format!("writing {}", config_path.display()))
        .map_err(Failure::usage)?;
    let stores = StoresFile::load(&config_path).map_err(Failure::usage)?;
    if !json {
        println!(
            "orderport demo: {} simulated stores on 127.0.0.1, {} days of orders each; files in {}",
            stores.stores.len(),
            args.days,
            dir.display()
        );
    }
    let window = TimeWindow::new(
        clock.now() - Duration::days(i64::from(args.days)),
        clock.now(),
    )
    .map_err(Failure::usage)?;
    let mut reports = Vec::new();
    for store in &stores.stores {
        let sim = sims
            .iter()
            .find(|sim| sim.stores().iter().any(|s| s.id == store.id))
            .ok_or_else(|| Failure::usage(anyhow!("no simulator serves store {}", store.id)))?;
        reports.push(run_store(store, sim, window, &dir, json, &shutdown).await?);
    }
    let status = status_sync::run(&sims, &dir, args.days, json, &shutdown).await;
    for sim in sims {
        sim.shutdown().await;
    }
    let status = status?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "stores": reports, "status_sync": status })
        );
    } else {
        print_summary(&reports);
        status_sync::print(&status)?;
        println!();
        if temp.is_some() {
            println!("The files were written to a temporary directory and removed; pass --dir DIR to keep them.");
        }
        println!("Next: `orderport simulate` serves these channels for your own tries; docs/cli.md has every command.");
    }
    if reports
        .iter()
        .any(|r| !r.shipment.as_ref().is_some_and(|s| s.received_by_simulator))
    {
        return Err(Failure::from(orderport::ChannelError::Transient {
            store: "demo".into(),
            detail: "a simulator did not receive its shipment".into(),
        }));
    }
    Ok(())
}

async fn start_simulators(args: &DemoArgs, clock: &SimClock) -> Result<Vec<ChannelSim>, Failure> {
    let mut sims = Vec::new();
    for (i, flavor) in Flavor::ALL.into_iter().enumerate() {
        let generator = GeneratorConfig {
            seed: args.seed + i as u64,
            orders_per_day: args.orders_per_day,
            days: args.days,
            timezone: demo_zone(flavor),
            ..GeneratorConfig::default()
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let sim = ChannelSim::start(flavor, generator, Faults::default(), clock.clone(), addr)
            .await
            .with_context(|| format!("starting the {} simulator", flavor.channel_id()))
            .map_err(Failure::usage)?;
        sims.push(sim);
    }
    Ok(sims)
}

/// Each simulated server runs in a different zone, so the demo shows time zones at work.
/// One page as JSON lines, and the first order awaiting shipment on it.
struct DemoPage {
    orders: Vec<u8>,
    rejects: Vec<u8>,
    to_ship: Option<Order>,
}

fn render(page: orderport::Page) -> std::io::Result<DemoPage> {
    let mut rendered = DemoPage {
        orders: Vec::new(),
        rejects: Vec::new(),
        to_ship: None,
    };
    for outcome in page.outcomes {
        match outcome {
            FetchOutcome::Accepted(order) => {
                if rendered.to_ship.is_none() && order.status == CanonicalStatus::AwaitingShipment {
                    rendered.to_ship = Some((*order).clone());
                }
                write_line(&mut rendered.orders, &order)?;
            }
            FetchOutcome::Rejected(rejection) => write_line(&mut rendered.rejects, &rejection)?,
        }
    }
    Ok(rendered)
}

fn demo_zone(flavor: Flavor) -> orderport_sim::Tz {
    match flavor {
        Flavor::SparkShipping => orderport_sim::Tz::America__Chicago,
        Flavor::ListingMirror => orderport_sim::Tz::UTC,
        Flavor::OrderTime => orderport_sim::Tz::America__Denver,
    }
}

async fn run_store(
    store: &StoreConfig,
    sim: &ChannelSim,
    window: TimeWindow,
    dir: &Path,
    json: bool,
    shutdown: &Shutdown,
) -> Result<StoreReport, Failure> {
    let started = Instant::now();
    let channel = orderport::connect(store)?;
    let orders_file = dir.join(format!("{}.orders.jsonl", store.id));
    let rejects_file = dir.join(format!("{}.rejects.jsonl", store.id));
    let mut orders = BufWriter::new(File::create(&orders_file)?);
    let mut rejects = BufWriter::new(File::create(&rejects_file)?);
    let mut to_ship: Option<Order> = None;
    let progress = Progress::new(&store.id, json);
    let channel: Arc<dyn SellingChannel> = Arc::from(channel);
    let (tally, result) = walk(
        Arc::clone(&channel),
        window,
        &progress,
        shutdown.token(),
        render,
        |page: std::io::Result<DemoPage>| {
            let page = page?;
            orders.write_all(&page.orders)?;
            rejects.write_all(&page.rejects)?;
            if to_ship.is_none() {
                to_ship = page.to_ship;
            }
            orders.flush()?;
            rejects.flush()
        },
    )
    .await;
    progress.finish();
    match result {
        Ok(()) => {}
        Err(WalkError::Channel(e)) => return Err(e.into()),
        Err(WalkError::Handler(e)) => return Err(e.into()),
        Err(WalkError::Cancelled) => {
            return Err(Failure {
                code: INTERRUPTED,
                error: anyhow!(
                    "demo stopped by {}",
                    shutdown.signal().unwrap_or("a signal")
                ),
            })
        }
    }
    let shipment = match to_ship {
        Some(order) => Some(ship(channel.as_ref(), &order, sim).await?),
        None => None,
    };
    Ok(report(
        store,
        channel.as_ref(),
        tally,
        shipment,
        orders_file,
        rejects_file,
        started,
    ))
}

fn report(
    store: &StoreConfig,
    channel: &dyn SellingChannel,
    tally: Tally,
    shipment: Option<ShipmentReport>,
    orders_file: PathBuf,
    rejects_file: PathBuf,
    started: Instant,
) -> StoreReport {
    StoreReport {
        store: store.id.clone(),
        channel: channel.spec().name.to_owned(),
        timezone: store.timezone.to_string(),
        imported: tally.imported,
        rejected: tally.rejected,
        pages: tally.pages,
        top_rejection_reasons: tally
            .top_reasons(3)
            .into_iter()
            .map(|(r, n)| (r.to_owned(), n))
            .collect(),
        by_status: tally.by_status,
        shipment,
        orders_file,
        rejects_file,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Ships one order with a label and checks that the simulator recorded it.
async fn ship(
    channel: &dyn SellingChannel,
    order: &Order,
    sim: &ChannelSim,
) -> Result<ShipmentReport, Failure> {
    let tracking_number = format!("DEMO{}", order.order_number);
    let update = label_for(order, channel.store().zone, &tracking_number);
    channel.push_shipment(&update).await?;
    let received = sim
        .shipments()
        .iter()
        .any(|s| s.tracking_number == tracking_number && s.order_number == order.order_number);
    Ok(ShipmentReport {
        order_number: order.order_number.clone(),
        tracking_number,
        received_by_simulator: received,
    })
}

/// A label for the whole of `order`, created now.
fn label_for(order: &Order, zone: orderport::StoreZone, tracking_number: &str) -> ShipmentUpdate {
    let now = Utc::now();
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some(order.external_id.clone()),
            order_number: order.order_number.clone(),
        },
        carrier: "USPS".into(),
        service: Some("Priority Mail".into()),
        tracking_number: tracking_number.to_owned(),
        ship_date: zone.to_wall(now).date(),
        label_created_at: Some(now),
        shipping_cost: Some(rust_decimal::Decimal::new(795, 2)),
        notes_to_buyer: Some("Thanks for your order!".into()),
        notify_customer: true,
        scope: ShipmentScope::Complete(
            order
                .items
                .iter()
                .map(|item| ShippedItem {
                    line_id: item.line_id.clone(),
                    sku: item.sku.clone(),
                    name: Some(item.name.clone()),
                    quantity: item.quantity,
                })
                .collect(),
        ),
        kind: ShipmentKind::Label,
    }
}

fn print_summary(reports: &[StoreReport]) {
    println!();
    for r in reports {
        println!(
            "{} — {} (server time zone {})",
            r.store, r.channel, r.timezone
        );
        println!(
            "  imported {} orders in {} pages ({:.1}s); rejected {}",
            r.imported, r.pages, r.seconds, r.rejected
        );
        let statuses: Vec<String> = r
            .by_status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        println!("  by status: {}", statuses.join(", "));
        if !r.top_rejection_reasons.is_empty() {
            println!("  top rejection reasons (fix these in the channel, then re-import):");
            for (reason, n) in &r.top_rejection_reasons {
                println!("    {n} × {reason}");
            }
        }
        match &r.shipment {
            Some(s) => println!(
                "  shipment pushed for order {} (tracking {}): {}",
                s.order_number,
                s.tracking_number,
                if s.received_by_simulator {
                    "received by the simulator ✓"
                } else {
                    "NOT received ✗"
                }
            ),
            None => println!("  no order awaiting shipment, so no shipment was pushed"),
        }
        println!();
    }
}
