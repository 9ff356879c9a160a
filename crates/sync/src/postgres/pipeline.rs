//! A transaction sent as one pipeline: `BEGIN` and every statement without waiting for an
//! answer, then `COMMIT` when every statement succeeded, else `ROLLBACK`. Two round trips
//! whatever the number of statements; the server runs them in the order sent.
//!
//! A statement that fails aborts the transaction, so every later one fails too ("current
//! transaction is aborted"): the error reported is the first in the order sent, the cause.
//! A check made by the worker on a statement's answer (a fencing token, an order's status)
//! fails its step the same way; the statements after it have run by then, and are rolled
//! back with it.

use deadpool_postgres::{ClientWrapper, Object};
use futures::future::{join, join_all, BoxFuture};

use super::codec::Ctx;
use crate::error::StateError;

/// One statement of a pipelined transaction, with the worker's check of its answer. Nothing
/// is sent before it is first polled.
pub(super) type Step<'a> = BoxFuture<'a, Result<(), StateError>>;

/// A pooled connection in a pipelined transaction.
///
/// Dropped before it ended (its future cancelled while the transaction may be open), the
/// connection is taken out of the pool and closed: the server rolls the transaction back,
/// and no later user of the pool finds it open.
pub(super) struct Pipeline {
    /// `Some` until [`Pipeline::end`] returns it or the drop closes it.
    client: Option<Object>,
    store: String,
    operation: &'static str,
}

impl Pipeline {
    /// A transaction on `client`, for `operation` (`"commit a page"`) of `store`, in errors.
    pub(super) fn new(client: Object, store: &str, operation: &'static str) -> Self {
        Self {
            client: Some(client),
            store: store.to_owned(),
            operation,
        }
    }

    /// The connection, to prepare statements and make [`Step`]s with.
    pub(super) fn client(&self) -> Result<&ClientWrapper, StateError> {
        self.client.as_deref().ok_or_else(|| self.given_back())
    }

    /// The error for a connection used after it was given back: unreachable, since only
    /// [`Pipeline::end`] (which consumes the pipeline) and the drop take it.
    fn given_back(&self) -> StateError {
        StateError::Backend {
            store: self.store.clone(),
            operation: self.operation,
            detail: "the connection was already given back; this is a bug in orderport, \
                     please report it"
                .into(),
        }
    }

    /// Sends `BEGIN`, then each step in order (each is polled first in this order, which
    /// sends it), and waits for every answer. Returns the first error in the order sent.
    pub(super) async fn send(&self, steps: Vec<Step<'_>>) -> Result<(), StateError> {
        let client = self.client()?;
        let begin = async {
            client
                .batch_execute("BEGIN")
                .await
                .ctx(&self.store, self.operation)
        };
        // `join` polls `begin` before the steps; `join_all` polls them in order and gives
        // their answers in order.
        let (begun, answers) = join(begin, join_all(steps)).await;
        begun?;
        answers.into_iter().collect()
    }

    /// Ends the transaction: `COMMIT` after `outcome` `Ok`, else `ROLLBACK` and `outcome`'s
    /// error. Gives the connection back after a commit. A connection whose `COMMIT` or
    /// `ROLLBACK` failed is closed, not pooled.
    pub(super) async fn end(
        mut self,
        outcome: Result<(), StateError>,
    ) -> Result<Object, StateError> {
        let ending = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        self.client()?
            .batch_execute(ending)
            .await
            .ctx(&self.store, self.operation)?;
        // Ended: the connection is idle again and may go back to the pool.
        let client = self.client.take();
        outcome?;
        client.ok_or_else(|| self.given_back())
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Out of the pool, then dropped: the connection closes.
            drop(Object::take(client));
        }
    }
}

#[cfg(all(test, feature = "state-suite"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::postgres::PostgresState;
    use crate::suite::pg::TestDatabase;

    /// A state of two connections on a new database with a table `t (x int)`.
    async fn database(prefix: &str) -> (TestDatabase, PostgresState) {
        let db = TestDatabase::create(prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = PostgresState::connect_with(db.url(), 2).await.unwrap();
        state
            .client("s")
            .await
            .unwrap()
            .batch_execute("CREATE TABLE t (x int)")
            .await
            .unwrap();
        (db, state)
    }

    /// The count of `t`'s rows each of the pool's two connections sees.
    async fn counts(state: &PostgresState) -> [i64; 2] {
        let (a, b) = (
            state.client("s").await.unwrap(),
            state.client("s").await.unwrap(),
        );
        let mut counts = [0; 2];
        for (count, c) in counts.iter_mut().zip([&a, &b]) {
            *count = c
                .query_one("SELECT count(*) FROM t", &[])
                .await
                .unwrap()
                .get(0);
        }
        counts
    }

    /// A future cancelled between sending its statements and ending the transaction (a
    /// commit dropped by a timeout) must not give the pool a connection in a transaction:
    /// whoever got it next would see the uncommitted row, and commit it with their own work.
    #[tokio::test]
    async fn a_pipeline_dropped_before_its_end_closes_its_connection() {
        let (_db, state) = database("pipeline_drop").await;
        {
            let pipeline = Pipeline::new(state.client("s").await.unwrap(), "s", "test");
            let c = pipeline.client().unwrap();
            let insert = c.prepare_cached("INSERT INTO t VALUES (1)").await.unwrap();
            let step: Step<'_> =
                Box::pin(async move { c.execute(&insert, &[]).await.ctx("s", "test").map(drop) });
            pipeline.send(vec![step]).await.unwrap();
            // Dropped here: never ended.
        }
        assert_eq!(counts(&state).await, [0, 0], "no connection holds the row");
    }

    /// The error reported is the first step's, the cause, not the "transaction is aborted"
    /// of the steps after it; the rollback leaves the connection fit for the pool.
    #[tokio::test]
    async fn the_first_error_in_order_is_reported_and_everything_is_rolled_back() {
        let (_db, state) = database("pipeline_error").await;
        let pipeline = Pipeline::new(state.client("s").await.unwrap(), "s", "test");
        let c = pipeline.client().unwrap();
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
        let outcome = pipeline.send(steps).await;
        let error = pipeline.end(outcome).await.err().unwrap();
        match &error {
            StateError::Backend {
                operation, detail, ..
            } => {
                assert_eq!(*operation, "divide", "{error}");
                assert!(detail.starts_with("22012"), "division by zero: {error}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(counts(&state).await, [0, 0], "rolled back");
    }
}
