//! The writes that must be atomic: a page commit, checked against the lease's fencing token
//! under a lock on the lease row, and a shipment with the order it ships.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{Duration, Utc};
use deadpool_postgres::{ClientWrapper, Object, Transaction};
use orderport_core::CanonicalStatus;

use super::codec::{ns, Ctx};
use super::pipeline::{run, Step};
use super::platform::mark_columns;
use crate::codec::{
    changed_since_read, key_ref, no_longer_blank, order_key, quarantine_entry, ship_conflict,
    unstored_event_order, KeyRef, WALK_RETENTION_DAYS,
};
use crate::error::StateError;
use crate::event::NewEvent;
use crate::packed::{check_packed, repack_with_status};
use crate::state::{Lease, OrderWrite, PageCommit, ShipOrder, SliceDone};

/// Locks the store's lease row for the rest of the transaction and reads its token: `$1`
/// store, `$2` owner.
const LOCK_LEASE: &str = "SELECT token FROM leases WHERE store_id = $1 AND owner = $2 FOR UPDATE";

/// The error for a lease that is no longer `lease` (another owner's, a newer token, gone).
fn lease_lost(lease: &Lease) -> StateError {
    StateError::LeaseLost {
        store: lease.store_id.clone(),
    }
}

/// For a page committed as [`PageCommit::assumes_blank`], the server refusing it
/// (`orderport_refuse`, naming what it found) when the store has a shipment, or when an order of
/// the page is stored: `$1` the store, `$2` and `$3` the page's external ids and channels.
const CHECK_BLANK: &str = "
    SELECT orderport_refuse('the store is no longer blank', found)
    FROM (
        SELECT 'a shipment' AS found
        WHERE EXISTS (SELECT 1 FROM shipments WHERE store_id = $1)
        UNION ALL
        (SELECT 'order ' || x.external_id
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x (external_id, channel, i)
         WHERE EXISTS (SELECT 1 FROM orders
                       WHERE store_id = $1 AND external_id = x.external_id
                         AND channel = x.channel)
         ORDER BY x.i
         LIMIT 1)
        LIMIT 1
    ) f";

/// Checks the token [`LOCK_LEASE`] read (`None`: the lease is another owner's, or gone):
/// [`StateError::LeaseLost`] unless it is still `lease`'s.
fn check_token(lease: &Lease, token: Option<i64>) -> Result<(), StateError> {
    match token {
        Some(token) if token == lease.token => Ok(()),
        _ => Err(lease_lost(lease)),
    }
}

/// As [`LOCK_LEASE`], the server refusing (`orderport_refuse`) unless the token is still
/// `$3`: the lease row locked for the rest of the transaction.
const CHECK_LEASE: &str = "
    SELECT orderport_refuse('the lease is no longer this worker''s', $1)
    FROM (SELECT (SELECT token FROM leases WHERE store_id = $1 AND owner = $2 FOR UPDATE)
          AS token) l
    WHERE token IS DISTINCT FROM $3";

/// Locks the rows of the orders a page replaces and refuses the page (`orderport_refuse`,
/// naming the first, in the page's order) unless each still has the status and mark the
/// engine read (an order no longer stored is refused too): `$1`…`$3` the keys, `$4`…`$6` the
/// status, mark and hold's end expected.
const CHECK_REPLACED: &str = "
    SELECT orderport_refuse('an order changed since the engine read it', r.external_id)
    FROM (
        SELECT x.external_id
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
             WITH ORDINALITY AS x (store_id, external_id, channel, status, platform,
                                   hold_until_ns, i)
        LEFT JOIN LATERAL (
            SELECT status, platform, hold_until_ns FROM orders
            WHERE store_id = x.store_id AND external_id = x.external_id
              AND channel = x.channel
            FOR UPDATE
        ) o ON true
        WHERE o.status IS DISTINCT FROM x.status OR o.platform IS DISTINCT FROM x.platform
           OR o.hold_until_ns IS DISTINCT FROM x.hold_until_ns
        ORDER BY x.i
        LIMIT 1
    ) r";

