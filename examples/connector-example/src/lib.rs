//! A minimal, complete orderport connector for **Acme Market**, a made-up JSON API. It is the
//! example `docs/connector-guide.md` walks through: the guide quotes this file, and a test
//! (`tests/guide.rs`) fails when the two drift apart. Its other tests run it against wiremock
//! and against recorded fixtures with the conformance kit.
//!
//! The made-up API:
//!
//! - `GET {url}/v1/orders?updated_from=..&updated_to=..&page=N` with
//!   `Authorization: Bearer {api_key}`. Both bounds are RFC 3339 UTC and inclusive. It answers
//!   `{"orders": [...], "next_page": 2}`, with `next_page` null on the last page. Times carry an
//!   offset, or none when the store is configured to send wall-clock times.
//! - `POST {url}/v1/orders/{id}/fulfillments` with the shipment as JSON, answering 201.
//!   Fulfillments are idempotent per tracking number, so a retried POST cannot ship twice.
//! - `GET {url}/v1/ping`, answering 200 when the key is good.
//!
//! # Example
//!
//! ```
//! use orderport_core::StoresFile;
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "acme-main"
//!     name = "Acme main"
//!     channel = "acme-market"
//!     url = "https://api.acme.example"
//!     api_key_env = "ACME_KEY"
//!     request_timeout_secs = 20
//!     "#,
//!     &|var| (var == "ACME_KEY").then(|| "not-printed".to_owned()),
//! )?;
//! let channel = orderport_connector_example::connect(file.store("acme-main")?)?;
//! assert_eq!(channel.spec().id, "acme-market");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

// ANCHOR: imports
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use orderport_core::error::excerpt;
use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{
    finish, Address, CanonicalStatus, Capabilities, ChannelError, ChannelSpec, ConfigError,
    CurrencyCode, CustomFields, Customer, FetchOutcome, Gift, LineItem, Order, Page, PageToken,
    ReasonCode, Rejection, RejectionReason, Requirement, RetryPolicy, SellingChannel,
    ShipmentUpdate, StoreConfig, StoreProfile, StoreZone, TimeWindow,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    capabilities: Capabilities {
        partial_shipments: true, // a fulfillment lists its lines
        customer_email: true,    // orders carry `email`
        custom_statuses: false,  // Acme's five states are fixed
        shipment_kinds: false,
    },
    // `updated_at` has whole seconds.
    modified_precision: chrono::Duration::seconds(1),
};

/// The connector-specific store settings; any other key is refused when the store connects.
pub const SETTINGS: &[&str] = &[
    "request_timeout_secs",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
];
// ANCHOR_END: spec

// ANCHOR: connect
/// An Acme Market channel for one store. Needs the store's `url` (http or https) and `api_key`;
/// fails on a store of another channel, an unknown setting or one out of range. Does no I/O.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    Ok(Box::new(AcmeChannel::new(config)?))
}

struct AcmeChannel {
    profile: StoreProfile,
    base: String,
    api_key: SecretString,
    retry: RetryPolicy,
    http: reqwest::Client,
}

impl AcmeChannel {
    fn new(config: &StoreConfig) -> Result<Self, ConfigError> {
        // Refuses a store of another channel; resolves the zone and the status mapping.
        let profile = StoreProfile::new(config, &SPEC)?;
        config.reject_unknown_settings(SETTINGS)?;
        if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
            return Err(ConfigError::store(
                &config.id,
                "url",
                "use the http(s) API base",
            ));
        }
        let api_key = config.secrets.api_key.clone().ok_or_else(|| {
            ConfigError::store(&config.id, "api_key", "required; set api_key_env = \"VAR\"")
        })?;
        let retry = RetryPolicy {
            max_attempts: u32::try_from(ranged(config, "retry_max_attempts", 1, 20, 5)?)
                .unwrap_or(5),
            base_delay: Duration::from_millis(ranged(
                config,
                "retry_base_delay_ms",
                0,
                60_000,
                500,
            )?),
            max_delay: Duration::from_millis(ranged(
                config,
                "retry_max_delay_ms",
                0,
                600_000,
                60_000,
            )?),
        };
        let timeout = Duration::from_secs(ranged(config, "request_timeout_secs", 1, 3600, 30)?);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConfigError::store(&config.id, "url", e.without_url().to_string()))?;
        Ok(Self {
            profile,
            base: config.url.trim_end_matches('/').to_owned(),
            api_key,
            retry,
            http,
        })
    }
}

