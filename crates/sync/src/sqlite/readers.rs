//! Read-only connections beside the writer. In WAL mode they read while the writer commits, so
//! a run's lookups and cursor reads do not queue behind other stores' page commits (with
//! hundreds of stores in flight, one connection made every call wait for every commit). A read
//! sees every transaction committed before it began, on any connection: a page decided from a
//! lookup that a concurrent write made stale is still refused by the commit
//! (`OrderWrite::replaces`), as on PostgreSQL.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::codec::Ctx;
use super::schema::BUSY_TIMEOUT;
use crate::error::StateError;

/// Read-only connections a file database opens beside its writer.
pub(super) const READERS: usize = 4;

/// Opens [`READERS`] read-only connections to the database at `path` (its schema must exist:
/// open it with the writer first).
pub(super) fn open(path: &Path) -> Result<Vec<Connection>, StateError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    (0..READERS)
        .map(|_| {
            let conn =
                Connection::open_with_flags(path, flags).ctx("*", "open a read connection")?;
            conn.busy_timeout(BUSY_TIMEOUT)
                .ctx("*", "set the busy timeout")?;
            Ok(conn)
        })
        .collect()
}