/// Locks the store's lease row for the rest of the transaction and checks that `lease` is
/// still the current one: [`StateError::LeaseLost`] otherwise.
pub(super) async fn check_lease(tx: &Transaction<'_>, lease: &Lease) -> Result<(), StateError> {
    let store = lease.store_id.as_str();
    let stmt = tx
        .prepare_cached(LOCK_LEASE)
        .await
        .ctx(store, "check the lease")?;
    let row = tx
        .query_opt(&stmt, &[&lease.store_id, &lease.owner])
        .await
        .ctx(store, "check the lease")?;
    check_token(lease, row.map(|r| r.get(0)))
}

/// Appends an event for the order stored as `seq`; an event already in the outbox (same
/// order, status and time) is not written twice. Returns its id when it was appended.
pub(super) async fn append_event(
    tx: &Transaction<'_>,
    seq: i64,
    event: &NewEvent,
    backfill: bool,
    now: i64,
) -> Result<Option<i64>, StateError> {
    let store = event.key.store_id.as_str();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO events (order_seq, store_id, from_status, to_status, raw_status, at_ns,
                 label, backfill, recorded_ns)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (order_seq, to_status, at_ns) DO NOTHING
             RETURNING id",
        )
        .await
        .ctx(store, "append events")?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &seq,
                &event.key.store_id,
                &event.from.map(CanonicalStatus::as_str),
                &event.to.as_str(),
                &event.raw_status,
                &ns(event.at),
                &event.label,
                &backfill,
                &now,
            ],
        )
        .await
        .ctx(store, "append events")?;
    Ok(row.map(|r| r.get(0)))
}

/// A label ships the order: its status becomes `shipped` (in its JSON too) and its event is
/// appended, if its status is still the one the engine decided on.
pub(super) async fn ship(
    tx: &Transaction<'_>,
    ship: &ShipOrder,
    now: i64,
) -> Result<Option<i64>, StateError> {
    let key = &ship.key;
    let store = key.store_id.as_str();
    // Read, change and write the order under its row lock: its JSON says `shipped` too.
    let row = tx
        .query_opt(
            "SELECT seq, order_packed FROM orders
             WHERE store_id = $1 AND external_id = $2 AND channel = $3 AND status = $4
             FOR UPDATE",
            &[
                &key.store_id,
                &key.external_id,
                &key.channel,
                &ship.expect.as_str(),
            ],
        )
        .await
        .ctx(store, "mark the order shipped")?;
    let Some(row) = row else {
        return Err(ship_conflict(store, &key.external_id, ship.expect));
    };
    let seq: i64 = row.get(0);
    let packed = repack_with_status(store, row.get(1), CanonicalStatus::Shipped)?;
    tx.execute(
        "UPDATE orders SET status = $2, order_packed = $3, updated_ns = $4, platform = NULL,
             hold_until_ns = NULL
         WHERE seq = $1",
        &[&seq, &CanonicalStatus::Shipped.as_str(), &packed, &now],
    )
    .await
    .ctx(store, "mark the order shipped")?;
    append_event(tx, seq, &ship.event, false, now).await
}

/// Writes one page (see [`crate::State::commit_page`]), its orders packed by
/// [`crate::packed::pack_page`], in one transaction on `client`; gives the connection back.
///
/// One pipeline of prepared statements from `BEGIN` to `COMMIT` ([`run`]): one round trip.
/// In the order sent: the checks, made by the server (the lease's fencing token under its row
/// lock, and the replaced orders as the engine read them, under their row locks); the page's
/// orders in one statement; quarantine, re-fetch windows, the cursor or re-fetch's end, and
/// the walk; the events, which find their orders by key (the server refusing an event for an
/// order not stored). A refusal rolls everything back.
pub(super) async fn commit(
    client: Object,
    lease: &Lease,
    page: &PageCommit,
    packed: &[Vec<u8>],
) -> Result<Object, StateError> {
    let store = lease.store_id.as_str();
    check_packed(store, page, packed)?;
    let now = ns(Utc::now());
    // Every statement is prepared before `BEGIN` is sent (a round trip only the first time on
    // a connection), so that the steps are sent back to back.
    let steps = page_steps(&client, lease, page, packed, now).await?;
    run(&client, store, "commit a page", steps).await?;
    Ok(client)
}

