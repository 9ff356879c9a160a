//! A scripted selling channel for the engine's tests: a server-side list of orders, filtered
//! like a real server (truncated modification times, optionally compared as store wall-clock
//! strings), cut into LIMIT/OFFSET pages, with hooks to change data mid-walk and inject errors.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelError, ChannelSpec, CustomFields, Customer, FetchOutcome,
    Gift, Order, OrderRef, Page, PageToken, Rejection, SellingChannel, ShipmentKind, ShipmentScope,
    ShipmentUpdate, StatusMapping, StatusMatch, StoreProfile, StoreZone, TimeWindow,
    UnmappedPolicy,
};
use orderport_sync::{
    CancellationToken, ManualClock, RunReport, SqliteState, StoreSync, SyncEngine, SyncSettings,
};
use rust_decimal::Decimal;

pub const STATUSES: &[(CanonicalStatus, &[&str])] = &[
    (CanonicalStatus::AwaitingPayment, &["unpaid"]),
    (CanonicalStatus::AwaitingShipment, &["paid"]),
    (CanonicalStatus::OnHold, &["hold"]),
    (CanonicalStatus::Shipped, &["shipped"]),
    (CanonicalStatus::Cancelled, &["cancelled"]),
];

const CAPS: Capabilities = Capabilities::NONE
    .with_partial_shipments(false)
    .with_customer_email(true)
    .with_custom_statuses(true);

/// Second precision, UTC comparisons.
pub static SPEC_SECONDS: ChannelSpec = ChannelSpec {
    id: "fake",
    name: "Fake",
    requirements: &[],
    default_statuses: STATUSES,
    capabilities: CAPS,
    modified_precision: Duration::seconds(1),
};

/// Minute precision, like Custom Store's `MM/dd/yyyy HH:mm`.
pub static SPEC_MINUTES: ChannelSpec = ChannelSpec {
    id: "fake",
    name: "Fake",
    requirements: &[],
    default_statuses: STATUSES,
    capabilities: CAPS,
    modified_precision: Duration::minutes(1),
};

#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    pub id: String,
    pub number: String,
    pub raw_status: String,
    /// The true modification instant.
    pub modified_at: DateTime<Utc>,
    pub note: String,
    /// Lines as (SKU, quantity); none by default.
    pub items: Vec<(String, u32)>,
}

impl FakeOrder {
    pub fn new(id: impl Into<String>, raw: &str, modified_at: DateTime<Utc>) -> Self {
        let id = id.into();
        Self {
            number: format!("#{id}"),
            id,
            raw_status: raw.into(),
            modified_at,
            note: String::new(),
            items: Vec::new(),
        }
    }

    /// The same order with these lines (SKU, quantity).
    pub fn with_items(mut self, items: &[(&str, u32)]) -> Self {
        self.items = items.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect();
        self
    }
}

type Hook = Box<dyn FnMut(usize, &mut Vec<FakeOrder>) + Send>;

pub struct FakeChannel {
    pub spec: &'static ChannelSpec,
    pub profile: StoreProfile,
    pub data: Mutex<Vec<FakeOrder>>,
    pub page_size: usize,
    /// Compare in the store's wall clock (like a Custom Store server) instead of UTC.
    pub wall: bool,
    pub on_page: Mutex<Option<Hook>>,
    pub pages_served: AtomicUsize,
    /// Every `fetch_page` call, failed ones included.
    pub attempts: AtomicUsize,
    pub fail_next: Mutex<Vec<ChannelError>>,
    pub delay: Option<std::time::Duration>,
    /// When set, every fetch (counted in `attempts` first) waits for a permit of this
    /// semaphore and gives it back: the test opens the gate with `add_permits(1)`.
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
    pub requests: Mutex<Vec<TimeWindow>>,
}

impl FakeChannel {
    pub fn new(spec: &'static ChannelSpec, zone: StoreZone, page_size: usize) -> Self {
        Self::with_mapping(spec, zone, page_size, STATUSES)
    }

