//! The planner's statistics, kept up with a first sync.
//!
//! A first sync loads a new database faster than autovacuum analyzes it: its first pass comes a
//! minute or more in, and each later one after a tenth more rows. Until then the planner plans
//! on the size it last saw (an empty table), and a connection keeps a prepared statement's plan
//! until the next `ANALYZE`: on the 300-store bench a page's lookup kept a plan that scanned
//! the orders table, or the store's orders, for each key. So each [`PostgresState`] analyzes
//! `orders` and `events` itself when the orders it wrote pass 1,000, then each time they double:
//! about eleven times over a 1.8-million-order first sync, rarely after. Each `ANALYZE` reads a
//! sample of 30,000 rows, not the table, and invalidates the cached plans of every connection.
//!
//! [`PostgresState`]: super::PostgresState

use std::sync::atomic::{AtomicU64, Ordering};

use super::codec::Ctx;
use crate::error::StateError;

/// Orders written by one state before its first `ANALYZE`.
pub(super) const FIRST_ANALYZE_AFTER: u64 = 1_000;

/// Counts the orders one state wrote and says when the tables should be analyzed again.
#[derive(Debug)]
pub(super) struct Growth {
    written: AtomicU64,
    next: AtomicU64,
}

impl Growth {
    /// Counting from none, the first `ANALYZE` after `first` orders.
    pub(super) fn new(first: u64) -> Self {
        Self {
            written: AtomicU64::new(0),
            next: AtomicU64::new(first.max(1)),
        }
    }

