//! From the engine's [`OutboxEvent`] to a Klaviyo event: metric, profile, properties,
//! `unique_id`.
//!
//! Everything here is pure: the same event always gives the same payload, byte for byte, which
//! is what makes `unique_id` (and so re-sends) safe.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use orderport_core::{CanonicalStatus, Order};
use orderport_sync::{OutboxEvent, StatusEvent};
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::phone::to_e164;
use crate::{MAX_PAYLOAD_BYTES, MAX_STRING_BYTES};

/// Metric for [`CanonicalStatus::AwaitingShipment`].
pub const METRIC_AWAITING_SHIPMENT: &str = "Order Awaiting Shipment";
/// Metric for [`CanonicalStatus::AwaitingPayment`].
pub const METRIC_AWAITING_PAYMENT: &str = "Order Awaiting Payment";
/// Metric for [`CanonicalStatus::OnHold`].
pub const METRIC_ON_HOLD: &str = "Order On Hold";
/// Metric for [`CanonicalStatus::Shipped`], sent only for label shipments.
pub const METRIC_SHIPPED: &str = "Order Shipped";
/// Metric for [`CanonicalStatus::Cancelled`].
pub const METRIC_CANCELLED: &str = "Order Cancelled";

/// Room kept under Klaviyo's 5 MB for the bulk envelope around a single event.
const ENVELOPE_MARGIN: usize = 4096;

/// The Klaviyo metric name for a status, exactly as ShipStation's integration names it.
pub fn metric_name(status: CanonicalStatus) -> &'static str {
    match status {
        CanonicalStatus::AwaitingShipment => METRIC_AWAITING_SHIPMENT,
        CanonicalStatus::AwaitingPayment => METRIC_AWAITING_PAYMENT,
        CanonicalStatus::OnHold => METRIC_ON_HOLD,
        CanonicalStatus::Shipped => METRIC_SHIPPED,
        CanonicalStatus::Cancelled => METRIC_CANCELLED,
    }
}

/// Why an event is not sent to Klaviyo. Skipped events are reported and counted, never
/// dropped silently; none of them would succeed on a retry, so they leave the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// The order moved to shipped without a label (marked as shipped, or shipped by a third
    /// party). ShipStation's integration sends "Order Shipped" only for labels; so do we.
    NotALabel,
    /// The buyer has no usable e-mail, no phone that can be made E.164 and no customer code, so
    /// no Klaviyo profile can be named (Listing Mirror, for one, imports no e-mail).
    Unattributable,
    /// The event's time is before 1990, which Klaviyo refuses.
    TimeOutOfRange {
        /// The time, RFC 3339.
        at: String,
    },
    /// The event cannot fit Klaviyo's limits (5 MB per request, 100 KB per string).
    TooLarge {
        /// Which limit.
        detail: String,
    },
}

impl SkipReason {
    /// A short stable code for counting: `not_a_label`, `unattributable`,
    /// `time_out_of_range`, `too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotALabel => "not_a_label",
            Self::Unattributable => "unattributable",
            Self::TimeOutOfRange { .. } => "time_out_of_range",
            Self::TooLarge { .. } => "too_large",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotALabel => f.write_str(
                "shipped without a label (marked as shipped); Klaviyo gets no Order Shipped event",
            ),
            Self::Unattributable => f.write_str(
                "no e-mail, no phone usable as E.164 and no customer code: no Klaviyo profile to attribute the event to",
            ),
            Self::TimeOutOfRange { at } => {
                write!(f, "the event's time {at} is before 1990, which Klaviyo refuses")
            }
            Self::TooLarge { detail } => write!(f, "the event is too large for Klaviyo: {detail}"),
        }
    }
}

/// How a customer code becomes a Klaviyo `external_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExternalIdScope {
    /// `<channel>:<store id>:<code>` (the default): codes are only unique within a store, and
    /// two stores' `cust-42` are different people who must not share a profile.
    #[default]
    Store,
    /// The code as it is, for merchants whose codes are already global (and who want to match
    /// profiles another integration created with the same codes).
    Global,
}

