//! The sync engine: one run of one store.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use orderport_core::{
    pages_ahead, CanonicalStatus, ChannelError, FetchOutcome, Order, OrderRef, Page, Rejection,
    SellingChannel, StoreZone, TimeWindow,
};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::{Clock, SystemClock};
use crate::error::{PlatformError, StateError, SyncError};
use crate::event::NewEvent;
use crate::platform::{PlatformAction, PlatformMark, PlatformOutcome};
use crate::report::RunReport;
use crate::run_ids::{IdSet, ListedIds, QuarantinedIds, WrittenIds};
use crate::settings::{hex, StoreSync};
use crate::state::{
    Known, Lease, LeaseGrant, OrderLookup, OrderWrite, PageCommit, PlatformWrite, QuarantineWrite,
    SliceDone, State, WalkRecord,
};
use crate::window::{merge, run_range, slices, slices_meeting, upper_bound, EARLIEST};

/// Whether a re-export modified at `new` is older than the stored `old` and must be ignored.
/// A wall-clock time in the hour a DST change repeats may stand for the later of its two
/// instants, so such a time is older only if even its later reading is.
fn is_older(zone: StoreZone, new: DateTime<Utc>, old: DateTime<Utc>) -> bool {
    if new >= old {
        return false;
    }
    let (_, latest) = zone.interpretations(zone.to_wall(new));
    latest < old
}

/// How far back walk records are read to detect shifted walks.
const WALK_LOOKBACK_DAYS: i64 = 7;

/// How many units of the channel's `modified_precision` an order's stored modification time
/// may lie outside a walk's window and still count as listed by that walk. The connectors
/// widen the window they request (Custom Store: the wall window floored and ceiled to the
/// minute, then one more minute each side, keeping orders that `may_contain` a truncated time;
/// Order Time: one more second each side), so a walk lists orders up to about two precision
/// units outside its window; three leave room.
const COVER_UNITS: i32 = 3;

/// The walks a run has made, and the one in progress: each range the run walks slice by slice
/// (its own range, then each re-fetch) and how many of its slices have started. Kept as
/// ranges, not one record per slice, so memory does not grow with the slice count
/// ([`slices_meeting`] finds a slice again).
#[derive(Debug, Default)]
struct RunWalks {
    ranges: Vec<WalkedRange>,
}

#[derive(Debug, Clone, Copy)]
struct WalkedRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    slice: Duration,
    started: u64,
}

impl RunWalks {
    /// Starts a new range of slices.
    fn begin(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, slice: Duration) {
        self.ranges.push(WalkedRange {
            from,
            to,
            slice,
            started: 0,
        });
    }

    /// The next slice of the current range starts.
    fn start_slice(&mut self) {
        if let Some(range) = self.ranges.last_mut() {
            range.started += 1;
        }
    }

    /// The walk in progress: its range's index and its slice's index in that range.
    fn current(&self) -> Option<(usize, u64)> {
        let index = self.ranges.len().checked_sub(1)?;
        let slice = self.ranges.get(index)?.started.checked_sub(1)?;
        Some((index, slice))
    }

    /// The windows of every slice this run has walked (or is walking) that meets `[lo, hi]`.
    fn meeting(&self, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Vec<TimeWindow> {
        self.ranges
            .iter()
            .filter_map(|r| slices_meeting(r.from, r.to, r.slice, r.started, lo, hi))
            .collect()
    }
}

/// At most this many rejected orders are remembered per run (see [`RejectedSeen`]).
const REJECTED_LIMIT: usize = 50_000;

/// Where this run's walks listed each rejected order: its range, its slice and the slice's
/// window. A rejection carries no modification time, so a rejected order listed again in a
/// later slice of the same range is taken to have moved there during the run, which may have
/// shifted the earlier walk. (It may instead lie on the boundary two adjacent slices share,
/// which costs one needless re-fetch.) Bounded by [`REJECTED_LIMIT`]; past it, new ones are not
/// remembered.
#[derive(Debug, Default)]
struct RejectedSeen {
    at: std::collections::HashMap<u64, (usize, u64, TimeWindow)>,
}

impl RejectedSeen {
    /// Notes `id` listed in slice `here` of window `window`; returns the window of an earlier
    /// slice of the same range that listed it too.
    fn note(&mut self, id: &str, here: (usize, u64), window: TimeWindow) -> Option<TimeWindow> {
        let key = IdSet::key(id);
        let moved = self
            .at
            .get(&key)
            .filter(|(range, slice, _)| *range == here.0 && *slice < here.1)
            .map(|(_, _, earlier)| *earlier);
        if self.at.len() < REJECTED_LIMIT || self.at.contains_key(&key) {
            self.at.insert(key, (here.0, here.1, window));
        }
        moved
    }
}

/// How long a lease lasts without renewal, in seconds, unless
/// [`SyncEngine::with_lease_ttl`] says otherwise.
pub const DEFAULT_LEASE_TTL_SECS: i64 = 60;

/// Runs stores against a [`State`]. Cheap to share behind an `Arc`; one engine serves every
/// store.
pub struct SyncEngine {
    pub(crate) state: Arc<dyn State>,
    pub(crate) clock: Arc<dyn Clock>,
    owner: String,
    lease_ttl: Duration,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("owner", &self.owner)
            .field("lease_ttl", &self.lease_ttl)
            .finish_non_exhaustive()
    }
}

