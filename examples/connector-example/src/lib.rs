//! A complete orderport connector for **Acme Market**, a made-up JSON API, written on
//! `orderport-http` and the connector helpers of `orderport-core`.
//!
//! The made-up API:
//!
//! - Every call carries `Authorization: Bearer {access_token}`; the token is a named secret,
//!   `access_token` (or `access_token_env`) in the store's `[store.secrets]`.
//! - `GET {url}/v1/orders?updated_after=..&updated_before=..&page=N` lists the orders modified
//!   in a window. The bounds are UTC without an offset (`2026-03-01T00:00:00`), whole seconds,
//!   and **strictly exclusive**. The reply is `{"orders": [...]}`, and the page count is in the
//!   `X-Total-Pages` header. An order's `created_at` is in the store's wall clock and its
//!   `updated_at_gmt` in UTC, both without an offset.
//! - `POST {url}/v1/orders/{id}/fulfillments` records a shipment (201). It is **not**
//!   idempotent, so only a 429 (refused before processing) is retried. A 401 on it means the
//!   token is read-only.
//! - `GET {url}/v1/ping` answers 200 when the token is good.
//!
//! # Example
//!
//! ```
//! use orderport_core::StoresFile;
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "acme-market-main"
//!     name = "Acme main"
//!     channel = "acme-market"
//!     url = "https://api.acme-market.example"
//!     request_timeout_secs = 20
//!     [store.secrets]
//!     access_token_env = "ACME_TOKEN"
//!     "#,
//!     &|var| (var == "ACME_TOKEN").then(|| "not-printed".to_owned()),
//! )?;
//! let channel = orderport_connector_example::connect(file.store("acme-market-main")?)?;
//! assert_eq!(channel.spec().id, "acme-market");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

// ANCHOR: imports
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use orderport_core::{
    json_order, Address, BoundsRule, CanonicalStatus, Capabilities, ChannelError, ChannelSpec,
    Clock, ConfigError, Customer, FetchOutcome, InvalidShipment, LineItem, Order, Page, PageNumber,
    PageToken, Reasons, Requirement, Secrets, SellingChannel, ShipmentUpdate, StoreConfig,
    StoreProfile, TimeWindow,
};
use orderport_http::{
    endpoint, Auth, Failure, HttpClient, HttpService, HttpSettings, Idempotency, Request,
    StatusHook,
};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;
// ANCHOR_END: imports

// ANCHOR: spec
/// Acme Market's declaration, the one place its id, rules, statuses and capabilities live.
pub static SPEC: ChannelSpec = ChannelSpec {
    id: "acme-market",
    name: "Acme Market",
    // Checked by `orderport_core::finish` on every order, the same way for every channel.
    requirements: &[Requirement::ShipToAddress, Requirement::IsoCountryCode],
    // Used when a store has no `[store.status_map]`; raw strings are compared case-sensitively
    // unless the store sets `status_match = "case_insensitive"`.
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["pending"]),
        (CanonicalStatus::AwaitingShipment, &["paid"]),
        (CanonicalStatus::OnHold, &["held"]),
        (CanonicalStatus::Shipped, &["fulfilled"]),
        (CanonicalStatus::Cancelled, &["cancelled"]),
    ],
    // A fulfillment lists its lines; orders carry `customer.email`; Acme's five states are
    // fixed (no store-defined statuses).
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(true),
    // `updated_at_gmt` has whole seconds.
    modified_precision: Duration::seconds(1),
};

/// The secrets a store sets in `[store.secrets]`; any other name is refused.
pub const SECRETS: &[&str] = &["access_token"];

/// The order feed's window filter: whole seconds, both bounds strictly exclusive.
const BOUNDS: BoundsRule = BoundsRule::exclusive(Duration::seconds(1));

/// How the window bounds are written: UTC without an offset.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
// ANCHOR_END: spec

// ANCHOR: connect
/// An Acme Market channel for one store, sending through orderport's shared HTTP client. Needs
/// the store's `url` (https, or http to loopback or with `allow_insecure_http`) and its
/// `access_token`; fails on a store of another channel, an unknown setting or secret, or a
/// setting out of range. Does no I/O.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    let client = HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.0))?;
    connect_with(config, &client)
}

/// [`connect`], sending through the host platform's HTTP client.
pub fn connect_with(
    config: &StoreConfig,
    client: &HttpClient,
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    // Refuses a store of another channel; resolves the zone and the status mapping.
    let profile = StoreProfile::new(config, &SPEC)?;
    // Acme has no settings of its own: only the HTTP layer's timeout, size limit and retries.
    config.reject_unknown_settings(orderport_http::settings::SETTINGS)?;
    config.reject_unknown_secrets(SECRETS)?;
    let token = config.required_secret("access_token", "set it in [store.secrets]")?;
    let error = |field: &str, e: String| ConfigError::store(&config.id, field, e);
    let url = endpoint::parse(&config.url, config.allow_insecure_http)
        .map_err(|e| error("url", e.to_string()))?;
    let auth = Auth::none().with_prefixed_header("Authorization", "Bearer ", token);
    let auth = auth.map_err(|e| error(&Secrets::field("access_token"), e.to_string()))?;
    let settings = HttpSettings::from_store(config, HttpSettings::default())?;
    let http = HttpService::new(client.clone(), &config.id, auth, settings)
        .with_hook(Arc::new(ReadOnlyToken));
    Ok(Box::new(AcmeChannel { profile, url, http }))
}

struct AcmeChannel {
    profile: StoreProfile,
    url: Url,
    http: HttpService,
}

/// Acme's reading of a failure the default mapping gets wrong: a 401 on a fulfillment means a
/// token that may read but not write, which is a permission to grant, not a bad token.
#[derive(Debug)]
struct ReadOnlyToken;