/// The steps of a page commit, in the order they must run (see [`commit`]).
async fn page_steps<'a>(
    c: &'a ClientWrapper,
    lease: &'a Lease,
    page: &'a PageCommit,
    packed: &'a [Vec<u8>],
    now: i64,
) -> Result<Vec<Step<'a>>, StateError> {
    let store = lease.store_id.as_str();
    let mut steps: Vec<Step<'a>> = Vec::new();
    let stmt = c
        .prepare_cached(CHECK_LEASE)
        .await
        .ctx(store, "check the lease")?;
    steps.push(Box::pin(async move {
        c.execute(&stmt, &[&lease.store_id, &lease.owner, &lease.token])
            .await
            .ctx_refused(store, "check the lease", |_| lease_lost(lease))
            .map(drop)
    }));
    if let Some(step) = check_replaced(c, store, page).await? {
        steps.push(step);
    }
    if let Some(step) = check_blank(c, store, page).await? {
        steps.push(step);
    }
    if let Some(step) = upsert_orders(c, store, page, packed, now).await? {
        steps.push(step);
    }
    steps.extend(other_writes(c, store, page, now).await?);
    if let Some(step) = append_events(c, store, &page.events, page.backfill, now).await? {
        steps.push(step);
    }
    Ok(steps)
}

/// Rows' order keys as the three column arrays a statement unnests: store ids, external ids
/// and channels, in the rows' order.
fn key_columns<'a>(
    keys: impl ExactSizeIterator<Item = KeyRef<'a>>,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let mut columns = (
        Vec::with_capacity(keys.len()),
        Vec::with_capacity(keys.len()),
        Vec::with_capacity(keys.len()),
    );
    for (channel, store_id, external_id) in keys {
        columns.0.push(store_id);
        columns.1.push(external_id);
        columns.2.push(channel);
    }
    columns
}

/// The check that what the engine read of the orders the page replaces is what is stored
/// ([`CHECK_REPLACED`], row locks held to the commit); `None` for a page that replaces none.
async fn check_replaced<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
) -> Result<Option<Step<'a>>, StateError> {
    let replaced: Vec<(&'a OrderWrite, (CanonicalStatus, _))> = page
        .orders
        .iter()
        .filter_map(|w| Some((w, w.replaces?)))
        .collect();
    if replaced.is_empty() {
        return Ok(None);
    }
    let (store_ids, external_ids, channels) =
        key_columns(replaced.iter().map(|(w, _)| order_key(&w.order)));
    let statuses: Vec<&str> = replaced.iter().map(|(_, e)| e.0.as_str()).collect();
    let (marks, untils): (Vec<Option<&str>>, Vec<Option<i64>>) =
        replaced.iter().map(|(_, e)| mark_columns(e.1)).unzip();
    let stmt = c
        .prepare_cached(CHECK_REPLACED)
        .await
        .ctx(store, "check the order")?;
    Ok(Some(Box::pin(async move {
        c.execute(
            &stmt,
            &[
                &store_ids,
                &external_ids,
                &channels,
                &statuses,
                &marks,
                &untils,
            ],
        )
        .await
        .ctx_refused(store, "check the order", |id| {
            changed_since_read(store, id, "the page")
        })
        .map(drop)
    })))
}

/// The check that a page committed as [`PageCommit::assumes_blank`] may be
/// ([`CHECK_BLANK`]); `None` for any other page.
async fn check_blank<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
) -> Result<Option<Step<'a>>, StateError> {
    if !page.assumes_blank {
        return Ok(None);
    }
    let (_, external_ids, channels) = key_columns(page.orders.iter().map(|w| order_key(&w.order)));
    let stmt = c
        .prepare_cached(CHECK_BLANK)
        .await
        .ctx(store, "check the store is blank")?;
    Ok(Some(Box::pin(async move {
        c.execute(&stmt, &[&store, &external_ids, &channels])
            .await
            .ctx_refused(store, "check the store is blank", |found| {
                no_longer_blank(store, found)
            })
            .map(drop)
    })))
}