/// What one run carries from page to page.
struct Run<'a> {
    channel: &'a dyn SellingChannel,
    store: &'a StoreSync,
    cancel: &'a CancellationToken,
    lease: Lease,
    /// Walks recorded by earlier runs.
    walks: Vec<WalkRecord>,
    /// Walks of this run, the one in progress included.
    this_run: RunWalks,
    /// Orders this run listed in the overlap with earlier runs.
    listed: ListedIds,
    /// Rejected orders this run listed, and where.
    rejected_seen: RejectedSeen,
    /// Re-fetch windows this run queued that it has not walked yet (no need to queue them
    /// twice).
    queued: Vec<TimeWindow>,
    /// The first run's upper bound (see [`crate::Cursor::backfill_until`]).
    backfill_until: Option<DateTime<Utc>>,
    /// Set when the store was blank as the run began ([`State::is_blank`]): the orders the
    /// run has written since, the only ones a lookup could find.
    written_since_blank: Option<WrittenIds>,
    /// Set when nothing of the store was quarantined as the run began
    /// ([`State::quarantine_is_empty`]): the orders the run has quarantined since, the only
    /// ones a page need release.
    quarantined_since_empty: Option<QuarantinedIds>,
    report: RunReport,
}

impl SyncEngine {
    /// An engine over `state` with the system clock, a lease of [`DEFAULT_LEASE_TTL_SECS`] (renewed
    /// on a heartbeat while a run holds it) and an owner name made of the host name, the
    /// process id and a random suffix (a restarted process never reuses its predecessor's). It makes one attempt per page: retries are the HTTP
    /// layer's, per request. Every call into `state` is timed ([`crate::telemetry::TimedState`]).
    pub fn new(state: Arc<dyn State>) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        Self {
            state: Arc::new(crate::telemetry::TimedState::new(state)),
            clock: Arc::new(SystemClock),
            owner: format!(
                "{host}:{}:{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            lease_ttl: Duration::seconds(DEFAULT_LEASE_TTL_SECS),
        }
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names this worker in leases.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Sets how long a lease lasts without renewal (it is renewed on a heartbeat every third
    /// of it, whatever the run is doing).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// The state the engine writes to.
    pub fn state(&self) -> &Arc<dyn State> {
        &self.state
    }

    /// Records an action taken in the shipping platform on a stored order of `store_id`: a
    /// hold until a date, mark as paid, or cancel ([`crate::platform`] has the rules and the
    /// precedence over later channel reports). Writes the order's new status and mark and, when
    /// the status changes, exactly one status event, in one transaction; a repeat writes no
    /// event. The order is found as shipments find it (by external id, else the latest with
    /// the number).
    pub async fn record_platform_action(
        &self,
        store_id: &str,
        order: &OrderRef,
        action: PlatformAction,
    ) -> Result<PlatformOutcome, PlatformError> {
        let named = order
            .external_id
            .clone()
            .unwrap_or_else(|| order.order_number.clone());
        // The order may change between the read and the write (a page, a label): the write
        // checks what the decision was made on, and the decision is made again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Some(found) = self.state.find_marked(store_id, order).await? else {
                return Err(PlatformError::NotFound {
                    store: store_id.to_owned(),
                    order: named,
                });
            };
            let before = found.order.status;
            let effect =
                action
                    .apply(before, found.platform)
                    .map_err(|refusal| PlatformError::Refused {
                        store: store_id.to_owned(),
                        order: found.order.order_number.clone(),
                        refusal,
                    })?;
            let at = self.clock.now();
            let event = (effect.status != before)
                .then(|| NewEvent::change(&found.order, Some(before), effect.status, at, false));
            let written = self
                .state
                .record_platform(PlatformWrite {
                    store_id: store_id.to_owned(),
                    key: found.order.key(),
                    expect: (before, found.platform),
                    status: effect.status,
                    platform: effect.mark,
                    event,
                    at,
                })
                .await;
            match written {
                Err(StateError::Conflict { .. }) if attempts < 3 => continue,
                Err(e) => return Err(e.into()),
                Ok(event_id) => {
                    return Ok(PlatformOutcome {
                        order_number: found.order.order_number,
                        external_id: found.order.external_id,
                        from: before,
                        to: effect.status,
                        mark: effect.mark,
                        event_id,
                    })
                }
            }
        }
    }

