//! The embedded default state: one SQLite file (default `./orderport.db`), WAL journal,
//! `synchronous=FULL` so that a commit that returned survives a crash or power loss.
//!
//! Calls run on tokio's blocking pool around one connection behind a mutex; SQLite serializes
//! writers anyway, and a page commit is one short transaction.
//!
//! Several processes may open the same file at once (`orderport sync` beside `orderport
//! push-shipment --db`): every connection waits up to [`BUSY_TIMEOUT`] for a lock instead of
//! failing with "database is locked", and every write transaction takes the write lock when it
//! begins (`BEGIN IMMEDIATE`), so that the schema is created and migrated once and a
//! transaction that read first is never refused its write. Read commands open the file with
//! [`SqliteState::open_read_only`], which writes nothing and works on read-only media.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::stream::{self, Stream};
use orderport_core::{CanonicalStatus, OrderKey, ShipmentKind, ShipmentUpdate, TimeWindow};
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use serde::Serialize;

use crate::delivery::{DeliveryMark, OutboxEvent, ShipmentNote};
use crate::error::StateError;
use crate::state::{
    Cursor, Known, Lease, LeaseGrant, OrderLookup, PageCommit, Refetch, ShipmentRecord, SliceDone,
    State, StatusEvent, StoredMeta, WalkRecord,
};

/// The default database file.
pub const DEFAULT_DB: &str = "orderport.db";

/// How long walk records are kept: long enough for the next runs to check them.
const WALK_RETENTION_DAYS: i64 = 7;

const SCHEMA: &str = r#"
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
pub const SCHEMA_VERSION: i64 = 3;

/// The oldest schema version [`SqliteState::open_read_only`] can read (it cannot migrate).
const OLDEST_READABLE: i64 = 2;

/// How long a connection waits for another one's lock before it gives up.
pub const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// Version 1 → 2: per-sink delivery verdicts, the backfill flag of events and the first run's
/// bound. Existing events get `backfill = 0` (no sink had seen them as backfill) and no
/// delivery row, so they are pending for every sink.
const MIGRATE_1_TO_2: &str = r#"
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
const MIGRATE_2_TO_3: &str = r#"
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

/// The SQLite state store. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SqliteState {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteState").finish_non_exhaustive()
    }
}

/// Fixed-width RFC 3339 (nanoseconds, `Z`), so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_ts(store: &str, text: &str) -> Result<DateTime<Utc>, StateError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StateError::Corrupt {
            store: store.to_owned(),
            detail: format!("bad timestamp {text:?}: {e}"),
        })
}

fn parse_status(store: &str, text: &str) -> Result<CanonicalStatus, StateError> {
    text.parse().map_err(|_| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("bad status {text:?}"),
    })
}

fn window(store: &str, from: &str, to: &str) -> Result<TimeWindow, StateError> {
    TimeWindow::new(parse_ts(store, from)?, parse_ts(store, to)?).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: e.to_string(),
    })
}

trait Ctx<T> {
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError> {
        self.map_err(|e| StateError::Backend {
            store: store.to_owned(),
            operation,
            detail: e.to_string(),
        })
    }
}

/// One stored order, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    /// Position in insertion order; page with `after`.
    pub seq: i64,
    /// The channel.
    pub channel: String,
    /// The store.
    pub store_id: String,
    /// The store's name.
    pub store_name: String,
    /// The channel's id for the order.
    pub external_id: String,
    /// The order number.
    pub order_number: String,
    /// Its canonical status.
    pub status: String,
    /// When the channel last modified it.
    pub modified_at: String,
    /// When the engine first stored it.
    pub first_seen: String,
    /// When the engine last changed it.
    pub updated_at: String,
    /// The canonical order.
    pub order: serde_json::Value,
}

/// One status event from the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// Its position in the outbox; page with `after`.
    pub id: i64,
    /// The channel.
    pub channel: String,
    /// The store.
    pub store_id: String,
    /// The store's name.
    pub store_name: String,
    /// The order's external id.
    pub external_id: String,
    /// The order number.
    pub order_number: String,
    /// The status before, `null` for a new order.
    pub from: Option<String>,
    /// The status after.
    pub to: String,
    /// When it happened (the order's modification time).
    pub at: String,
    /// For `shipped`: whether a label shipment was recorded.
    pub label: bool,
    /// Written during the store's first sync (its history backfill).
    pub backfill: bool,
    /// When the engine recorded it.
    pub recorded_at: String,
    /// The order at the time.
    pub snapshot: serde_json::Value,
    /// Each sink's verdict on it, by sink name. A sink with no verdict here has the event
    /// pending.
    pub deliveries: Vec<EventDelivery>,
}

/// One sink's verdict on an event, as [`EventRow`] carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EventDelivery {
    /// The sink's name.
    pub sink: String,
    /// `delivered`, `skipped` or `refused`.
    pub state: String,
    /// For `skipped`: the reason code; for `refused`: what the destination said.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: String,
}

/// One quarantined order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineRow {
    /// Its row id; page with `after`.
    pub id: i64,
    /// The store.
    pub store_id: String,
    /// The external id, where it could be read.
    pub external_id: Option<String>,
    /// The order number, where it could be read.
    pub order_number: Option<String>,
    /// Every reason, as JSON.
    pub reasons: serde_json::Value,
    /// The window it was last fetched in.
    pub window_from: String,
    /// The window it was last fetched in.
    pub window_to: String,
    /// The configuration fingerprint it was judged under.
    pub fingerprint: String,
    /// First rejected.
    pub first_seen: String,
    /// Last rejected.
    pub last_seen: String,
}