/// The statement upserting a page's orders, in the order given (`seq` is assigned in that
/// order): `$1` now, then one array per column.
const UPSERT_ORDERS: &str = "
    INSERT INTO orders (store_id, external_id, channel, order_number, store_name, status,
        modified_ns, content_hash, order_packed, platform, hold_until_ns, first_seen_ns,
        updated_ns)
    SELECT u.store_id, u.external_id, u.channel, u.order_number, u.store_name, u.status,
        u.modified_ns, u.content_hash, u.order_packed, u.platform, u.hold_until_ns, $1, $1
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::bigint[], $9::text[], $10::bytea[], $11::text[], $12::bigint[])
         WITH ORDINALITY AS u (store_id, external_id, channel, order_number, store_name,
                               status, modified_ns, content_hash, order_packed, platform,
                               hold_until_ns, i)
    ORDER BY u.i
    ON CONFLICT (store_id, external_id, channel) DO UPDATE SET
        order_number = excluded.order_number, store_name = excluded.store_name,
        status = excluded.status, modified_ns = excluded.modified_ns,
        content_hash = excluded.content_hash, order_packed = excluded.order_packed,
        platform = excluded.platform, hold_until_ns = excluded.hold_until_ns,
        updated_ns = excluded.updated_ns";

/// The page's orders as one statement ([`UPSERT_ORDERS`]); `None` for a page without any.
///
/// An order the page writes twice is written once, with its last write's content, where it
/// first appears: what writing each in turn would leave (one statement may not update a row
/// twice).
async fn upsert_orders<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
    packed: &'a [Vec<u8>],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    if page.orders.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<(&'a OrderWrite, &'a [u8])> = Vec::with_capacity(page.orders.len());
    let mut slots: HashMap<KeyRef<'a>, usize> = HashMap::with_capacity(page.orders.len());
    for (w, p) in page.orders.iter().zip(packed) {
        match slots.entry(order_key(&w.order)) {
            Entry::Occupied(slot) => rows[*slot.get()] = (w, p),
            Entry::Vacant(slot) => {
                slot.insert(rows.len());
                rows.push((w, p));
            }
        }
    }
    let (store_ids, external_ids, channels) =
        key_columns(rows.iter().map(|(w, _)| order_key(&w.order)));
    let column = |f: fn(&'a OrderWrite) -> &'a str| rows.iter().map(|(w, _)| f(w)).collect();
    let numbers: Vec<&str> = column(|w| &w.order.order_number);
    let names: Vec<&str> = column(|w| &w.order.store_name);
    let statuses: Vec<&str> = column(|w| w.order.status.as_str());
    let hashes: Vec<&str> = column(|w| &w.content_hash);
    let modified: Vec<i64> = rows.iter().map(|(w, _)| ns(w.order.modified_at)).collect();
    let bodies: Vec<&[u8]> = rows.iter().map(|(_, p)| *p).collect();
    let (marks, untils): (Vec<Option<&str>>, Vec<Option<i64>>) =
        rows.iter().map(|(w, _)| mark_columns(w.platform)).unzip();
    let stmt = c
        .prepare_cached(UPSERT_ORDERS)
        .await
        .ctx(store, "upsert orders")?;
    Ok(Some(Box::pin(async move {
        c.execute(
            &stmt,
            &[
                &now,
                &store_ids,
                &external_ids,
                &channels,
                &numbers,
                &names,
                &statuses,
                &modified,
                &hashes,
                &bodies,
                &marks,
                &untils,
            ],
        )
        .await
        .ctx(store, "upsert orders")?;
        Ok(())
    })))
}