    pub fn with_mapping(
        spec: &'static ChannelSpec,
        zone: StoreZone,
        page_size: usize,
        statuses: &[(CanonicalStatus, &[&str])],
    ) -> Self {
        let mapping = StatusMapping::new(
            statuses.iter().map(|(s, raws)| (*s, raws.iter().copied())),
            StatusMatch::default(),
            UnmappedPolicy::Reject,
        )
        .unwrap();
        Self {
            spec,
            profile: StoreProfile {
                id: "store-1".into(),
                name: "Store One".into(),
                zone,
                statuses: mapping,
                max_pages_per_window: orderport_core::config::DEFAULT_MAX_PAGES_PER_WINDOW,
                pages_ahead: orderport_core::config::DEFAULT_PAGES_AHEAD,
            },
            data: Mutex::new(Vec::new()),
            page_size,
            wall: zone != StoreZone::UTC,
            on_page: Mutex::new(None),
            pages_served: AtomicUsize::new(0),
            attempts: AtomicUsize::new(0),
            fail_next: Mutex::new(Vec::new()),
            delay: None,
            gate: None,
            requests: Mutex::new(Vec::new()),
        }
    }

    pub fn set_mapping(&mut self, statuses: &[(CanonicalStatus, &[&str])]) {
        self.profile.statuses = StatusMapping::new(
            statuses.iter().map(|(s, raws)| (*s, raws.iter().copied())),
            StatusMatch::default(),
            UnmappedPolicy::Reject,
        )
        .unwrap();
    }

    pub fn put(&self, order: FakeOrder) {
        let mut data = self.data.lock().unwrap();
        data.retain(|o| o.id != order.id);
        data.push(order);
    }

    fn precision(&self) -> Duration {
        self.spec.modified_precision
    }

    /// What the server reports (and compares): the time truncated to its precision, read in
    /// its wall clock when it has one.
    pub fn reported(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.wall {
            let zone = self.profile.zone;
            let wall = zone.to_wall(t);
            let secs = self.precision().num_seconds().max(1);
            let floored = wall - Duration::seconds(wall.and_utc().timestamp().rem_euclid(secs));
            zone.to_utc(floored)
        } else {
            t.duration_trunc(self.precision()).unwrap()
        }
    }

    fn in_window(&self, window: &TimeWindow, t: DateTime<Utc>) -> bool {
        if self.wall {
            let zone = self.profile.zone;
            let w = zone.wall_window(window.from(), window.to(), self.precision());
            let wall = zone.to_wall(t);
            let secs = self.precision().num_seconds().max(1);
            let floored = wall - Duration::seconds(wall.and_utc().timestamp().rem_euclid(secs));
            w.start <= floored && floored <= w.end
        } else {
            let r = self.reported(t);
            window.from() <= r && r <= window.to()
        }
    }

    pub fn order(&self, o: &FakeOrder) -> FetchOutcome {
        let modified_at = self.reported(o.modified_at);
        match self.profile.statuses.map(&o.raw_status) {
            Ok(status) => FetchOutcome::Accepted(Box::new(Order {
                channel: self.spec.id.into(),
                store_id: self.profile.id.clone(),
                store_name: self.profile.name.clone(),
                external_id: o.id.clone(),
                order_number: o.number.clone(),
                status,
                raw_status: o.raw_status.clone(),
                ordered_at: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
                modified_at,
                paid_at: None,
                customer: Customer::default(),
                bill_to: None,
                ship_to: None,
                items: o
                    .items
                    .iter()
                    .map(|(sku, q)| orderport_core::LineItem::new(sku, sku, *q, Decimal::ONE))
                    .collect(),
                discounts: vec![],
                currency: None,
                order_total: Decimal::new(1000, 2),
                tax_amount: None,
                shipping_amount: None,
                requested_shipping_service: None,
                payment_method: None,
                gift: Gift::default(),
                customer_notes: None,
                internal_notes: (!o.note.is_empty()).then(|| o.note.clone()),
                total_weight: None,
                custom_fields: CustomFields::default(),
                source: None,
                requested_warehouse: None,
            })),
            Err(reason) => FetchOutcome::Rejected(Rejection {
                store_id: self.profile.id.clone(),
                external_id: Some(o.id.clone()),
                order_number: Some(o.number.clone()),
                reasons: vec![reason],
            }),
        }
    }
}

