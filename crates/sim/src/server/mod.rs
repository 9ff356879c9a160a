//! [`ChannelSim`]: a channel simulator served over HTTP on loopback.

mod custom_store;
mod order_time;
pub(crate) mod reply;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::book::{Book, Bounds};
use crate::faults::{FaultCounter, Faults};
use crate::generator::{self, GeneratorConfig};
use crate::{Flavor, SimClock};
use reply::Reply;

/// A simulated store and the fake credentials that open it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimStore {
    /// The store's id, as in stores.toml.
    pub id: String,
    /// The store's name.
    pub name: String,
    /// The endpoint a connector is configured with: the Custom Store URL, or Order Time's API
    /// base (its Custom Store endpoint is `{url}/shipstation`).
    pub url: String,
    /// The store server's zone.
    pub timezone: Tz,
    /// The user name (Order Time: the API user's e-mail).
    pub username: String,
    /// The password (Order Time: the API user's, for the REST transport only).
    pub password: String,
    /// Order Time's API key; `None` for Custom Store flavours.
    pub api_key: Option<String>,
    /// Order Time's developer key, accepted instead of the password; `None` elsewhere.
    pub dev_key: Option<String>,
}

/// A shipment update the simulator received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedShipment {
    /// The store it was sent to.
    pub store_id: String,
    /// The `order_number` query parameter.
    pub order_number: String,
    /// The `carrier` query parameter.
    pub carrier: String,
    /// The `service` query parameter; `None` when absent or empty.
    pub service: Option<String>,
    /// The `tracking_number` query parameter.
    pub tracking_number: String,
    /// The request body (the `<ShipNotice>` XML).
    pub body: String,
    /// When it arrived, by the simulator's clock.
    pub received_at: DateTime<Utc>,
}

/// One store as the server holds it.
#[derive(Debug)]
pub(crate) struct StoreState {
    pub info: SimStore,
    /// The URL path of the store's endpoint.
    pub path: String,
    pub book: Book,
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub flavor: Flavor,
    pub clock: SimClock,
    pub faults: Faults,
    pub stores: Vec<StoreState>,
    pub shipments: Mutex<Vec<RecordedShipment>>,
    pub requests: AtomicU64,
    pub fault_counter: FaultCounter,
    /// Orders per Custom Store export page ([`ChannelSim::set_page_size`]).
    pub page_size: AtomicUsize,
}

impl Shared {
    /// When a change the server makes now is dated: now, or now truncated to the minute under
    /// `minute_clock`.
    pub fn change_time(&self) -> DateTime<Utc> {
        let now = self.clock.now();
        if self.faults.minute_clock {
            now.duration_trunc(Duration::minutes(1)).unwrap_or(now)
        } else {
            now
        }
    }

    /// Records a shipment.
    pub fn record(&self, shipment: RecordedShipment) {
        self.shipments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(shipment);
    }
}