/// The one identifier a Klaviyo profile is named by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileId {
    /// The buyer's e-mail.
    Email(String),
    /// The buyer's phone, E.164.
    Phone(String),
    /// The customer code, scoped per [`ExternalIdScope`].
    ExternalId(String),
}

impl ProfileId {
    /// The profile as a JSON:API resource object: `{"type":"profile","attributes":{…}}`.
    pub fn to_resource(&self) -> Value {
        let (field, value) = match self {
            Self::Email(v) => ("email", v),
            Self::Phone(v) => ("phone_number", v),
            Self::ExternalId(v) => ("external_id", v),
        };
        json!({"type": "profile", "attributes": {field: value}})
    }
}

fn usable_email(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    let (local, domain) = text.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace);
    ok.then(|| text.to_owned())
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Names the order's buyer, in this order: the buyer's e-mail (`customer.email`, else the
/// bill-to e-mail); else the buyer's phone in E.164 (`customer.phone`, else the bill-to phone;
/// see [`to_e164`] for when a number is treated as absent); else the customer code as
/// `external_id`. The ship-to address is never used: it may be a gift recipient. `None` when
/// nothing is usable.
pub fn profile_id(order: &Order, scope: ExternalIdScope) -> Option<ProfileId> {
    let bill = order.bill_to.as_ref();
    if let Some(email) = usable_email(order.customer.email.as_deref())
        .or_else(|| usable_email(bill.and_then(|b| b.email.as_deref())))
    {
        return Some(ProfileId::Email(email));
    }
    let country = order
        .ship_to
        .as_ref()
        .and_then(|a| non_empty(a.country.as_deref()))
        .or_else(|| bill.and_then(|a| non_empty(a.country.as_deref())));
    let phones = [
        order.customer.phone.as_deref(),
        bill.and_then(|b| b.phone.as_deref()),
    ];
    if let Some(phone) = phones
        .into_iter()
        .flatten()
        .find_map(|p| to_e164(p, country))
    {
        return Some(ProfileId::Phone(phone));
    }
    let code = non_empty(order.customer.code.as_deref())?;
    Some(ProfileId::ExternalId(match scope {
        ExternalIdScope::Store => format!("{}:{}:{code}", order.channel, order.store_id),
        ExternalIdScope::Global => code.to_owned(),
    }))
}

/// The deterministic `unique_id` of a status change: `op1-` and the SHA-256 (hex) of the
/// length-prefixed channel, store id, external id, previous status (`-` for none), new status
/// and the change's time (RFC 3339, nanoseconds). The same change gives the same id on every
/// run and every machine, so Klaviyo records it once however often it is sent.
pub fn unique_id(event: &StatusEvent) -> String {
    let at = event.at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let from = event.from.map_or("-", CanonicalStatus::as_str);
    let mut hash = Sha256::new();
    for part in [
        event.key.channel.as_str(),
        event.key.store_id.as_str(),
        event.key.external_id.as_str(),
        from,
        event.to.as_str(),
        at.as_str(),
    ] {
        hash.update(part.len().to_string().as_bytes());
        hash.update(b":");
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut id = String::with_capacity(4 + 64);
    id.push_str("op1-");
    for byte in digest {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// An event ready to send: its profile, and its attributes without the profile.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    pub ids: Vec<i64>,
    pub profile: ProfileId,
    pub backfill: bool,
    pub metric: &'static str,
    pub unique_id: String,
    /// `properties`, `time`, `value`, `value_currency`, `unique_id`, `backfill`, `metric`.
    pub attributes: Map<String, Value>,
}

impl Prepared {
    /// The Create Event request body.
    pub fn create_body(&self) -> Value {
        let mut attributes = self.attributes.clone();
        attributes.insert(
            "profile".into(),
            json!({ "data": self.profile.to_resource() }),
        );
        json!({"data": {"type": "event", "attributes": Value::Object(attributes)}})
    }

    /// The event's entry in a bulk profile group.
    pub fn bulk_entry(&self) -> Value {
        json!({"type": "event", "attributes": Value::Object(self.attributes.clone())})
    }
}

fn number(value: rust_decimal::Decimal) -> Value {
    value
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| k.len().max(longest_string(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = non_empty(value) {
        map.insert(key.into(), Value::String(value.to_owned()));
    }
}

pub(crate) fn prepare(event: &OutboxEvent, scope: ExternalIdScope) -> Result<Prepared, SkipReason> {
    let change = &event.event;
    // Whether it was a label is the engine's decision, carried by the event.
    if change.to == CanonicalStatus::Shipped && !change.label {
        return Err(SkipReason::NotALabel);
    }
    let order = &event.order;
    if change.at < klaviyo_epoch() {
        return Err(SkipReason::TimeOutOfRange {
            at: change.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        });
    }
    let profile = profile_id(order, scope).ok_or(SkipReason::Unattributable)?;
    let metric = metric_name(change.to);
    let unique_id = unique_id(change);

    let mut properties = Map::new();
    properties.insert("StoreName".into(), json!(change.store_name));
    properties.insert("StoreId".into(), json!(change.key.store_id));
    properties.insert("Channel".into(), json!(change.key.channel));
    properties.insert("OrderNumber".into(), json!(change.order_number));
    properties.insert("OrderId".into(), json!(change.key.external_id));
    properties.insert("OrderStatus".into(), json!(change.to.as_str()));
    properties.insert("RawStatus".into(), json!(change.raw_status));
    if let Some(from) = change.from {
        properties.insert("PreviousStatus".into(), json!(from.as_str()));
    }
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            json!({
                "SKU": item.sku,
                "Name": item.name,
                "Quantity": item.quantity,
                "UnitPrice": number(item.unit_price),
            })
        })
        .collect();
    let names: Vec<&str> = order.items.iter().map(|i| i.name.as_str()).collect();
    let count: u64 = order.items.iter().map(|i| u64::from(i.quantity)).sum();
    properties.insert("ItemCount".into(), json!(count));
    properties.insert("ItemNames".into(), json!(names));
    properties.insert("Items".into(), Value::Array(items));
    if change.to == CanonicalStatus::Shipped && change.label {
        if let Some(shipment) = &event.shipment {
            put(&mut properties, "Carrier", Some(&shipment.carrier));
            put(&mut properties, "Service", shipment.service.as_deref());
            put(
                &mut properties,
                "TrackingNumber",
                Some(&shipment.tracking_number),
            );
        }
    }

    let mut attributes = Map::new();
    attributes.insert("properties".into(), Value::Object(properties));
    attributes.insert(
        "time".into(),
        json!(change.at.to_rfc3339_opts(SecondsFormat::Secs, false)),
    );
    let value = number(order.order_total);
    if !value.is_null() {
        attributes.insert("value".into(), value);
    }
    if let Some(currency) = &order.currency {
        attributes.insert("value_currency".into(), json!(currency.as_str()));
    }
    attributes.insert("unique_id".into(), json!(unique_id));
    attributes.insert("backfill".into(), json!(change.backfill));
    attributes.insert(
        "metric".into(),
        json!({"data": {"type": "metric", "attributes": {"name": metric}}}),
    );

    let prepared = Prepared {
        ids: vec![change.id],
        profile,
        backfill: change.backfill,
        metric,
        unique_id,
        attributes,
    };
    let body = prepared.create_body();
    let longest = longest_string(&body);
    if longest > MAX_STRING_BYTES {
        return Err(SkipReason::TooLarge {
            detail: format!("a string of {longest} bytes, over Klaviyo's 100 KB per string"),
        });
    }
    let size = serde_json::to_vec(&body).map_or(usize::MAX, |b| b.len());
    if size > MAX_PAYLOAD_BYTES - ENVELOPE_MARGIN {
        return Err(SkipReason::TooLarge {
            detail: format!("{size} bytes, over Klaviyo's 5 MB per request"),
        });
    }
    Ok(prepared)
}

fn klaviyo_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The Create Event body (`POST /api/events`, schema `EventCreateQueryV2`) for one event, or
/// why it is not sent. Pure: no clock, no network.
///
/// The bulk endpoint sends the same attributes, grouped by profile.
pub fn payload(event: &OutboxEvent, scope: ExternalIdScope) -> Result<Value, SkipReason> {
    prepare(event, scope).map(|p| p.create_body())
}
