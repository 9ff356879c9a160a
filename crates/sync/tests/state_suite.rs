//! The exported `State` conformance suite on both backends: SQLite (a temporary file) and
//! PostgreSQL (a database of its own per test on 127.0.0.1:5432, or `ORDERPORT_TEST_PG`). A
//! PostgreSQL server that does not answer fails these tests; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use orderport_sync::postgres::PostgresState;
use orderport_sync::suite::{self, pg::TestDatabase};
use orderport_sync::{SqliteState, StateError};

fn sqlite() -> (tempfile::TempDir, SqliteState) {
    let dir = tempfile::tempdir().unwrap();
    let state = SqliteState::open(dir.path().join("state.db")).unwrap();
    (dir, state)
}

async fn postgres(test: &str) -> (TestDatabase, PostgresState) {
    let db = TestDatabase::create(test)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let state = PostgresState::connect(db.url()).await.unwrap();
    (db, state)
}

macro_rules! both {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let (_dir, state) = super::sqlite();
                    orderport_sync::suite::$check(&state).await.unwrap();
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let (_db, state) = super::postgres(stringify!($check)).await;
                    orderport_sync::suite::$check(&state).await.unwrap();
                }
            )*
        }
    };
}

both!(
    atomicity,
    fencing,
    lease_expiry_and_takeover,
    outbox_order,
    delivery_bookkeeping,
    refetch_windows,
    walks,
    quarantine,
    shipments,
    split_labels,
    platform_marks,
    cursor_never_moves_back,
    repeated_order,
    read_model,
    blank_stores,
    concurrent_pages,
);

/// `blank_stores` passes at once for a state that never says a store is blank: both of
/// orderport's backends must say it, or their first syncs would look every page up.
#[tokio::test]
async fn both_backends_say_a_new_store_is_blank() {
    use orderport_sync::State;
    let (_dir, sqlite) = sqlite();
    assert!(sqlite.is_blank("new-store").await.unwrap());
    let (_db, pg) = postgres("blank").await;
    assert!(pg.is_blank("new-store").await.unwrap());
}

#[tokio::test]
async fn sqlite_every_check_on_one_state() {
    let (_dir, state) = sqlite();
    suite::run_all(&state).await.unwrap();
}

#[tokio::test]
async fn postgres_every_check_on_one_state() {
    let (_db, state) = postgres("run_all").await;
    suite::run_all(&state).await.unwrap();
}

