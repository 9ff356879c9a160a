//! The writes that must be atomic: a page commit, checked against the lease's fencing token
//! under a lock on the lease row, and a shipment with the order it ships.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use deadpool_postgres::Transaction;
use futures::future::{try_join_all, BoxFuture};
use orderport_core::{CanonicalStatus, OrderKey};

use super::codec::{ns, Ctx};
use super::platform::{check_unchanged, mark_columns};
use crate::codec::{
    key_ref, order_key, quarantine_entry, ship_conflict, unstored_event_order, KeyRef,
    WALK_RETENTION_DAYS,
};
use crate::error::StateError;
use crate::event::NewEvent;
use crate::packed::{check_packed, repack_with_status};
use crate::state::{Lease, PageCommit, ShipOrder, SliceDone};

/// Locks the store's lease row for the rest of the transaction and checks that `lease` is
/// still the current one: [`StateError::LeaseLost`] otherwise.
pub(super) async fn check_lease(tx: &Transaction<'_>, lease: &Lease) -> Result<(), StateError> {
    let store = lease.store_id.as_str();
    let stmt = tx
        .prepare_cached("SELECT token FROM leases WHERE store_id = $1 AND owner = $2 FOR UPDATE")
        .await
        .ctx(store, "check the lease")?;
    let row = tx
        .query_opt(&stmt, &[&lease.store_id, &lease.owner])
        .await
        .ctx(store, "check the lease")?;
    match row.map(|r| r.get::<_, i64>(0)) {
        Some(token) if token == lease.token => Ok(()),
        _ => Err(StateError::LeaseLost {
            store: store.to_owned(),
        }),
    }
}

/// The `seq` of a stored order.
async fn order_seq(tx: &Transaction<'_>, key: &OrderKey) -> Result<i64, StateError> {
    let store = key.store_id.as_str();
    let row = tx
        .query_opt(
            "SELECT seq FROM orders WHERE store_id = $1 AND external_id = $2 AND channel = $3",
            &[&key.store_id, &key.external_id, &key.channel],
        )
        .await
        .ctx(store, "append events")?;
    row.map(|r| r.get(0))
        .ok_or_else(|| unstored_event_order(store, &key.external_id))
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

/// Appends a page's events in one statement, in the page's order; an event already in the
/// outbox (same order, status and time) is not written twice. An event names an order of the
/// page (`seqs`) or one stored before; a page with any other is refused whole.
async fn append_events(
    tx: &Transaction<'_>,
    store: &str,
    seqs: &HashMap<KeyRef<'_>, i64>,
    events: &[NewEvent],
    backfill: bool,
    now: i64,
) -> Result<(), StateError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut order_seqs = Vec::with_capacity(events.len());
    for e in events {
        order_seqs.push(match seqs.get(&key_ref(&e.key)) {
            Some(seq) => *seq,
            None => order_seq(tx, &e.key).await?,
        });
    }
    let from: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.from.map(CanonicalStatus::as_str))
        .collect();
    let to: Vec<&str> = events.iter().map(|e| e.to.as_str()).collect();
    let raw: Vec<&str> = events.iter().map(|e| e.raw_status.as_str()).collect();
    let at: Vec<i64> = events.iter().map(|e| ns(e.at)).collect();
    let label: Vec<bool> = events.iter().map(|e| e.label).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO events (order_seq, store_id, from_status, to_status, raw_status, at_ns,
                 label, backfill, recorded_ns)
             SELECT e.seq, $1, e.from_status, e.to_status, e.raw_status, e.at_ns, e.label, $2, $3
             FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                         $9::bool[]) WITH ORDINALITY
                  AS e (seq, from_status, to_status, raw_status, at_ns, label, i)
             ORDER BY e.i
             ON CONFLICT (order_seq, to_status, at_ns) DO NOTHING",
        )
        .await
        .ctx(store, "append events")?;
    tx.execute(
        &stmt,
        &[
            &store,
            &backfill,
            &now,
            &order_seqs,
            &from,
            &to,
            &raw,
            &at,
            &label,
        ],
    )
    .await
    .ctx(store, "append events")?;
    Ok(())
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

/// A statement of a page commit whose answer is not needed: its rows written or deleted.
type Write<'a> = BoxFuture<'a, Result<u64, StateError>>;

