//! The state trait: where cursors, orders, events and quarantine live.
//!
//! The engine holds the sync logic (what is new, what changed, which event to emit, when the
//! watermark moves); a [`State`] only reads what the engine asks and writes each [`PageCommit`]
//! atomically. That keeps backends small: the embedded default is
//! [`SqliteState`](crate::SqliteState); the PostgreSQL backend (`PostgresState`, feature
//! `postgres`) for several workers sharing stores implements the same calls (the lease is a row
//! with an expiry and a fencing token, and `commit_page` is one transaction that checks the token
//! first). The conformance suite (`suite`, feature `state-suite`) holds every backend to this
//! contract.
//!
//! A host platform that wants orders and events delivered to itself implements this trait: the
//! state *is* the destination. It must honour the same contract, above all the atomicity of
//! [`State::commit_page`], or the crash guarantees are lost.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use orderport_core::{
    CanonicalStatus, Order, OrderKey, OrderRef, Rejection, ShipmentUpdate, TimeWindow,
};
use serde::Serialize;

use crate::error::StateError;
use crate::event::{DeliveryMark, NewEvent, OutboxEvent};
use crate::platform::PlatformMark;

/// A worker's exclusive, expiring right to sync one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The store.
    pub store_id: String,
    /// The worker holding it.
    pub owner: String,
    /// A fencing token, larger for every new holder; writes with an older token fail.
    pub token: i64,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// The outcome of asking for a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseGrant {
    /// The lease is ours.
    Granted(Lease),
    /// Another worker holds it.
    Held {
        /// Who holds it.
        owner: String,
        /// Until when.
        until: DateTime<Utc>,
    },
}

/// A store's durable cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// Every order modified at or before this instant (channel clock, UTC) has been committed.
    /// `None` before the first slice of the first run commits.
    pub watermark: Option<DateTime<Utc>>,
    /// The first run's fixed upper bound: events of slices ending at or before it belong to the
    /// store's first sync (its history backfill) and carry `backfill = true`. `None` before the
    /// first slice commits.
    pub backfill_until: Option<DateTime<Utc>>,
}

/// An order the engine asks about before committing a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLookup {
    /// The channel's id for the order.
    pub external_id: String,
    /// The order number, to match shipments recorded by number.
    pub order_number: String,
}

/// What the state knows about one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The stored order, if any.
    pub stored: Option<StoredMeta>,
    /// Whether labels recorded for it cover the whole order ([`State::record_shipment`] with a
    /// label for the whole order, or the part that covered its last unit).
    pub label_shipment: bool,
    /// The status the shipping platform set on it, if any ([`State::record_platform`]).
    pub platform: Option<PlatformMark>,
}

/// The stored facts about an order the engine compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeta {
    /// Its canonical status.
    pub status: CanonicalStatus,
    /// Its modification time.
    pub modified_at: DateTime<Utc>,
    /// The SHA-256 of its canonical JSON.
    pub content_hash: String,
}

/// An order to insert or replace, keyed by [`OrderKey`].
#[derive(Debug, Clone, PartialEq)]
pub struct OrderWrite {
    /// The order.
    pub order: Box<Order>,
    /// Its canonical JSON.
    pub json: String,
    /// The SHA-256 of the channel's report, hex: an unchanged report is recognised even
    /// when a platform mark changed the status stored in `json`.
    pub content_hash: String,
    /// The platform mark the order keeps (see [`crate::platform`]).
    pub platform: Option<PlatformMark>,
    /// What the engine read before deciding: the stored status and mark it replaces. When
    /// they changed since (a label or a platform action in between), the whole page is
    /// refused with [`StateError::Conflict`] and nothing is written. `None` for an order the
    /// engine found unstored (no check).
    pub replaces: Option<(CanonicalStatus, Option<PlatformMark>)>,
}

/// A rejected order to put in (or keep in) quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineWrite {
    /// The rejection with every reason.
    pub rejection: Rejection,
    /// The window it was fetched in; re-fetched when the configuration changes.
    pub window: TimeWindow,
    /// The configuration fingerprint it was judged under.
    pub fingerprint: String,
}

/// What the last page of a fully fetched slice completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceDone {
    /// A slice of the run's range: the watermark moves to `max(watermark, end)`.
    Advance(DateTime<Utc>),
    /// A slice of a pending re-fetch: the re-fetch is done up to `end` (deleted once it reaches
    /// its own end).
    Refetch {
        /// The re-fetch's id.
        id: i64,
        /// The end of the slice done.
        end: DateTime<Utc>,
    },
}