/// A channel simulator: a real HTTP server on loopback that speaks one channel's protocol for
/// one or more generated stores.
///
/// See the [crate documentation](crate) for an example and `docs/simulator.md` for what each
/// flavour serves.
pub struct ChannelSim {
    shared: Arc<Shared>,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A Custom Store export page holds this many orders, as in most store plugins.
pub const PAGE_SIZE: usize = 100;

impl ChannelSim {
    /// Generates the stores' orders and starts serving them on `addr` (port 0 picks a free
    /// port). `addr` must be a loopback address; the simulator never listens elsewhere.
    ///
    /// The generator's history ends at the clock's time at start, floored to the minute, and
    /// the same configuration and start time always give the same orders.
    pub async fn start(
        flavor: Flavor,
        generator: GeneratorConfig,
        faults: Faults,
        clock: SimClock,
        addr: SocketAddr,
    ) -> std::io::Result<ChannelSim> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the simulator listens on loopback only; {addr} is not a loopback address, use 127.0.0.1"),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let anchor = clock
            .now()
            .duration_trunc(Duration::minutes(1))
            .unwrap_or_else(|_| clock.now());
        let stores = (0..generator.stores.max(1))
            .map(|index| build_store(flavor, &generator, index, anchor, &base_url))
            .collect();
        let shared = Arc::new(Shared {
            flavor,
            clock,
            faults,
            stores,
            shipments: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            fault_counter: FaultCounter::default(),
            page_size: AtomicUsize::new(PAGE_SIZE),
        });
        let router = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "channel simulator stopped with an error");
            }
        });
        tracing::debug!(flavor = %flavor, %base_url, "channel simulator started");
        Ok(ChannelSim {
            shared,
            base_url,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Sets how many orders a Custom Store export page holds from now on (default
    /// [`PAGE_SIZE`]; at least 1), as a store plugin configured for larger pages would.
    pub fn set_page_size(&self, orders: usize) {
        self.shared.page_size.store(orders.max(1), Ordering::SeqCst);
    }

    /// The channel this simulator plays.
    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The clock the simulator reads.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Every simulated store, with its URL and credentials.
    pub fn stores(&self) -> Vec<SimStore> {
        self.shared.stores.iter().map(|s| s.info.clone()).collect()
    }

    /// `[[store]]` tables in the stores.toml shape (`docs/cli.md`) for every simulated store:
    /// id, name, channel, url, the fake credentials inline, the zone, and retry settings small
    /// enough for fault tests (10 ms backoff, at most 200 ms per wait, 6 attempts) with a
    /// timeout above the configured latency.
    ///
    /// Order Time stores are written for the connector's default transport, the Custom Store
    /// endpoint at `{url}/shipstation`: the e-mail and the API key, no password (seed 004's two
    /// credentials). [`rest_stores_toml`](Self::rest_stores_toml) writes them for the REST API.
    pub fn stores_toml(&self) -> String {
        self.toml(false)
    }

    /// [`stores_toml`](Self::stores_toml), with Order Time stores written for the REST
    /// transport: the password as well, which makes the connector use `/list` and `/shipdoc`.
    /// The same as `stores_toml` for the other flavours.
    pub fn rest_stores_toml(&self) -> String {
        self.toml(true)
    }

    fn toml(&self, rest: bool) -> String {
        let timeout = (self.shared.faults.latency.as_secs() * 2 + 10).max(10);
        let mut out = String::new();
        for store in &self.shared.stores {
            let s = &store.info;
            let _ = writeln!(out, "[[store]]");
            let _ = writeln!(out, "id = {}", toml_string(&s.id));
            let _ = writeln!(out, "name = {}", toml_string(&s.name));
            let _ = writeln!(out, "channel = {}", toml_string(self.flavor().channel_id()));
            let _ = writeln!(out, "url = {}", toml_string(&s.url));
            let _ = writeln!(out, "username = {}", toml_string(&s.username));
            // An Order Time store without a password uses the Custom Store endpoint.
            if s.api_key.is_none() || rest {
                let _ = writeln!(out, "password = {}", toml_string(&s.password));
            }
            if let Some(key) = &s.api_key {
                let _ = writeln!(out, "api_key = {}", toml_string(key));
            }
            let _ = writeln!(out, "timezone = {}", toml_string(s.timezone.name()));
            let _ = writeln!(out, "retry_max_attempts = 6");
            let _ = writeln!(out, "retry_base_delay_ms = 10");
            // A Retry-After longer than the longest wait is not waited for: allow the one
            // the simulator sends.
            let max_delay = (self.shared.faults.retry_after() * 1000).max(200);
            let _ = writeln!(out, "retry_max_delay_ms = {max_delay}");
            let _ = writeln!(out, "request_timeout_secs = {timeout}");
            out.push('\n');
        }
        out
    }

    /// Every shipment update received, in arrival order.
    pub fn shipments(&self) -> Vec<RecordedShipment> {
        self.shared
            .shipments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store(&self, store_id: &str) -> Option<&StoreState> {
        self.shared.stores.iter().find(|s| s.info.id == store_id)
    }

    /// Every order the generator made for a store, valid or not, visible yet or not, in
    /// placement order. Empty for an unknown store.
    pub fn order_numbers(&self, store_id: &str) -> Vec<String> {
        self.store(store_id)
            .map(|s| s.book.orders().iter().map(|o| o.number.clone()).collect())
            .unwrap_or_default()
    }

    /// The orders whose last modification, as of the clock's time, is in `[from, to]`
    /// (inclusive), oldest first. Empty for an unknown store.
    pub fn orders_visible(
        &self,
        store_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<String> {
        let Some(store) = self.store(store_id) else {
            return Vec::new();
        };
        let rows = store
            .book
            .rows(Bounds::Instant { from, to }, self.shared.clock.now());
        rows.iter()
            .map(|row| store.book.order(row.index).number.clone())
            .collect()
    }

    /// The order's last modification as of the clock's time, or `None` for an unknown or not
    /// yet placed order.
    pub fn last_modified(&self, store_id: &str, order_number: &str) -> Option<DateTime<Utc>> {
        let store = self.store(store_id)?;
        let index = store.book.find(order_number)?;
        store
            .book
            .state(index, self.shared.clock.now())
            .map(|s| s.modified)
    }

    /// Every HTTP request received so far, whatever its outcome.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Stops serving and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for ChannelSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSim")
            .field("flavor", &self.shared.flavor)
            .field("base_url", &self.base_url)
            .field(
                "stores",
                &self
                    .shared
                    .stores
                    .iter()
                    .map(|s| (&s.info.id, s.book.orders().len()))
                    .collect::<Vec<_>>(),
            )
            .field("faults", &self.shared.faults)
            .finish_non_exhaustive()
    }
}

impl Drop for ChannelSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A TOML basic string.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn build_store(
    flavor: Flavor,
    config: &GeneratorConfig,
    index: usize,
    anchor: DateTime<Utc>,
    base_url: &str,
) -> StoreState {
    let n = index + 1;
    let path = flavor.store_path(n);
    let info = match flavor {
        Flavor::OrderTime => SimStore {
            id: flavor.store_id(n),
            name: flavor.store_name(n),
            url: format!("{base_url}{path}"),
            timezone: config.timezone,
            username: format!("sim-ot-{n}@example.com"),
            password: format!("sim-ot-password-{n}"),
            api_key: Some(format!("sim-ot-api-key-{n}")),
            dev_key: Some(format!("sim-ot-dev-key-{n}")),
        },
        Flavor::SparkShipping | Flavor::ListingMirror => {
            let short = if flavor == Flavor::SparkShipping {
                "spark"
            } else {
                "lm"
            };
            SimStore {
                id: flavor.store_id(n),
                name: flavor.store_name(n),
                url: format!("{base_url}{path}"),
                timezone: config.timezone,
                username: format!("sim-{short}-user-{n}"),
                password: format!("sim-{short}-password-{n}"),
                api_key: None,
                dev_key: None,
            }
        }
    };
    let orders = generator::generate_store(config, flavor, index, anchor);
    StoreState {
        info,
        path,
        book: Book::new(config.timezone, orders),
    }
}

/// Every request: count it, wait the latency, and hand it to the flavour's handler.
async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    let reply = match shared.flavor {
        Flavor::SparkShipping | Flavor::ListingMirror => custom_store::handle(&shared, &request),
        Flavor::OrderTime => order_time::handle(&shared, &request),
    };
    reply.into_response()
}

/// A request as the handlers see it.
pub(crate) struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// `404` for a path the simulator does not serve.
pub(crate) fn not_found(path: &str) -> Reply {
    Reply::text(
        StatusCode::NOT_FOUND,
        format!("No endpoint at {path}; see docs/simulator.md for the paths each flavour serves"),
    )
}