fn ranged(
    config: &StoreConfig,
    key: &str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, ConfigError> {
    match config.setting_u64(key)?.unwrap_or(default) {
        value if (min..=max).contains(&value) => Ok(value),
        value => Err(ConfigError::store(
            &config.id,
            key,
            format!("{value} is out of range; use {min} to {max}"),
        )),
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
        let url = format!("{}/v1/ping", self.base);
        self.send("ping", || self.http.get(&url)).await.map(drop)
    }

    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let number = match page {
            None => 1,
            Some(token) => {
                token
                    .as_str()
                    .parse::<u32>()
                    .map_err(|_| ChannelError::Configuration {
                        store: self.profile.id.clone(),
                        field: "page_token".to_owned(),
                        detail: format!("{:?} is not an Acme page token", token.as_str()),
                    })?
            }
        };
        let url = format!("{}/v1/orders", self.base);
        let query = [
            (
                "updated_from",
                window.from().to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            (
                "updated_to",
                window.to().to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            ("page", number.to_string()),
        ];
        let body = self
            .send("order export", || self.http.get(&url).query(&query))
            .await?;
        // A reply that is not an orders page (an HTML error page, say) is a protocol error,
        // never an empty page.
        let wire: WirePage = serde_json::from_slice(&body).map_err(|e| {
            ChannelError::protocol(
                &self.profile.id,
                format!("page {number} is not an orders page: {e}"),
                &body,
            )
        })?;
        Ok(Page::new(
            wire.orders.into_iter().map(|o| self.outcome(o)).collect(),
            // Only forward: a server that repeats a page cannot make the walk loop.
            wire.next_page
                .filter(|next| *next > number)
                .map(|next| PageToken::new(next.to_string())),
        ))
    }

    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        let refuse = |detail: String| ChannelError::Configuration {
            store: self.profile.id.clone(),
            field: "shipment".to_owned(),
            detail,
        };
        // Validity, and what the channel can take (partial shipments), before anything is sent.
        update
            .check_for(&SPEC)
            .map_err(|reason| ChannelError::InvalidShipment {
                store: self.profile.id.clone(),
                reason,
            })?;
        let id = update.order.external_id.as_deref().ok_or_else(|| {
            refuse(format!(
                "order {}: Acme needs the order's external_id",
                update.order.order_number
            ))
        })?;
        let fulfillment = WireFulfillment {
            carrier: &update.carrier,
            service: update.service.as_deref(),
            tracking_number: &update.tracking_number,
            shipped_on: update.ship_date,
            notify_customer: update.notify_customer,
            // Empty for a complete shipment that lists no items: Acme then fulfils every line.
            lines: update
                .items()
                .iter()
                .map(|item| WireFulfillmentLine {
                    id: item.line_id.as_deref(),
                    sku: &item.sku,
                    quantity: item.quantity,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&fulfillment).map_err(|e| refuse(e.to_string()))?;
        let url = format!("{}/v1/orders/{}/fulfillments", self.base, path_segment(id));
        self.send("fulfillment", || {
            self.http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
        .map(drop)
    }
}
// ANCHOR_END: trait

// ANCHOR: http
impl AcmeChannel {
    /// Sends the request `build` makes, retried by the store's policy (429 after its
    /// Retry-After, 5xx and network failures with backoff), and maps every failure to a
    /// [`ChannelError`] that names the store and never carries the key.
    async fn send(
        &self,
        operation: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, ChannelError> {
        let attempt = || async {
            let response = build()
                .bearer_auth(self.api_key.expose_secret())
                .send()
                .await
                .map_err(|e| self.transport(operation, e))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs);
            let body = response
                .bytes()
                .await
                .map_err(|e| self.transport(operation, e))?
                .to_vec();
            let store = self.profile.id.clone();
            match status {
                200..=299 => Ok(body),
                401 => Err(ChannelError::Authentication {
                    store,
                    detail: format!("HTTP 401 on {operation}"),
                }),
                403 => Err(ChannelError::Permission {
                    store,
                    operation: operation.to_owned(),
                    detail: excerpt(&body),
                }),
                429 => Err(ChannelError::RateLimited { store, retry_after }),
                500..=599 => Err(ChannelError::Transient {
                    store,
                    detail: format!("HTTP {status} on {operation}"),
                }),
                _ => Err(ChannelError::Refused {
                    store,
                    operation: operation.to_owned(),
                    status,
                    detail: excerpt(&body),
                }),
            }
        };
        self.retry.run(attempt, |_, _| {}).await
    }

    fn transport(&self, operation: &str, error: reqwest::Error) -> ChannelError {
        // Never the URL: some channels put credentials in it.
        let error = error.without_url();
        let detail = if error.is_timeout() {
            format!("{operation} timed out; raise request_timeout_secs if Acme is slow")
        } else {
            format!("{operation} failed: {error}")
        };
        ChannelError::Transient {
            store: self.profile.id.clone(),
            detail,
        }
    }
}

/// Percent-encodes everything but unreserved characters, for one URL path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
// ANCHOR_END: http

// ANCHOR: mapping
#[derive(Deserialize)]
struct WirePage {
    orders: Vec<Value>,
    next_page: Option<u32>,
}

#[derive(Deserialize)]
struct WireOrder {
    id: String,
    number: String,
    state: String,
    created_at: String,
    updated_at: String,
    total: String,
    currency: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    shipping_service: Option<String>,
    note: Option<String>,
    shipping_address: Option<WireAddress>,
    lines: Vec<WireLine>,
}

#[derive(Deserialize)]
struct WireAddress {
    name: Option<String>,
    street1: Option<String>,
    street2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize)]
struct WireLine {
    id: String,
    sku: String,
    title: String,
    quantity: u32,
    price: String,
}

#[derive(Serialize)]
struct WireFulfillment<'a> {
    carrier: &'a str,
    service: Option<&'a str>,
    tracking_number: &'a str,
    shipped_on: chrono::NaiveDate,
    notify_customer: bool,
    lines: Vec<WireFulfillmentLine<'a>>,
}

#[derive(Serialize)]
struct WireFulfillmentLine<'a> {
    id: Option<&'a str>,
    sku: &'a str,
    quantity: u32,
}

impl AcmeChannel {
    /// One order: accepted, or rejected with every reason. A bad order never fails its page.
    fn outcome(&self, value: Value) -> FetchOutcome {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let (external_id, order_number) = (text("id"), text("number"));
        let wire: WireOrder = match serde_json::from_value(value) {
            Ok(wire) => wire,
            Err(e) => {
                return FetchOutcome::Rejected(Rejection {
                    store_id: self.profile.id.clone(),
                    external_id,
                    order_number,
                    reasons: vec![RejectionReason::new(
                        "order",
                        ReasonCode::InvalidValue,
                        format!("the order is not in Acme's shape ({e}); report it to Acme"),
                    )],
                })
            }
        };
        let mut reasons = Vec::new();
        let zone = self.profile.zone;
        let status = self.map_status(&wire.state).unwrap_or_else(|reason| {
            reasons.push(reason);
            CanonicalStatus::AwaitingPayment // a placeholder: the order is rejected anyway
        });
        let ordered_at = date(zone, "ordered_at", &wire.created_at, &mut reasons);
        let modified_at = date(zone, "modified_at", &wire.updated_at, &mut reasons);
        let order_total = money("order_total", &wire.total, &mut reasons);
        let currency = wire.currency.as_deref().and_then(|code| {
            let parsed = CurrencyCode::parse(code);
            if parsed.is_none() {
                reasons.push(RejectionReason::new(
                    "currency",
                    ReasonCode::InvalidValue,
                    format!("{code:?} is not an ISO 4217 code"),
                ));
            }
            parsed
        });
        let mut items = Vec::new();
        for (i, line) in wire.lines.into_iter().enumerate() {
            if line.quantity == 0 {
                reasons.push(RejectionReason::new(
                    format!("items[{i}].quantity"),
                    ReasonCode::InvalidValue,
                    "quantity 0; a line ships at least one unit",
                ));
            }
            items.push(LineItem {
                line_id: Some(line.id),
                unit_price: money(&format!("items[{i}].unit_price"), &line.price, &mut reasons),
                sku: line.sku,
                name: line.title,
                quantity: line.quantity,
                weight: None,
                image_url: None,
                options: Vec::new(),
                location: None,
                upc: None,
            });
        }
        let ship_to = wire.shipping_address.map(|a| Address {
            name: a.name,
            address1: a.street1,
            address2: a.street2,
            city: a.city,
            state: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: wire.phone.clone(),
            email: wire.email.clone(),
            ..Address::default()
        });
        let order = Order {
            channel: SPEC.id.to_owned(),
            store_id: self.profile.id.clone(),
            store_name: self.profile.name.clone(),
            external_id: wire.id,
            order_number: wire.number,
            status,
            raw_status: wire.state,
            ordered_at,
            modified_at,
            paid_at: None,
            customer: Customer {
                code: None,
                email: wire.email,
                phone: wire.phone,
            },
            bill_to: None,
            ship_to,
            items,
            discounts: Vec::new(),
            currency,
            order_total,
            tax_amount: None,
            shipping_amount: None,
            requested_shipping_service: wire.shipping_service,
            payment_method: None,
            gift: Gift::default(),
            customer_notes: wire.note,
            internal_notes: None,
            total_weight: None,
            custom_fields: CustomFields::default(),
            source: None,
            requested_warehouse: None,
        };
        // Adds the channel's requirements (ship-to, ISO country) to the reasons found so far.
        finish(order, reasons, &SPEC)
    }
}

/// A time with an offset, or a wall-clock time in the store's zone.
fn date(
    zone: StoreZone,
    field: &str,
    text: &str,
    reasons: &mut Vec<RejectionReason>,
) -> DateTime<Utc> {
    zone.read(text).unwrap_or_else(|e| {
        reasons.push(RejectionReason::new(
            field,
            ReasonCode::InvalidDate,
            e.to_string(),
        ));
        DateTime::UNIX_EPOCH
    })
}

/// An amount sent as a decimal string; never a float.
fn money(field: &str, text: &str, reasons: &mut Vec<RejectionReason>) -> Decimal {
    Decimal::from_str(text.trim()).unwrap_or_else(|_| {
        reasons.push(RejectionReason::new(
            field,
            ReasonCode::InvalidNumber,
            format!("{text:?} is not an amount"),
        ));
        Decimal::ZERO
    })
}
// ANCHOR_END: mapping