/// Writes one page (see [`crate::State::commit_page`]), its orders packed by
/// [`crate::packed::pack_page`]; the caller commits the transaction.
///
/// Three round trips, each a pipeline of prepared statements (sent without waiting for each
/// answer, run in the order sent): the checks (the lease's fencing token under its row lock,
/// and each replaced order as the engine read it, under its row lock); the writes (the orders
/// in the page's order, so where a page writes one order twice its last write wins, then
/// quarantine, re-fetch windows, the cursor and the walk, in that order); the page's events,
/// which need the orders' `seq`.
pub(super) async fn commit(
    tx: &Transaction<'_>,
    lease: &Lease,
    page: &PageCommit,
    packed: &[Vec<u8>],
) -> Result<(), StateError> {
    let store = lease.store_id.as_str();
    check_packed(store, page, packed)?;
    let now = ns(Utc::now());
    // The checks. What the engine read of the orders it replaces must be what is stored (row
    // locks held to the commit).
    let replaced = page
        .orders
        .iter()
        .filter_map(|w| w.replaces.map(|expect| (w.order.key(), expect)))
        .collect::<Vec<_>>();
    let checks = replaced
        .iter()
        .map(|(key, expect)| check_unchanged(tx, key, *expect, "the page"));
    futures::future::try_join(check_lease(tx, lease), try_join_all(checks)).await?;

    // The writes, every statement prepared first so that they are sent in this order.
    let upsert = tx
        .prepare_cached(UPSERT_ORDER)
        .await
        .ctx(store, "upsert orders")?;
    let upserts = page.orders.iter().zip(packed).map(|(w, packed)| {
        let o = &w.order;
        let (upsert, modified) = (&upsert, ns(o.modified_at));
        let (mark, until) = mark_columns(w.platform);
        async move {
            let status = o.status.as_str();
            let row = tx
                .query_one(
                    upsert,
                    &[
                        &o.store_id,
                        &o.external_id,
                        &o.channel,
                        &o.order_number,
                        &o.store_name,
                        &status,
                        &modified,
                        &w.content_hash,
                        packed,
                        &now,
                        &mark,
                        &until,
                    ],
                )
                .await
                .ctx(store, "upsert orders")?;
            Ok::<_, StateError>((order_key(o), row.get::<_, i64>(0)))
        }
    });
    let others = other_writes(tx, store, page, now).await?;
    let (seqs, _) = futures::future::try_join(try_join_all(upserts), try_join_all(others)).await?;
    let seqs: HashMap<KeyRef<'_>, i64> = seqs.into_iter().collect();

    append_events(tx, store, &seqs, &page.events, page.backfill, now).await
}

/// The statement upserting one order, returning its `seq`.
const UPSERT_ORDER: &str = "
    INSERT INTO orders (store_id, external_id, channel, order_number, store_name, status,
        modified_ns, content_hash, order_packed, platform, hold_until_ns, first_seen_ns,
        updated_ns)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $12, $10, $10)
    ON CONFLICT (store_id, external_id, channel) DO UPDATE SET
        order_number = excluded.order_number, store_name = excluded.store_name,
        status = excluded.status, modified_ns = excluded.modified_ns,
        content_hash = excluded.content_hash, order_packed = excluded.order_packed,
        platform = excluded.platform, hold_until_ns = excluded.hold_until_ns,
        updated_ns = excluded.updated_ns
    RETURNING seq";

/// A page's writes besides its orders and events, in order: quarantine released and added,
/// re-fetch windows queued, the slice's end (the cursor, or a re-fetch window finished or
/// shortened), the walk recorded and old walks pruned. Prepared here, sent when polled.
async fn other_writes<'a>(
    tx: &'a Transaction<'_>,
    store: &'a str,
    page: &'a PageCommit,
    now: i64,
) -> Result<Vec<Write<'a>>, StateError> {
    let mut writes: Vec<Write<'a>> = Vec::new();
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
        let stmt = tx
            .prepare_cached("DELETE FROM quarantine WHERE store_id = $1 AND qkey = ANY($2::text[])")
            .await
            .ctx(store, "release quarantine")?;
        writes.push(Box::pin(async move {
            tx.execute(&stmt, &[&store, &keys])
                .await
                .ctx(store, "release quarantine")
        }));
    }
    if !page.quarantine.is_empty() {
        let stmt = tx
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
                tx.execute(
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
            }));
        }
    }
    if !page.refetch.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO refetch (store_id, from_ns, to_ns, reason) VALUES ($1, $2, $3, $4)",
            )
            .await
            .ctx(store, "queue a re-fetch")?;
        for (w, reason) in &page.refetch {
            let (stmt, from, to) = (stmt.clone(), ns(w.from()), ns(w.to()));
            writes.push(Box::pin(async move {
                tx.execute(&stmt, &[&store, &from, &to, reason])
                    .await
                    .ctx(store, "queue a re-fetch")
            }));
        }
    }
    match page.done {
        Some(SliceDone::Advance(end)) => {
            // GREATEST: the watermark never moves back.
            let stmt = tx
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
                tx.execute(&stmt, &[&store, &end, &now, &until])
                    .await
                    .ctx(store, "advance the watermark")
            }));
        }
        Some(SliceDone::Refetch { id, end }) => {
            let finish = tx
                .prepare_cached(
                    "DELETE FROM refetch WHERE id = $1 AND store_id = $2 AND to_ns <= $3",
                )
                .await
                .ctx(store, "finish a re-fetch")?;
            let advance = tx
                .prepare_cached(
                    "UPDATE refetch SET from_ns = GREATEST(from_ns, $3)
                     WHERE id = $1 AND store_id = $2",
                )
                .await
                .ctx(store, "advance a re-fetch")?;
            let end = ns(end);
            writes.push(Box::pin(async move {
                tx.execute(&finish, &[&id, &store, &end])
                    .await
                    .ctx(store, "finish a re-fetch")
            }));
            writes.push(Box::pin(async move {
                tx.execute(&advance, &[&id, &store, &end])
                    .await
                    .ctx(store, "advance a re-fetch")
            }));
        }
        None => {}
    }
    if let Some(walk) = page.walk {
        let record = tx
            .prepare_cached(
                "INSERT INTO walks (store_id, from_ns, to_ns, started_ns, finished_ns)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .ctx(store, "record a walk")?;
        let prune = tx
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
            tx.execute(
                &record,
                &[&store, &times[0], &times[1], &times[2], &times[3]],
            )
            .await
            .ctx(store, "record a walk")
        }));
        writes.push(Box::pin(async move {
            tx.execute(&prune, &[&store, &oldest])
                .await
                .ctx(store, "prune walks")
        }));
    }
    Ok(writes)
}
