//! The schema, its migrations, and opening a connection safely beside other processes.

use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use super::codec::Ctx;
use crate::error::StateError;
use crate::packed::pack_order;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (
    store_id   TEXT PRIMARY KEY,
    watermark  TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    store_id   TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    token      INTEGER NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    store_id     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    order_number TEXT NOT NULL,
    store_name   TEXT NOT NULL,
    status       TEXT NOT NULL,
    modified_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    order_json   TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (channel, store_id, external_id)
);
CREATE INDEX IF NOT EXISTS orders_by_store ON orders (store_id, seq);
CREATE TABLE IF NOT EXISTS events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    store_id     TEXT NOT NULL,
    store_name   TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    order_number TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    at           TEXT NOT NULL,
    label        INTEGER NOT NULL,
    snapshot     TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    UNIQUE (channel, store_id, external_id, to_status, at)
);
CREATE INDEX IF NOT EXISTS events_by_store ON events (store_id, id);
CREATE TABLE IF NOT EXISTS quarantine (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id     TEXT NOT NULL,
    qkey         TEXT NOT NULL,
    external_id  TEXT,
    order_number TEXT,
    reasons      TEXT NOT NULL,
    window_from  TEXT NOT NULL,
    window_to    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    UNIQUE (store_id, qkey)
);
CREATE TABLE IF NOT EXISTS shipments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id        TEXT NOT NULL,
    external_id     TEXT,
    order_number    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    update_json     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shipments_by_number ON shipments (store_id, order_number);
CREATE INDEX IF NOT EXISTS shipments_by_id ON shipments (store_id, external_id);
CREATE TABLE IF NOT EXISTS refetch (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id   TEXT NOT NULL,
    from_utc   TEXT NOT NULL,
    to_utc     TEXT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS walks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id    TEXT NOT NULL,
    from_utc    TEXT NOT NULL,
    to_utc      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS walks_by_store ON walks (store_id, finished_at);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
"#;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 7;

/// The oldest schema version [`SqliteState::open_read_only`] can read (it cannot migrate).
pub(super) const OLDEST_READABLE: i64 = 6;

/// How long a connection waits for another one's lock before it gives up.
pub const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// Version 1 → 2: per-sink delivery verdicts, the backfill flag of events and the first run's
/// bound. Existing events get `backfill = 0` (no sink had seen them as backfill) and no
/// delivery row, so they are pending for every sink.
pub(super) const MIGRATE_1_TO_2: &str = r#"
ALTER TABLE events ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cursors ADD COLUMN backfill_until TEXT;
CREATE TABLE deliveries (
    event_id INTEGER NOT NULL REFERENCES events (id),
    sink     TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('delivered', 'skipped')),
    reason   TEXT,
    at       TEXT NOT NULL,
    PRIMARY KEY (event_id, sink)
);
CREATE INDEX deliveries_by_sink ON deliveries (sink, event_id);
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"#;

/// Version 2 → 3: a delivery may be `refused` for good by the destination, with its reason.
/// SQLite cannot change a CHECK constraint in place, so the table is copied into a new one;
/// every verdict is kept.
pub(super) const MIGRATE_2_TO_3: &str = r#"
CREATE TABLE deliveries_v3 (
    event_id INTEGER NOT NULL REFERENCES events (id),
    sink     TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('delivered', 'skipped', 'refused')),
    reason   TEXT,
    at       TEXT NOT NULL,
    PRIMARY KEY (event_id, sink)
);
INSERT INTO deliveries_v3 (event_id, sink, state, reason, at)
    SELECT event_id, sink, state, reason, at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v3 RENAME TO deliveries;
CREATE INDEX deliveries_by_sink ON deliveries (sink, event_id);
UPDATE meta SET value = '3' WHERE key = 'schema_version';
"#;

/// Version 3 → 4: an order's content is stored once. Events keep their own facts (the raw
/// status among them, taken from the snapshot they carried) and lose the snapshot, the bulk of
/// the file: a sink gets the order from the orders table.
pub(super) const MIGRATE_3_TO_4: &str = r#"
ALTER TABLE events ADD COLUMN raw_status TEXT NOT NULL DEFAULT '';
UPDATE events SET raw_status = COALESCE(json_extract(snapshot, '$.raw_status'), '');
ALTER TABLE events DROP COLUMN snapshot;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
"#;

/// Version 4 → 5: an order's JSON is stored packed ([`crate::packed`]), about a fifth of its
/// size: every stored order is packed into the new `order_packed` column, then the text column
/// is dropped. One transaction, like every step.
fn migrate_4_to_5(tx: &Transaction<'_>) -> Result<(), StateError> {
    tx.execute_batch("ALTER TABLE orders ADD COLUMN order_packed BLOB")
        .ctx("*", "migrate the schema")?;
    {
        let mut read = tx
            .prepare("SELECT seq, store_id, order_json FROM orders")
            .ctx("*", "migrate the schema")?;
        let mut write = tx
            .prepare("UPDATE orders SET order_packed = ?2 WHERE seq = ?1")
            .ctx("*", "migrate the schema")?;
        let mut rows = read.query([]).ctx("*", "migrate the schema")?;
        while let Some(row) = rows.next().ctx("*", "migrate the schema")? {
            let seq: i64 = row.get(0).ctx("*", "migrate the schema")?;
            let store: String = row.get(1).ctx("*", "migrate the schema")?;
            let json: String = row.get(2).ctx(&store, "migrate the schema")?;
            write
                .execute(rusqlite::params![seq, pack_order(&store, &json)?])
                .ctx(&store, "migrate the schema")?;
        }
    }
    tx.execute_batch(
        "ALTER TABLE orders DROP COLUMN order_json;
         UPDATE meta SET value = '5' WHERE key = 'schema_version';",
    )
    .ctx("*", "migrate the schema")
}