#[async_trait]
impl SellingChannel for FakeChannel {
    fn spec(&self) -> &'static ChannelSpec {
        self.spec
    }
    fn store(&self) -> &StoreProfile {
        &self.profile
    }
    async fn check_connection(&self) -> Result<(), ChannelError> {
        Ok(())
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.fail_next.lock().unwrap().pop() {
            return Err(e);
        }
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        if let Some(gate) = &self.gate {
            drop(gate.acquire().await.unwrap());
        }
        self.requests.lock().unwrap().push(*window);
        let n = self.pages_served.fetch_add(1, Ordering::SeqCst);
        let mut data = self.data.lock().unwrap();
        if let Some(hook) = self.on_page.lock().unwrap().as_mut() {
            hook(n, &mut data);
        }
        let mut rows: Vec<&FakeOrder> = data
            .iter()
            .filter(|o| self.in_window(window, o.modified_at))
            .collect();
        rows.sort_by(|a, b| {
            self.reported(a.modified_at)
                .cmp(&self.reported(b.modified_at))
                .then(a.id.cmp(&b.id))
        });
        let offset: usize = page.map_or(0, |t| t.as_str().parse().unwrap());
        let end = (offset + self.page_size).min(rows.len());
        let outcomes = rows[offset.min(end)..end]
            .iter()
            .map(|o| self.order(o))
            .collect();
        Ok(Page::new(
            outcomes,
            (end < rows.len()).then(|| PageToken::new(end.to_string())),
        ))
    }
    async fn push_shipment(&self, _update: &ShipmentUpdate) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// A complete shipment of order `id` (number `#id`) of `kind`, its label created at `label_at`.
pub fn shipment(id: &str, kind: ShipmentKind, label_at: Option<DateTime<Utc>>) -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some(id.into()),
            order_number: format!("#{id}"),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: format!("1Z-{id}"),
        ship_date: label_at.unwrap_or_default().date_naive(),
        label_created_at: label_at,
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(vec![]),
        kind,
    }
}

pub fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// An instant inside day `days_ago`, away from the one-day slices' bounds.
pub fn inside(now: DateTime<Utc>, days_ago: i64) -> DateTime<Utc> {
    now - Duration::days(days_ago) + Duration::hours(7) + Duration::minutes(13)
}

/// `wrapper` over the harness's state (to count what the engine asks of it), and an engine
/// over it on the harness's clock.
pub fn counted(h: &Harness, wrapper: ActionBeforeCommit) -> (Arc<ActionBeforeCommit>, SyncEngine) {
    let state = Arc::new(wrapper);
    let engine = SyncEngine::new(state.clone()).with_clock(Arc::new(h.clock.clone()));
    (state, engine)
}

/// One run of `ch`'s store by `engine`, as [`store_sync`] configures it for [`SPEC_SECONDS`].
pub async fn run_once(engine: &SyncEngine, ch: &FakeChannel) -> RunReport {
    engine
        .run_store(ch, &store_sync(&SPEC_SECONDS), &CancellationToken::new())
        .await
        .unwrap()
}

pub fn store_sync(spec: &ChannelSpec) -> StoreSync {
    let mut settings = SyncSettings::defaults_for(spec);
    settings.jitter = Duration::zero();
    StoreSync::new(settings, "fp-1")
}

pub struct Harness {
    pub state: Arc<SqliteState>,
    pub clock: ManualClock,
    pub engine: SyncEngine,
}

