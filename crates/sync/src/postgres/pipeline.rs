//! A transaction sent as one pipeline: `BEGIN`, every statement and `COMMIT`, without
//! waiting for an answer in between. One round trip whatever the number of statements; the
//! server runs them in the order sent.
//!
//! A statement that fails aborts the transaction: every later one fails too ("current
//! transaction is aborted"), and the `COMMIT` rolls it back. The error reported is the first
//! in the order sent, the cause. The `COMMIT` is sent before any answer is read, so every
//! check must be the server's (a statement that fails: `orderport_refuse`, schema version 4),
//! never the worker's of an answer: a step fails only when its statement failed.
//!
//! Everything is queued on the connection in the first poll, `BEGIN` to `COMMIT`: a future
//! dropped after it leaves the connection to run the whole transaction (its outcome unknown
//! to the caller, as for any `COMMIT` without an answer), and the next user of the pooled
//! connection is queued after its `COMMIT`; one dropped before it sent nothing. No connection
//! goes back to the pool inside a transaction.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use deadpool_postgres::ClientWrapper;
use futures::future::{maybe_done, BoxFuture, MaybeDone};

use super::codec::Ctx;
use crate::error::StateError;

/// One statement of a pipelined transaction, mapping its error. It must send its statement
/// when first polled (tokio-postgres' `execute` of a prepared statement does: nothing else is
/// awaited before), and fail only when the statement failed (see the module's doc).
pub(super) type Step<'a> = BoxFuture<'a, Result<(), StateError>>;

/// Sends `BEGIN`, each step in order (each is polled first in this order, which sends it),
/// then `COMMIT` on `client`, and waits for every answer. `Ok` when the transaction
/// committed; else the first error in the order sent, for `operation` (`"commit a page"`) of
/// `store`: the transaction rolled back (or, when the connection failed, its outcome
/// unknown).
pub(super) async fn run(
    client: &ClientWrapper,
    store: &str,
    operation: &'static str,
    steps: Vec<Step<'_>>,
) -> Result<(), StateError> {
    let statement = |sql: &'static str| -> Step<'_> {
        Box::pin(async move { client.batch_execute(sql).await.ctx(store, operation) })
    };
    let mut all: Vec<MaybeDone<Step<'_>>> = std::iter::once(statement("BEGIN"))
        .chain(steps)
        .chain([statement("COMMIT")])
        .map(maybe_done)
        .collect();
    // Every poll polls each one in order, so the first sends them all in order, `COMMIT`
    // last. (`join_all` does not promise that: past 30 futures it polls as they wake, and
    // may yield before it first polled them all.)
    poll_fn(|cx| {
        let mut pending = false;
        for one in &mut all {
            pending |= Pin::new(one).poll(cx).is_pending();
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    // Every one is done: its answer, in the order sent.
    all.iter_mut().try_for_each(|one| {
        Pin::new(one).take_output().unwrap_or_else(|| {
            Err(StateError::Backend {
                store: store.to_owned(),
                operation,
                detail: "a statement of the transaction has no answer; this is a bug in \
                         orderport, please report it"
                    .into(),
            })
        })
    })
}

#[cfg(all(test, feature = "state-suite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::postgres::PostgresState;
    use crate::suite::pg::TestDatabase;

    /// A state of `connections` pooled connections on a new database with a table `t (x
    /// int)`.
    async fn database(prefix: &str, connections: usize) -> (TestDatabase, PostgresState) {
        let db = TestDatabase::create(prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = PostgresState::connect_with(db.url(), connections)
            .await
            .unwrap();
        state
            .client("s")
            .await
            .unwrap()
            .batch_execute("CREATE TABLE t (x int)")
            .await
            .unwrap();
        (db, state)
    }

    /// The count of `t`'s rows `c` sees.
    async fn count(c: &tokio_postgres::Client) -> i64 {
        c.query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The count of `t`'s rows seen by a connection of the pool, then by a connection of
    /// its own.
    async fn counts(db: &TestDatabase, state: &PostgresState) -> [i64; 2] {
        let pooled = count(&state.client("s").await.unwrap()).await;
        let (own, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(connection);
        let counted = count(&own).await;
        drop(own);
        task.await.unwrap().unwrap();
        [pooled, counted]
    }

    /// A commit cancelled after its first poll (a timeout) has queued its whole transaction,
    /// every step before `COMMIT` (more steps than `join_all` polls in order): the pool's
    /// connection, given back at once, runs it to its `COMMIT` before anything of its next
    /// user, whom it never leaves inside the transaction.
    #[tokio::test]
    async fn a_run_cancelled_after_its_first_poll_still_ends_its_transaction() {
        const STEPS: usize = 40;
        let (db, state) = database("pipeline_cancel", 1).await;
        {
            let client = state.client("s").await.unwrap();
            let insert = client
                .prepare_cached("INSERT INTO t VALUES (1)")
                .await
                .unwrap();
            let c = &client;
            let steps: Vec<Step<'_>> = (0..STEPS)
                .map(|_| -> Step<'_> {
                    let insert = insert.clone();
                    Box::pin(
                        async move { c.execute(&insert, &[]).await.ctx("s", "test").map(drop) },
                    )
                })
                .collect();
            let mut running = Box::pin(run(c, "s", "test", steps));
            assert!(futures::poll!(&mut running).is_pending(), "answers awaited");
            // Dropped here, then the connection (back to the pool).
        }
        let all = STEPS as i64;
        assert_eq!(
            counts(&db, &state).await,
            [all, all],
            "committed, and seen committed"
        );
    }

    /// The error reported is the first step's, the cause, not the "transaction is aborted"
    /// of the steps after it; the rollback leaves the connection fit for the pool.
    #[tokio::test]
    async fn the_first_error_in_order_is_reported_and_everything_is_rolled_back() {
        let (db, state) = database("pipeline_error", 1).await;
        let c = state.client("s").await.unwrap();
        let insert = c.prepare_cached("INSERT INTO t VALUES (1)").await.unwrap();
        let divide = c.prepare_cached("SELECT 1 / $1::int").await.unwrap();
        let steps: Vec<Step<'_>> = vec![
            Box::pin(async { c.execute(&insert, &[]).await.ctx("s", "insert").map(drop) }),
            Box::pin(async {
                c.execute(&divide, &[&0i32])
                    .await
                    .ctx("s", "divide")
                    .map(drop)
            }),
            Box::pin(async { c.execute(&insert, &[]).await.ctx("s", "again").map(drop) }),
        ];
        let error = run(&c, "s", "test", steps).await.err().unwrap();
        match &error {
            StateError::Backend {
                operation, detail, ..
            } => {
                assert_eq!(*operation, "divide", "{error}");
                assert!(detail.starts_with("22012"), "division by zero: {error}");
            }
            other => panic!("{other:?}"),
        }
        drop(c);
        assert_eq!(counts(&db, &state).await, [0, 0], "rolled back");
    }
}