impl StatusHook for ReadOnlyToken {
    fn classify(&self, failure: &Failure<'_>) -> Option<ChannelError> {
        let read_only = failure.status == 401 && failure.operation == "fulfillment";
        read_only.then(|| ChannelError::Permission {
            store: failure.owner.to_owned(),
            operation: failure.operation.to_owned(),
            detail: format!("{}; the token is read-only", failure.status_and_said()),
        })
    }
}
// ANCHOR_END: connect

// ANCHOR: trait
#[async_trait]
impl SellingChannel for AcmeChannel {
    fn spec(&self) -> &'static ChannelSpec {
        &SPEC
    }

    fn store(&self) -> &StoreProfile {
        &self.profile
    }

    async fn check_connection(&self) -> Result<(), ChannelError> {
        let ping = Request::get(self.endpoint(&["v1", "ping"]), "ping");
        self.http.send(ping).await.map(drop)
    }

    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let number = PageNumber::from_token(&self.profile.id, page)?;
        let (after, before) = window.query_bounds(Clock::Utc, BOUNDS).format(TIME_FORMAT);
        let mut url = self.endpoint(&["v1", "orders"]);
        url.query_pairs_mut()
            .append_pair("updated_after", &after)
            .append_pair("updated_before", &before)
            .append_pair("page", &number.get().to_string());
        let reply = self.http.send(Request::get(url, "order export")).await?;
        let (headers, body) = (&reply.headers, &reply.body);
        // A reply that is not an orders page (an HTML error page with HTTP 200, say) is a
        // protocol error, never an empty page.
        let orders: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
            let detail = format!("page {} is not an orders page: {e}", number.get());
            self.http.protocol_error(detail, body)
        })?;
        // The page count is a header: every fixture of an orders page records it.
        let total = headers.get("x-total-pages").and_then(|v| v.to_str().ok());
        let total = total.and_then(|v| v.trim().parse().ok());
        let total =
            total.ok_or_else(|| self.http.protocol_error("no X-Total-Pages header", body))?;
        let next = number.next_by_total(total, orders.len(), &self.profile, window)?;
        Ok(Page::new(
            orders.into_iter().map(|o| self.outcome(o)).collect(),
            next,
        ))
    }

    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        let invalid = |reason| ChannelError::InvalidShipment {
            store: self.profile.id.clone(),
            reason,
        };
        // Validity, and what the channel can take (partial shipments), before anything is sent.
        update.check_for(&SPEC).map_err(invalid)?;
        let Some(id) = update.order.external_id.as_deref() else {
            return Err(invalid(InvalidShipment::Empty {
                order: update.order.order_number.clone(),
                field: "order.external_id",
            }));
        };
        // `lines` in Acme's shape are the canonical `ShippedItem`s; none for a complete
        // shipment that lists no items, which fulfils every line.
        let body = json!({
            "carrier": update.carrier,
            "service": update.service,
            "tracking_number": update.tracking_number,
            "shipped_on": update.ship_date,
            "notify_customer": update.notify_customer,
            "lines": update.items(),
        });
        let url = self.endpoint(&["v1", "orders", id, "fulfillments"]);
        let request = Request::post(url, "fulfillment")
            .json(&body)
            .map_err(|e| self.http.protocol_error(e.to_string(), b""))?
            // Not idempotent: a retry after a timeout could record the shipment twice.
            .idempotency(Idempotency::RateLimitOnly);
        self.http.send(request).await.map(drop)
    }
}
// ANCHOR_END: trait

// ANCHOR: mapping
#[derive(Deserialize)]
struct WireOrder {
    id: String,
    number: String,
    state: String,
    created_at: String,
    updated_at_gmt: String,
    total: String,
    currency: Option<String>,
    // In Acme's shape, a customer and an address have the canonical field names.
    #[serde(default)]
    customer: Customer,
    shipping_address: Option<Address>,
    lines: Vec<WireLine>,
}

#[derive(Deserialize)]
struct WireLine {
    id: String,
    sku: String,
    title: String,
    quantity: u32,
    price: String,
}

impl AcmeChannel {
    /// `{url}/seg/ments`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One order: accepted, or rejected with every reason. A bad order never fails its page.
    fn outcome(&self, value: Value) -> FetchOutcome {
        let wire: WireOrder = match json_order(value, &self.profile, "id", "number") {
            Ok(wire) => wire,
            Err(rejected) => return rejected,
        };
        let (mut r, store_clock) = (Reasons::new(), Clock::Store(self.profile.zone));
        let mut items = Vec::new();
        for (i, line) in wire.lines.into_iter().enumerate() {
            let price = r.money(&format!("items[{i}].unit_price"), &line.price);
            let mut item = LineItem::new(line.sku, line.title, line.quantity, price);
            item.line_id = Some(line.id);
            items.push(item);
        }
        Order::builder(&SPEC, &self.profile, wire.id, wire.number)
            .status(r.status(&self.profile.statuses, &wire.state), wire.state)
            // `created_at` is in the store's wall clock, `updated_at_gmt` in UTC.
            .ordered_at(r.time("ordered_at", &wire.created_at, store_clock))
            .modified_at(r.time("modified_at", &wire.updated_at_gmt, Clock::Utc))
            .order_total(r.money("order_total", &wire.total))
            .currency(r.currency("currency", wire.currency.as_deref()))
            .customer(wire.customer)
            .ship_to(wire.shipping_address)
            .items(items)
            // Adds the channel's requirements (ship-to, ISO country) to the reasons found.
            .finish(r)
    }
}
// ANCHOR_END: mapping
