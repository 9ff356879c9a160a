//! The Klaviyo event sink: order-status events from the sync engine's outbox, sent to
//! Klaviyo's Events API the way ShipStation's Klaviyo integration does.
//!
//! - **Metrics**: "Order Awaiting Shipment", "Order Awaiting Payment", "Order On Hold",
//!   "Order Shipped" (label shipments only: an order merely marked as shipped is
//!   [`SkipReason::NotALabel`]) and "Order Cancelled" ([`metric_name`]).
//! - **Requests**: Create Event (`POST /api/events`) for fewer than
//!   [`SINGLE_EVENT_THRESHOLD`] events, else Bulk Create Events
//!   (`POST /api/event-bulk-create-jobs`), split at [`MAX_BULK_EVENTS`] events and
//!   [`MAX_PAYLOAD_BYTES`]; JSON:API bodies as in Klaviyo's OpenAPI spec, revision
//!   [`REVISION`].
//! - **Idempotence**: every status change has a deterministic [`unique_id`], so a retry or a
//!   re-run never records an event twice.
//! - **Profiles**: e-mail, else phone in E.164 ([`to_e164`]), else the customer code as
//!   `external_id` ([`profile_id`]); events with none are [`SkipReason::Unattributable`].
//! - **Backfill**: events of a store's first sync carry `backfill: true`, so Klaviyo records
//!   them without firing flows.
//! - **Rate limits and retries**: each endpoint is paced to its published burst and steady
//!   limits; 429, 503, 504 and 524 (and network errors) are retried by the shared
//!   [`orderport_http`] layer, honouring Retry-After, with jittered backoff from
//!   [`RetryPolicy`](orderport_core::RetryPolicy); other 4xx never are; no redirect is followed
//!   and every spelling of the key is redacted from errors. An event is delivered only once Klaviyo answers `202`. An event Klaviyo refuses on
//!   its own with 400, 409, 413 or 422 is refused for good ([`DeliveryReport::refused`]): it
//!   leaves the outbox with its reason instead of blocking the events behind it.
//!
//! See `docs/sinks/klaviyo.md` for the payload and the rules.
//!
//! # Example
//!
//! ```
//! use orderport_klaviyo::{KlaviyoConfig, KlaviyoSink};
//!
//! let table: toml::Table = toml::from_str(
//!     r#"
//!     kind = "klaviyo"
//!     api_key_env = "KLAVIYO_KEY"
//!     "#,
//! )?;
//! let config = KlaviyoConfig::from_table_with_env(&table, &|var| {
//!     (var == "KLAVIYO_KEY").then(|| "pk_not_printed".to_owned())
//! })?;
//! assert_eq!(config.url, "https://a.klaviyo.com");
//! assert!(!format!("{config:?}").contains("pk_not_printed"));
//! let sink = KlaviyoSink::new(config)?;
//! # let _ = &sink;
//! // Then, in an async context:
//! // let report = sink.deliver(&events).await;
//! // outbox.remove(&report.delivered); outbox.remove(skipped and refused ids);
//! // report.failed stays.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod config;
mod error;
mod event;
mod outbox;
mod phone;
mod sink;

pub use config::{KlaviyoConfig, RateLimits, DEFAULT_URL, SINK_KEYS};
pub use error::{CheckError, DeliveryError, KlaviyoError};
pub use event::{
    metric_name, payload, profile_id, unique_id, ExternalIdScope, ProfileId, SkipReason,
    METRIC_AWAITING_PAYMENT, METRIC_AWAITING_SHIPMENT, METRIC_CANCELLED, METRIC_ON_HOLD,
    METRIC_SHIPPED,
};
pub use orderport_http::EndpointLimit;
pub use outbox::KlaviyoEventSink;
pub use phone::to_e164;
pub use sink::{DeliveryReport, KlaviyoSink};

/// The API revision every request pins (header `revision`). The payload shapes, and the
/// `backfill` attribute, are those of this revision's OpenAPI spec.
pub const REVISION: &str = "2026-07-15";

/// The JSON:API media type sent as `Content-Type` and `Accept`.
pub const JSON_API: &str = "application/vnd.api+json";

/// Batches with fewer events than this go through Create Event, one request per event; larger
/// ones through Bulk Create Events.
pub const SINGLE_EVENT_THRESHOLD: usize = 3;

/// The most events Bulk Create Events accepts in one request.
pub const MAX_BULK_EVENTS: usize = 1000;

/// Klaviyo's payload limit per request: "5 MB", read as 5,000,000 bytes to be safe whichever
/// megabyte Klaviyo means.
pub const MAX_PAYLOAD_BYTES: usize = 5_000_000;

/// Klaviyo's limit on one string in an event (100 KB).
pub const MAX_STRING_BYTES: usize = 100 * 1024;