    /// Counts `orders` more written; true for the one caller whose orders passed the next
    /// threshold (which then doubles), so that one caller analyzes.
    pub(super) fn record(&self, orders: u64) -> bool {
        let total = self
            .written
            .fetch_add(orders, Ordering::Relaxed)
            .saturating_add(orders);
        let next = self.next.load(Ordering::Relaxed);
        total >= next
            && self
                .next
                .compare_exchange(
                    next,
                    total.saturating_mul(2),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

/// [`analyze`]'s statement: `ANALYZE orders, events` unless `orders` has grown by less than half
/// since its last `ANALYZE`, by its size on disk against the pages that `ANALYZE` counted
/// (`relpages`, 0 before the first). The size is the file's, current whoever wrote it; the
/// server's activity counts (`n_mod_since_analyze`) lag by up to a second of each connection's
/// writes, which is most of a first sync's early thresholds.
pub(super) const ANALYZE_IF_GROWN: &str = "
DO $$
BEGIN
    IF (SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint
               >= c.relpages::bigint * 3 / 2
        FROM pg_class c WHERE c.oid = 'orders'::regclass) THEN
        ANALYZE orders, events;
    END IF;
END
$$";

/// Analyzes the tables a sync grows, when they grew by half since their last `ANALYZE`.
///
/// Each state counts its own writes ([`Growth`]), so several workers on one database would each
/// analyze at their own thresholds: four workers analyzed four times per doubling of the table,
/// 5% of every CPU sample of a four-worker first sync on two cores (docs/performance.md). The
/// table's size settles it: a worker whose threshold comes just after another's `ANALYZE` finds
/// the table grown by less than half and skips, and so does a restarted worker on a database
/// that is not growing much. `ANALYZE` by a role that does not own the tables is a warning from
/// the server, not an error: nothing is analyzed and the sync goes on.
pub(super) async fn analyze(
    client: &tokio_postgres::Client,
    store: &str,
) -> Result<(), StateError> {
    client
        .batch_execute(ANALYZE_IF_GROWN)
        .await
        .ctx(store, "analyze the grown tables")
}

/// The `ANALYZE`s a state runs in tasks of their own ([`super::PostgresState`] starts one
/// after the group commit whose orders passed a threshold, so that the next groups need not
/// wait for it): how many are running, for tests to wait for them.
#[derive(Debug, Default)]
pub(super) struct Analyses {
    running: std::sync::atomic::AtomicUsize,
    finished: tokio::sync::Notify,
}

impl Analyses {
    /// One more is running; call before starting its task.
    pub(super) fn started(&self) {
        self.running.fetch_add(1, Ordering::SeqCst);
    }

    /// One has finished; call at the end of its task.
    pub(super) fn finished(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.finished.notify_waiters();
    }

    /// Waits until none is running.
    #[cfg(test)]
    pub(super) async fn settled(&self) {
        loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            finished.await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A page of `n` new orders of `store`, numbered from `from`.
    #[cfg(feature = "state-suite")]
    fn new_orders(store: &str, from: usize, n: usize) -> crate::state::PageCommit {
        use crate::suite;
        let orders: Vec<_> = (from..from + n)
            .map(|i| {
                suite::order(
                    store,
                    &format!("A{i}"),
                    orderport_core::CanonicalStatus::AwaitingShipment,
                    suite::t0(),
                )
            })
            .collect();
        suite::page_of(&orders)
    }

    /// `reltuples` of `orders` and `events`: -1 until a table's first ANALYZE, then its row
    /// count.
    #[cfg(feature = "state-suite")]
    async fn analyzed(client: &tokio_postgres::Client) -> (f32, f32) {
        let row = client
            .query_one(
                "SELECT (SELECT reltuples FROM pg_class WHERE relname = 'orders'),
                        (SELECT reltuples FROM pg_class WHERE relname = 'events')",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    #[test]
    fn analyzes_at_the_threshold_then_at_each_doubling() {
        let growth = Growth::new(1_000);
        let mut analyzed_at = Vec::new();
        let mut total = 0;
        for _ in 0..400 {
            total += 20;
            if growth.record(20) {
                analyzed_at.push(total);
            }
        }
        // 8,000 orders in pages of 20.
        assert_eq!(analyzed_at, [1_000, 2_000, 4_000, 8_000]);
    }

    #[test]
    fn one_caller_analyzes_when_many_pass_the_threshold_at_once() {
        let growth = std::sync::Arc::new(Growth::new(1_000));
        let analyzing: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..7)
                .map(|_| {
                    let growth = growth.clone();
                    s.spawn(move || (0..100).filter(|_| growth.record(5)).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        // 3,500 orders: the thresholds 1,000 and about 2,000 (twice the count of whoever passed
        // the first) are passed, each analyzed by one caller only.
        assert!((1..=2).contains(&analyzing), "{analyzing}");
    }

    /// Page commits analyze `orders` and `events` once the state wrote 1,000 orders, not
    /// before (autovacuum off, so only the state analyzes).
    #[cfg(feature = "state-suite")]
    #[tokio::test]
    async fn page_commits_analyze_the_tables_they_grew() {
        use crate::state::State;
        use crate::suite;

        let (_db, state, client) = super::super::query_plans::without_autovacuum("analyze").await;
        assert_eq!(
            analyzed(&client).await,
            (-1.0, -1.0),
            "a new database is not analyzed"
        );
        let lease = suite::lease(&state, "s1", "w1", suite::t0()).await.unwrap();
        state
            .commit_page(&lease, new_orders("s1", 0, 600))
            .await
            .unwrap();
        state.analyses.settled().await;
        assert_eq!(analyzed(&client).await, (-1.0, -1.0), "600 orders: not yet");
        state
            .commit_page(&lease, new_orders("s1", 600, 600))
            .await
            .unwrap();
        state.analyses.settled().await;
        assert_eq!(
            analyzed(&client).await,
            (1200.0, 1200.0),
            "1,200 orders: analyzed"
        );
    }

    /// The `ANALYZE` a commit starts does not hold that commit's page, nor the next: with
    /// `ANALYZE` blocked (another transaction holds the lock it needs, which writes do not),
    /// page commits still return, and the tables are analyzed once the lock is released.
    #[cfg(feature = "state-suite")]
    #[tokio::test]
    async fn page_commits_do_not_wait_for_the_analyze_they_start() {
        use crate::state::State;
        use crate::suite;
        use std::time::Duration;

        let (db, state, client) =
            super::super::query_plans::without_autovacuum("analyze_aside").await;
        let blocker = db.client().await.unwrap();
        blocker
            .batch_execute("BEGIN; LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE")
            .await
            .unwrap();
        let lease = suite::lease(&state, "s1", "w1", suite::t0()).await.unwrap();
        for (from, n) in [(0, 1_200), (1_200, 10)] {
            let commit = state.commit_page(&lease, new_orders("s1", from, n));
            tokio::time::timeout(Duration::from_secs(10), commit)
                .await
                .unwrap_or_else(|_| panic!("the commit of orders {from}.. waited for ANALYZE"))
                .unwrap();
        }
        assert_eq!(analyzed(&client).await, (-1.0, -1.0), "ANALYZE still waits");
        blocker.batch_execute("COMMIT").await.unwrap();
        state.analyses.settled().await;
        assert_eq!(analyzed(&client).await, (1210.0, 1210.0));
    }

    /// Another worker's state on the same database, passing its own first threshold just after
    /// the tables were analyzed, does not analyze them again; one that finds them grown by
    /// half does.
    #[cfg(feature = "state-suite")]
    #[tokio::test]
    async fn a_second_worker_skips_an_analyze_the_tables_do_not_need() {
        use crate::state::State;
        use crate::suite;

        let (db, first, client) = super::super::query_plans::without_autovacuum("analyze2").await;
        let second = super::super::PostgresState::connect(db.url())
            .await
            .unwrap();
        // The first worker writes 4,000 orders: analyzed at 1,000 and 4,000.
        let lease = suite::lease(&first, "s1", "w1", suite::t0()).await.unwrap();
        first
            .commit_page(&lease, new_orders("s1", 0, 1_000))
            .await
            .unwrap();
        first.analyses.settled().await;
        first
            .commit_page(&lease, new_orders("s1", 1_000, 3_000))
            .await
            .unwrap();
        first.analyses.settled().await;
        assert_eq!(analyzed(&client).await, (4_000.0, 4_000.0));
        // The second passes its first threshold with 1,200 more: 30%, skipped.
        let lease = suite::lease(&second, "s2", "w2", suite::t0())
            .await
            .unwrap();
        second
            .commit_page(&lease, new_orders("s2", 0, 1_200))
            .await
            .unwrap();
        second.analyses.settled().await;
        assert_eq!(
            analyzed(&client).await,
            (4_000.0, 4_000.0),
            "the tables grew by 30% since their ANALYZE: not analyzed again"
        );
        // Its next threshold (2,400 of its own) finds them grown by 60%: analyzed.
        second
            .commit_page(&lease, new_orders("s2", 1_200, 1_200))
            .await
            .unwrap();
        second.analyses.settled().await;
        assert_eq!(analyzed(&client).await, (6_400.0, 6_400.0));
    }
}
