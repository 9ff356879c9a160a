//! The connections' I/O, on a thread of its own.
//!
//! A tokio-postgres connection is a task that reads the server's replies and hands them to the
//! waiting calls. On the host's runtime it waits in line behind whatever else is ready there:
//! in a sync, the pages being parsed for every store in flight, and each reply waited twice
//! (for the connection task, then for the caller). So every [`super::PostgresState`] runs its
//! connections on a single-threaded runtime of its own thread (`orderport-postgres`); the
//! thread ends when the state's last clone is dropped.
//!
//! A page commit runs there too ([`IoThread::run`]): its pipeline's replies and its `COMMIT`
//! follow each other on that thread, and the caller's runtime is woken once, when the page is
//! committed, instead of once per round trip.

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::Connect;
use futures::future::BoxFuture;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::StateError;

/// The runtime of the connections' thread; dropping it ends the thread.
#[derive(Debug)]
pub(super) struct IoThread {
    handle: tokio::runtime::Handle,
    _stop: oneshot::Sender<()>,
}

impl IoThread {
    /// Starts the thread and its runtime.
    pub(super) fn start() -> Result<Self, StateError> {
        let failed = |e: std::io::Error| StateError::Backend {
            store: "*".into(),
            operation: "start the PostgreSQL connections' thread",
            detail: e.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("orderport-postgres".into())
            .spawn(move || {
                // Until the state is dropped (the sender with it); its tasks end with it.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(failed)?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }
}

impl IoThread {
    /// Runs `task` on the thread and waits for its end. The task runs to its end even if the
    /// caller stops waiting.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        store: &str,
        task: impl Future<Output = Result<T, StateError>> + Send + 'static,
    ) -> Result<T, StateError> {
        self.handle
            .spawn(task)
            .await
            .map_err(|e| StateError::Backend {
                store: store.to_owned(),
                operation: "run on the PostgreSQL connections' thread",
                detail: e.to_string(),
            })?
    }
}

/// Connects on the connections' thread: the socket and the connection task live there.
pub(super) struct Connector {
    /// The thread, kept while any connection may be made.
    pub(super) io: Arc<IoThread>,
}

impl Connect for Connector {
    fn connect(
        &self,
        config: &Config,
    ) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let config = config.clone();
        let io = self.io.handle.clone();
        Box::pin(async move {
            let on_thread = config.clone();
            let (client, connection) = match io
                .spawn(async move { on_thread.connect(NoTls).await })
                .await
            {
                Ok(connected) => connected?,
                // The thread's runtime is gone (it cannot be while `self.io` is held):
                // connect on the caller's runtime rather than fail.
                Err(_) => {
                    let connected = config.connect(NoTls).await?;
                    let (client, connection) = connected;
                    return Ok((client, tokio::spawn(drive(connection))));
                }
            };
            Ok((client, io.spawn(drive(connection))))
        })
    }
}

/// Runs a connection until it closes; an error ends it (the pool then opens another).
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "a PostgreSQL connection closed with an error");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A page commit runs on the connections' thread to its end, even when its caller stops
    /// waiting once it began: dropped after its first poll, the page is still committed (run
    /// on the caller's runtime, it would be cancelled there).
    #[cfg(feature = "state-suite")]
    #[tokio::test]
    async fn a_page_commit_runs_to_its_end_on_the_thread() {
        use crate::postgres::PostgresState;
        use crate::state::{OrderLookup, State};
        use crate::suite::{self, pg::TestDatabase};
        use orderport_core::CanonicalStatus;

        let db = TestDatabase::create("io_thread")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = PostgresState::connect(db.url()).await.unwrap();
        let lease = suite::lease(&state, "s1", "w1", suite::t0()).await.unwrap();
        let order = suite::order("s1", "A1", CanonicalStatus::AwaitingShipment, suite::t0());
        let mut commit = Box::pin(state.commit_page(&lease, suite::page_of(&[order.clone()])));
        assert!(futures::poll!(commit.as_mut()).is_pending());
        drop(commit);
        let asked = [OrderLookup {
            external_id: order.external_id.clone(),
            order_number: order.order_number.clone(),
        }];
        for _ in 0..500 {
            let known = state.lookup(&order.channel, "s1", &asked).await.unwrap();
            if known.first().is_some_and(|k| k.stored.is_some()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the page was not committed after its caller stopped waiting");
    }

    /// Tasks run on the thread named `orderport-postgres`, which ends with its `IoThread`.
    #[tokio::test]
    async fn tasks_run_on_the_thread_which_ends_with_the_state() {
        let io = IoThread::start().unwrap();
        let handle = io.handle.clone();
        let name = io
            .run("s", async {
                Ok(std::thread::current().name().map(str::to_owned))
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("orderport-postgres"));
        drop(io);
        // Once the runtime is shut down, a task spawned on it is cancelled, never run.
        let mut cancelled = false;
        for _ in 0..200 {
            if handle.spawn(async {}).await.is_err() {
                cancelled = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            cancelled,
            "the thread's runtime still runs after its IoThread was dropped"
        );
    }
}