/// The statement appending a page's events in the page's order, each to its order found by
/// key (`seq` from a row this transaction wrote, or one stored before); an event already in
/// the outbox (same order, status and time) is not written twice. The server refuses
/// (`orderport_refuse`) a page with an event whose order is not stored, naming the first:
/// the page is rolled back, its events with it. `$1` backfill, `$2` now, then one array per
/// column.
pub(super) const APPEND_EVENTS: &str = "
    WITH e AS (
        SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::bigint[], $10::bool[]) WITH ORDINALITY
            AS e (store_id, external_id, channel, from_status, to_status, raw_status, at_ns,
                  label, i)
    ), keyed AS (
        SELECT e.*, o.seq FROM e
        LEFT JOIN LATERAL (
            SELECT seq FROM orders
            WHERE store_id = e.store_id AND external_id = e.external_id AND channel = e.channel
            LIMIT 1
        ) o ON true
    ), appended AS (
        INSERT INTO events (order_seq, store_id, from_status, to_status, raw_status, at_ns,
            label, backfill, recorded_ns)
        SELECT seq, store_id, from_status, to_status, raw_status, at_ns, label, $1, $2
        FROM keyed WHERE seq IS NOT NULL
        ORDER BY i
        ON CONFLICT (order_seq, to_status, at_ns) DO NOTHING
    )
    SELECT orderport_refuse('an event names an order neither stored nor in the page',
                            u.external_id)
    FROM (SELECT external_id FROM keyed WHERE seq IS NULL ORDER BY i LIMIT 1) u";

/// The page's events as one statement ([`APPEND_EVENTS`]); `None` for a page without any. A
/// page with an event for an order that is not stored is refused whole.
async fn append_events<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    events: &'a [NewEvent],
    backfill: bool,
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    if events.is_empty() {
        return Ok(None);
    }
    let (store_ids, external_ids, channels) = key_columns(events.iter().map(|e| key_ref(&e.key)));
    let column = |f: fn(&'a NewEvent) -> &'a str| events.iter().map(f).collect();
    let to: Vec<&str> = column(|e| e.to.as_str());
    let raw: Vec<&str> = column(|e| &e.raw_status);
    let from: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.from.map(CanonicalStatus::as_str))
        .collect();
    let at: Vec<i64> = events.iter().map(|e| ns(e.at)).collect();
    let label: Vec<bool> = events.iter().map(|e| e.label).collect();
    let stmt = c
        .prepare_cached(APPEND_EVENTS)
        .await
        .ctx(store, "append events")?;
    Ok(Some(Box::pin(async move {
        c.execute(
            &stmt,
            &[
                &backfill,
                &now,
                &store_ids,
                &external_ids,
                &channels,
                &from,
                &to,
                &raw,
                &at,
                &label,
            ],
        )
        .await
        .ctx_refused(store, "append events", |id| unstored_event_order(store, id))
        .map(drop)
    })))
}

