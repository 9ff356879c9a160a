//! Stopping on SIGTERM (systemd, Docker, Kubernetes) and SIGINT (Ctrl-C), both the same way.
//!
//! The first signal cancels [`Shutdown::token`]: store runs and imports abandon the request or
//! retry wait in flight, keep what was committed (the page in hand) and release their leases.
//! [`GRACE`] later it cancels [`Shutdown::deliveries`]: a delivery pass still running then is
//! cut short and what it did not deliver stays pending. A second signal exits at once with
//! [`INTERRUPTED`](crate::exit::INTERRUPTED) (a lease held then lapses on its own).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use orderport_sync::CancellationToken;

use crate::exit::INTERRUPTED;

/// How long after the signal a final delivery pass may still run.
pub const GRACE: Duration = Duration::from_secs(2);

/// The shutdown state of the process.
#[derive(Debug, Clone)]
pub struct Shutdown {
    token: CancellationToken,
    deliveries: CancellationToken,
    signal: Arc<OnceLock<&'static str>>,
}

impl Shutdown {
    /// Starts listening for SIGTERM and SIGINT. Call it first thing in a command, inside the
    /// runtime: until it returns, the signals keep their default action (exit at once).
    pub fn listen() -> Self {
        let shutdown = Self {
            token: CancellationToken::new(),
            deliveries: CancellationToken::new(),
            signal: Arc::new(OnceLock::new()),
        };
        let mut signals = Signals::install();
        let s = shutdown.clone();
        tokio::spawn(async move {
            let Some(name) = signals.next().await else {
                return;
            };
            let _ = s.signal.set(name);
            tracing::info!(
                "{name}: finishing the page in hand, releasing leases, then stopping (a second signal stops at once)"
            );
            s.token.cancel();
            let deliveries = s.deliveries.clone();
            tokio::spawn(async move {
                tokio::time::sleep(GRACE).await;
                deliveries.cancel();
            });
            if let Some(again) = signals.next().await {
                eprintln!(
                    "{again} again: stopping at once; a store lease still held lapses on its own"
                );
                std::process::exit(i32::from(INTERRUPTED));
            }
        });
        shutdown
    }

    /// Cancelled by the first signal: stop fetching and importing.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Cancelled [`GRACE`] after the first signal: stop delivering.
    pub fn deliveries(&self) -> &CancellationToken {
        &self.deliveries
    }

    /// The signal received, if any (`SIGTERM` or `SIGINT`).
    pub fn signal(&self) -> Option<&'static str> {
        self.signal.get().copied()
    }
}

/// The signal streams of this platform.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some((term, int)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM/SIGINT; only Ctrl-C stops cleanly");
                None
            }
        };
        Self { streams }
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        Self {}
    }

    /// The next signal's name; `None` when no signal can be received.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        if let Some((term, int)) = self.streams.as_mut() {
            return tokio::select! {
                s = term.recv() => s.map(|()| "SIGTERM"),
                s = int.recv() => s.map(|()| "SIGINT"),
            };
        }
        tokio::signal::ctrl_c().await.ok().map(|()| "SIGINT")
    }
}
