//! The PostgreSQL schema and its versioned migrations.
//!
//! `orderport_migrations` has one row per version applied. Connecting applies the missing
//! versions in one transaction holding a transaction-scoped advisory lock, so workers starting
//! together migrate once; a database with a version this release does not know is refused.

use super::codec::Ctx;
use super::PostgresState;
use crate::codec::newer_schema;
use crate::error::StateError;

/// The advisory lock key migrations hold (any constant: `'orderport'` as bytes).
const MIGRATION_LOCK: i64 = 0x6f72_6465_7270_6f72;

/// Version 1: every table. Times are nanoseconds since 1970 (`*_ns`).
const V1: &str = r#"
CREATE TABLE leases (
    store_id   text PRIMARY KEY,
    owner      text NOT NULL,
    token      bigint NOT NULL,
    expires_ns bigint NOT NULL,
    due_ns     bigint
);
CREATE TABLE cursors (
    store_id          text PRIMARY KEY,
    watermark_ns      bigint,
    backfill_until_ns bigint,
    updated_ns        bigint NOT NULL
);
CREATE TABLE orders (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      text NOT NULL,
    external_id   text NOT NULL,
    channel       text NOT NULL,
    order_number  text NOT NULL,
    store_name    text NOT NULL,
    status        text NOT NULL,
    modified_ns   bigint NOT NULL,
    content_hash  text NOT NULL,
    first_seen_ns bigint NOT NULL,
    updated_ns    bigint NOT NULL,
    -- The order's canonical JSON: a format byte, then zstd with a preset dictionary.
    order_packed  bytea NOT NULL,
    UNIQUE (store_id, external_id, channel)
);
-- Already compressed: PostgreSQL need not try again.
ALTER TABLE orders ALTER COLUMN order_packed SET STORAGE EXTERNAL;
CREATE INDEX orders_by_store ON orders (store_id, seq);
CREATE INDEX orders_by_number ON orders (store_id, order_number);
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_seq   bigint NOT NULL REFERENCES orders (seq),
    store_id    text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    raw_status  text NOT NULL,
    at_ns       bigint NOT NULL,
    label       boolean NOT NULL,
    backfill    boolean NOT NULL,
    recorded_ns bigint NOT NULL,
    UNIQUE (order_seq, to_status, at_ns)
);
CREATE INDEX events_by_store ON events (store_id, id);
CREATE TABLE deliveries (
    event_id bigint NOT NULL REFERENCES events (id),
    sink     text NOT NULL,
    state    text NOT NULL CHECK (state IN ('delivered', 'skipped', 'refused')),
    reason   text,
    at_ns    bigint NOT NULL,
    PRIMARY KEY (event_id, sink)
);
CREATE INDEX deliveries_by_sink ON deliveries (sink, event_id);
CREATE TABLE quarantine (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      text NOT NULL,
    qkey          text NOT NULL,
    external_id   text,
    order_number  text,
    reasons       text NOT NULL,
    window_from   bigint NOT NULL,
    window_to     bigint NOT NULL,
    fingerprint   text NOT NULL,
    first_seen_ns bigint NOT NULL,
    last_seen_ns  bigint NOT NULL,
    UNIQUE (store_id, qkey)
);
CREATE TABLE shipments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id        text NOT NULL,
    external_id     text,
    order_number    text NOT NULL,
    kind            text NOT NULL,
    tracking_number text NOT NULL,
    update_json     text NOT NULL,
    recorded_ns     bigint NOT NULL
);
CREATE INDEX shipments_by_number ON shipments (store_id, order_number);
CREATE INDEX shipments_by_id ON shipments (store_id, external_id);
CREATE TABLE refetch (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id text NOT NULL,
    from_ns  bigint NOT NULL,
    to_ns    bigint NOT NULL,
    reason   text NOT NULL
);
CREATE INDEX refetch_by_store ON refetch (store_id, id);
CREATE TABLE walks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id    text NOT NULL,
    from_ns     bigint NOT NULL,
    to_ns       bigint NOT NULL,
    started_ns  bigint NOT NULL,
    finished_ns bigint NOT NULL
);
CREATE INDEX walks_by_store ON walks (store_id, finished_ns);
"#;

/// Version 2: the status the shipping platform set on an order (a hold until a date, paid,
/// cancelled; [`crate::platform`]). Existing orders have none.
const V2: &str = r#"
ALTER TABLE orders ADD COLUMN platform text;
ALTER TABLE orders ADD COLUMN hold_until_ns bigint;
CREATE INDEX orders_on_hold ON orders (store_id, hold_until_ns) WHERE platform = 'hold';
"#;

/// The step ending a migration that drops or changes statistics: `ANALYZE` the tables a sync
/// grows, when the database holds orders (an empty one is not analyzed: statistics of empty
/// tables would plan for empty tables until the next `ANALYZE`, [`super::statistics`]).
macro_rules! analyze_if_data {
    () => {
        r#"
DO $$ BEGIN
    IF EXISTS (SELECT FROM orders) THEN
        ANALYZE orders, events, shipments;
    END IF;
END $$;
"#
    };
}

/// Version 3: the planner is told that a store has many orders, events and shipments.
///
/// `ANALYZE` estimates how many rows a store has from a sample; run while every store had one
/// row (autovacuum's first pass over a new database does that), it records `store_id` as
/// unique, and until the next one the planner takes any store for one row and reads a page's
/// orders by scanning the store's (`orders_by_number` on `store_id` alone, the rest filtered):
/// quadratic in the store's size. A negative `n_distinct` is a fraction of the rows: one store
/// per thousand rows, whatever the sample says. Too many rows per store costs the statements
/// here nothing (each reads by a full key or by `store_id` in index order); too few cost a scan
/// of the store per key. A database migrated with data is analyzed at once, to apply it
/// (`analyze_if_data!`).
const V3: &str = concat!(
    r#"
ALTER TABLE orders ALTER COLUMN store_id SET (n_distinct = -0.001);
ALTER TABLE events ALTER COLUMN store_id SET (n_distinct = -0.001);
ALTER TABLE shipments ALTER COLUMN store_id SET (n_distinct = -0.001);
"#,
    analyze_if_data!()
);