/// A page's writes besides its orders and events, in order: quarantine released and added,
/// re-fetch windows queued, the slice's end (the cursor, or a re-fetch window finished or
/// shortened), the walk recorded and old walks pruned. Prepared here, sent when polled.
async fn other_writes<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
    now: i64,
) -> Result<Vec<Step<'a>>, StateError> {
    let mut writes: Vec<Step<'a>> = Vec::new();
    if !page.release.is_empty() {
        let keys: Vec<String> = page
            .release
            .iter()
            .flat_map(|r| {
                [
                    format!("id:{}", r.external_id),
                    format!("number:{}", r.order_number),
                ]
            })
            .collect();
        let stmt = c
            .prepare_cached("DELETE FROM quarantine WHERE store_id = $1 AND qkey = ANY($2::text[])")
            .await
            .ctx(store, "release quarantine")?;
        writes.push(Box::pin(async move {
            c.execute(&stmt, &[&store, &keys])
                .await
                .ctx(store, "release quarantine")
                .map(drop)
        }));
    }
    if !page.quarantine.is_empty() {
        let stmt = c
            .prepare_cached(
                "INSERT INTO quarantine (store_id, qkey, external_id, order_number, reasons,
                     window_from, window_to, fingerprint, first_seen_ns, last_seen_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
                 ON CONFLICT (store_id, qkey) DO UPDATE SET
                     external_id = excluded.external_id, order_number = excluded.order_number,
                     reasons = excluded.reasons, window_from = excluded.window_from,
                     window_to = excluded.window_to, fingerprint = excluded.fingerprint,
                     last_seen_ns = excluded.last_seen_ns",
            )
            .await
            .ctx(store, "quarantine orders")?;
        for q in &page.quarantine {
            let (key, reasons) = quarantine_entry(store, &q.rejection)?;
            let (stmt, window) = (stmt.clone(), (ns(q.window.from()), ns(q.window.to())));
            writes.push(Box::pin(async move {
                c.execute(
                    &stmt,
                    &[
                        &store,
                        &key,
                        &q.rejection.external_id,
                        &q.rejection.order_number,
                        &reasons,
                        &window.0,
                        &window.1,
                        &q.fingerprint,
                        &now,
                    ],
                )
                .await
                .ctx(store, "quarantine orders")
                .map(drop)
            }));
        }
    }
    if !page.refetch.is_empty() {
        let stmt = c
            .prepare_cached(
                "INSERT INTO refetch (store_id, from_ns, to_ns, reason) VALUES ($1, $2, $3, $4)",
            )
            .await
            .ctx(store, "queue a re-fetch")?;
        for (w, reason) in &page.refetch {
            let (stmt, from, to) = (stmt.clone(), ns(w.from()), ns(w.to()));
            writes.push(Box::pin(async move {
                c.execute(&stmt, &[&store, &from, &to, reason])
                    .await
                    .ctx(store, "queue a re-fetch")
                    .map(drop)
            }));
        }
    }
    match page.done {
        Some(SliceDone::Advance(end)) => {
            // GREATEST: the watermark never moves back.
            let stmt = c
                .prepare_cached(
                    "INSERT INTO cursors (store_id, watermark_ns, updated_ns, backfill_until_ns)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (store_id) DO UPDATE SET
                         watermark_ns = GREATEST(cursors.watermark_ns, excluded.watermark_ns),
                         updated_ns = excluded.updated_ns,
                         backfill_until_ns = COALESCE(cursors.backfill_until_ns,
                                                      excluded.backfill_until_ns)",
                )
                .await
                .ctx(store, "advance the watermark")?;
            let (end, until) = (ns(end), page.backfill_until.map(ns));
            writes.push(Box::pin(async move {
                c.execute(&stmt, &[&store, &end, &now, &until])
                    .await
                    .ctx(store, "advance the watermark")
                    .map(drop)
            }));
        }
        Some(SliceDone::Refetch { id, end }) => {
            let finish = c
                .prepare_cached(
                    "DELETE FROM refetch WHERE id = $1 AND store_id = $2 AND to_ns <= $3",
                )
                .await
                .ctx(store, "finish a re-fetch")?;
            let advance = c
                .prepare_cached(
                    "UPDATE refetch SET from_ns = GREATEST(from_ns, $3)
                     WHERE id = $1 AND store_id = $2",
                )
                .await
                .ctx(store, "advance a re-fetch")?;
            let end = ns(end);
            writes.push(Box::pin(async move {
                c.execute(&finish, &[&id, &store, &end])
                    .await
                    .ctx(store, "finish a re-fetch")
                    .map(drop)
            }));
            writes.push(Box::pin(async move {
                c.execute(&advance, &[&id, &store, &end])
                    .await
                    .ctx(store, "advance a re-fetch")
                    .map(drop)
            }));
        }
        None => {}
    }
    if let Some(walk) = page.walk {
        let record = c
            .prepare_cached(
                "INSERT INTO walks (store_id, from_ns, to_ns, started_ns, finished_ns)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .ctx(store, "record a walk")?;
        let prune = c
            .prepare_cached("DELETE FROM walks WHERE store_id = $1 AND finished_ns < $2")
            .await
            .ctx(store, "prune walks")?;
        let times = [
            ns(walk.window.from()),
            ns(walk.window.to()),
            ns(walk.started_at),
            ns(walk.finished_at),
        ];
        let oldest = ns(walk.finished_at - Duration::days(WALK_RETENTION_DAYS));
        writes.push(Box::pin(async move {
            c.execute(
                &record,
                &[&store, &times[0], &times[1], &times[2], &times[3]],
            )
            .await
            .ctx(store, "record a walk")
            .map(drop)
        }));
        writes.push(Box::pin(async move {
            c.execute(&prune, &[&store, &oldest])
                .await
                .ctx(store, "prune walks")
                .map(drop)
        }));
    }
    Ok(writes)
}
