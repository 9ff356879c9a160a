//! `toy-shop`: a tiny JSON connector used to test the kit before any real connector exists, and
//! broken variants of it that each conformance check must catch.
//!
//! API: `GET {url}/orders?from=..&to=..&page=N` (store wall clock, `YYYY-MM-DDTHH:MM`) with
//! `Authorization: Bearer {api_key}`, answering `{"pages": N, "orders": [...]}`;
//! `POST {url}/shipments?order={number}` with the update as JSON; `GET {url}/ping`.

#![allow(dead_code)]

use std::time::Duration;

use async_trait::async_trait;
use chrono::Duration as ChronoDuration;
use orderport_core::{
    finish, Address, CanonicalStatus, Capabilities, ChannelError, ChannelSpec, ConfigError,
    CustomFields, Customer, Gift, LineItem, Order, Page, PageToken, ReasonCode, RejectionReason,
    Requirement, RetryPolicy, SellingChannel, ShipmentUpdate, StoreConfig, StoreProfile,
    TimeWindow,
};
use orderport_http::{endpoint, Auth, HttpClient, HttpService, HttpSettings, Idempotency, Request};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use serde::Deserialize;

pub static SPEC: ChannelSpec = ChannelSpec {
    id: "toy-shop",
    name: "Toy Shop",
    requirements: &[Requirement::ShipToAddress, Requirement::IsoCountryCode],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["unpaid"]),
        (CanonicalStatus::AwaitingShipment, &["paid"]),
        (CanonicalStatus::Shipped, &["sent"]),
    ],
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(false)
        .with_custom_statuses(true),
    modified_precision: ChronoDuration::minutes(1),
};

/// A deliberate defect, for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// None: the connector conforms.
    None,
    /// Authentication errors quote the API key.
    LeaksSecret,
    /// Retry-After is ignored (retries at once).
    IgnoresRetryAfter,
    /// Only the first page is read.
    FirstPageOnly,
    /// Times are read as UTC whatever the store's zone.
    IgnoresZone,
    /// Sends through a client that follows redirects, and accepts any URL scheme.
    Trusting,
}

pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::None)
}
pub fn connect_leaky(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::LeaksSecret)
}
pub fn connect_impatient(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::IgnoresRetryAfter)
}
pub fn connect_first_page_only(
    config: &StoreConfig,
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::FirstPageOnly)
}
pub fn connect_utc_only(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::IgnoresZone)
}
pub fn connect_trusting(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    build(config, Quirk::Trusting)
}

fn build(config: &StoreConfig, quirk: Quirk) -> Result<Box<dyn SellingChannel>, ConfigError> {
    let profile = StoreProfile::new(config, &SPEC)?;
    config.reject_unknown_settings(orderport_http::settings::SETTINGS)?;
    let api_key = config
        .secrets
        .api_key
        .clone()
        .ok_or_else(|| ConfigError::store(&config.id, "api_key", "required"))?;
    let url = endpoint::parse(
        config.url.trim_end_matches('/'),
        config.allow_insecure_http || quirk == Quirk::Trusting,
    )
    .map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
    let defaults = HttpSettings {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(5000),
        },
        ..HttpSettings::default()
    };
    let mut settings = HttpSettings::from_store(config, defaults)?;
    if quirk == Quirk::IgnoresRetryAfter {
        // Never waits for the server: a Retry-After is then never honoured.
        settings.retry.max_delay = Duration::ZERO;
    }
    let auth = Auth::none()
        .with_prefixed_header("Authorization", "Bearer ", api_key.clone())
        .map_err(|e| ConfigError::store(&config.id, "api_key", e.to_string()))?;
    let client = if quirk == Quirk::Trusting {
        // reqwest's default policy follows up to ten redirects.
        HttpClient::from_reqwest(reqwest::Client::new())
    } else {
        HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.0))?
    };
    Ok(Box::new(Toy {
        http: HttpService::new(client, &config.id, auth, settings),
        profile,
        url,
        api_key: api_key.expose_secret().to_owned(),
        quirk,
    }))
}

struct Toy {
    profile: StoreProfile,
    url: url::Url,
    api_key: String,
    http: HttpService,
    quirk: Quirk,
}

#[derive(Deserialize)]
struct ToyPage {
    pages: u32,
    orders: Vec<ToyOrder>,
}

#[derive(Deserialize)]
struct ToyOrder {
    id: String,
    number: String,
    status: String,
    ordered_at: String,
    modified_at: String,
    total: Decimal,
    ship_to: Option<ToyAddress>,
    items: Vec<ToyItem>,
}

