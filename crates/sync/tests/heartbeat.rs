//! Leases held on a heartbeat, on both backends: a run stalled on one request keeps its store
//! (the lease is renewed though no page commits), and a run whose lease another worker took
//! stops and reports the loss. Time is tokio's paused clock and a manual engine clock: nothing
//! depends on how fast the machine is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use common::*;
use orderport_core::{Order, OrderRef, SellingChannel, ShipmentUpdate, StoreZone};
use orderport_sync::postgres::PostgresState;
use orderport_sync::suite::pg::TestDatabase;
use orderport_sync::{
    CancellationToken, Cursor, DeliveryMark, Known, Lease, LeaseGrant, ManualClock, OrderLookup,
    OutboxEvent, PageCommit, Refetch, ShipmentRecord, SqliteState, State, StateError, SyncEngine,
    SyncError, WalkRecord,
};

const TTL: i64 = 60;

/// A state that tells the test each lease renewal (its new expiry) and otherwise passes every
/// call through, so the test waits for what happened, not for time.
struct Observed {
    inner: Arc<dyn State>,
    renewed: tokio::sync::watch::Sender<Option<DateTime<Utc>>>,
    lost: tokio::sync::watch::Sender<bool>,
}

#[async_trait]
impl State for Observed {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        self.inner.acquire_lease(store_id, owner, ttl, now).await
    }
    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        let renewed = self.inner.renew_lease(lease, ttl, now).await;
        match &renewed {
            Ok(lease) => {
                self.renewed.send_replace(Some(lease.expires_at));
            }
            Err(StateError::LeaseLost { .. }) => {
                self.lost.send_replace(true);
            }
            Err(_) => {}
        }
        renewed
    }
    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        self.inner.release_lease(lease).await
    }
    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        self.inner.cursor(store_id).await
    }
    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        self.inner.lookup(channel, store_id, orders).await
    }
    async fn commit_page(&self, lease: &Lease, commit: PageCommit) -> Result<(), StateError> {
        self.inner.commit_page(lease, commit).await
    }
    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        self.inner.refetches(store_id).await
    }
    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        self.inner.walks(store_id, since).await
    }
    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        self.inner.requeue_quarantine(lease, fingerprint).await
    }
    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        self.inner.find_order(store_id, order).await
    }
    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        self.inner.label_shipments(store_id, order).await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<orderport_sync::MarkedOrder>, StateError> {
        self.inner.find_marked(store_id, order).await
    }
    async fn record_platform(
        &self,
        write: orderport_sync::PlatformWrite,
    ) -> Result<Option<i64>, StateError> {
        self.inner.record_platform(write).await
    }
    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<orderport_sync::MarkedOrder>, StateError> {
        self.inner.lapsed_holds(store_id, now).await
    }
    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        self.inner.record_shipment(shipment).await
    }
    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        self.inner.pending_events(sink, store, after, limit).await
    }
    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        self.inner.record_deliveries(sink, marks).await
    }
}

async fn scenario(inner: Arc<dyn State>) {
    let now = t(2026, 6, 1, 12, 0, 0);
    let (renewed, mut renewals) = tokio::sync::watch::channel(None);
    let (lost, mut lost_seen) = tokio::sync::watch::channel(false);
    let state: Arc<dyn State> = Arc::new(Observed {
        inner,
        renewed,
        lost,
    });
    let clock = ManualClock::new(now);
    let engine = Arc::new(
        SyncEngine::new(state.clone())
            .with_clock(Arc::new(clock.clone()))
            .with_owner("worker-a")
            .with_lease_ttl(Duration::seconds(TTL)),
    );
    let inner = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 1);
    inner.put(FakeOrder::new("a", "paid", now - Duration::days(89)));
    let store_id = inner.store().id.clone();
    let channel = Stalling {
        inner,
        stall_from: 0,
        calls: AtomicUsize::new(0),
        // Never answers: an hour-long stall could end while the runtime waits on the
        // database (the paused clock jumps to it), letting the run commit and end without the
        // heartbeat, and the wait below would then never end (seen once on PostgreSQL).
        forever: true,
    };
    let sync = store_sync(&SPEC_SECONDS);
    let cancel = CancellationToken::new();
    let run = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        tokio::spawn(async move { engine.run_store(&channel, &sync, &cancel).await })
    };
    // Until worker A holds the lease. Probing at a time long past takes nothing from it: a
    // lease granted to the probe then has lapsed by `now`.
    let ttl = Duration::seconds(TTL);
    loop {
        match state
            .acquire_lease(&store_id, "probe", ttl, now - Duration::days(1))
            .await
            .unwrap()
        {
            LeaseGrant::Held { owner, .. } if owner == "worker-a" => break,
            _ => tokio::time::sleep(StdDuration::from_millis(1)).await,
        }
    }
    // The first request never answers; no page commits. The engine's clock moves on 50 s
    // and the heartbeat (every 20 s of tokio's paused clock) renews from there.
    clock.set(now + Duration::seconds(50));
    let extended = now + Duration::seconds(50 + TTL);
    renewals
        .wait_for(|expiry| expiry.is_some_and(|e| e >= extended))
        .await
        .unwrap();
    let held = state
        .acquire_lease(
            &store_id,
            "worker-b",
            ttl,
            now + Duration::seconds(TTL + 10),
        )
        .await
        .unwrap();
    assert!(
        matches!(held, LeaseGrant::Held { ref owner, .. } if owner == "worker-a"),
        "a stalled run must keep its lease through the heartbeat: {held:?}"
    );
    // Worker B takes the store over once the renewed lease has lapsed; A's next heartbeat
    // finds the lease lost, and A's run stops with that error.
    let taken = state
        .acquire_lease(&store_id, "worker-b", ttl, now + Duration::seconds(1000))
        .await
        .unwrap();
    assert!(matches!(taken, LeaseGrant::Granted(_)), "{taken:?}");
    // No timeout here: tokio's paused clock jumps to the next timer whenever the runtime
    // waits for the database, so virtual time says nothing about who stopped the run. The
    // heartbeat must have found the lease lost.
    let mut run = run;
    // `biased`: the observer sees the loss before the heartbeat stops the run, so when both
    // are ready the loss was seen first.
    tokio::select! {
        biased;
        seen = lost_seen.wait_for(|lost| *lost) => { seen.unwrap(); }
        ended = &mut run => panic!("the run ended before its heartbeat found the lease lost: {ended:?}"),
    }
    let result = run.await.unwrap();
    assert!(
        matches!(result, Err(SyncError::State(StateError::LeaseLost { .. }))),
        "{result:?}"
    );
    assert!(
        !cancel.is_cancelled(),
        "only the run stopped, not its caller"
    );
}

#[tokio::test(start_paused = true)]
async fn sqlite_the_heartbeat_keeps_a_stalled_run_and_a_lost_lease_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = SqliteState::open(dir.path().join("state.db")).unwrap();
    scenario(Arc::new(state)).await;
}

#[tokio::test(start_paused = true)]
async fn postgres_the_heartbeat_keeps_a_stalled_run_and_a_lost_lease_stops_it() {
    let db = TestDatabase::create("heartbeat")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let state = PostgresState::connect(db.url()).await.unwrap();
    scenario(Arc::new(state)).await;
}