    /// Ends the store's platform holds that lapsed by now: each order returns to
    /// `awaiting_shipment` with one event dated at the hold's end. Every run of the store
    /// does this first; a host may call it on its own schedule. Returns how many ended. A hold
    /// the order lost in between (a label, another action) is left to what happened.
    pub async fn expire_holds(&self, store_id: &str) -> Result<u64, SyncError> {
        let now = self.clock.now();
        let mut ended = 0;
        for held in self.state.lapsed_holds(store_id, now).await? {
            let Some(until) = held.platform.and_then(|m| m.until()) else {
                continue;
            };
            let before = held.order.status;
            let to = CanonicalStatus::AwaitingShipment;
            let written = self
                .state
                .record_platform(PlatformWrite {
                    store_id: store_id.to_owned(),
                    key: held.order.key(),
                    expect: (before, held.platform),
                    status: to,
                    platform: None,
                    event: (before != to)
                        .then(|| NewEvent::change(&held.order, Some(before), to, until, false)),
                    at: now,
                })
                .await;
            match written {
                Ok(_) => ended += 1,
                Err(StateError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(ended)
    }

    /// Delivers every sink's pending events (optionally of one store), `batch` per request
    /// page; see [`crate::delivery::deliver_pending`].
    pub async fn deliver_pending(
        &self,
        sinks: &[&dyn crate::delivery::EventSink],
        store: Option<&str>,
        batch: usize,
    ) -> Vec<crate::delivery::DeliveryOutcome> {
        crate::delivery::deliver_pending(self.state.as_ref(), sinks, store, batch).await
    }

    /// Runs one store once: takes its lease, re-queues quarantined orders if the configuration
    /// changed, fetches `[watermark - overlap, now - lag]` slice by slice (or the history on the
    /// first run), then the pending re-fetch windows, committing each page atomically and
    /// moving the watermark to the end of each fully fetched slice.
    ///
    /// When `cancel` fires, the page in hand is committed and the run stops with
    /// `report.cancelled`. On error, everything committed stays and the next run resumes at the
    /// first slice not fully committed.
    ///
    /// Runs in a `sync.run` span (`channel`, `store`, `run_id`) and records the run's counts
    /// through the metrics facade ([`crate::telemetry`]).
    pub async fn run_store(
        &self,
        channel: &dyn SellingChannel,
        store: &StoreSync,
        cancel: &CancellationToken,
    ) -> Result<RunReport, SyncError> {
        let span = tracing::info_span!(
            "sync.run",
            channel = channel.spec().id,
            store = %channel.store().id,
            run_id = tracing::field::Empty,
        );
        let result = self
            .run_store_in_span(channel, store, cancel)
            .instrument(span)
            .await;
        crate::telemetry::record_run(
            channel.spec().id,
            &channel.store().id,
            &result,
            self.clock.now(),
        );
        result
    }

    async fn run_store_in_span(
        &self,
        channel: &dyn SellingChannel,
        store: &StoreSync,
        cancel: &CancellationToken,
    ) -> Result<RunReport, SyncError> {
        let timer = std::time::Instant::now();
        let profile = channel.store();
        let store_id = profile.id.clone();
        let now = self.clock.now();
        let lease = match self
            .state
            .acquire_lease(&store_id, &self.owner, self.lease_ttl, now)
            .await?
        {
            LeaseGrant::Granted(lease) => {
                tracing::Span::current().record("run_id", lease.token);
                lease
            }
            LeaseGrant::Held { owner, until } => {
                return Err(SyncError::Busy {
                    store: store_id,
                    owner,
                    until,
                })
            }
        };
        // The run stops when the caller cancels, or when the heartbeat loses the lease.
        let run_cancel = cancel.child_token();
        let lost = std::sync::atomic::AtomicBool::new(false);
        let mut run = Run {
            channel,
            store,
            cancel: &run_cancel,
            lease: lease.clone(),
            walks: Vec::new(),
            this_run: RunWalks::default(),
            listed: ListedIds::new(None),
            rejected_seen: RejectedSeen::default(),
            queued: Vec::new(),
            backfill_until: None,
            written_since_blank: None,
            quarantined_since_empty: None,
            report: RunReport {
                store_id: store_id.clone(),
                store_name: profile.name.clone(),
                started_at: Some(now),
                ..RunReport::default()
            },
        };
        let finished = CancellationToken::new();
        let (result, ()) = tokio::join!(
            async {
                let result = self.run_leased(&mut run).await;
                finished.cancel();
                result
            },
            self.heartbeat(lease, &finished, &run_cancel, &lost)
        );
        // A run stopped because its lease was lost is a failure, not a signal's stop.
        let result = match result {
            Ok(()) if lost.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(SyncError::State(StateError::LeaseLost {
                    store: store_id.clone(),
                }))
            }
            other => other,
        };
        if let Err(e) = self.state.release_lease(&run.lease).await {
            tracing::warn!(store = %store_id, error = %e, "could not release the sync lease; it lapses on its own");
        }
        run.report.duration_ms = u64::try_from(timer.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => {
                tracing::debug!(store = %store_id, report = ?run.report, "sync run finished");
                Ok(run.report)
            }
            Err(e) => {
                tracing::warn!(store = %store_id, report = ?run.report, error = %e, "sync run failed");
                Err(e)
            }
        }
    }

    /// How often a held lease is renewed: a third of its time to live, so two renewals may
    /// fail before it lapses.
    fn heartbeat_period(&self) -> std::time::Duration {
        (self.lease_ttl / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1))
            .max(std::time::Duration::from_millis(50))
    }

    /// Renews `lease` every [`Self::heartbeat_period`] until `finished` fires, whatever the work
    /// holding it is doing (a slow page, a long retry wait). When the lease is lost to another
    /// worker, or cannot be renewed before it lapses (the database is unreachable), it sets
    /// `lost` and fires `stop`: the holder stops, and its next write fails on the fencing
    /// token.
    async fn heartbeat(
        &self,
        mut lease: Lease,
        finished: &CancellationToken,
        stop: &CancellationToken,
        lost: &std::sync::atomic::AtomicBool,
    ) {
        let period = self.heartbeat_period();
        loop {
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = finished.cancelled() => return,
            }
            match self
                .state
                .renew_lease(&lease, self.lease_ttl, self.clock.now())
                .await
            {
                Ok(renewed) => lease = renewed,
                Err(e) => {
                    let lapsing = matches!(e, StateError::LeaseLost { .. })
                        || self.clock.now() + Duration::from_std(period).unwrap_or_default()
                            >= lease.expires_at;
                    tracing::warn!(store = %lease.store_id, error = %e, lapsing, "could not renew the lease");
                    if lapsing {
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        stop.cancel();
                        return;
                    }
                }
            }
        }
    }

