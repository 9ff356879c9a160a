//! The connections' I/O, on a thread of its own.
//!
//! A tokio-postgres connection is a task that reads the server's replies and hands them to the
//! waiting calls. On the host's runtime it waits in line behind whatever else is ready there:
//! in a sync, the pages being parsed for every store in flight; each reply waited twice (for
//! the connection task, then for the caller). So every [`super::PostgresState`] runs its
//! connections on a single-threaded runtime of its own thread (`orderport-postgres`), which
//! does nothing else; the thread ends when the state's last clone is dropped.

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

    /// Runs `task` on the thread (a task of the state's own, such as a group commit). Once
    /// the thread has ended (it cannot while this `IoThread` is held), `task` is dropped.
    pub(super) fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(task));
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

    /// Tasks run on the thread named `orderport-postgres`, which ends with its `IoThread`.
    #[tokio::test]
    async fn tasks_run_on_the_thread_which_ends_with_the_state() {
        let io = IoThread::start().unwrap();
        let handle = io.handle.clone();
        let name = handle
            .spawn(async { std::thread::current().name().map(str::to_owned) })
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