impl Harness {
    pub fn new(now: DateTime<Utc>) -> Self {
        let state = Arc::new(SqliteState::in_memory().unwrap());
        let clock = ManualClock::new(now);
        let engine = SyncEngine::new(state.clone()).with_clock(Arc::new(clock.clone()));
        Self {
            state,
            clock,
            engine,
        }
    }

    pub async fn run(&self, channel: &FakeChannel, sync: &StoreSync) -> RunReport {
        self.engine
            .run_store(channel, sync, &CancellationToken::new())
            .await
            .unwrap()
    }

    pub async fn orders(&self) -> Vec<orderport_sync::OrderRow> {
        self.state.orders_page(None, 0, 1_000_000).await.unwrap()
    }

    pub async fn events(&self) -> Vec<orderport_sync::StatusEvent> {
        self.state
            .events_page(None, 0, 1_000_000)
            .await
            .unwrap()
            .into_iter()
            .map(|listing| listing.event)
            .collect()
    }

    pub async fn quarantine(&self) -> Vec<orderport_sync::QuarantineRow> {
        self.state
            .quarantine_page(None, 0, 1_000_000)
            .await
            .unwrap()
    }
}

/// How long a stalled request waits: a `Retry-After` of an hour, honoured inside the
/// connector (as Custom Store and Order Time do), or a server that never answers.
pub const STALL: StdDuration = StdDuration::from_secs(3600);

/// A channel whose requests from the `stall_from`-th on (0-based) first wait [`STALL`], or
/// never answer when `forever` is set.
///
/// Under tokio's paused clock a finite stall can end early in test terms: the clock jumps to
/// the next timer whenever the runtime waits on I/O (a database call), so a test that needs
/// the request to stay unanswered until something else happens sets `forever`.
pub struct Stalling {
    pub inner: FakeChannel,
    pub stall_from: usize,
    pub calls: AtomicUsize,
    pub forever: bool,
}

#[async_trait]
impl SellingChannel for Stalling {
    fn spec(&self) -> &'static ChannelSpec {
        self.inner.spec()
    }
    fn store(&self) -> &StoreProfile {
        self.inner.store()
    }
    async fn check_connection(&self) -> Result<(), ChannelError> {
        Ok(())
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.stall_from {
            if self.forever {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(STALL).await;
        }
        self.inner.fetch_page(window, page).await
    }
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.inner.push_shipment(update).await
    }
}

/// A SQLite state that lands another process's write just before the engine's own, after the
/// engine read what it decides on: a platform write before the next page commit (`pending`),
/// a label for part of an order before the next shipment write (`pending_label`), a shipment
/// before the next page commit (`pending_shipment`). It counts the lookups asked and the
/// page commits refused with `Conflict`.
pub struct ActionBeforeCommit {
    pub inner: Arc<SqliteState>,
    pub pending: Mutex<Option<orderport_sync::PlatformWrite>>,
    pub pending_label: Mutex<Option<(String, ShipmentUpdate)>>,
    pub pending_shipment: Mutex<Option<(String, ShipmentUpdate)>>,
    pub lookups: AtomicUsize,
    pub refused: AtomicUsize,
    /// The orders the pages asked to release from quarantine, summed.
    pub released: AtomicUsize,
}

impl ActionBeforeCommit {
    /// Over `inner`, nothing pending, nothing counted.
    pub fn new(inner: Arc<SqliteState>) -> Self {
        Self {
            inner,
            pending: Mutex::new(None),
            pending_label: Mutex::new(None),
            pending_shipment: Mutex::new(None),
            lookups: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
        }
    }

