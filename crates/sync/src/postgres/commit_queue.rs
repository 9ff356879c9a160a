//! Group commit: the pages that wait together are committed together.
//!
//! Every [`crate::State::commit_page`] of a [`PostgresState`] queues its page here and waits
//! for its outcome. At most [`GROUPS_IN_FLIGHT`] groups are in flight at once, each driven by a
//! task on a pooled connection. A page that arrives while none is in flight is committed at
//! once, alone (no waiting for company); the pages that arrive while one is in flight wait
//! together and go as one group (up to [`MAX_GROUP_PAGES`] pages or [`MAX_GROUP_ORDERS`]
//! orders, one page per store) when it ends. So a quiet worker commits each page as it comes,
//! and a busy one commits many in one transaction, with [`super::page_commit`]'s statements
//! taking every page's rows at once.
//!
//! A group is atomic as a whole. When it fails, its pages are committed again one by one, in
//! the same task: each then commits, or fails for its own reason ([`StateError::LeaseLost`],
//! [`StateError::Conflict`], an error of the server), which its caller gets, as if there had
//! been no group. Committing a page again is safe even when the group's outcome is unknown (a
//! connection lost after its `COMMIT` was sent): the orders' upsert, the events (one per
//! order, status and time) and the cursor (which never moves back) are idempotent; the
//! replaced orders' and the blank store's checks refuse a page already written; at worst a
//! re-fetch window or a walk is recorded twice.
//!
//! The groups run on the state's connection thread ([`super::io_thread`]), so a caller that
//! stops waiting (its future dropped) leaves its page to be committed, or not, as any
//! `COMMIT` without an answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::page_commit::{self, Member};
use super::statistics::analyze;
use super::PostgresState;
use crate::error::StateError;

/// How many groups of one state are in flight at once.
///
/// One: the fewer in flight, the more pages wait together and the fewer transactions the
/// server runs. A four-worker first sync of 1,002 stores on two cores (docs/performance.md,
/// "Group commit") took 75.9, 75.4 and 65.1 s of the server's CPU with four, two and one in
/// flight per worker, and its page commits 46.7, 47.3 and 40.8 ms. A group's transaction
/// waits for row locks only while another transaction writes the same store (a takeover, a
/// shipment being recorded), which is short. The other connections of the pool serve the
/// leases, lookups and deliveries.
pub(super) const GROUPS_IN_FLIGHT: usize = 1;

/// The most pages one group holds.
pub(super) const MAX_GROUP_PAGES: usize = 64;

/// The most orders one group holds (a page with more is a group of its own).
pub(super) const MAX_GROUP_ORDERS: usize = 4_000;

/// A page waiting to be committed, and where its outcome goes.
struct Waiting {
    member: Member,
    outcome: oneshot::Sender<Outcome>,
}

/// A page's outcome, and the page given back: its caller drops it, on the caller's thread.
/// (Dropped on the connection thread, a group's orders were freed by another thread than
/// the one that allocated them: glibc's `free` and `malloc_consolidate` there took about 5%
/// of a worker's samples, docs/performance.md "Orders packed with entropy tables".)
type Outcome = (Result<(), StateError>, Member);

/// The pages waiting for a group, and the permits of the groups in flight.
pub(super) struct CommitQueue {
    waiting: Mutex<VecDeque<Waiting>>,
    drivers: Arc<Semaphore>,
}

impl std::fmt::Debug for CommitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitQueue")
            .field("free_drivers", &self.drivers.available_permits())
            .finish_non_exhaustive()
    }
}

impl CommitQueue {
    /// A queue with at most `drivers` groups in flight (at least one).
    pub(super) fn new(drivers: usize) -> Self {
        Self {
            waiting: Mutex::new(VecDeque::new()),
            drivers: Arc::new(Semaphore::new(drivers.max(1))),
        }
    }

    /// The waiting pages, locked. A poisoned lock (a panic while it was held, which nothing
    /// here can do) is taken as it is: the queue is a list, valid between any two calls.
    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<Waiting>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives back the permit of a driver that found no page waiting. A page queued after the
    /// driver looked, while it still held the permit, may have found no free permit and left
    /// itself to a driver: so the queue is looked at again, and if a page waits, the permit
    /// taken again (`Some`: the driver goes on) unless another driver took it.
    fn hand_back(&self, permit: OwnedSemaphorePermit) -> Option<OwnedSemaphorePermit> {
        drop(permit);
        if self.waiting().is_empty() {
            return None;
        }
        Arc::clone(&self.drivers).try_acquire_owned().ok()
    }