/// Version 4: `orderport_refuse(what, subject)`, which fails the statement calling it (and so
/// the transaction) with SQLSTATE [`super::codec::REFUSED`], `subject` as the error's detail.
/// A page commit's checks call it, so the server itself refuses a page with a stale fencing
/// token, an order changed since the engine read it or an event for an order not stored:
/// its `COMMIT` is sent with its statements ([`super::pipeline`]) and rolls back after a
/// refusal.
const V4: &str = r#"
CREATE FUNCTION orderport_refuse(what text, subject text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'OR001', MESSAGE = 'orderport refused: ' || what,
        DETAIL = subject;
END
$$;
"#;

/// Version 5: less work per row written.
///
/// - An event no longer has a foreign key to its order. The key cost a trigger per event (a
///   query locking the order's row); the statements appending events find each event's order
///   by its key in the same transaction (refusing an event whose order is not stored), and
///   orderport never deletes an order. (SQLite's `events` has no such key either.)
/// - Every key column compares as bytes (`COLLATE "C"`), as SQLite's do: the database's
///   default collation compared each key through the C library's locale functions, at every
///   index step. Changing a column's collation rebuilds its indexes and drops its statistics,
///   so a database migrated with data is analyzed again (`analyze_if_data!`, as version 3).
const V5: &str = concat!(
    r#"
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_order_seq_fkey;
ALTER TABLE leases ALTER COLUMN store_id TYPE text COLLATE "C";
ALTER TABLE cursors ALTER COLUMN store_id TYPE text COLLATE "C";
ALTER TABLE orders ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN channel TYPE text COLLATE "C",
    ALTER COLUMN order_number TYPE text COLLATE "C";
ALTER TABLE events ALTER COLUMN store_id TYPE text COLLATE "C";
ALTER TABLE deliveries ALTER COLUMN sink TYPE text COLLATE "C";
ALTER TABLE quarantine ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN qkey TYPE text COLLATE "C";
ALTER TABLE shipments ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN order_number TYPE text COLLATE "C";
ALTER TABLE refetch ALTER COLUMN store_id TYPE text COLLATE "C";
ALTER TABLE walks ALTER COLUMN store_id TYPE text COLLATE "C";
"#,
    analyze_if_data!()
);

/// Version 6: orders are written in packed format 2 ([`crate::packed`]: the dictionary with
/// entropy tables). Format 1 is still read, so nothing is rewritten; the version tells an
/// orderport that knows only format 1 (schema version 5) to refuse the database when it
/// connects, instead of failing on the first order of format 2 it reads.
const V6: &str = r#"
COMMENT ON COLUMN orders.order_packed IS
    'An order''s canonical JSON: a format byte (1 or 2), then zstd with that format''s dictionary (orderport_sync::packed).';
"#;

/// Every migration, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const CREATE_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS orderport_migrations (
    version    bigint PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Applies the missing migrations, once, whichever worker comes first.
pub(super) async fn migrate(state: &PostgresState) -> Result<(), StateError> {
    let mut client = state.client("*").await?;
    let tx = client.transaction().await.ctx("*", "migrate the schema")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .ctx("*", "lock the schema for migration")?;
    tx.batch_execute(CREATE_MIGRATIONS)
        .await
        .ctx("*", "create the migrations table")?;
    let version: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM orderport_migrations",
            &[],
        )
        .await
        .ctx("*", "read the schema version")?
        .get(0);
    if version > SCHEMA_VERSION {
        return Err(newer_schema("PostgreSQL", version, SCHEMA_VERSION));
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(step)
            .await
            .ctx("*", "migrate the schema")?;
        let applied = index as i64 + 1;
        tx.execute(
            "INSERT INTO orderport_migrations (version) VALUES ($1)",
            &[&applied],
        )
        .await
        .ctx("*", "record the schema version")?;
        tracing::info!(version = applied, "PostgreSQL state schema migrated");
    }
    tx.commit().await.ctx("*", "migrate the schema")
}

/// Checks, without writing, that the database has this release's schema.
pub(super) async fn check_current(state: &PostgresState) -> Result<(), StateError> {
    let client = state.client("*").await?;
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('orderport_migrations') IS NOT NULL",
            &[],
        )
        .await
        .ctx("*", "read the schema version")?
        .get(0);
    let version: Option<i64> = if exists {
        client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM orderport_migrations",
                &[],
            )
            .await
            .ctx("*", "read the schema version")?
            .get(0)
    } else {
        None
    };
    match version {
        Some(v) if v == SCHEMA_VERSION => Ok(()),
        Some(v) if v > SCHEMA_VERSION => Err(newer_schema("PostgreSQL", v, SCHEMA_VERSION)),
        _ => Err(StateError::Backend {
            store: "*".into(),
            operation: "read the database",
            detail: format!(
                "{} has no orderport state of this release's version; run `orderport sync` on it first",
                state.target
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusals the page commit maps ([`super::super::codec::REFUSED`]) are the ones
    /// `orderport_refuse` raises.
    #[test]
    fn the_refusal_function_raises_the_code_the_commit_maps() {
        let raised = format!("ERRCODE = '{}'", super::super::codec::REFUSED);
        assert!(V4.contains(&raised), "{V4}");
    }
}
