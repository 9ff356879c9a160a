#![allow(clippy::unwrap_used, clippy::expect_used)]
use rusqlite::params;

use super::schema::{
    parse_version, MIGRATE_1_TO_2, MIGRATE_2_TO_3, MIGRATE_3_TO_4, MIGRATE_5_TO_6, SCHEMA,
};
use super::*;
use crate::event::DeliveryMark;
use crate::read::EventDelivery;
use crate::state::State;

/// A stored order's JSON, as older versions wrote it beside their events.
fn order_json(external_id: &str) -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    serde_json::to_string(&orderport_core::Order {
        channel: "fake".into(),
        store_id: "s1".into(),
        store_name: "S".into(),
        external_id: external_id.into(),
        order_number: format!("#{external_id}"),
        status: orderport_core::CanonicalStatus::AwaitingShipment,
        raw_status: "paid".into(),
        ordered_at: at,
        modified_at: at,
        paid_at: None,
        customer: Default::default(),
        bill_to: None,
        ship_to: None,
        items: vec![],
        discounts: vec![],
        currency: None,
        order_total: rust_decimal::Decimal::ZERO,
        tax_amount: None,
        shipping_amount: None,
        requested_shipping_service: None,
        payment_method: None,
        gift: Default::default(),
        customer_notes: None,
        internal_notes: None,
        total_weight: None,
        custom_fields: Default::default(),
        source: None,
        requested_warehouse: None,
    })
    .unwrap()
}

/// Stores the order an old event names, as older versions always did.
fn put_order(conn: &Connection, external_id: &str) {
    conn.execute(
        "INSERT INTO orders (channel, store_id, external_id, order_number, store_name, status,
             modified_at, content_hash, order_json, first_seen, updated_at)
         VALUES ('fake', 's1', ?1, ?2, 'S', 'awaiting_shipment',
                 '2026-06-01T10:00:00.000000000Z', 'h', ?3,
                 '2026-06-01T10:00:00.000000000Z', '2026-06-01T10:00:00.000000000Z')",
        params![
            external_id,
            format!("#{external_id}"),
            order_json(external_id)
        ],
    )
    .unwrap();
}

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
            r#"INSERT INTO events (channel, store_id, store_name, external_id, order_number,
                     from_status, to_status, at, label, snapshot, recorded_at)
                 VALUES ('fake', 's1', 'S', 'a', '#a', NULL, 'awaiting_shipment',
                         '2026-06-01T10:00:00.000000000Z', 0, '{"raw_status":"paid"}',
                         '2026-06-01T10:00:00.000000000Z')"#,
            [],
        )
        .unwrap();
        put_order(&conn, "a");
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
    assert!(!events[0].event.backfill);
    // Version 4 took the raw status from the snapshot it dropped.
    assert_eq!(events[0].event.raw_status, "paid");
    let pending = state.pending_events("klaviyo", None, 0, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].order.external_id, "a");
    let cursor = state.cursor("s1").await.unwrap();
    assert!(cursor.watermark.is_some());
    assert_eq!(cursor.backfill_until, None);
    state
        .record_deliveries("klaviyo", &[DeliveryMark::Delivered(pending[0].id())])
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
            put_order(&conn, &format!("o{id}"));
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
    let v: String = read_version(&state.writer.lock()).unwrap();
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

/// A database of schema version 4 at `path` holding the orders `ids` (as JSON text), as
/// orderport wrote it then; the connection that made it.
fn version_4_database(path: &std::path::Path, ids: &[String]) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(MIGRATE_1_TO_2).unwrap();
    conn.execute_batch(MIGRATE_2_TO_3).unwrap();
    conn.execute_batch(MIGRATE_3_TO_4).unwrap();
    for id in ids {
        put_order(&conn, id);
    }
    conn
}