/// A window that was walked page by page, and when; used to detect walks that an order
/// modified mid-walk may have shifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkRecord {
    /// The window walked.
    pub window: TimeWindow,
    /// When the walk started (engine clock).
    pub started_at: DateTime<Utc>,
    /// When its last page was fetched (engine clock).
    pub finished_at: DateTime<Utc>,
}

/// A window to fetch again, durable until done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refetch {
    /// Its id.
    pub id: i64,
    /// The window still to fetch.
    pub window: TimeWindow,
    /// Why: `quarantine` (the configuration changed) or `shifted-walk`.
    pub reason: String,
}

/// Everything one page changes, written in ONE transaction (all or nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageCommit {
    /// Orders to insert or replace.
    pub orders: Vec<OrderWrite>,
    /// Status events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// Rejected orders to quarantine (insert, or update reasons, last seen and fingerprint).
    pub quarantine: Vec<QuarantineWrite>,
    /// External ids (and order numbers) of accepted orders to take out of quarantine.
    pub release: Vec<OrderLookup>,
    /// New windows to fetch again.
    pub refetch: Vec<(TimeWindow, String)>,
    /// Set on the last page of a slice.
    pub done: Option<SliceDone>,
    /// Set on the last page of a slice: the walk just finished.
    pub walk: Option<WalkRecord>,
    /// Whether this page belongs to the store's first sync: its events are stored with
    /// `backfill = true`.
    pub backfill: bool,
    /// The first run's upper bound, stored with the first watermark (kept once set).
    pub backfill_until: Option<DateTime<Utc>>,
    /// Set when the engine did not look this page's orders up ([`State::lookup`]) because the
    /// store was blank when the run began ([`State::is_blank`]) and the run has not written
    /// them since: every order's `replaces` is `None` and no event carries a label. The commit
    /// is refused with [`StateError::Conflict`] (nothing written) unless, in its transaction,
    /// none of the page's orders is stored and the store has no shipment; the engine then
    /// walks on from the store's cursor, looking every page up. Only a state whose `is_blank`
    /// can say `true` ever sees it set.
    pub assumes_blank: bool,
}

/// A shipment the host pushed, to record; and, where the engine decided that it ships the
/// stored order (a label for an order not yet shipped), the order's change to `shipped` and its
/// event, written in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentRecord<'a> {
    /// The store.
    pub store_id: &'a str,
    /// The update sent.
    pub update: &'a ShipmentUpdate,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The order it ships, if it ships one.
    pub ship: Option<ShipOrder>,
    /// For a label of a stored order: what the engine counted. `None` for a shipment only
    /// marked as shipped, and for a label of an order not stored yet (then a label for the
    /// whole order counts as shipping it, a partial one does not).
    pub coverage: Option<LabelCoverage>,
}

/// What the engine counted for a label of a stored order ([`orderport_core::Fulfilment`]).
/// The write fails with [`StateError::Conflict`] (nothing written) when the order's label
/// count is no longer `labels_before`: another label was recorded in between, and the
/// engine counts again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCoverage {
    /// The stored order.
    pub key: OrderKey,
    /// Its number (labels recorded by number alone are matched by it).
    pub order_number: String,
    /// How many labels [`State::label_shipments`] returned when the engine decided.
    pub labels_before: usize,
    /// Whether this label covers the last unlabelled unit. Only such a label (or a label for
    /// the whole order) ships the order: it is what [`Known::label_shipment`] reports.
    pub completes: bool,
}

/// An order a label ships: set its status to `shipped` and append `event`, but only if its
/// stored status is still `expect` ([`StateError::Conflict`] otherwise, nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipOrder {
    /// The order.
    pub key: OrderKey,
    /// Its status when the engine decided.
    pub expect: CanonicalStatus,
    /// The event to `shipped`.
    pub event: NewEvent,
}

/// A stored order with the status the platform set on it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkedOrder {
    /// The order; its `status` is the stored status.
    pub order: Order,
    /// The platform's mark, if any.
    pub platform: Option<PlatformMark>,
}

/// A platform action's write: the order's new status and mark, and its event, in one
/// transaction, if the order's stored status and mark are still `expect`
/// ([`StateError::Conflict`] otherwise, nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformWrite {
    /// The store.
    pub store_id: String,
    /// The order.
    pub key: OrderKey,
    /// Its stored status and mark when the engine decided.
    pub expect: (CanonicalStatus, Option<PlatformMark>),
    /// Its status after.
    pub status: CanonicalStatus,
    /// Its mark after.
    pub platform: Option<PlatformMark>,
    /// The status event, when the status changes.
    pub event: Option<NewEvent>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// Durable sync state. Object safe; every method names the store it concerns.