    /// Lands the pending shipment taken from `slot`, if any, as another process would: recorded
    /// at `at`, shipping no order.
    async fn land(
        &self,
        slot: &Mutex<Option<(String, ShipmentUpdate)>>,
        at: DateTime<Utc>,
    ) -> Result<(), orderport_sync::StateError> {
        use orderport_sync::State as _;
        let pending = slot.lock().unwrap().take();
        if let Some((store_id, update)) = pending {
            self.inner
                .record_shipment(orderport_sync::ShipmentRecord {
                    store_id: &store_id,
                    update: &update,
                    at,
                    ship: None,
                    coverage: None,
                })
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl orderport_sync::State for ActionBeforeCommit {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<orderport_sync::LeaseGrant, orderport_sync::StateError> {
        self.inner.acquire_lease(store_id, owner, ttl, now).await
    }
    async fn renew_lease(
        &self,
        lease: &orderport_sync::Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<orderport_sync::Lease, orderport_sync::StateError> {
        self.inner.renew_lease(lease, ttl, now).await
    }
    async fn release_lease(
        &self,
        lease: &orderport_sync::Lease,
    ) -> Result<(), orderport_sync::StateError> {
        self.inner.release_lease(lease).await
    }
    async fn cursor(
        &self,
        store_id: &str,
    ) -> Result<orderport_sync::Cursor, orderport_sync::StateError> {
        self.inner.cursor(store_id).await
    }
    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[orderport_sync::OrderLookup],
    ) -> Result<Vec<orderport_sync::Known>, orderport_sync::StateError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.lookup(channel, store_id, orders).await
    }
    async fn commit_page(
        &self,
        lease: &orderport_sync::Lease,
        commit: orderport_sync::PageCommit,
    ) -> Result<(), orderport_sync::StateError> {
        let pending = self.pending.lock().unwrap().take();
        if let Some(write) = pending {
            self.inner.record_platform(write).await?;
        }
        self.land(&self.pending_shipment, Utc::now()).await?;
        self.released
            .fetch_add(commit.release.len(), Ordering::SeqCst);
        let result = self.inner.commit_page(lease, commit).await;
        if matches!(result, Err(orderport_sync::StateError::Conflict { .. })) {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
    async fn is_blank(&self, store_id: &str) -> Result<bool, orderport_sync::StateError> {
        self.inner.is_blank(store_id).await
    }
    async fn quarantine_is_empty(
        &self,
        store_id: &str,
    ) -> Result<bool, orderport_sync::StateError> {
        self.inner.quarantine_is_empty(store_id).await
    }
    async fn refetches(
        &self,
        store_id: &str,
    ) -> Result<Vec<orderport_sync::Refetch>, orderport_sync::StateError> {
        self.inner.refetches(store_id).await
    }
    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<orderport_sync::WalkRecord>, orderport_sync::StateError> {
        self.inner.walks(store_id, since).await
    }
    async fn requeue_quarantine(
        &self,
        lease: &orderport_sync::Lease,
        fingerprint: &str,
    ) -> Result<usize, orderport_sync::StateError> {
        self.inner.requeue_quarantine(lease, fingerprint).await
    }
    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, orderport_sync::StateError> {
        self.inner.find_order(store_id, order).await
    }
    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, orderport_sync::StateError> {
        self.inner.label_shipments(store_id, order).await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<orderport_sync::MarkedOrder>, orderport_sync::StateError> {
        self.inner.find_marked(store_id, order).await
    }
    async fn record_platform(
        &self,
        write: orderport_sync::PlatformWrite,
    ) -> Result<Option<i64>, orderport_sync::StateError> {
        self.inner.record_platform(write).await
    }
    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<orderport_sync::MarkedOrder>, orderport_sync::StateError> {
        self.inner.lapsed_holds(store_id, now).await
    }
    async fn record_shipment(
        &self,
        shipment: orderport_sync::ShipmentRecord<'_>,
    ) -> Result<Option<i64>, orderport_sync::StateError> {
        self.land(&self.pending_label, shipment.at).await?;
        self.inner.record_shipment(shipment).await
    }
    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<orderport_sync::OutboxEvent>, orderport_sync::StateError> {
        self.inner.pending_events(sink, store, after, limit).await
    }
    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[orderport_sync::DeliveryMark],
    ) -> Result<(), orderport_sync::StateError> {
        self.inner.record_deliveries(sink, marks).await
    }
}
