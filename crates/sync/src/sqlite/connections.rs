//! Connections and the calls waiting for them. Calls join one queue; up to one thread of the
//! blocking pool per connection runs them, each call on a free connection, back to back while
//! any are queued, and returns to the pool when the queue is empty. The writer is such a queue
//! with one connection (its calls run one at a time, in the order they were queued); the read
//! connections are another.
//!
//! A thread per call, each parked on a busy connection's lock, made as many threads as stores
//! in flight, each with its stack and a share of glibc's malloc arenas; and a few threads
//! taking turns left a connection idle while the next call's task waited to be woken on a busy
//! runtime. A queue drained by as many threads as connections has neither cost: the next call
//! is at hand the moment the last one ends.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};

use rusqlite::Connection;

use crate::error::StateError;

/// A queued call. It returns the delivery of its result to its caller, which the draining
/// thread runs after letting go of the connection and of the queue: a caller that drops the
/// state as soon as it has its answer closes the connections then and there.
type Job = Box<dyn FnOnce(&mut Connection) -> Delivery + Send>;

/// Sends a call's result to its caller.
type Delivery = Box<dyn FnOnce() + Send>;

/// Connections and their queue of calls.
pub(super) struct Connections {
    conns: Vec<Mutex<Connection>>,
    queue: Mutex<VecDeque<Job>>,
    /// Threads draining the queue (or about to): at most one per connection, so that a
    /// draining thread always finds a free connection.
    draining: AtomicUsize,
}

impl Connections {
    /// At least one connection.
    pub(super) fn new(first: Connection, more: Vec<Connection>) -> Arc<Self> {
        let conns = std::iter::once(first).chain(more).map(Mutex::new).collect();
        Arc::new(Self {
            conns,
            queue: Mutex::new(VecDeque::new()),
            draining: AtomicUsize::new(0),
        })
    }

    /// The first connection, for tests; blocks while a call runs on it.
    #[cfg(test)]
    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conns[0].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on a free connection once the calls queued before it have started. A call
    /// runs even if its caller stops waiting, as long as the state is open.
    pub(super) async fn call<T, F>(self: &Arc<Self>, store: &str, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.push(Box::new(move |conn: &mut Connection| {
            let result = f(conn);
            Box::new(move || {
                let _ = tx.send(result);
            })
        }));
        rx.await.map_err(|_| StateError::Backend {
            store: store.to_owned(),
            operation: "run a database call",
            detail: "the call panicked or its thread was stopped; see the log".into(),
        })?
    }

    fn push(self: &Arc<Self>, job: Job) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(job);
        if self.claim() {
            let drain = Drain {
                connections: Arc::downgrade(self),
                done: false,
            };
            // On the blocking pool. Dropped unrun (the runtime shutting down), it gives its
            // claim back, so that the next call starts another thread.
            drop(tokio::task::spawn_blocking(move || drain.run()));
        }
    }

    /// Claims a draining thread's place, if there is room for one more.
    fn claim(&self) -> bool {
        self.draining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.conns.len()).then_some(n + 1)
            })
            .is_ok()
    }

    fn pop(&self) -> Option<Job> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn queue_is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// A connection no other draining thread holds (there is one: they are no more than the
    /// connections, and each holds one at most); the first one, waiting, if a test holds it.
    fn free(&self) -> MutexGuard<'_, Connection> {
        for conn in &self.conns {
            match conn.try_lock() {
                Ok(guard) => return guard,
                // A call that panicked rolled its transaction back as it unwound: the
                // connection is still usable.
                Err(TryLockError::Poisoned(e)) => return e.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.conns[0].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the next queued call; `None` when there is none.
    fn run_next(&self) -> Option<Delivery> {
        let job = self.pop()?;
        let mut conn = self.free();
        // A panicking call drops its result sender (its caller gets an error) and must not
        // stop the calls queued after it.
        match std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn))) {
            Ok(delivery) => Some(delivery),
            Err(_) => {
                tracing::error!("a call on an SQLite connection panicked");
                Some(Box::new(|| {}))
            }
        }
    }
}

/// A draining thread's claim on its place. It holds the connections weakly: the state closes
/// when its last handle drops, not when the queue next empties.
struct Drain {
    connections: Weak<Connections>,
    done: bool,
}

impl Drain {
    fn run(mut self) {
        loop {
            // The connections are held only while a call runs.
            while let Some(delivery) = self.connections.upgrade().and_then(|c| c.run_next()) {
                delivery();
            }
            let Some(connections) = self.connections.upgrade() else {
                break;
            };
            connections.draining.fetch_sub(1, Ordering::AcqRel);
            // A call queued after the last pop, whose caller found no room for a thread,
            // started none: drain it here, if there is room again.
            if connections.queue_is_empty() || !connections.claim() {
                break;
            }
        }
        self.done = true;
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        if !self.done {
            if let Some(connections) = self.connections.upgrade() {
                connections.draining.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}