///
/// Contract:
/// - `commit_page` is atomic: every write in the [`PageCommit`] lands, or none does, and once
///   it returns `Ok` the writes survive a crash. It fails with [`StateError::LeaseLost`] when
///   `lease.token` is no longer the store's current token.
/// - Orders are keyed by [`OrderKey`]; a page that writes one key twice keeps its last write.
///   Events are appended in commit order and never changed.
///   An event names an order stored before or in the same page; a page with one that does not
///   is refused whole.
/// - The watermark never moves back.
/// - A label shipment ([`State::record_shipment`] with `ship`) clears the order's platform
///   mark.
#[async_trait]
pub trait State: Send + Sync {
    /// Takes the store's lease for `owner` until `now + ttl`, unless another owner holds an
    /// unexpired one. Taking a lapsed or own lease increments the token.
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError>;

    /// Extends a lease held; [`StateError::LeaseLost`] when another worker took it.
    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError>;

    /// Gives a lease up (no error if it was already lost).
    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError>;

    /// The store's cursor.
    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError>;

    /// What is known about each order, in the order asked.
    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError>;

    /// Writes one page atomically (see the trait's contract).
    async fn commit_page(&self, lease: &Lease, commit: PageCommit) -> Result<(), StateError>;

    /// Whether nothing a [`State::lookup`] of the store could find is stored: no order and no
    /// shipment of `store_id`, in any channel. The engine asks once per run, after taking the
    /// lease; when `true`, it commits the pages of orders it has not written in that run
    /// without looking them up, with [`PageCommit::assumes_blank`] set, which the commit must
    /// then check. A first sync makes one round trip per page instead of two.
    ///
    /// The default says `false`: the engine looks every page up, and a state that keeps this
    /// default never sees `assumes_blank` set.
    async fn is_blank(&self, store_id: &str) -> Result<bool, StateError> {
        let _ = store_id;
        Ok(false)
    }

    /// Whether nothing of `store_id` is quarantined. The engine asks once per run, after taking
    /// the lease (only the lease holder's commits quarantine a store's orders); when `true`,
    /// its pages release from quarantine ([`PageCommit::release`]) only the orders the run
    /// itself quarantined, instead of every order of every page.
    ///
    /// The default says `false`: every page releases all its orders, as a state that keeps it
    /// has always been asked to.
    async fn quarantine_is_empty(&self, store_id: &str) -> Result<bool, StateError> {
        let _ = store_id;
        Ok(false)
    }

    /// The store's pending re-fetch windows, oldest first.
    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError>;

    /// Walks of the store that finished at or after `since`.
    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError>;

    /// In one transaction: for the store's quarantined orders judged under another fingerprint,
    /// queues a re-fetch of the windows they were fetched in and marks them judged under
    /// `fingerprint`. Returns how many orders were queued.
    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError>;

    /// The stored order a shipment names: by external id when it has one, else the most
    /// recently stored order with that number. Its `status` is the stored canonical status.
    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError>;

    /// Records a shipment pushed for an order of the store (kept with its kind, matched later by
    /// external id, else by number). In the same transaction, when `shipment.ship` is set: sets
    /// that order's status to `shipped` and appends its event, failing with
    /// [`StateError::Conflict`] (nothing written) when the order's status is no longer
    /// `ship.expect`. Returns the event's outbox id, if one was appended.
    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError>;

    /// The label shipments recorded for a stored order, oldest first, for the whole order or
    /// part of it: those recorded with `order.external_id`, and those recorded by number alone
    /// (no external id) with `order.order_number`. Shipments only marked as shipped are left
    /// out.
    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError>;

    /// The stored order `order` names (as [`State::find_order`]) with its platform mark.
    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<MarkedOrder>, StateError>;

    /// Writes a platform action (see [`PlatformWrite`]). Returns the event's outbox id, if one
    /// was appended.
    async fn record_platform(&self, write: PlatformWrite) -> Result<Option<i64>, StateError>;

    /// The store's orders on a platform hold that lapsed at or before `now`, oldest end
    /// first.
    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MarkedOrder>, StateError>;

    /// Events of the outbox (optionally of one store) with `id > after` that `sink` has no
    /// delivery verdict for, in outbox order, at most `limit`, each with its order as stored
    /// and, for events to `shipped`, the latest shipment recorded for the order (a label
    /// first).
    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError>;

    /// Records `sink`'s verdicts (delivered, skipped with a reason) in one transaction. A
    /// verdict already recorded is kept (the first one wins).
    async fn record_deliveries(&self, sink: &str, marks: &[DeliveryMark])
        -> Result<(), StateError>;
}