    /// The time from which `store` is due again on its interval: `interval` after the start of
    /// the last run that moved its watermark to the run's upper bound (whichever worker ran
    /// it). `None` when it has never been synced.
    pub async fn next_due(
        &self,
        store: &StoreSync,
        store_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StateError> {
        let cursor = self.state.cursor(store_id).await?;
        Ok(cursor.watermark.and_then(|w| {
            w.checked_add_signed(store.settings.lag)?
                .checked_add_signed(store.settings.interval)
        }))
    }

    /// The engine's clock, now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Delivers every sink's pending events (optionally of one store) like
    /// [`crate::delivery::deliver_pending_until`], each sink under a lease of its own
    /// (`sink:NAME`) so that one worker at a time delivers a sink's events: a sink whose lease
    /// another worker holds is left to it ([`crate::DeliveryOutcome::elsewhere`]). The lease is
    /// renewed on the heartbeat while the pass runs.
    pub async fn deliver_claimed(
        &self,
        sinks: &[&dyn crate::delivery::EventSink],
        store: Option<&str>,
        batch: usize,
        cancel: &CancellationToken,
    ) -> Vec<crate::delivery::DeliveryOutcome> {
        let mut outcomes = Vec::with_capacity(sinks.len());
        for sink in sinks {
            let key = format!("sink:{}", sink.name());
            let grant = self
                .state
                .acquire_lease(&key, &self.owner, self.lease_ttl, self.clock.now())
                .await;
            let lease = match grant {
                Ok(LeaseGrant::Granted(lease)) => lease,
                Ok(LeaseGrant::Held { owner, .. }) => {
                    tracing::debug!(sink = sink.name(), %owner, "another worker is delivering this sink");
                    outcomes.push(crate::delivery::DeliveryOutcome {
                        sink: sink.name().to_owned(),
                        elsewhere: Some(owner),
                        ..Default::default()
                    });
                    continue;
                }
                Err(e) => {
                    outcomes.push(crate::delivery::DeliveryOutcome {
                        sink: sink.name().to_owned(),
                        error: Some(e.to_string()),
                        ..Default::default()
                    });
                    continue;
                }
            };
            let stop = cancel.child_token();
            let (finished, lost) = (
                CancellationToken::new(),
                std::sync::atomic::AtomicBool::new(false),
            );
            let (mut outcome, ()) = tokio::join!(
                async {
                    let outcome = crate::delivery::deliver_pending_until(
                        self.state.as_ref(),
                        &[*sink],
                        store,
                        batch,
                        &stop,
                    )
                    .await;
                    finished.cancel();
                    outcome
                },
                self.heartbeat(lease.clone(), &finished, &stop, &lost)
            );
            if let Err(e) = self.state.release_lease(&lease).await {
                tracing::warn!(sink = sink.name(), error = %e, "could not release the delivery lease; it lapses on its own");
            }
            outcomes.append(&mut outcome);
        }
        outcomes
    }

    async fn run_leased(&self, run: &mut Run<'_>) -> Result<(), SyncError> {
        let store_id = run.report.store_id.clone();
        let settings = run.store.settings;
        let now = run.report.started_at.unwrap_or_else(|| self.clock.now());
        let cursor = self.state.cursor(&store_id).await?;
        run.report.watermark_before = cursor.watermark;
        run.report.watermark_after = cursor.watermark;
        let upper = upper_bound(now, &settings);
        run.report.upper = upper;
        // The first run's range is the store's backfill; a first run cut short keeps the
        // bound, so its resumption is still backfill.
        run.backfill_until = match (cursor.backfill_until, cursor.watermark) {
            (Some(until), _) => Some(until),
            (None, None) => upper,
            (None, Some(_)) => None,
        };
        run.listed = ListedIds::new(
            cursor
                .watermark
                .map(|w| w.checked_add_signed(self.cover(run)).unwrap_or(w)),
        );
        run.report.requeued = self
            .state
            .requeue_quarantine(&run.lease, &run.store.fingerprint)
            .await? as u64;
        run.report.holds_expired = self.expire_holds(&store_id).await?;
        // Each ended hold wrote one event (on hold → awaiting shipment).
        run.report.events += run.report.holds_expired;
        let since = now
            .checked_sub_signed(Duration::days(WALK_LOOKBACK_DAYS))
            .map_or(EARLIEST, |since| since.max(EARLIEST));
        run.walks = self.state.walks(&store_id, since).await?;

        // Asked last, so that nothing above stores an order: from here only this run does.
        if self.state.is_blank(&store_id).await? {
            run.written_since_blank = Some(WrittenIds::default());
        }
        // Only the lease holder's commits quarantine the store's orders: from here, this run's.
        if self.state.quarantine_is_empty(&store_id).await? {
            run.quarantined_since_empty = Some(QuarantinedIds::default());
        }
        let walked = match self.walk_all(run, cursor.watermark, now).await {
            // A page committed without its lookups was refused: the store stopped being blank
            // (a label recorded meanwhile for an order not stored yet) or an order changed
            // under this run. Nothing of that page was written; walk on from the cursor,
            // looking every page up. Re-fetch windows queued by the refused page were rolled
            // back with it, so none counts as queued any more.
            Err(SyncError::State(StateError::Conflict { detail, .. }))
                if run.written_since_blank.take().is_some() =>
            {
                tracing::info!(store = %store_id, %detail, "a page committed without lookups was refused; walking on from the cursor with lookups");
                run.queued.clear();
                let cursor = self.state.cursor(&store_id).await?;
                self.walk_all(run, cursor.watermark, now).await?
            }
            other => other?,
        };
        self.finish(run, !walked).await
    }

    /// Walks the run's range from `watermark`, slice by slice, then every pending re-fetch.
    /// Returns false when cancelled.
    async fn walk_all(
        &self,
        run: &mut Run<'_>,
        watermark: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, SyncError> {
        let settings = run.store.settings;
        if let Some((lower, upper)) = run_range(watermark, now, &settings) {
            run.this_run.begin(lower, upper, settings.slice);
            for slice in slices(lower, upper, settings.slice) {
                run.this_run.start_slice();
                if !self
                    .walk(run, slice, SliceDone::Advance(slice.to()))
                    .await?
                {
                    return Ok(false);
                }
                run.report.slices += 1;
            }
        }

        // Re-fetches queued before this run or by it (quarantine, shifted walks). Those this
        // run queues from here on wait for the next run.
        run.queued.clear();
        for refetch in self.state.refetches(&run.report.store_id).await? {
            let w = refetch.window;
            run.this_run.begin(w.from(), w.to(), settings.slice);
            let parts: Vec<TimeWindow> = if w.from() == w.to() {
                vec![w]
            } else {
                slices(w.from(), w.to(), settings.slice).collect()
            };
            for slice in parts {
                run.this_run.start_slice();
                let done = SliceDone::Refetch {
                    id: refetch.id,
                    end: slice.to(),
                };
                if !self.walk(run, slice, done).await? {
                    return Ok(false);
                }
                run.report.refetch_slices += 1;
            }
        }
        Ok(true)
    }

    /// How far outside a walk's window an order's modification time may be and still be
    /// listed by it: [`COVER_UNITS`] units of the channel's precision (at least a second).
    fn cover(&self, run: &Run<'_>) -> Duration {
        run.channel
            .spec()
            .modified_precision
            .max(Duration::seconds(1))
            .checked_mul(COVER_UNITS)
            .unwrap_or(Duration::seconds(1))
    }

    async fn finish(&self, run: &mut Run<'_>, cancelled: bool) -> Result<(), SyncError> {
        run.report.cancelled = cancelled;
        run.report.watermark_after = self.state.cursor(&run.report.store_id).await?.watermark;
        Ok(())
    }

    /// Fetches a window page by page, committing each in page order. Returns false when
    /// cancelled.
    ///
    /// The pages come from [`pages_ahead`]: where the channel names the pages to come (a
    /// Custom Store export's page count), up to the store's `pages_ahead` fetches are in flight
    /// while a page is committed. The pages and their order are those of the one-at-a-time
    /// walk (its [`WalkGuard`](orderport_core::WalkGuard) checks included), and every request of the walk is sent after
    /// `started_at` and answered before the last page is committed, so the [`WalkRecord`]
    /// bounds every request: the shifted-walk detection holds (docs/sync.md).
    ///
    /// One attempt per page: retries are the HTTP layer's, per request
    /// (`retry_max_attempts`, honouring Retry-After, by each request's idempotency); a page
    /// that still fails fails the run, which resumes at this slice on the next run. Waiting
    /// for a page races the cancellation: when it fires, the walk is dropped, which aborts the
    /// requests in flight and any retry or pacer wait inside the connector, so a shutdown never
    /// waits for a slow server or a long `Retry-After`. Nothing of an abandoned page is
    /// committed.
    async fn walk(
        &self,
        run: &mut Run<'_>,
        window: TimeWindow,
        done: SliceDone,
    ) -> Result<bool, SyncError> {
        if run.cancel.is_cancelled() {
            return Ok(false);
        }
        let started_at = self.clock.now();
        let channel = run.channel;
        let cancel = run.cancel;
        let ahead = usize::try_from(channel.store().pages_ahead).unwrap_or(0);
        let mut walk = std::pin::pin!(pages_ahead(channel, window, ahead));
        loop {
            let fetched = tokio::select! {
                fetched = walk.try_next() => fetched,
                () = cancel.cancelled() => {
                    tracing::debug!(store = %run.report.store_id, "cancelled: the page requests in flight are abandoned");
                    return Ok(false);
                }
            };
            let page = match fetched {
                Ok(Some(page)) => page,
                // The walk ends after a page without a next one (handled below).
                Ok(None) => return Ok(true),
                Err(error) => return Err(Self::channel_error(run, &window, error)),
            };
            run.report.pages += 1;
            let last = page.next.is_none();
            let span = tracing::info_span!("sync.page", page = run.report.pages, window = ?window);
            let mut commit = self
                .build_commit(run, &window, page)
                .instrument(span.clone())
                .await?;
            if last {
                commit.done = Some(done);
                commit.walk = Some(WalkRecord {
                    window,
                    started_at,
                    finished_at: self.clock.now(),
                });
            }
            run.report.events += commit.events.len() as u64;
            run.report.refetch_queued += commit.refetch.len() as u64;
            self.state
                .commit_page(&run.lease, commit)
                .instrument(span)
                .await?;
            // No renewal here: the heartbeat renews the lease on its own schedule, and the
            // commit checked the fencing token (a renewal per page was a third of the state
            // store's time in the first-sync bench).
            if last {
                return Ok(true);
            }
            if cancel.is_cancelled() {
                return Ok(false);
            }
        }
    }

    fn channel_error(run: &Run<'_>, window: &TimeWindow, error: ChannelError) -> SyncError {
        SyncError::Channel {
            store: run.report.store_id.clone(),
            from: window.from(),
            to: window.to(),
            source: Box::new(error),
        }
    }

    /// The walks an order, stored modified at `old` and now seen modified at `new`, may have
    /// shifted: their windows, to fetch again whole (a LIMIT/OFFSET walk's sort order is
    /// unknown, so the row it skipped may be anywhere in its window).
    ///
    /// - A walk of an earlier run counts when `old` is within its window (give or take the
    ///   cover margin) and `new` is during the walk, by the engine's clock give or take
    ///   `overlap + lag` and the channel's precision (a time truncated to the minute can fall
    ///   before the walk started).
    /// - A walk of this run, the one in progress included, counts when `old` is within its
    ///   window (give or take the cover margin) and this run may have listed the order there
    ///   ([`ListedIds`]): the clocks are not compared, since the channel's clock may run behind
    ///   the engine's, so the order may have changed after the walk rather than during it.
    fn shifted_walks(
        &self,
        run: &Run<'_>,
        external_id: &str,
        old: DateTime<Utc>,
        new: DateTime<Utc>,
    ) -> Vec<TimeWindow> {
        let settings = run.store.settings;
        let precision = run.channel.spec().modified_precision;
        let cover = self.cover(run);
        let slack = settings
            .overlap
            .checked_add(&settings.lag)
            .and_then(|d| d.checked_add(&precision))
            .unwrap_or(Duration::MAX);
        let lo = old.checked_sub_signed(cover).unwrap_or(old);
        let hi = old.checked_add_signed(cover).unwrap_or(old);
        let mut found: Vec<TimeWindow> = run
            .walks
            .iter()
            .filter(|w| w.window.from() <= hi && lo <= w.window.to())
            .filter(|w| {
                let after_start = w
                    .started_at
                    .checked_sub_signed(slack)
                    .is_none_or(|start| new >= start);
                let before_end = w
                    .finished_at
                    .checked_add_signed(slack)
                    .is_none_or(|end| new <= end);
                after_start && before_end
            })
            .map(|w| w.window)
            .collect();
        if run.listed.may_have_listed(external_id, old) {
            found.extend(run.this_run.meeting(lo, hi));
        }
        found
    }

    async fn build_commit(
        &self,
        run: &mut Run<'_>,
        window: &TimeWindow,
        page: Page,
    ) -> Result<PageCommit, SyncError> {
        let store_id = run.report.store_id.clone();
        let channel_id = run.channel.spec().id;
        let mut accepted: Vec<Order> = Vec::new();
        let mut rejected: Vec<Rejection> = Vec::new();
        for outcome in page.outcomes {
            run.report.fetched += 1;
            match outcome {
                FetchOutcome::Accepted(order) => accepted.push(*order),
                FetchOutcome::Rejected(r) => rejected.push(r),
            }
        }
        // A page may repeat an order (offset paging over a moving list): keep the latest.
        accepted.sort_by(|a, b| {
            a.external_id
                .cmp(&b.external_id)
                .then(b.modified_at.cmp(&a.modified_at))
        });
        accepted.dedup_by(|later, kept| later.external_id == kept.external_id);
        accepted.sort_by(|a, b| {
            a.modified_at
                .cmp(&b.modified_at)
                .then(a.external_id.cmp(&b.external_id))
        });

        let lookups: Vec<OrderLookup> = accepted
            .iter()
            .map(|o| OrderLookup {
                external_id: o.external_id.clone(),
                order_number: o.order_number.clone(),
            })
            .collect();
        // A store blank as the run began holds only what this run wrote since: a page of
        // other orders needs no lookup, and its commit checks that assumption.
        let assumes_blank = !accepted.is_empty()
            && run.written_since_blank.as_ref().is_some_and(|written| {
                accepted
                    .iter()
                    .all(|o| !written.may_have_written(&o.external_id))
            });
        let known = if lookups.is_empty() {
            Vec::new()
        } else if assumes_blank {
            vec![Known::default(); lookups.len()]
        } else {
            self.state.lookup(channel_id, &store_id, &lookups).await?
        };

        let zone = run.channel.store().zone;
        let listed: Vec<(String, DateTime<Utc>)> = accepted
            .iter()
            .map(|o| (o.external_id.clone(), o.modified_at))
            .collect();
        // Of a store whose quarantine was empty as the run began, only the orders this run
        // quarantined (before this page: the page's own rejections are written after its
        // releases) can be released.
        let release = match &run.quarantined_since_empty {
            Some(quarantined) => lookups
                .into_iter()
                .filter(|l| quarantined.may_hold(l))
                .collect(),
            None => lookups,
        };
        let mut commit = PageCommit {
            release,
            backfill: run.backfill_until.is_some_and(|until| window.to() <= until),
            backfill_until: run.backfill_until,
            assumes_blank,
            ..PageCommit::default()
        };
        let mut refetch = Vec::new();
        for (mut order, known) in accepted.into_iter().zip(known) {
            let serialize = |order: &Order| {
                serde_json::to_string(order).map_err(|e| SyncError::Serialize {
                    store: store_id.clone(),
                    external_id: order.external_id.clone(),
                    detail: e.to_string(),
                })
            };
            let mut json = serialize(&order)?;
            // The hash is the channel's report's: an unchanged report is recognised even where
            // a platform mark changed the stored status.
            let content_hash = hex(&Sha256::digest(json.as_bytes()));
            let Known {
                stored,
                label_shipment,
                platform,
            } = known;
            let from = match &stored {
                None => {
                    run.report.new += 1;
                    None
                }
                Some(s) if is_older(zone, order.modified_at, s.modified_at) => {
                    // An older re-export: never roll the order back.
                    run.report.stale += 1;
                    continue;
                }
                Some(s) if s.content_hash == content_hash => {
                    run.report.unchanged += 1;
                    continue;
                }
                Some(s) => {
                    run.report.updated += 1;
                    if order.modified_at > s.modified_at {
                        refetch.extend(self.shifted_walks(
                            run,
                            &order.external_id,
                            s.modified_at,
                            order.modified_at,
                        ));
                    }
                    Some(s.status)
                }
            };
            // A status the platform set holds against the report (crate::platform).
            let (status, mark) = PlatformMark::absorb(platform, order.status);
            if status != order.status {
                order.status = status;
                json = serialize(&order)?;
            }
            if from != Some(status) {
                commit.events.push(NewEvent::change(
                    &order,
                    from,
                    status,
                    order.modified_at,
                    label_shipment,
                ));
            }
            commit.orders.push(OrderWrite {
                order: Box::new(order),
                json,
                content_hash,
                platform: mark,
                replaces: stored.map(|s| (s.status, platform)),
            });
        }
        for (id, at) in &listed {
            run.listed.note(id, *at);
        }
        if let Some(written) = run.written_since_blank.as_mut() {
            for w in &commit.orders {
                written.note(&w.order.external_id);
            }
        }
        if let Some(here) = run.this_run.current() {
            for r in &rejected {
                let Some(id) = r.external_id.as_deref().or(r.order_number.as_deref()) else {
                    continue;
                };
                refetch.extend(run.rejected_seen.note(id, here, *window));
            }
        }
        // Queue each window once per run: drop those inside one queued and not walked yet.
        let fresh: Vec<TimeWindow> = merge(refetch)
            .into_iter()
            .filter(|w| {
                !run.queued
                    .iter()
                    .any(|q| q.from() <= w.from() && w.to() <= q.to())
            })
            .collect();
        run.queued.extend(fresh.iter().copied());
        commit.refetch = fresh
            .into_iter()
            .map(|w| (w, "shifted-walk".to_owned()))
            .collect();
        for rejection in rejected {
            run.report.rejected += 1;
            if let Some(quarantined) = run.quarantined_since_empty.as_mut() {
                quarantined.note(&rejection);
            }
            commit.quarantine.push(QuarantineWrite {
                rejection,
                window: *window,
                fingerprint: run.store.fingerprint.clone(),
            });
        }
        Ok(commit)
    }
}