/// One sink's verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    /// The outbox id.
    pub event_id: i64,
    /// The sink's name.
    pub sink: String,
    /// `delivered`, `skipped` or `refused`.
    pub state: String,
    /// For `skipped`: the reason code; for `refused`: what the destination said.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: String,
}

/// A store's cursor, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CursorRow {
    /// The store.
    pub store_id: String,
    /// Its watermark.
    pub watermark: Option<String>,
    /// When it last moved.
    pub updated_at: String,
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()))
}

fn quarantine_key(external_id: Option<&str>, order_number: Option<&str>, reasons: &str) -> String {
    match (external_id, order_number) {
        (Some(id), _) => format!("id:{id}"),
        (None, Some(n)) => format!("number:{n}"),
        (None, None) => {
            use sha2::{Digest, Sha256};
            format!(
                "reasons:{}",
                crate::settings::hex(&Sha256::digest(reasons.as_bytes()))
            )
        }
    }
}

impl SqliteState {
    /// Opens (creating if needed) the database at `path` and applies the schema. Safe while
    /// other processes open or write the same file: it waits for their locks (up to
    /// [`BUSY_TIMEOUT`]) and creates and migrates the schema once.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let conn = Connection::open(path.as_ref()).ctx("*", "open the database")?;
        Self::init(conn)
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
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
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
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn call<T, F>(&self, store: &str, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let store_owned = store.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StateError::Backend {
                store: store_owned.clone(),
                operation: "lock the connection",
                detail: "a previous call panicked".into(),
            })?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StateError::Backend {
            store: store.to_owned(),
            operation: "run a database call",
            detail: e.to_string(),
        })?
    }

    /// A page of stored orders with `seq > after`, oldest first, optionally for one store.
    pub async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OrderRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, channel, store_id, store_name, external_id, order_number, status,
                            modified_at, first_seen, updated_at, order_json
                     FROM orders WHERE seq > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY seq LIMIT ?3",
                )
                .ctx(&label, "list orders")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(OrderRow {
                        seq: r.get(0)?,
                        channel: r.get(1)?,
                        store_id: r.get(2)?,
                        store_name: r.get(3)?,
                        external_id: r.get(4)?,
                        order_number: r.get(5)?,
                        status: r.get(6)?,
                        modified_at: r.get(7)?,
                        first_seen: r.get(8)?,
                        updated_at: r.get(9)?,
                        order: json(&r.get::<_, String>(10)?),
                    })
                })
                .ctx(&label, "list orders")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list orders")
        })
        .await
    }

    /// A page of events with `id > after`, in outbox order, optionally for one store.
    pub async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, channel, store_id, store_name, external_id, order_number,
                            from_status, to_status, at, label, recorded_at, snapshot, backfill,
                            (SELECT json_group_array(json_object('sink', d.sink,
                                        'state', d.state, 'reason', d.reason, 'at', d.at))
                             FROM (SELECT * FROM deliveries WHERE event_id = events.id
                                   ORDER BY sink) d)
                     FROM events WHERE id > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY id LIMIT ?3",
                )
                .ctx(&label, "list events")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(EventRow {
                        id: r.get(0)?,
                        channel: r.get(1)?,
                        store_id: r.get(2)?,
                        store_name: r.get(3)?,
                        external_id: r.get(4)?,
                        order_number: r.get(5)?,
                        from: r.get(6)?,
                        to: r.get(7)?,
                        at: r.get(8)?,
                        label: r.get::<_, i64>(9)? != 0,
                        recorded_at: r.get(10)?,
                        snapshot: json(&r.get::<_, String>(11)?),
                        backfill: r.get::<_, i64>(12)? != 0,
                        deliveries: serde_json::from_str(&r.get::<_, String>(13)?)
                            .unwrap_or_default(),
                    })
                })
                .ctx(&label, "list events")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list events")
        })
        .await
    }

    /// A page of quarantined orders with `id > after`, optionally for one store.
    pub async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<QuarantineRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, store_id, external_id, order_number, reasons, window_from,
                            window_to, fingerprint, first_seen, last_seen
                     FROM quarantine WHERE id > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY id LIMIT ?3",
                )
                .ctx(&label, "list quarantine")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(QuarantineRow {
                        id: r.get(0)?,
                        store_id: r.get(1)?,
                        external_id: r.get(2)?,
                        order_number: r.get(3)?,
                        reasons: json(&r.get::<_, String>(4)?),
                        window_from: r.get(5)?,
                        window_to: r.get(6)?,
                        fingerprint: r.get(7)?,
                        first_seen: r.get(8)?,
                        last_seen: r.get(9)?,
                    })
                })
                .ctx(&label, "list quarantine")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list quarantine")
        })
        .await
    }

    /// Delivery verdicts for the events (optionally of one store) with `id > after`, for at
    /// most `limit` events, ordered by event id then sink. Page with the last row's `event_id`.
    pub async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT d.event_id, d.sink, d.state, d.reason, d.at FROM deliveries d
                     WHERE d.event_id IN (SELECT DISTINCT x.event_id FROM deliveries x JOIN events e
                                            ON e.id = x.event_id
                                          WHERE x.event_id > ?1
                                            AND (?2 IS NULL OR e.store_id = ?2)
                                          ORDER BY x.event_id LIMIT ?3)
                     ORDER BY d.event_id, d.sink",
                )
                .ctx(&label, "list deliveries")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(DeliveryRow {
                        event_id: r.get(0)?,
                        sink: r.get(1)?,
                        state: r.get(2)?,
                        reason: r.get(3)?,
                        at: r.get(4)?,
                    })
                })
                .ctx(&label, "list deliveries")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list deliveries")
        })
        .await
    }

    /// Every store's cursor.
    pub async fn cursors(&self) -> Result<Vec<CursorRow>, StateError> {
        self.call("*", |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT store_id, watermark, updated_at FROM cursors ORDER BY store_id",
                )
                .ctx("*", "list cursors")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(CursorRow {
                        store_id: r.get(0)?,
                        watermark: r.get(1)?,
                        updated_at: r.get(2)?,
                    })
                })
                .ctx("*", "list cursors")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("*", "list cursors")
        })
        .await
    }

    /// Every stored order (optionally of one store) as a stream read `page` rows at a time, so
    /// memory stays bounded whatever the database holds.
    pub fn orders(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<OrderRow, StateError>> + '_ {
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.orders_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.seq);
                Ok((rows, last))
            }
        })
    }

    /// Every event (optionally of one store) in outbox order, `page` rows at a time.
    pub fn events(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<EventRow, StateError>> + '_ {
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.events_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.id);
                Ok((rows, last))
            }
        })
    }

    /// Every quarantined order (optionally of one store), `page` rows at a time.
    pub fn quarantine(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<QuarantineRow, StateError>> + '_ {
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.quarantine_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.id);
                Ok((rows, last))
            }
        })
    }
}