/// Version 5 → 6: the status the shipping platform set on an order (a hold until a date, paid,
/// cancelled; [`crate::platform`]). Existing orders have none.
pub(super) const MIGRATE_5_TO_6: &str = r#"
ALTER TABLE orders ADD COLUMN platform TEXT;
ALTER TABLE orders ADD COLUMN hold_until TEXT;
CREATE INDEX orders_on_hold ON orders (store_id, hold_until) WHERE platform = 'hold';
UPDATE meta SET value = '6' WHERE key = 'schema_version';
"#;

/// Version 6 → 7: orders are written in packed format 2 ([`crate::packed`]: the dictionary
/// with entropy tables). Format 1 is still read, so nothing is rewritten; the version tells an
/// orderport that knows only format 1 (schema version 6) to refuse the file when it opens it,
/// instead of failing on the first order of format 2 it reads.
pub(super) const MIGRATE_6_TO_7: &str = r#"
UPDATE meta SET value = '7' WHERE key = 'schema_version';
"#;

/// A transaction that takes the write lock when it begins (`BEGIN IMMEDIATE`), waiting for it
/// up to the busy timeout. A deferred transaction that reads first and writes later can be
/// refused its write at once ("database is locked") when another connection wrote in between;
/// this one cannot.
pub(super) fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Switches the database to WAL. Changing the journal mode takes an exclusive lock and SQLite
/// does not call the busy handler for it, so two processes creating the same file at once
/// would fail with "database is locked": wait and try again, up to [`BUSY_TIMEOUT`].
pub(super) fn enable_wal(conn: &Connection) -> Result<(), StateError> {
    let started = Instant::now();
    let mut pause = StdDuration::from_millis(2);
    loop {
        let mode = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
                    Ok(mode)
                } else {
                    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
                }
            });
        match mode {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(StdDuration::from_millis(50));
            }
            Err(e) => return Err(e).ctx("*", "enable WAL"),
        }
    }
}

pub(super) fn read_version(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
}

pub(super) fn parse_version(version: &str) -> Result<i64, StateError> {
    version.parse().map_err(|_| StateError::Corrupt {
        store: "*".into(),
        detail: format!("bad schema_version {version:?}"),
    })
}

pub(super) fn newer_schema(version: i64) -> StateError {
    crate::codec::newer_schema("SQLite", version, SCHEMA_VERSION)
}

/// Whether a read-only connection can read a database of `version` (as text).
pub(super) fn check_readable(version: String) -> Result<(), StateError> {
    match parse_version(&version)? {
        v if v > SCHEMA_VERSION => Err(newer_schema(v)),
        v if v < OLDEST_READABLE => Err(StateError::Backend {
            store: "*".into(),
            operation: "read the database",
            detail: format!(
                "it was written by an older orderport (schema version {v}); run `orderport sync` on it once to migrate it, then read it"
            ),
        }),
        _ => Ok(()),
    }
}

/// Whether a read-only open failed because SQLite could not open or create the WAL's
/// shared-memory file (`<db>-shm`), as on read-only media.
pub(super) fn cannot_share_memory(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

pub(super) fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

/// `file:` URI of `path` with `immutable=1`: every byte but unreserved ones and `/`
/// percent-encoded, so that `?`, `#` and `%` in a path cannot be read as URI syntax.
pub(super) fn immutable_uri(path: &Path) -> Result<String, StateError> {
    use std::fmt::Write as _;
    let absolute = std::path::absolute(path).map_err(|e| StateError::Backend {
        store: "*".into(),
        operation: "open the database read-only",
        detail: format!("cannot make {} absolute: {e}", path.display()),
    })?;
    let raw = absolute.to_string_lossy();
    let mut uri = String::from("file://");
    if !raw.starts_with('/') {
        uri.push('/');
    }
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(byte));
            }
            other => {
                let _ = write!(uri, "%{other:02X}");
            }
        }
    }
    uri.push_str("?immutable=1");
    Ok(uri)
}

/// Brings a database of an older schema up to [`SCHEMA_VERSION`], one transaction per step;
/// refuses a newer one. Each step reads the version inside its own write transaction, so two
/// processes opening an old database at once migrate it once.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    loop {
        let tx = write_tx(conn).ctx("*", "migrate the schema")?;
        let version = parse_version(&read_version(&tx).ctx("*", "read the schema version")?)?;
        match version {
            1 => tx.execute_batch(MIGRATE_1_TO_2),
            2 => tx.execute_batch(MIGRATE_2_TO_3),
            3 => tx.execute_batch(MIGRATE_3_TO_4),
            4 => Ok(migrate_4_to_5(&tx)?),
            5 => tx.execute_batch(MIGRATE_5_TO_6),
            6 => tx.execute_batch(MIGRATE_6_TO_7),
            SCHEMA_VERSION => return Ok(()),
            other => return Err(newer_schema(other)),
        }
        .ctx("*", "migrate the schema")?;
        tx.commit().ctx("*", "migrate the schema")?;
        tracing::info!(from = version, "state database schema migrated");
    }
}