    /// The next group: the waiting pages in the order they came, up to the limits, one page
    /// per store (a store's second page waits for the next group).
    fn next_group(&self) -> Vec<Waiting> {
        let mut waiting = self.waiting();
        let mut group: Vec<Waiting> = Vec::new();
        let mut orders = 0;
        let mut i = 0;
        while i < waiting.len() && group.len() < MAX_GROUP_PAGES {
            let Some(w) = waiting.get(i) else { break };
            let more = w.member.page.orders.len();
            if !group.is_empty() && orders + more > MAX_GROUP_ORDERS {
                break;
            }
            // At most 64 pages: a scan of the group costs less than a set of its stores.
            if group.iter().any(|g| g.member.store() == w.member.store()) {
                i += 1;
                continue;
            }
            let Some(w) = waiting.remove(i) else { break };
            orders += more;
            group.push(w);
        }
        group
    }
}

impl PostgresState {
    /// Queues `member`'s page for a group and waits for its outcome (see the module's doc).
    pub(super) async fn commit_in_group(&self, member: Member) -> Result<(), StateError> {
        let store = member.store().to_owned();
        let (outcome, committed) = oneshot::channel();
        self.commits
            .waiting()
            .push_back(Waiting { member, outcome });
        if let Ok(permit) = Arc::clone(&self.commits.drivers).try_acquire_owned() {
            let state = self.clone();
            self.io.spawn(async move { state.drive(permit).await });
        }
        committed
            .await
            .map(|(outcome, _page)| outcome)
            .unwrap_or_else(|_| {
                Err(StateError::Backend {
                    store,
                    operation: "commit a page",
                    detail: "the state's connection thread stopped before the page's outcome was \
                         known; look the page's orders up before writing them again"
                        .into(),
                })
            })
    }

    /// Commits groups while pages wait, holding `permit` (one of the groups in flight).
    async fn drive(self, mut permit: OwnedSemaphorePermit) {
        loop {
            let group = self.commits.next_group();
            if group.is_empty() {
                match self.commits.hand_back(permit) {
                    Some(again) => {
                        permit = again;
                        continue;
                    }
                    None => return,
                }
            }
            self.commit_group(group).await;
        }
    }

    /// Commits `group` in one transaction, then, if that failed and it holds more than one
    /// page, each page alone; gives each page's caller its outcome.
    async fn commit_group(&self, mut group: Vec<Waiting>) {
        // In the stores' order, as the transaction must write them ([`page_commit::commit`]).
        group.sort_by(|a, b| a.member.store().cmp(b.member.store()));
        let (members, outcomes): (Vec<Member>, Vec<_>) =
            group.into_iter().map(|w| (w.member, w.outcome)).unzip();
        // A caller that stopped waiting needs no answer: each `send` may fail.
        match self.commit_members(&members).await {
            Ok(()) => {
                for (member, outcome) in members.into_iter().zip(outcomes) {
                    let _ = outcome.send((Ok(()), member));
                }
            }
            Err(e) if members.len() == 1 => {
                if let Some((member, outcome)) = members.into_iter().zip(outcomes).next() {
                    let _ = outcome.send((Err(e), member));
                }
            }
            Err(e) => {
                tracing::debug!(pages = members.len(), error = %e,
                    "a group commit failed; committing its pages one by one");
                for (member, outcome) in members.into_iter().zip(outcomes) {
                    let alone = self.commit_members(std::slice::from_ref(&member)).await;
                    let _ = outcome.send((alone, member));
                }
            }
        }
    }

