//! The orderport sync engine: keeps many stores' orders current in a durable state, emits one
//! status event per canonical status change through an outbox, and quarantines rejected orders
//! until a configuration fix lets them in.
//!
//! - **Cursor** ([`window`]): each store has a UTC watermark on the channel's modification time.
//!   A run fetches `[watermark - overlap, now - lag]` (the upper bound fixed at the start), in
//!   slices; the first run backfills `history` (90 days). The watermark moves to the end of a
//!   slice only in the transaction that commits that slice's last page.
//! - **Outbox** ([`State::commit_page`]): orders, status events, quarantine changes and the
//!   cursor move of one page are one transaction.
//! - **State** ([`State`]): a trait; [`SqliteState`] is the embedded default, `PostgresState`
//!   (feature `postgres`) lets several workers share stores ([`StateStore`] opens either from
//!   one string). Hosts that want orders and events delivered to themselves implement it and
//!   check it with the exported conformance suite (`suite`, feature `state-suite`).
//! - **Delivery** ([`delivery`]): an [`EventSink`] (Klaviyo, …) gets its pending events in
//!   outbox order; delivered, skipped and refused verdicts are recorded per sink, failed events
//!   stay pending for the next run. Events of a store's first sync carry `backfill`.
//! - **Scheduler** ([`Scheduler`]): per-store interval and jitter, bounded concurrency,
//!   graceful shutdown (pacing belongs to each channel's HTTP client).
//!
//! See `docs/sync.md` for the rules and how each known incremental-sync bug is prevented.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use orderport_sync::{split_sync_settings, SqliteState, SyncEngine, CancellationToken};
//! # async fn demo(
//! #     config: &orderport_core::StoreConfig,
//! #     connect: impl Fn(&orderport_core::StoreConfig) -> Box<dyn orderport_core::SellingChannel>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! // Take the sync_* settings out before the connector sees the configuration.
//! let (for_connector, setup) = split_sync_settings(config)?;
//! let channel = connect(&for_connector); // orderport::connect in the real program
//! let store = setup.resolve(channel.spec())?;
//!
//! let state = Arc::new(SqliteState::open("orderport.db")?);
//! let engine = SyncEngine::new(state.clone());
//! let report = engine.run_store(channel.as_ref(), &store, &CancellationToken::new()).await?;
//! println!("{}", serde_json::to_string(&report)?);
//!
//! // Read back, a page at a time.
//! for listing in state.events_page(Some(&config.id), 0, 100).await? {
//!     let event = &listing.event;
//!     println!("{} {:?} -> {:?}", event.order_number, event.from, event.to);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod clock;
mod codec;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod event;
mod packed;
pub mod platform;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod read;
pub mod report;
mod run_ids;
pub mod scheduler;
pub mod settings;
pub mod shipment;
pub mod sqlite;
pub mod state;
pub mod store;
#[cfg(feature = "state-suite")]
pub mod suite;
pub mod telemetry;
pub mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::{
    deliver_pending, deliver_pending_until, DeliveryOutcome, EventSink, SinkReport, Skip,
};
pub use engine::{SyncEngine, DEFAULT_LEASE_TTL_SECS};
pub use error::{PlatformError, StateError, SyncError};
pub use event::{DeliveryMark, NewEvent, OutboxEvent, StatusEvent};
pub use platform::{
    PlatformAction, PlatformEffect, PlatformMark, PlatformOutcome, PlatformRefusal,
};
#[cfg(feature = "postgres")]
pub use postgres::PostgresState;
pub use read::{
    CursorRow, DeliveryRow, EventDelivery, EventListing, OrderRow, QuarantineRow, StateRead,
};
pub use report::RunReport;
pub use scheduler::{ScheduledStore, Scheduler, SchedulerOptions, DEFAULT_MAX_CONCURRENT};
pub use settings::{
    config_fingerprint, parse_duration, split_sync_settings, StoreSync, SyncOverrides,
    SyncSettings, SyncSetup, SYNC_SETTINGS,
};
pub use shipment::ShipmentRecorded;
pub use sqlite::{SqliteState, BUSY_TIMEOUT, DEFAULT_DB};
pub use state::{
    Cursor, Known, LabelCoverage, Lease, LeaseGrant, MarkedOrder, OrderLookup, OrderWrite,
    PageCommit, PlatformWrite, QuarantineWrite, Refetch, ShipOrder, ShipmentRecord, SliceDone,
    State, StoredMeta, WalkRecord,
};
pub use store::{is_postgres_url, redact_url, shown_db, StateStore};
pub use telemetry::TimedState;
/// Re-exported so hosts stop the engine with the same token type.
pub use tokio_util::sync::CancellationToken;
