//! Read-only connections beside the writer. In WAL mode they read while the writer commits, so
//! a run's lookups and cursor reads do not queue behind other stores' page commits (with
//! hundreds of stores in flight, one connection made every call wait for every commit). A read
//! sees every transaction committed before it began, on any connection: a page decided from a
//! lookup that a concurrent write made stale is still refused by the commit
//! (`OrderWrite::replaces`), as on PostgreSQL.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::codec::Ctx;
use super::schema::BUSY_TIMEOUT;
use crate::error::StateError;

/// Read-only connections a file database opens beside its writer.
pub(super) const READERS: usize = 4;

/// A few read-only connections, handed out round-robin, a free one first.
pub(super) struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// One turn on the blocking pool per connection: a read waits for a turn as a task, not
    /// as a thread parked on a busy connection.
    turns: Arc<Semaphore>,
}

impl Readers {
    /// Opens [`READERS`] read-only connections to the database at `path` (its schema must exist:
    /// open it with the writer first).
    pub(super) fn open(path: &Path) -> Result<Self, StateError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conns = (0..READERS)
            .map(|_| {
                let conn =
                    Connection::open_with_flags(path, flags).ctx("*", "open a read connection")?;
                conn.busy_timeout(BUSY_TIMEOUT)
                    .ctx("*", "set the busy timeout")?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<_, StateError>>()?;
        Ok(Self {
            conns,
            next: AtomicUsize::new(0),
            turns: Arc::new(Semaphore::new(READERS)),
        })
    }

    /// The turns on the blocking pool that reads take (one per connection).
    pub(super) fn turns(&self) -> &Arc<Semaphore> {
        &self.turns
    }

    /// Runs `f` on a read connection: the first free one from the next in turn, else waits for
    /// that one. Blocking: call it on the blocking pool.
    pub(super) fn with<T>(
        &self,
        store: &str,
        f: impl FnOnce(&mut Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        for i in 0..n {
            if let Ok(mut conn) = self.conns[(start + i) % n].try_lock() {
                return f(&mut conn);
            }
        }
        let Some(conn) = self.conns.get(start) else {
            return Err(StateError::Backend {
                store: store.to_owned(),
                operation: "read",
                detail: "no read connection".into(),
            });
        };
        let mut conn = conn.lock().map_err(|_| StateError::Backend {
            store: store.to_owned(),
            operation: "lock a read connection",
            detail: "a previous call panicked".into(),
        })?;
        f(&mut conn)
    }
}