    /// One transaction for `members` ([`page_commit::commit`]); then, when the tables have
    /// grown enough ([`super::statistics`]), `ANALYZE` in a task of its own on the same
    /// connection, so that the next groups need not wait for it.
    async fn commit_members(&self, members: &[Member]) -> Result<(), StateError> {
        let Some(store) = members.first().map(|m| m.store().to_owned()) else {
            return Ok(());
        };
        let client = self.client(&store).await?;
        let client = page_commit::commit(client, members).await?;
        let orders: usize = members.iter().map(|m| m.page.orders.len()).sum();
        if self
            .growth
            .record(u64::try_from(orders).unwrap_or(u64::MAX))
        {
            let analyses = Arc::clone(&self.analyses);
            analyses.started();
            self.io.spawn(async move {
                // The pages are committed: a failed ANALYZE leaves the statistics to
                // autovacuum.
                if let Err(e) = analyze(&client, &store).await {
                    tracing::warn!(store, error = %e, "the grown tables were not analyzed");
                }
                drop(client);
                analyses.finished();
            });
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "state-suite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeMap;
    use std::time::Duration as StdDuration;

    use chrono::Duration;
    use orderport_core::{CanonicalStatus, Order};
    use tokio::task::JoinHandle;

    use super::*;
    use crate::state::{Lease, PageCommit, State};
    use crate::suite::{self, pg::TestDatabase};

    /// A state with one group in flight at a time ([`GROUPS_IN_FLIGHT`]).
    async fn one_driver(prefix: &str) -> (TestDatabase, PostgresState) {
        let db = TestDatabase::create(prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = PostgresState::connect_with(db.url(), 4).await.unwrap();
        assert_eq!(state.commits.drivers.available_permits(), 1);
        (db, state)
    }

    /// Waits (up to ten seconds) until `ready` holds.
    async fn until(what: &str, mut ready: impl FnMut() -> bool) {
        for _ in 0..2_000 {
            if ready() {
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        panic!("waited ten seconds for {what}");
    }

    fn an_order(store: &str, id: &str) -> Order {
        suite::order(store, id, CanonicalStatus::AwaitingShipment, suite::t0())
    }

    /// `page` of the lease's store, committed in a task of its own.
    fn commit(
        state: &PostgresState,
        lease: &Lease,
        page: PageCommit,
    ) -> JoinHandle<Result<(), StateError>> {
        let (state, lease) = (state.clone(), lease.clone());
        tokio::spawn(async move { state.commit_page(&lease, page).await })
    }

    /// The page of one order `id` of the lease's store.
    fn page(lease: &Lease, id: &str) -> PageCommit {
        suite::page_of(&[an_order(&lease.store_id, id)])
    }

    /// The only driver is held by store `a`'s page, which waits for its lease row, locked by
    /// the returned transaction's connection, until that commits.
    async fn hold_the_driver(
        db: &TestDatabase,
        state: &PostgresState,
    ) -> (tokio_postgres::Client, JoinHandle<Result<(), StateError>>) {
        let lease = suite::lease(state, "a", "w", suite::t0()).await.unwrap();
        let blocker = db.client().await.unwrap();
        blocker
            .batch_execute("BEGIN; SELECT 1 FROM leases WHERE store_id = 'a' FOR UPDATE")
            .await
            .unwrap();
        let held = commit(state, &lease, page(&lease, "a1"));
        until("the driver to take store a's page", || {
            state.commits.waiting().is_empty() && state.commits.drivers.available_permits() == 0
        })
        .await;
        (blocker, held)
    }

    /// Waits until `n` pages wait for a group.
    async fn queued(state: &PostgresState, n: usize) {
        until(&format!("{n} pages waiting"), || {
            state.commits.waiting().len() == n
        })
        .await;
    }

    /// Lets the held driver go on (`blocker` commits), checks that its page and every
    /// `waiting` one committed, and returns [`transactions`].
    async fn commit_all(
        db: &TestDatabase,
        blocker: tokio_postgres::Client,
        held: JoinHandle<Result<(), StateError>>,
        waiting: Vec<JoinHandle<Result<(), StateError>>>,
    ) -> BTreeMap<String, Vec<String>> {
        blocker.batch_execute("COMMIT").await.unwrap();
        held.await.unwrap().unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        transactions(db).await
    }

    /// Each store's orders' transaction id (`xmin`): pages committed in one transaction share
    /// it.
    async fn transactions(db: &TestDatabase) -> BTreeMap<String, Vec<String>> {
        let rows = db
            .client()
            .await
            .unwrap()
            .query(
                "SELECT store_id, xmin::text FROM orders ORDER BY store_id, seq",
                &[],
            )
            .await
            .unwrap();
        let mut by_store: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows {
            by_store.entry(r.get(0)).or_default().push(r.get(1));
        }
        by_store
    }

    /// Pages that wait while the only driver is busy commit together, in one transaction.
    #[tokio::test]
    async fn pages_that_wait_together_commit_in_one_transaction() {
        let (db, state) = one_driver("group_commit_one").await;
        let (blocker, held) = hold_the_driver(&db, &state).await;
        let mut waiting = Vec::new();
        for i in 0..10 {
            let lease = suite::lease(&state, &format!("b{i}"), "w", suite::t0())
                .await
                .unwrap();
            waiting.push(commit(&state, &lease, page(&lease, "o")));
        }
        queued(&state, 10).await;
        let by_store = commit_all(&db, blocker, held, waiting).await;
        let a = by_store["a"][0].clone();
        let waited: Vec<&String> = by_store
            .iter()
            .filter(|(store, _)| store.starts_with('b'))
            .map(|(_, x)| &x[0])
            .collect();
        assert_eq!(waited.len(), 10, "{by_store:?}");
        assert!(
            waited.iter().all(|x| **x == *waited[0]) && *waited[0] != a,
            "the ten pages that waited must share one transaction, not store a's: {by_store:?}"
        );
    }

    /// A group with a page whose lease is stale and one assuming a store that is no longer
    /// blank: those two fail with their own errors, and the group's other pages commit.
    #[tokio::test]
    async fn a_refused_page_fails_alone_and_the_rest_of_its_group_commits() {
        let (db, state) = one_driver("group_commit_refused").await;
        let t = suite::t0();
        let lease = |store: &'static str| {
            let state = state.clone();
            async move { suite::lease(&state, store, "w", t).await.unwrap() }
        };
        let b0 = lease("b0").await;
        let b1 = lease("b1").await;
        let b2 = lease("b2").await;
        let b3 = lease("b3").await;
        // b1's lease lapses and another worker takes it.
        let later = t + Duration::seconds(61);
        suite::lease(&state, "b1", "other", later).await.unwrap();
        // b3 has an order; its page below assumes it has none.
        state.commit_page(&b3, page(&b3, "before")).await.unwrap();
        let (blocker, held) = hold_the_driver(&db, &state).await;
        let not_blank = PageCommit {
            assumes_blank: true,
            ..suite::page_of(&[an_order("b3", "x"), an_order("b3", "before")])
        };
        let outcomes = [
            commit(&state, &b0, page(&b0, "o")),
            commit(&state, &b1, page(&b1, "o")),
            commit(&state, &b2, page(&b2, "o")),
            commit(&state, &b3, not_blank),
        ];
        queued(&state, 4).await;
        blocker.batch_execute("COMMIT").await.unwrap();
        held.await.unwrap().unwrap();
        let [o0, o1, o2, o3] = outcomes;
        o0.await.unwrap().unwrap();
        let lost = o1.await.unwrap();
        assert!(
            matches!(&lost, Err(StateError::LeaseLost { store }) if store == "b1"),
            "{lost:?}"
        );
        o2.await.unwrap().unwrap();
        let conflict = o3.await.unwrap();
        assert!(
            matches!(&conflict, Err(StateError::Conflict { detail, .. }) if detail.contains("order before")),
            "{conflict:?}"
        );
        let by_store = transactions(&db).await;
        let stored: Vec<(&str, usize)> = by_store
            .iter()
            .map(|(s, x)| (s.as_str(), x.len()))
            .collect();
        assert_eq!(
            stored,
            [("a", 1), ("b0", 1), ("b2", 1), ("b3", 1)],
            "b1's page and b3's second page must leave nothing"
        );
    }

    /// A group holds at most [`MAX_GROUP_PAGES`] pages, and one page per store: a store's
    /// second page waits for the next group.
    #[tokio::test]
    async fn a_group_is_bounded_and_holds_one_page_per_store() {
        let (db, state) = one_driver("group_commit_bounds").await;
        let (blocker, held) = hold_the_driver(&db, &state).await;
        let pages = MAX_GROUP_PAGES + 6;
        let mut waiting = Vec::new();
        for i in 0..pages {
            let lease = suite::lease(&state, &format!("b{i:03}"), "w", suite::t0())
                .await
                .unwrap();
            waiting.push(commit(&state, &lease, page(&lease, "o")));
            if i == 0 {
                // The same store's second page.
                waiting.push(commit(&state, &lease, page(&lease, "p")));
            }
        }
        queued(&state, pages + 1).await;
        let by_store = commit_all(&db, blocker, held, waiting).await;
        let mut rows_per_transaction: BTreeMap<&str, usize> = BTreeMap::new();
        for (store, xs) in by_store.iter().filter(|(s, _)| s.starts_with('b')) {
            for x in xs {
                *rows_per_transaction.entry(x).or_default() += 1;
            }
            if store == "b000" {
                assert_eq!(xs.len(), 2, "{by_store:?}");
                assert_ne!(
                    xs[0], xs[1],
                    "a store's two pages in one group: {by_store:?}"
                );
            }
        }
        // The first group: the first page of each of the first MAX_GROUP_PAGES stores; the
        // second: b000's second page and the rest.
        let mut sizes: Vec<usize> = rows_per_transaction.into_values().collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [pages + 1 - MAX_GROUP_PAGES, MAX_GROUP_PAGES]);
    }

    /// A group holds at most [`MAX_GROUP_ORDERS`] orders: the page that would pass it waits
    /// for the next group.
    #[tokio::test]
    async fn a_group_holds_at_most_the_orders_limit() {
        let (db, state) = one_driver("group_commit_orders").await;
        let (blocker, held) = hold_the_driver(&db, &state).await;
        let per_page = MAX_GROUP_ORDERS * 2 / 5;
        let mut waiting = Vec::new();
        for store in ["b0", "b1", "b2"] {
            let lease = suite::lease(&state, store, "w", suite::t0()).await.unwrap();
            let orders: Vec<Order> = (0..per_page)
                .map(|i| an_order(store, &format!("o{i}")))
                .collect();
            waiting.push(commit(&state, &lease, suite::page_of(&orders)));
        }
        queued(&state, 3).await;
        let by_store = commit_all(&db, blocker, held, waiting).await;
        let x = |store: &str| by_store[store][0].clone();
        assert_eq!(x("b0"), x("b1"), "two pages within the limit share a group");
        assert_ne!(
            x("b1"),
            x("b2"),
            "the page past the limit waits for the next group"
        );
    }

    /// A page queued while the only driver still holds its permit, after the driver found
    /// the queue empty, is not stranded: the driver, giving its permit back, takes it again
    /// and goes on. With nothing queued, the permit is given back.
    #[test]
    fn a_driver_that_finds_a_page_as_it_stops_goes_on() {
        let queue = CommitQueue::new(1);
        let permit = Arc::clone(&queue.drivers).try_acquire_owned().unwrap();
        assert!(
            queue.hand_back(permit).is_none(),
            "nothing waits: the driver stops"
        );
        assert_eq!(
            queue.drivers.available_permits(),
            1,
            "its permit is free again"
        );

        let permit = Arc::clone(&queue.drivers).try_acquire_owned().unwrap();
        // What `commit_in_group` does meanwhile: queue the page, find no free permit.
        let (outcome, _committed) = oneshot::channel();
        let lease = Lease {
            store_id: "s".into(),
            owner: "w".into(),
            token: 1,
            expires_at: suite::t0(),
        };
        let member = Member {
            lease,
            page: PageCommit::default(),
            packed: Vec::new(),
        };
        queue.waiting().push_back(Waiting { member, outcome });
        assert!(Arc::clone(&queue.drivers).try_acquire_owned().is_err());
        let again = queue.hand_back(permit);
        assert!(
            again.is_some(),
            "a page waits: the driver must go on, or it is stranded"
        );
        assert_eq!(queue.next_group().len(), 1);
    }

    /// A group's pages go in their stores' order (the lease rows' lock order): a group out of
    /// order, or with a store twice, is refused as a bug, before the server sees it.
    #[tokio::test]
    async fn a_group_out_of_store_order_is_refused() {
        let (_db, state) = one_driver("group_commit_order").await;
        let member = |store: &str| Member {
            lease: Lease {
                store_id: store.into(),
                owner: "w".into(),
                token: 1,
                expires_at: suite::t0(),
            },
            page: PageCommit::default(),
            packed: Vec::new(),
        };
        for stores in [["b", "a"], ["a", "a"]] {
            let group = stores.map(member);
            let client = state.client("a").await.unwrap();
            let refused = page_commit::commit(client, &group).await;
            assert!(
                matches!(&refused, Err(StateError::Backend { detail, .. }) if detail.contains("bug")),
                "{stores:?}: {:?}",
                refused.err()
            );
        }
    }

    /// A caller that stops waiting (its task aborted) after its page was queued leaves the
    /// page to be committed.
    #[tokio::test]
    async fn a_page_whose_caller_stopped_waiting_still_commits() {
        let (db, state) = one_driver("group_commit_abandoned").await;
        let (blocker, held) = hold_the_driver(&db, &state).await;
        let lease = suite::lease(&state, "b", "w", suite::t0()).await.unwrap();
        let abandoned = commit(&state, &lease, page(&lease, "o"));
        queued(&state, 1).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        blocker.batch_execute("COMMIT").await.unwrap();
        held.await.unwrap().unwrap();
        let mut stored = false;
        for _ in 0..2_000 {
            if transactions(&db).await.contains_key("b") {
                stored = true;
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        assert!(stored, "the abandoned page was never committed");
    }
}