/// A version 4 database (orders stored as JSON text) is migrated to version 5: every order is
/// packed, reads back exactly as it was written, the text column is gone, and the packed
/// column is smaller than the text it replaces.
#[tokio::test]
async fn a_version_4_database_packs_its_orders_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    let ids: Vec<String> = (1..=5).map(|i| format!("o{i}")).collect();
    drop(version_4_database(&path, &ids));
    let state = SqliteState::open(&path).unwrap();
    let rows = state.orders_page(None, 0, 10).await.unwrap();
    assert_eq!(rows.len(), ids.len());
    for (row, id) in rows.iter().zip(&ids) {
        let written: serde_json::Value = serde_json::from_str(&order_json(id)).unwrap();
        assert_eq!(row.order, written, "order {id}");
    }
    let found = state
        .find_order(
            "s1",
            &orderport_core::OrderRef {
                external_id: Some("o3".into()),
                order_number: "#o3".into(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.external_id, "o3");
    let conn = state.writer.lock();
    let (packed, text): (i64, i64) = conn
        .query_row(
            "SELECT MAX(length(order_packed)), (SELECT COUNT(*) FROM pragma_table_info('orders')
                                               WHERE name = 'order_json') FROM orders",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(text, 0, "the text column is dropped");
    let json_len = i64::try_from(order_json("o1").len()).unwrap();
    assert!(packed < json_len, "packed {packed} of {json_len}");
    assert_eq!(read_version(&conn).unwrap(), SCHEMA_VERSION.to_string());
}

/// Store `s1`'s cursor at `at`, written straight on `writer` (no lease needed).
/// A version 6 database (orders packed in format 1, as orderport wrote them until format 2)
/// is migrated to version 7 without rewriting them: they read back exactly as written, and
/// the orders written from then on are packed in format 2 beside them.
#[tokio::test]
async fn a_version_6_database_keeps_its_format_1_orders_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    let ids: Vec<String> = (1..=3).map(|i| format!("o{i}")).collect();
    {
        let conn = version_4_database(&path, &ids);
        // Version 5 as the previous orderport migrated it: every order packed in format 1.
        conn.execute_batch("ALTER TABLE orders ADD COLUMN order_packed BLOB")
            .unwrap();
        for id in &ids {
            conn.execute(
                "UPDATE orders SET order_packed = ?2 WHERE external_id = ?1",
                params![id, crate::packed::pack_format_1(&order_json(id))],
            )
            .unwrap();
        }
        conn.execute_batch(
            "ALTER TABLE orders DROP COLUMN order_json;
             UPDATE meta SET value = '5' WHERE key = 'schema_version';",
        )
        .unwrap();
        conn.execute_batch(MIGRATE_5_TO_6).unwrap();
    }
    let state = SqliteState::open(&path).unwrap();
    let version = read_version(&state.writer.lock()).unwrap();
    assert_eq!(version, SCHEMA_VERSION.to_string());
    // Version 6's orderport reads format 1 only: it must refuse a file that may hold format 2
    // (it refuses any version above its own).
    assert!(parse_version(&version).unwrap() > 6, "version {version}");
    let crate::state::LeaseGrant::Granted(lease) = state
        .acquire_lease("s1", "w", chrono::Duration::minutes(1), chrono::Utc::now())
        .await
        .unwrap()
    else {
        panic!("a free lease was refused")
    };
    let mut page = crate::state::PageCommit::default();
    let new_order: orderport_core::Order = serde_json::from_str(&order_json("o4")).unwrap();
    page.orders.push(crate::state::OrderWrite {
        json: order_json("o4"),
        order: Box::new(new_order),
        content_hash: "h".into(),
        platform: None,
        replaces: None,
    });
    state.commit_page(&lease, page).await.unwrap();

    let rows = state.orders_page(None, 0, 10).await.unwrap();
    let read: Vec<_> = rows.iter().map(|r| r.order.clone()).collect();
    let written: Vec<serde_json::Value> = ["o1", "o2", "o3", "o4"]
        .iter()
        .map(|id| serde_json::from_str(&order_json(id)).unwrap())
        .collect();
    assert_eq!(read, written);
    let formats: Vec<i64> = state
        .writer
        .lock()
        .prepare("SELECT unicode(substr(order_packed, 1, 1)) FROM orders ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(formats, [1, 1, 1, 2]);
}

fn write_cursor(writer: &Connection, at: chrono::DateTime<chrono::Utc>) {
    writer
        .execute(
            "INSERT INTO cursors (store_id, watermark, updated_at) VALUES ('s1', ?1, ?1)",
            params![crate::codec::ts(at)],
        )
        .unwrap();
}

/// A file database reads on connections of its own: a run's reads do not wait for the writer
/// (held here, as a long commit of another store would hold it) and see what it committed.
/// In memory there are no read connections, and reads share the writer.
#[tokio::test]
#[allow(clippy::await_holding_lock)] // the writer is held across the reads on purpose
async fn reads_do_not_wait_for_the_writer_and_see_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let state = SqliteState::open(dir.path().join("state.db")).unwrap();
    assert!(state.readers.is_some());
    let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let writer = state.writer.lock();
    write_cursor(&writer, at);
    // Bounded only so that a read queued behind the writer fails the test instead of hanging.
    let bound = std::time::Duration::from_secs(30);
    let cursor = tokio::time::timeout(bound, state.cursor("s1"))
        .await
        .expect("the read waited for the writer")
        .unwrap();
    assert_eq!(cursor.watermark, Some(at));
    let walks = tokio::time::timeout(bound, state.walks("s1", at))
        .await
        .expect("the read waited for the writer")
        .unwrap();
    assert!(walks.is_empty());
    drop(writer);
    assert!(SqliteState::in_memory().unwrap().readers.is_none());
}