#[tokio::test]
async fn sqlite_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    suite::reopen_keeps_data(|| {
        let path = path.clone();
        async move { SqliteState::open(path) }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn postgres_reopen_keeps_data() {
    let db = TestDatabase::create("reopen")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = db.url().to_owned();
    suite::reopen_keeps_data(|| {
        let url = url.clone();
        async move { PostgresState::connect(&url).await }
    })
    .await
    .unwrap();
}

/// A database migrated by a newer orderport is refused with a message that says so, for
/// writing and for reading.
#[tokio::test]
async fn postgres_a_newer_schema_is_refused() {
    let (db, _state) = postgres("newer").await;
    let client = db.client().await.unwrap();
    client
        .batch_execute("INSERT INTO orderport_migrations (version) VALUES (99)")
        .await
        .unwrap();
    for result in [
        PostgresState::connect(db.url()).await,
        PostgresState::connect_read_only(db.url()).await,
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("schema version 99") && text.contains("newer orderport"),
            "{text}"
        );
    }
}

/// The newest schema version applied to the database `client` is connected to.
async fn migrated_version(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT max(version) FROM orderport_migrations", &[])
        .await
        .unwrap()
        .get(0)
}

/// A database of schema version 3 (before `orderport_refuse`) is migrated when a worker
/// connects, and the server then refuses its stale pages: the suite's fencing, atomicity and
/// platform checks pass on it.
#[tokio::test]
async fn postgres_a_version_3_database_is_migrated_and_refuses_stale_pages() {
    let (db, state) = postgres("v3").await;
    drop(state);
    let client = db.client().await.unwrap();
    client
        .batch_execute(
            "DROP FUNCTION orderport_refuse(text, text);
             DELETE FROM orderport_migrations WHERE version >= 4;",
        )
        .await
        .unwrap();
    let state = PostgresState::connect(db.url()).await.unwrap();
    let version = migrated_version(&client).await;
    assert_eq!(
        version,
        orderport_sync::postgres::SCHEMA_VERSION,
        "migrated"
    );
    suite::fencing(&state).await.unwrap();
    suite::atomicity(&state).await.unwrap();
    suite::platform_marks(&state).await.unwrap();
}

/// The key columns whose collation is not `C`, as `table.column`, and whether `events` still
/// has a foreign key.
async fn collated_keys_and_event_key(client: &tokio_postgres::Client) -> (Vec<String>, bool) {
    let rows = client
        .query(
            "SELECT c.table_name || '.' || c.column_name FROM information_schema.columns c
             WHERE c.table_schema = current_schema() AND c.data_type = 'text'
               AND (c.table_name, c.column_name) IN (
                   ('leases', 'store_id'), ('cursors', 'store_id'), ('orders', 'store_id'),
                   ('orders', 'external_id'), ('orders', 'channel'), ('orders', 'order_number'),
                   ('events', 'store_id'), ('deliveries', 'sink'), ('quarantine', 'store_id'),
                   ('quarantine', 'qkey'), ('shipments', 'store_id'),
                   ('shipments', 'external_id'), ('shipments', 'order_number'),
                   ('refetch', 'store_id'), ('walks', 'store_id'))
               AND c.collation_name IS DISTINCT FROM 'C'
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let fk: bool = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_constraint
                            WHERE conrelid = 'events'::regclass AND contype = 'f')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (rows.iter().map(|r| r.get(0)).collect(), fk)
}

/// A database of schema version 4 holding orders (keys under the database's collation, an
/// event's foreign key to its order) is migrated when a worker connects: every key column then
/// compares as bytes, the event's key is gone, the orders and events are kept, and the tables
/// are analyzed again (changing a column's collation drops its statistics).
#[tokio::test]
async fn postgres_a_version_4_database_is_migrated_to_byte_keys_without_the_event_key() {
    use orderport_core::CanonicalStatus;
    use orderport_sync::{OrderLookup, State};
    let (db, state) = postgres("v4").await;
    let client = db.client().await.unwrap();
    assert_eq!(
        collated_keys_and_event_key(&client).await,
        (vec![], false),
        "a new database has version 5's schema"
    );
    // Back to version 4's schema (its foreign key, and six of its key columns under the
    // database's collation: enough to see the migration change them), then a page stored in it.
    client
        .batch_execute(
            "ALTER TABLE events ADD CONSTRAINT events_order_seq_fkey
                 FOREIGN KEY (order_seq) REFERENCES orders (seq);
             ALTER TABLE orders ALTER COLUMN store_id TYPE text COLLATE \"default\",
                 ALTER COLUMN external_id TYPE text COLLATE \"default\",
                 ALTER COLUMN channel TYPE text COLLATE \"default\",
                 ALTER COLUMN order_number TYPE text COLLATE \"default\";
             ALTER TABLE events ALTER COLUMN store_id TYPE text COLLATE \"default\";
             ALTER TABLE quarantine ALTER COLUMN qkey TYPE text COLLATE \"default\";
             DELETE FROM orderport_migrations WHERE version >= 5;",
        )
        .await
        .unwrap();
    let (collated, fk) = collated_keys_and_event_key(&client).await;
    assert!(fk && collated.len() == 6, "{collated:?}");
    let now = suite::t0();
    let lease = suite::lease(&state, "v4-store", "w1", now).await.unwrap();
    let orders: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| suite::order("v4-store", id, CanonicalStatus::AwaitingShipment, now))
        .collect();
    state
        .commit_page(&lease, suite::page_of(&orders))
        .await
        .unwrap();
    drop(state);
    let stats: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'orders' AND attname = 'external_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stats, 0, "no statistics before the migration");

    let state = PostgresState::connect(db.url()).await.unwrap();
    assert_eq!(collated_keys_and_event_key(&client).await, (vec![], false));
    let version = migrated_version(&client).await;
    assert_eq!(version, orderport_sync::postgres::SCHEMA_VERSION);
    let known = state
        .lookup(
            &orders[0].channel,
            "v4-store",
            &orders
                .iter()
                .map(|o| OrderLookup {
                    external_id: o.external_id.clone(),
                    order_number: o.order_number.clone(),
                })
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert!(known.iter().all(|k| k.stored.is_some()), "{known:?}");
    let (events, analyzed): (i64, i64) = client
        .query_one(
            "SELECT (SELECT count(*) FROM events),
                    (SELECT count(*) FROM pg_stats
                     WHERE tablename = 'orders' AND attname = 'external_id')",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        (events, analyzed),
        (3, 1),
        "events kept, orders analyzed again"
    );
}

/// An order packed as orderport wrote it before schema version 6: format byte 1, then zstd at
/// level 3 with format 1's dictionary.
fn packed_format_1(json: &str) -> Vec<u8> {
    const DICTIONARY_V1: &[u8] = include_bytes!("../src/order_dictionary.json");
    let mut packer = zstd::bulk::Compressor::with_dictionary(3, DICTIONARY_V1).unwrap();
    let mut packed = vec![1];
    packed.extend(packer.compress(json.as_bytes()).unwrap());
    packed
}

/// A database of schema version 5 whose orders are packed in format 1 is migrated to version
/// 6 without rewriting them: they read back as written, and the orders written from then on
/// are packed in format 2 beside them.
#[tokio::test]
async fn postgres_a_version_5_database_keeps_its_format_1_orders_readable() {
    use orderport_core::CanonicalStatus;
    use orderport_sync::{State, StateRead};
    let (db, state) = postgres("v5").await;
    let client = db.client().await.unwrap();
    let now = suite::t0();
    let lease = suite::lease(&state, "v5-store", "w1", now).await.unwrap();
    let old: Vec<_> = ["a", "b"]
        .iter()
        .map(|id| suite::order("v5-store", id, CanonicalStatus::AwaitingShipment, now))
        .collect();
    state
        .commit_page(&lease, suite::page_of(&old))
        .await
        .unwrap();
    drop(state);
    // As the previous orderport left them: packed in format 1, at version 5.
    for order in &old {
        client
            .execute(
                "UPDATE orders SET order_packed = $2 WHERE external_id = $1",
                &[
                    &order.external_id,
                    &packed_format_1(&serde_json::to_string(order).unwrap()),
                ],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute("DELETE FROM orderport_migrations WHERE version = 6")
        .await
        .unwrap();

    let state = PostgresState::connect(db.url()).await.unwrap();
    let version = migrated_version(&client).await;
    assert_eq!(version, orderport_sync::postgres::SCHEMA_VERSION);
    // Version 5's orderport reads format 1 only: it must refuse a database that may hold
    // format 2 (it refuses any version above its own).
    assert!(version > 5, "version {version}");
    let new = suite::order("v5-store", "c", CanonicalStatus::AwaitingShipment, now);
    state
        .commit_page(&lease, suite::page_of(std::slice::from_ref(&new)))
        .await
        .unwrap();
    let read: Vec<serde_json::Value> = state
        .orders_page(Some("v5-store"), 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.order)
        .collect();
    let written: Vec<serde_json::Value> = old
        .iter()
        .chain([&new])
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    assert_eq!(read, written);
    let formats: Vec<i32> = client
        .query(
            "SELECT get_byte(order_packed, 0) FROM orders ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(formats, [1, 1, 2]);
}

/// Workers connecting at once to a new database create the schema once.
#[tokio::test]
async fn postgres_concurrent_first_connections_migrate_once() {
    let db = TestDatabase::create("concurrent")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let opens = (0..6).map(|_| PostgresState::connect(db.url()));
    for state in futures::future::join_all(opens).await {
        state.unwrap();
    }
    let client = db.client().await.unwrap();
    let versions: i64 = client
        .query_one("SELECT count(*) FROM orderport_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, orderport_sync::postgres::SCHEMA_VERSION);
}

/// A read-only connection to a database without orderport's schema is refused and creates
/// nothing.
#[tokio::test]
async fn postgres_read_only_refuses_an_empty_database_and_writes_nothing() {
    let db = TestDatabase::create("readonly")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = PostgresState::connect_read_only(db.url())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("orderport sync"), "{err}");
    let client = db.client().await.unwrap();
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

/// The password never shows: not in Debug or Display of the state, nor in connection errors.
#[tokio::test]
async fn postgres_the_password_is_never_printed() {
    let (db, _state) = postgres("secret").await;
    let with_password = db.url().replacen("postgres@", "postgres:hunter2secret@", 1);
    let state = PostgresState::connect(&with_password).await.unwrap();
    for text in [format!("{state:?}"), state.to_string()] {
        assert!(!text.contains("hunter2secret"), "{text}");
    }
    let store = orderport_sync::StateStore::open(&with_password)
        .await
        .unwrap();
    assert!(!format!("{store:?}").contains("hunter2secret"));
    // Nothing listens on port 1.
    let err = PostgresState::connect("postgres://u:hunter2secret@127.0.0.1:1/db")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2secret"), "{err:?}");
}

/// Both backends count a lease taken over from a worker whose lease lapsed
/// (`orderport_sync_lease_takeovers_total`), and only then: not a first lease, not a renewal
/// by the same owner, not a refusal.
#[test]
fn lease_takeovers_are_counted_on_both_backends() {
    use chrono::Duration;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use orderport_sync::{telemetry::LEASE_TAKEOVERS, LeaseGrant, State};

    async fn takeovers(state: &dyn State) {
        let t = suite::t0();
        let ttl = Duration::seconds(60);
        state.acquire_lease("s", "w1", ttl, t).await.unwrap();
        state.acquire_lease("s", "w1", ttl, t).await.unwrap();
        state
            .acquire_lease("s", "w2", ttl, t + Duration::seconds(1))
            .await
            .unwrap();
        state
            .acquire_lease("s", "w2", ttl, t + Duration::seconds(61))
            .await
            .unwrap();
        // A lease given up and taken by another worker is no takeover.
        let LeaseGrant::Granted(lease) = state.acquire_lease("r", "w1", ttl, t).await.unwrap()
        else {
            panic!("a new store's lease is granted");
        };
        state.release_lease(&lease).await.unwrap();
        let taken = state.acquire_lease("r", "w2", ttl, t).await.unwrap();
        assert!(matches!(taken, LeaseGrant::Granted(_)), "{taken:?}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for backend in ["sqlite", "postgres"] {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                if backend == "sqlite" {
                    let (_dir, state) = sqlite();
                    takeovers(&state).await;
                } else {
                    let (_db, state) = postgres("lease_takeovers").await;
                    takeovers(&state).await;
                }
            })
        });
        let counted: Vec<u64> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == LEASE_TAKEOVERS)
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(counted, [1], "{backend}");
    }
}
