//! The embedded default state: one SQLite file (default `./orderport.db`), WAL journal,
//! `synchronous=FULL` so that a commit that returned survives a crash or power loss.
//!
//! Calls run on tokio's blocking pool around one writing connection behind a mutex (SQLite
//! serializes writers anyway, and a page commit is one short transaction); a file database
//! also opens a few read-only connections for the reads of a run (lookups, the cursor, walks,
//! re-fetches, lapsed holds), which WAL lets run while the writer commits. Calls queue per set
//! of connections (`connections.rs`): the writer's run one at a time, in the order they were
//! queued; reads run on up to four connections at once. At most one blocking-pool thread per
//! connection runs them, however many stores are in flight.
//!
//! Several processes may open the same file at once (`orderport sync` beside `orderport
//! push-shipment --db`): every connection waits up to [`BUSY_TIMEOUT`] for a lock instead of
//! failing with "database is locked", and every write transaction takes the write lock when it
//! begins (`BEGIN IMMEDIATE`), so that the schema is created and migrated once and a
//! transaction that read first is never refused its write. Read commands open the file with
//! [`SqliteState::open_read_only`], which writes nothing and works on read-only media.

mod backend;
mod codec;
mod connections;
mod platform;
mod read;
mod readers;
mod schema;
#[cfg(test)]
mod tests;
mod write;

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use codec::Ctx;
use connections::Connections;
use schema::{
    cannot_share_memory, check_readable, enable_wal, immutable_uri, migrate, read_version,
    wal_path, write_tx, SCHEMA,
};
pub use schema::{BUSY_TIMEOUT, SCHEMA_VERSION};

use crate::error::StateError;

/// The default database file.
pub const DEFAULT_DB: &str = "orderport.db";

/// The SQLite state store. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteState {
    /// Read-only connections for a run's reads; `None` in memory and when opened read-only
    /// (reads then share the writer). Declared before `writer` so that they close first: the
    /// last connection to close checkpoints the write-ahead log into the file and removes it,
    /// and only the writer can (a read-only one would leave the log beside the file).
    readers: Option<Arc<Connections>>,
    /// The writing connection (the only one in memory or read-only) and its queue of calls.
    writer: Arc<Connections>,
}

impl std::fmt::Debug for SqliteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteState").finish_non_exhaustive()
    }
}

impl SqliteState {
    /// Opens (creating if needed) the database at `path` and applies the schema. Safe while
    /// other processes open or write the same file: it waits for their locks (up to
    /// [`BUSY_TIMEOUT`]) and creates and migrates the schema once.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref();
        let conn = Connection::open(path).ctx("*", "open the database")?;
        let mut state = Self::init(conn)?;
        // After the writer: the schema exists now.
        let mut conns = readers::open(path)?.into_iter();
        state.readers = conns
            .next()
            .map(|first| Connections::new(first, conns.collect()));
        Ok(state)
    }

    /// Opens the database at `path` for reading only, for commands that list what is stored.
    /// Nothing is written: no schema change, no migration. A database on read-only media (a
    /// read-only mount, a snapshot) opens too: when SQLite cannot open its shared-memory file
    /// there, the file is opened as immutable (`immutable=1`), which assumes nobody writes it;
    /// a write-ahead log left beside it (`<db>-wal`, after a crash) cannot be read that way, and
    /// a warning says so. A missing file is an error; a database of an older schema than this
    /// release can read must be opened once with [`SqliteState::open`] to migrate it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ctx("*", "open the database")?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("*", "set the busy timeout")?;
        let conn = match read_version(&conn) {
            Ok(version) => {
                check_readable(version)?;
                conn
            }
            Err(e) if cannot_share_memory(&e) => {
                drop(conn);
                let wal = wal_path(path);
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    tracing::warn!(
                        wal = %wal.display(),
                        "the database is on read-only media and has a write-ahead log that cannot be read there: its newest commits may be missing; copy the database and its -wal file to writable storage to read them"
                    );
                }
                let uri = immutable_uri(path)?;
                let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .ctx("*", "open the database read-only")?;
                check_readable(read_version(&conn).ctx("*", "read the schema version")?)?;
                conn
            }
            Err(e) => return Err(e).ctx("*", "read the schema version"),
        };
        Ok(Self::with_writer(conn))
    }

    /// An in-memory database, for tests and dry runs.
    pub fn in_memory() -> Result<Self, StateError> {
        let conn = Connection::open_in_memory().ctx("*", "open the database")?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Self, StateError> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("*", "set the busy timeout")?;
        // WAL: readers never block the writer. FULL: a returned commit is on disk.
        enable_wal(&conn)?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .ctx("*", "set durability")?;
        // One writer creates the schema; the others wait for its lock and find it there.
        let tx = write_tx(&mut conn).ctx("*", "apply the schema")?;
        tx.execute_batch(SCHEMA).ctx("*", "apply the schema")?;
        tx.commit().ctx("*", "apply the schema")?;
        migrate(&mut conn)?;
        Ok(Self::with_writer(conn))
    }

    fn with_writer(conn: Connection) -> Self {
        Self {
            readers: None,
            writer: Connections::new(conn, Vec::new()),
        }
    }

    /// Runs `f` on the writing connection, after the calls queued before it, on the blocking
    /// pool.
    async fn call<T, F>(&self, store: &str, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        self.writer.call(store, f).await
    }

    /// Runs `f`, which only reads, on a read connection (the writing one where there are none),
    /// on the blocking pool.
    async fn read<T, F>(&self, store: &str, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.call(store, f).await,
            None => self.call(store, f).await,
        }
    }
}