#[derive(Deserialize)]
struct ToyAddress {
    name: String,
    address1: String,
    city: String,
    state: Option<String>,
    postal_code: Option<String>,
    country: String,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct ToyItem {
    sku: String,
    name: String,
    quantity: u32,
    unit_price: Decimal,
}

impl Toy {
    async fn send(&self, request: Request) -> Result<Vec<u8>, ChannelError> {
        match self.http.send(request).await {
            Ok(reply) => Ok(reply.body),
            Err(ChannelError::Authentication { store, .. }) if self.quirk == Quirk::LeaksSecret => {
                Err(ChannelError::Authentication {
                    store,
                    detail: format!("HTTP 401 for key {}", self.api_key),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn endpoint(&self, segment: &str) -> url::Url {
        endpoint::join(&self.url, segment).unwrap_or_else(|| self.url.clone())
    }

    fn map_order(&self, raw: ToyOrder) -> orderport_core::FetchOutcome {
        let mut reasons = Vec::new();
        let zone = if self.quirk == Quirk::IgnoresZone {
            orderport_core::StoreZone::UTC
        } else {
            self.profile.zone
        };
        let mut time = |field: &str, text: &str| match zone.read(text) {
            Ok(t) => t,
            Err(e) => {
                reasons.push(RejectionReason::new(
                    field,
                    ReasonCode::InvalidDate,
                    e.to_string(),
                ));
                chrono::DateTime::UNIX_EPOCH
            }
        };
        let ordered_at = time("ordered_at", &raw.ordered_at);
        let modified_at = time("modified_at", &raw.modified_at);
        let status = match self.map_status(&raw.status) {
            Ok(s) => s,
            Err(reason) => {
                reasons.push(reason);
                CanonicalStatus::OnHold
            }
        };
        let order = Order {
            channel: SPEC.id.into(),
            store_id: self.profile.id.clone(),
            store_name: self.profile.name.clone(),
            external_id: raw.id,
            order_number: raw.number,
            status,
            raw_status: raw.status,
            ordered_at,
            modified_at,
            paid_at: None,
            customer: Customer::default(),
            bill_to: None,
            ship_to: raw.ship_to.map(|a| Address {
                name: Some(a.name),
                address1: Some(a.address1),
                city: Some(a.city),
                state: a.state,
                postal_code: a.postal_code,
                country: Some(a.country),
                phone: a.phone,
                ..Address::default()
            }),
            items: raw
                .items
                .into_iter()
                .map(|i| LineItem {
                    line_id: None,
                    sku: i.sku,
                    name: i.name,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    weight: None,
                    image_url: None,
                    options: vec![],
                    location: None,
                    upc: None,
                })
                .collect(),
            discounts: vec![],
            currency: None,
            order_total: raw.total,
            tax_amount: None,
            shipping_amount: None,
            requested_shipping_service: None,
            payment_method: None,
            gift: Gift::default(),
            customer_notes: None,
            internal_notes: None,
            total_weight: None,
            custom_fields: CustomFields::default(),
            source: None,
            requested_warehouse: None,
        };
        finish(order, reasons, &SPEC)
    }
}

#[async_trait]
impl SellingChannel for Toy {
    fn spec(&self) -> &'static ChannelSpec {
        &SPEC
    }

    fn store(&self) -> &StoreProfile {
        &self.profile
    }

    async fn check_connection(&self) -> Result<(), ChannelError> {
        self.send(Request::get(self.endpoint("ping"), "ping"))
            .await
            .map(|_| ())
    }

    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let number: u32 = page.and_then(|t| t.as_str().parse().ok()).unwrap_or(1);
        let wall =
            self.profile
                .zone
                .wall_window(window.from(), window.to(), ChronoDuration::minutes(1));
        let mut url = self.endpoint("orders");
        url.query_pairs_mut()
            .append_pair("from", &wall.start.format("%Y-%m-%dT%H:%M").to_string())
            .append_pair("to", &wall.end.format("%Y-%m-%dT%H:%M").to_string())
            .append_pair("page", &number.to_string());
        let body = self.send(Request::get(url, "orders")).await?;
        let parsed: ToyPage = serde_json::from_slice(&body).map_err(|e| {
            self.http
                .protocol_error(format!("not an orders page: {e}"), &body)
        })?;
        let next = (number < parsed.pages && self.quirk != Quirk::FirstPageOnly)
            .then(|| PageToken::new((number + 1).to_string()));
        Ok(Page::new(
            parsed
                .orders
                .into_iter()
                .map(|o| self.map_order(o))
                .collect(),
            next,
        ))
    }

    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        let mut url = self.endpoint("shipments");
        url.query_pairs_mut()
            .append_pair("order", update.order.order_number.as_str());
        let body =
            serde_json::to_string_pretty(update).map_err(|e| ChannelError::Configuration {
                store: self.profile.id.clone(),
                field: "shipment".into(),
                detail: e.to_string(),
            })?;
        self.send(
            Request::post(url, "shipments")
                .body(body, "application/json")
                .idempotency(Idempotency::RateLimitOnly),
        )
        .await
        .map(|_| ())
    }
}