/// Closing a file state leaves everything in the file and no write-ahead log beside it, read
/// connections or not (they close before the writer, which checkpoints): a copy of the file
/// alone, as a backup or on read-only media, holds every commit.
#[tokio::test]
async fn closing_checkpoints_the_log_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let state = SqliteState::open(&path).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    write_cursor(&state.writer.lock(), at);
    // Every read connection has read through the log.
    for _ in 0..super::readers::READERS * 2 {
        assert_eq!(state.cursor("s1").await.unwrap().watermark, Some(at));
    }
    let clone = state.clone();
    drop(state);
    drop(clone);
    let wal = wal_path(&path);
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "a write-ahead log was left beside the file"
    );
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let reopened = SqliteState::open_read_only(&copy).unwrap();
    assert_eq!(reopened.cursor("s1").await.unwrap().watermark, Some(at));
}

/// At most as many calls as there are connections run at once, each on its own connection;
/// the others wait as tasks (a thread per call started one for each of the 48).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_connections_wait_as_tasks_not_threads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let conns = Connections::new(
        Connection::open_in_memory().unwrap(),
        vec![
            Connection::open_in_memory().unwrap(),
            Connection::open_in_memory().unwrap(),
        ],
    );
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let calls = (0..48).map(|i| {
        let (conns, running, most, threads) = (
            Arc::clone(&conns),
            Arc::clone(&running),
            Arc::clone(&most),
            Arc::clone(&threads),
        );
        tokio::spawn(async move {
            conns
                .call("s1", move |c| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    threads.lock().unwrap().insert(std::thread::current().id());
                    // Which connection ran the call: its address.
                    let conn = c as *const Connection as usize;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok((i, conn))
                })
                .await
        })
    });
    let done: Vec<(usize, usize)> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        done.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..48).collect::<Vec<_>>()
    );
    let used: std::collections::HashSet<usize> = done.iter().map(|(_, c)| *c).collect();
    assert!(used.len() <= 3, "{} connections used of 3", used.len());
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 3, "{most} calls ran at once on 3 connections");
    assert!(
        most >= 2,
        "the connections were used side by side: at most {most} at once"
    );
    let threads = threads.lock().unwrap().len();
    assert!(
        threads <= 6,
        "48 calls on 3 connections took {threads} threads"
    );
}

/// Writes queued at once run in the order they were queued, back to back on one thread (a
/// thread per call made one per store in flight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_writes_run_in_order_on_one_thread() {
    let state = SqliteState::in_memory().unwrap();
    let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = (0..48).map(|i| {
        let ran = Arc::clone(&ran);
        state.call("s1", move |c| {
            let one: i64 = c.query_row("SELECT 1", [], |r| r.get(0)).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
            ran.lock().unwrap().push((i, std::thread::current().id()));
            Ok(one)
        })
    });
    let answers = futures::future::join_all(calls).await;
    assert!(answers.iter().all(|a| matches!(a, Ok(1))), "{answers:?}");
    let ran = ran.lock().unwrap();
    let order: Vec<usize> = ran.iter().map(|(i, _)| *i).collect();
    assert_eq!(order, (0..48).collect::<Vec<_>>());
    let threads: std::collections::HashSet<_> = ran.iter().map(|(_, t)| *t).collect();
    assert!(
        threads.len() <= 2,
        "48 queued writes ran on {} threads",
        threads.len()
    );
}

/// A write that panics fails its own caller only: the writes after it run, on a connection
/// that still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_fails_its_caller_and_not_the_next() {
    let state = SqliteState::in_memory().unwrap();
    let failed = state
        .call("s1", |_| -> Result<(), StateError> {
            panic!("a bug in a write")
        })
        .await;
    let Err(StateError::Backend { store, detail, .. }) = failed else {
        panic!("{failed:?}");
    };
    assert_eq!(store, "s1");
    assert!(detail.contains("panicked"), "{detail}");
    let after = state
        .call("s1", |c| {
            c.query_row("SELECT 2", [], |r| r.get::<_, i64>(0))
                .ctx("s1", "select")
        })
        .await;
    assert!(matches!(after, Ok(2)), "{after:?}");
}

/// A write whose caller stopped waiting still runs, before the writes queued after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_runs_even_if_its_caller_gave_up() {
    let state = SqliteState::in_memory().unwrap();
    state
        .call("s1", |c| {
            c.execute_batch("CREATE TABLE t (x INTEGER)")
                .ctx("s1", "create")
        })
        .await
        .unwrap();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, has_started) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn({
        let state = state.clone();
        async move {
            state
                .call("s1", move |c| {
                    let _ = started.send(());
                    let _ = released.recv();
                    c.execute("INSERT INTO t VALUES (1)", [])
                        .ctx("s1", "insert")
                })
                .await
        }
    });
    has_started.await.unwrap();
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    release.send(()).unwrap();
    let rows = state
        .call("s1", |c| {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
                .ctx("s1", "count")
        })
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