/// A transaction that takes the write lock when it begins (`BEGIN IMMEDIATE`), waiting for it
/// up to the busy timeout. A deferred transaction that reads first and writes later can be
/// refused its write at once ("database is locked") when another connection wrote in between;
/// this one cannot.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Switches the database to WAL. Changing the journal mode takes an exclusive lock and SQLite
/// does not call the busy handler for it, so two processes creating the same file at once
/// would fail with "database is locked": wait and try again, up to [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection) -> Result<(), StateError> {
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

fn read_version(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
}

fn parse_version(version: &str) -> Result<i64, StateError> {
    version.parse().map_err(|_| StateError::Corrupt {
        store: "*".into(),
        detail: format!("bad schema_version {version:?}"),
    })
}

fn newer_schema(version: i64) -> StateError {
    StateError::Corrupt {
        store: "*".into(),
        detail: format!(
            "schema version {version} is not one this orderport knows ({SCHEMA_VERSION}); use a newer orderport"
        ),
    }
}

/// Whether a read-only connection can read a database of `version` (as text).
fn check_readable(version: String) -> Result<(), StateError> {
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
fn cannot_share_memory(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

/// `file:` URI of `path` with `immutable=1`: every byte but unreserved ones and `/`
/// percent-encoded, so that `?`, `#` and `%` in a path cannot be read as URI syntax.
fn immutable_uri(path: &Path) -> Result<String, StateError> {
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
fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    loop {
        let tx = write_tx(conn).ctx("*", "migrate the schema")?;
        let version = parse_version(&read_version(&tx).ctx("*", "read the schema version")?)?;
        let step = match version {
            1 => MIGRATE_1_TO_2,
            2 => MIGRATE_2_TO_3,
            SCHEMA_VERSION => return Ok(()),
            other => return Err(newer_schema(other)),
        };
        tx.execute_batch(step).ctx("*", "migrate the schema")?;
        tx.commit().ctx("*", "migrate the schema")?;
        tracing::info!(from = version, "state database schema migrated");
    }
}

/// Turns a keyset-paged query into a stream of rows.
fn paged<'a, T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, StateError>> + 'a
where
    T: 'a,
    F: Fn(i64) -> Fut + 'a,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<i64>), StateError>> + 'a,
{
    let pages = stream::unfold(Some(0i64), move |after| {
        let next = after.map(&fetch);
        async move {
            match next?.await {
                Ok((rows, Some(last))) => Some((Ok(rows), Some(last))),
                Ok((_, None)) => None,
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    futures::StreamExt::flat_map(pages, |page| match page {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok).collect::<Vec<_>>()),
        Err(e) => stream::iter(vec![Err(e)]),
    })
}

/// Shipped means a label: the stored order (by external id, else by number) becomes `shipped`
/// and an event to `shipped` with `label = true` at `label_at` is appended, unless the order is
/// unknown or already shipped. Returns the event's id.
fn ship_by_label(
    tx: &Transaction<'_>,
    store: &str,
    external_id: Option<&str>,
    number: &str,
    label_at: &str,
    now: &str,
) -> Result<Option<i64>, StateError> {
    let row: Option<(i64, String, String, String, String, String, String)> = tx
        .query_row(
            "SELECT seq, channel, external_id, order_number, store_name, status, order_json
             FROM orders WHERE store_id = ?1
               AND ((?2 IS NOT NULL AND external_id = ?2) OR (?2 IS NULL AND order_number = ?3))
             ORDER BY seq DESC LIMIT 1",
            params![store, external_id, number],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()
        .ctx(store, "find the shipped order")?;
    let Some((seq, channel, ext, number, store_name, status, order_json)) = row else {
        return Ok(None);
    };
    let from = parse_status(store, &status)?;
    if from == CanonicalStatus::Shipped {
        return Ok(None);
    }
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&order_json).map_err(|e| StateError::Corrupt {
            store: store.to_owned(),
            detail: format!("order {ext}: stored JSON unreadable: {e}"),
        })?;
    if let Some(object) = snapshot.as_object_mut() {
        object.insert(
            "status".into(),
            serde_json::Value::String(CanonicalStatus::Shipped.as_str().into()),
        );
    }
    let snapshot = snapshot.to_string();
    tx.execute(
        "UPDATE orders SET status = ?2, order_json = ?3, updated_at = ?4 WHERE seq = ?1",
        params![seq, CanonicalStatus::Shipped.as_str(), snapshot, now],
    )
    .ctx(store, "mark the order shipped")?;
    let n = tx
        .execute(
            "INSERT OR IGNORE INTO events (channel, store_id, store_name, external_id,
                 order_number, from_status, to_status, at, label, snapshot, recorded_at, backfill)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, 0)",
            params![
                channel,
                store,
                store_name,
                ext,
                number,
                from.as_str(),
                CanonicalStatus::Shipped.as_str(),
                label_at,
                snapshot,
                now
            ],
        )
        .ctx(store, "append the shipped event")?;
    Ok((n == 1).then(|| tx.last_insert_rowid()))
}

fn check_lease(tx: &Transaction<'_>, lease: &Lease) -> Result<(), StateError> {
    let token: Option<i64> = tx
        .query_row(
            "SELECT token FROM leases WHERE store_id = ?1 AND owner = ?2",
            params![lease.store_id, lease.owner],
            |r| r.get(0),
        )
        .optional()
        .ctx(&lease.store_id, "check the lease")?;
    if token == Some(lease.token) {
        Ok(())
    } else {
        Err(StateError::LeaseLost {
            store: lease.store_id.clone(),
        })
    }
}

fn commit(tx: &Transaction<'_>, lease: &Lease, page: &PageCommit) -> Result<(), StateError> {
    let store = lease.store_id.as_str();
    let now = ts(Utc::now());
    check_lease(tx, lease)?;
    {
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO orders (channel, store_id, external_id, order_number, store_name,
                     status, modified_at, content_hash, order_json, first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT (channel, store_id, external_id) DO UPDATE SET
                     order_number = excluded.order_number, store_name = excluded.store_name,
                     status = excluded.status, modified_at = excluded.modified_at,
                     content_hash = excluded.content_hash, order_json = excluded.order_json,
                     updated_at = excluded.updated_at",
            )
            .ctx(store, "upsert orders")?;
        for w in &page.orders {
            let o = &w.order;
            upsert
                .execute(params![
                    o.channel,
                    o.store_id,
                    o.external_id,
                    o.order_number,
                    o.store_name,
                    o.status.as_str(),
                    ts(o.modified_at),
                    w.content_hash,
                    w.json,
                    now
                ])
                .ctx(store, "upsert orders")?;
        }
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events (channel, store_id, store_name, external_id,
                     order_number, from_status, to_status, at, label, snapshot, recorded_at,
                     backfill)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .ctx(store, "append events")?;
        for e in &page.events {
            insert
                .execute(params![
                    e.key.channel,
                    e.key.store_id,
                    e.store_name,
                    e.key.external_id,
                    e.order_number,
                    e.from.map(CanonicalStatus::as_str),
                    e.to.as_str(),
                    ts(e.at),
                    e.label as i64,
                    e.snapshot,
                    now,
                    page.backfill as i64
                ])
                .ctx(store, "append events")?;
        }
    }
    {
        let mut release_id = tx
            .prepare_cached("DELETE FROM quarantine WHERE store_id = ?1 AND qkey = 'id:' || ?2")
            .ctx(store, "release quarantine")?;
        let mut release_number = tx
            .prepare_cached("DELETE FROM quarantine WHERE store_id = ?1 AND qkey = 'number:' || ?2")
            .ctx(store, "release quarantine")?;
        for r in &page.release {
            release_id
                .execute(params![store, r.external_id])
                .ctx(store, "release quarantine")?;
            release_number
                .execute(params![store, r.order_number])
                .ctx(store, "release quarantine")?;
        }
    }
    {
        let mut put = tx
            .prepare_cached(
                "INSERT INTO quarantine (store_id, qkey, external_id, order_number, reasons,
                     window_from, window_to, fingerprint, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT (store_id, qkey) DO UPDATE SET
                     external_id = excluded.external_id, order_number = excluded.order_number,
                     reasons = excluded.reasons, window_from = excluded.window_from,
                     window_to = excluded.window_to, fingerprint = excluded.fingerprint,
                     last_seen = excluded.last_seen",
            )
            .ctx(store, "quarantine orders")?;
        for q in &page.quarantine {
            let reasons =
                serde_json::to_string(&q.rejection.reasons).map_err(|e| StateError::Corrupt {
                    store: store.to_owned(),
                    detail: e.to_string(),
                })?;
            let key = quarantine_key(
                q.rejection.external_id.as_deref(),
                q.rejection.order_number.as_deref(),
                &reasons,
            );
            put.execute(params![
                store,
                key,
                q.rejection.external_id,
                q.rejection.order_number,
                reasons,
                ts(q.window.from()),
                ts(q.window.to()),
                q.fingerprint,
                now
            ])
            .ctx(store, "quarantine orders")?;
        }
    }
    for (w, reason) in &page.refetch {
        tx.execute(
            "INSERT INTO refetch (store_id, from_utc, to_utc, reason) VALUES (?1, ?2, ?3, ?4)",
            params![store, ts(w.from()), ts(w.to()), reason],
        )
        .ctx(store, "queue a re-fetch")?;
    }
    match page.done {
        Some(SliceDone::Advance(end)) => {
            // MAX on fixed-width text is MAX on time: the watermark never moves back.
            tx.execute(
                "INSERT INTO cursors (store_id, watermark, updated_at, backfill_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (store_id) DO UPDATE SET
                     watermark = MAX(COALESCE(watermark, ''), excluded.watermark),
                     updated_at = excluded.updated_at,
                     backfill_until = COALESCE(backfill_until, excluded.backfill_until)",
                params![store, ts(end), now, page.backfill_until.map(ts)],
            )
            .ctx(store, "advance the watermark")?;
        }
        Some(SliceDone::Refetch { id, end }) => {
            tx.execute(
                "DELETE FROM refetch WHERE id = ?1 AND store_id = ?2 AND to_utc <= ?3",
                params![id, store, ts(end)],
            )
            .ctx(store, "finish a re-fetch")?;
            tx.execute(
                "UPDATE refetch SET from_utc = MAX(from_utc, ?3) WHERE id = ?1 AND store_id = ?2",
                params![id, store, ts(end)],
            )
            .ctx(store, "advance a re-fetch")?;
        }
        None => {}
    }
    if let Some(walk) = page.walk {
        tx.execute(
            "INSERT INTO walks (store_id, from_utc, to_utc, started_at, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                store,
                ts(walk.window.from()),
                ts(walk.window.to()),
                ts(walk.started_at),
                ts(walk.finished_at)
            ],
        )
        .ctx(store, "record a walk")?;
        tx.execute(
            "DELETE FROM walks WHERE store_id = ?1 AND finished_at < ?2",
            params![
                store,
                ts(walk.finished_at - Duration::days(WALK_RETENTION_DAYS))
            ],
        )
        .ctx(store, "prune walks")?;
    }
    Ok(())
}

#[async_trait]
impl State for SqliteState {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        let (store, owner) = (store_id.to_owned(), owner.to_owned());
        self.call(store_id, move |c| {
            let tx = write_tx(c).ctx(&store, "take the lease")?;
            let held: Option<(String, i64, String)> = tx
                .query_row(
                    "SELECT owner, token, expires_at FROM leases WHERE store_id = ?1",
                    params![store],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .ctx(&store, "take the lease")?;
            let token = match held {
                Some((holder, _, expires))
                    if holder != owner && parse_ts(&store, &expires)? > now =>
                {
                    return Ok(LeaseGrant::Held {
                        owner: holder,
                        until: parse_ts(&store, &expires)?,
                    });
                }
                Some((_, token, _)) => token + 1,
                None => 1,
            };
            let expires_at = now + ttl;
            tx.execute(
                "INSERT INTO leases (store_id, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (store_id) DO UPDATE SET owner = excluded.owner,
                     token = excluded.token, expires_at = excluded.expires_at",
                params![store, owner, token, ts(expires_at)],
            )
            .ctx(&store, "take the lease")?;
            tx.commit().ctx(&store, "take the lease")?;
            Ok(LeaseGrant::Granted(Lease {
                store_id: store,
                owner,
                token,
                expires_at,
            }))
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        let mut lease = lease.clone();
        self.call(&lease.store_id.clone(), move |c| {
            let expires_at = now + ttl;
            let n = c
                .execute(
                    "UPDATE leases SET expires_at = ?4
                     WHERE store_id = ?1 AND owner = ?2 AND token = ?3",
                    params![lease.store_id, lease.owner, lease.token, ts(expires_at)],
                )
                .ctx(&lease.store_id, "renew the lease")?;
            if n == 0 {
                return Err(StateError::LeaseLost {
                    store: lease.store_id.clone(),
                });
            }
            lease.expires_at = expires_at;
            Ok(lease)
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        let lease = lease.clone();
        self.call(&lease.store_id.clone(), move |c| {
            c.execute(
                "UPDATE leases SET expires_at = ?4
                 WHERE store_id = ?1 AND owner = ?2 AND token = ?3",
                params![
                    lease.store_id,
                    lease.owner,
                    lease.token,
                    ts(DateTime::UNIX_EPOCH)
                ],
            )
            .ctx(&lease.store_id, "release the lease")?;
            Ok(())
        })
        .await
    }

    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        let store = store_id.to_owned();
        self.call(store_id, move |c| {
            let row: Option<(Option<String>, Option<String>)> = c
                .query_row(
                    "SELECT watermark, backfill_until FROM cursors WHERE store_id = ?1",
                    params![store],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .ctx(&store, "read the cursor")?;
            let (w, until) = row.unwrap_or((None, None));
            Ok(Cursor {
                watermark: w.map(|t| parse_ts(&store, &t)).transpose()?,
                backfill_until: until.map(|t| parse_ts(&store, &t)).transpose()?,
            })
        })
        .await
    }

    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        let (channel, store, orders) = (channel.to_owned(), store_id.to_owned(), orders.to_vec());
        self.call(store_id, move |c| {
            let mut order_stmt = c
                .prepare_cached(
                    "SELECT status, modified_at, content_hash FROM orders
                     WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3",
                )
                .ctx(&store, "look orders up")?;
            let mut label_stmt = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM shipments WHERE store_id = ?1 AND kind = 'label'
                         AND (external_id = ?2 OR (external_id IS NULL AND order_number = ?3)))",
                )
                .ctx(&store, "look shipments up")?;
            let mut out = Vec::with_capacity(orders.len());
            for o in &orders {
                let row: Option<(String, String, String)> = order_stmt
                    .query_row(params![channel, store, o.external_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                    .ctx(&store, "look orders up")?;
                let stored = match row {
                    Some((status, modified, hash)) => Some(StoredMeta {
                        status: parse_status(&store, &status)?,
                        modified_at: parse_ts(&store, &modified)?,
                        content_hash: hash,
                    }),
                    None => None,
                };
                let label_shipment: bool = label_stmt
                    .query_row(params![store, o.external_id, o.order_number], |r| r.get(0))
                    .ctx(&store, "look shipments up")?;
                out.push(Known {
                    stored,
                    label_shipment,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn commit_page(&self, lease: &Lease, page: PageCommit) -> Result<(), StateError> {
        let lease = lease.clone();
        self.call(&lease.store_id.clone(), move |c| {
            let tx = write_tx(c).ctx(&lease.store_id, "begin a page")?;
            commit(&tx, &lease, &page)?;
            tx.commit().ctx(&lease.store_id, "commit a page")
        })
        .await
    }

    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        let store = store_id.to_owned();
        self.call(store_id, move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, from_utc, to_utc, reason FROM refetch WHERE store_id = ?1 ORDER BY id",
                )
                .ctx(&store, "list re-fetches")?;
            let rows: Vec<(i64, String, String, String)> = stmt
                .query_map(params![store], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .ctx(&store, "list re-fetches")?
                .collect::<Result<_, _>>()
                .ctx(&store, "list re-fetches")?;
            rows.into_iter()
                .map(|(id, from, to, reason)| {
                    Ok(Refetch {
                        id,
                        window: window(&store, &from, &to)?,
                        reason,
                    })
                })
                .collect()
        })
        .await
    }

    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        let store = store_id.to_owned();
        self.call(store_id, move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT from_utc, to_utc, started_at, finished_at FROM walks
                     WHERE store_id = ?1 AND finished_at >= ?2 ORDER BY id",
                )
                .ctx(&store, "list walks")?;
            let rows: Vec<(String, String, String, String)> = stmt
                .query_map(params![store, ts(since)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .ctx(&store, "list walks")?
                .collect::<Result<_, _>>()
                .ctx(&store, "list walks")?;
            rows.into_iter()
                .map(|(from, to, started, finished)| {
                    Ok(WalkRecord {
                        window: window(&store, &from, &to)?,
                        started_at: parse_ts(&store, &started)?,
                        finished_at: parse_ts(&store, &finished)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        let (lease, fp) = (lease.clone(), fingerprint.to_owned());
        self.call(&lease.store_id.clone(), move |c| {
            let store = lease.store_id.clone();
            let tx = write_tx(c).ctx(&store, "requeue quarantine")?;
            check_lease(&tx, &lease)?;
            tx.execute(
                "INSERT INTO refetch (store_id, from_utc, to_utc, reason)
                 SELECT DISTINCT store_id, window_from, window_to, 'quarantine' FROM quarantine
                 WHERE store_id = ?1 AND fingerprint <> ?2",
                params![store, fp],
            )
            .ctx(&store, "requeue quarantine")?;
            let n = tx
                .execute(
                    "UPDATE quarantine SET fingerprint = ?2 WHERE store_id = ?1 AND fingerprint <> ?2",
                    params![store, fp],
                )
                .ctx(&store, "requeue quarantine")?;
            tx.commit().ctx(&store, "requeue quarantine")?;
            Ok(n)
        })
        .await
    }

    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        let store = shipment.store_id.to_owned();
        let u = shipment.update;
        let json = serde_json::to_string(u).map_err(|e| StateError::Corrupt {
            store: store.clone(),
            detail: e.to_string(),
        })?;
        let kind = match u.kind {
            ShipmentKind::Label => "label",
            ShipmentKind::MarkedShipped => "marked_shipped",
        };
        let (external_id, number, tracking, at) = (
            u.order.external_id.clone(),
            u.order.order_number.clone(),
            u.tracking_number.clone(),
            ts(shipment.at),
        );
        let label_at = ts(u.label_created_at.unwrap_or(shipment.at));
        self.call(&store.clone(), move |c| {
            let tx = write_tx(c).ctx(&store, "record a shipment")?;
            tx.execute(
                "INSERT INTO shipments (store_id, external_id, order_number, kind,
                     tracking_number, update_json, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![store, external_id, number, kind, tracking, json, at],
            )
            .ctx(&store, "record a shipment")?;
            let mut written = None;
            if kind == "label" {
                written =
                    ship_by_label(&tx, &store, external_id.as_deref(), &number, &label_at, &at)?;
            }
            tx.commit().ctx(&store, "record a shipment")?;
            Ok(written)
        })
        .await
    }

    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        let (sink, store) = (sink.to_owned(), store.map(str::to_owned));
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT e.id, e.channel, e.store_id, e.store_name, e.external_id,
                            e.order_number, e.from_status, e.to_status, e.at, e.label,
                            e.snapshot, e.backfill
                     FROM events e
                     WHERE e.id > ?1 AND (?2 IS NULL OR e.store_id = ?2)
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.event_id = e.id AND d.sink = ?3)
                     ORDER BY e.id LIMIT ?4",
                )
                .ctx(&label, "list pending events")?;
            type Raw = (
                i64,
                String,
                String,
                String,
                String,
                String,
                Option<String>,
                String,
                String,
                i64,
                String,
                i64,
            );
            let rows: Vec<Raw> = stmt
                .query_map(params![after, store, sink, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                        r.get(11)?,
                    ))
                })
                .ctx(&label, "list pending events")?
                .collect::<Result<_, _>>()
                .ctx(&label, "list pending events")?;
            let mut shipment_stmt = c
                .prepare_cached(
                    "SELECT update_json FROM shipments
                     WHERE store_id = ?1
                       AND (external_id = ?2 OR (external_id IS NULL AND order_number = ?3))
                     ORDER BY (kind = 'label') DESC, id DESC LIMIT 1",
                )
                .ctx(&label, "look shipments up")?;
            let mut out = Vec::with_capacity(rows.len());
            for (
                id,
                channel,
                store_id,
                store_name,
                external_id,
                number,
                from,
                to,
                at,
                lab,
                snapshot,
                backfill,
            ) in rows
            {
                let to = parse_status(&store_id, &to)?;
                let shipment = if to == CanonicalStatus::Shipped {
                    let found: Option<String> = shipment_stmt
                        .query_row(params![store_id, external_id, number], |r| r.get(0))
                        .optional()
                        .ctx(&store_id, "look shipments up")?;
                    found
                        .and_then(|text| serde_json::from_str::<ShipmentUpdate>(&text).ok())
                        .map(|u| ShipmentNote {
                            carrier: u.carrier,
                            service: u.service,
                            tracking_number: u.tracking_number,
                            kind: u.kind,
                        })
                } else {
                    None
                };
                out.push(OutboxEvent {
                    id,
                    event: StatusEvent {
                        key: OrderKey {
                            channel,
                            store_id: store_id.clone(),
                            external_id,
                        },
                        order_number: number,
                        store_name,
                        from: from.map(|f| parse_status(&store_id, &f)).transpose()?,
                        to,
                        at: parse_ts(&store_id, &at)?,
                        label: lab != 0,
                        snapshot,
                    },
                    backfill: backfill != 0,
                    shipment,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        if marks.is_empty() {
            return Ok(());
        }
        let (sink, marks) = (sink.to_owned(), marks.to_vec());
        self.call("*", move |c| {
            let tx = write_tx(c).ctx("*", "record deliveries")?;
            let now = ts(Utc::now());
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO deliveries (event_id, sink, state, reason, at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .ctx("*", "record deliveries")?;
                for m in &marks {
                    let (id, state, reason) = match m {
                        DeliveryMark::Delivered(id) => (*id, "delivered", None),
                        DeliveryMark::Skipped { id, reason } => {
                            (*id, "skipped", Some(reason.as_str()))
                        }
                        DeliveryMark::Refused { id, reason } => {
                            (*id, "refused", Some(reason.as_str()))
                        }
                    };
                    put.execute(params![id, sink, state, reason, now])
                        .ctx("*", "record deliveries")?;
                }
            }
            tx.commit().ctx("*", "record deliveries")
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A database written by schema version 1 (before deliveries and backfill) opens, is
    /// migrated to version 2, keeps its events, and they are pending for every sink.
    #[tokio::test]
    async fn a_version_1_database_is_migrated_and_its_events_stay_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO events (channel, store_id, store_name, external_id, order_number,
                     from_status, to_status, at, label, snapshot, recorded_at)
                 VALUES ('fake', 's1', 'S', 'a', '#a', NULL, 'awaiting_shipment',
                         '2026-06-01T10:00:00.000000000Z', 0, '{}', '2026-06-01T10:00:00.000000000Z')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO cursors (store_id, watermark, updated_at)
                 VALUES ('s1', '2026-06-01T11:00:00.000000000Z', '2026-06-01T11:00:00.000000000Z')",
                [],
            )
            .unwrap();
            let v: String = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(v, "1");
        }
        let state = SqliteState::open(&path).unwrap();
        let events = state.events_page(None, 0, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert!(!events[0].backfill);
        let pending = state.pending_events("klaviyo", None, 0, 10).await.unwrap();
        assert_eq!(pending.len(), 1);
        let cursor = state.cursor("s1").await.unwrap();
        assert!(cursor.watermark.is_some());
        assert_eq!(cursor.backfill_until, None);
        state
            .record_deliveries("klaviyo", &[DeliveryMark::Delivered(pending[0].id)])
            .await
            .unwrap();
        assert!(state
            .pending_events("klaviyo", None, 0, 10)
            .await
            .unwrap()
            .is_empty());
        drop(state);
        // Opening again is a no-op.
        let state = SqliteState::open(&path).unwrap();
        assert_eq!(state.deliveries_page(None, 0, 10).await.unwrap().len(), 1);
        let conn = Connection::open(&path).unwrap();
        let v: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION.to_string());
    }

    /// A version 2 database (deliveries could only be `delivered` or `skipped`) is migrated to
    /// version 3: every verdict is kept, and a `refused` verdict can be stored and read back.
    #[tokio::test]
    async fn a_version_2_database_keeps_its_verdicts_and_accepts_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(MIGRATE_1_TO_2).unwrap();
            for id in 1..=3 {
                conn.execute(
                    "INSERT INTO events (channel, store_id, store_name, external_id, order_number,
                         from_status, to_status, at, label, snapshot, recorded_at)
                     VALUES ('fake', 's1', 'S', ?1, '#a', NULL, 'awaiting_shipment',
                             '2026-06-01T10:00:00.000000000Z', 0, '{}',
                             '2026-06-01T10:00:00.000000000Z')",
                    params![format!("o{id}")],
                )
                .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO deliveries VALUES (1, 'k', 'delivered', NULL, '2026-06-01T11:00:00.000000000Z');
                 INSERT INTO deliveries VALUES (2, 'k', 'skipped', 'not_a_label', '2026-06-01T11:00:00.000000000Z');",
            )
            .unwrap();
            // Version 2 could not store a refusal.
            assert!(conn
                .execute(
                    "INSERT INTO deliveries VALUES (3, 'k', 'refused', 'x', '2026-06-01T11:00:00.000000000Z')",
                    [],
                )
                .is_err());
        }
        let state = SqliteState::open(&path).unwrap();
        let rows = state.deliveries_page(None, 0, 10).await.unwrap();
        let kept: Vec<(i64, &str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.event_id, r.state.as_str(), r.reason.as_deref()))
            .collect();
        assert_eq!(
            kept,
            [(1, "delivered", None), (2, "skipped", Some("not_a_label"))]
        );
        state
            .record_deliveries(
                "k",
                &[DeliveryMark::Refused {
                    id: 3,
                    reason: "HTTP 400: bad phone".into(),
                }],
            )
            .await
            .unwrap();
        assert!(state
            .pending_events("k", None, 0, 10)
            .await
            .unwrap()
            .is_empty());
        let events = state.events_page(None, 0, 10).await.unwrap();
        assert_eq!(
            events[2].deliveries,
            [EventDelivery {
                sink: "k".into(),
                state: "refused".into(),
                reason: Some("HTTP 400: bad phone".into()),
                at: events[2].deliveries[0].at.clone(),
            }]
        );
        assert!(events[0].deliveries[0].state == "delivered");
        let v: String = read_version(&state.conn.lock().unwrap()).unwrap();
        assert_eq!(v, SCHEMA_VERSION.to_string());
    }

    /// Processes opening an old database at the same instant migrate it once: each step reads
    /// the version inside its own write transaction (before, the second one re-ran a step and
    /// failed on "duplicate column name").
    #[test]
    fn simultaneous_opens_of_an_old_database_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..20 {
            let path = dir.path().join(format!("v1-{round}.db"));
            Connection::open(&path)
                .unwrap()
                .execute_batch(SCHEMA)
                .unwrap();
            let barrier = Arc::new(std::sync::Barrier::new(5));
            let threads: Vec<_> = (0..5)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        SqliteState::open(&path).map(|_| ())
                    })
                })
                .collect();
            for t in threads {
                let result = t.join().unwrap();
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
            let conn = Connection::open(&path).unwrap();
            assert_eq!(read_version(&conn).unwrap(), SCHEMA_VERSION.to_string());
        }
    }

    /// A read-only opening reads everything and changes nothing: the database file keeps its
    /// bytes, and a write through it fails instead of landing. An old schema is refused with
    /// what to do, since a read-only opening cannot migrate.
    #[tokio::test]
    async fn a_read_only_opening_reads_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(SqliteState::open(&path).unwrap());
        let before = std::fs::read(&path).unwrap();
        let state = SqliteState::open_read_only(&path).unwrap();
        assert!(state.events_page(None, 0, 10).await.unwrap().is_empty());
        assert!(state.cursors().await.unwrap().is_empty());
        let write = state
            .record_deliveries("k", &[DeliveryMark::Delivered(1)])
            .await;
        assert!(write.is_err(), "{write:?}");
        drop(state);
        assert_eq!(std::fs::read(&path).unwrap(), before);

        let old = dir.path().join("v1.db");
        Connection::open(&old)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        let err = SqliteState::open_read_only(&old).unwrap_err().to_string();
        assert!(err.contains("orderport sync"), "{err}");
        let missing = SqliteState::open_read_only(dir.path().join("missing.db"));
        assert!(missing.is_err());
        assert!(!dir.path().join("missing.db").exists());
    }

    #[test]
    fn immutable_uris_escape_what_sqlite_would_read_as_syntax() {
        let uri = immutable_uri(Path::new("/media/backup 1/a?b#c%d.db")).unwrap();
        assert_eq!(uri, "file:///media/backup%201/a%3Fb%23c%25d.db?immutable=1");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "UPDATE meta SET value = '9' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        }
        let err = SqliteState::open(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 9"), "{err}");
    }
}
