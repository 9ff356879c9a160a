//! The writes that must be atomic: a page commit, checked against the lease's fencing token,
//! and a shipment with the order it ships.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use orderport_core::CanonicalStatus;
use rusqlite::{params, OptionalExtension, Transaction};

use super::codec::Ctx;
use super::platform::{check_unchanged, mark_columns};
use crate::codec::{
    key_ref, no_longer_blank, order_key, quarantine_entry, ship_conflict, ts, KeyRef,
    WALK_RETENTION_DAYS,
};
use crate::error::StateError;
use crate::event::NewEvent;
use crate::packed::{check_packed, repack_with_status};
use crate::state::{Lease, PageCommit, ShipOrder, SliceDone};

/// Refuses an event whose order is not stored: every event names a stored order.
pub(super) fn check_stored(tx: &Transaction<'_>, event: &NewEvent) -> Result<(), StateError> {
    let store = event.key.store_id.as_str();
    let stored: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM orders
                 WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3)",
        )
        .ctx(store, "append events")?
        .query_row(
            params![event.key.channel, event.key.store_id, event.key.external_id],
            |r| r.get(0),
        )
        .ctx(store, "append events")?;
    if stored {
        Ok(())
    } else {
        Err(crate::codec::unstored_event_order(
            store,
            &event.key.external_id,
        ))
    }
}

/// Appends an event (its order stored: see [`check_stored`]); an event already in the outbox
/// (same order, status and time) is not written twice. Returns its id when it was appended.
pub(super) fn append_event(
    tx: &Transaction<'_>,
    event: &NewEvent,
    backfill: bool,
    now: &str,
) -> Result<Option<i64>, StateError> {
    let store = event.key.store_id.as_str();
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO events (channel, store_id, store_name, external_id,
                 order_number, from_status, to_status, raw_status, at, label, recorded_at,
                 backfill)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .ctx(store, "append events")?
        .execute(params![
            event.key.channel,
            event.key.store_id,
            event.store_name,
            event.key.external_id,
            event.order_number,
            event.from.map(CanonicalStatus::as_str),
            event.to.as_str(),
            event.raw_status,
            ts(event.at),
            event.label as i64,
            now,
            backfill as i64
        ])
        .ctx(store, "append events")?;
    Ok((n == 1).then(|| tx.last_insert_rowid()))
}

/// A label ships the order: its status becomes `shipped` (in the order's JSON too) and its
/// event is appended, if its status is still the one the engine decided on.
pub(super) fn ship(
    tx: &Transaction<'_>,
    ship: &ShipOrder,
    now: &str,
) -> Result<Option<i64>, StateError> {
    let key = &ship.key;
    let store = key.store_id.as_str();
    let row: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, order_packed FROM orders
             WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3 AND status = ?4",
            params![
                key.channel,
                key.store_id,
                key.external_id,
                ship.expect.as_str()
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx(store, "mark the order shipped")?;
    let Some((seq, packed)) = row else {
        return Err(ship_conflict(store, &key.external_id, ship.expect));
    };
    tx.execute(
        "UPDATE orders SET status = ?2, order_packed = ?3, updated_at = ?4, platform = NULL,
             hold_until = NULL
         WHERE seq = ?1",
        params![
            seq,
            CanonicalStatus::Shipped.as_str(),
            repack_with_status(store, &packed, CanonicalStatus::Shipped)?,
            now
        ],
    )
    .ctx(store, "mark the order shipped")?;
    check_stored(tx, &ship.event)?;
    append_event(tx, &ship.event, false, now)
}

pub(super) fn check_lease(tx: &Transaction<'_>, lease: &Lease) -> Result<(), StateError> {
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

/// Refuses a page committed as [`PageCommit::assumes_blank`] when the store has a shipment or
/// one of the page's orders is stored.
fn check_blank(tx: &Transaction<'_>, store: &str, page: &PageCommit) -> Result<(), StateError> {
    let shipped: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM shipments WHERE store_id = ?1)",
            params![store],
            |r| r.get(0),
        )
        .ctx(store, "check the store is blank")?;
    if shipped {
        return Err(no_longer_blank(store, "a shipment"));
    }
    let mut stored = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM orders
                 WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3)",
        )
        .ctx(store, "check the store is blank")?;
    for w in &page.orders {
        let o = &w.order;
        let found: bool = stored
            .query_row(params![o.channel, o.store_id, o.external_id], |r| r.get(0))
            .ctx(store, "check the store is blank")?;
        if found {
            return Err(no_longer_blank(store, &format!("order {}", o.external_id)));
        }
    }
    Ok(())
}

/// Writes a page, its orders packed by [`crate::packed::pack_page`], after checking the
/// lease's fencing token.
pub(super) fn commit(
    tx: &Transaction<'_>,
    lease: &Lease,
    page: &PageCommit,
    packed: &[Vec<u8>],
) -> Result<(), StateError> {
    let store = lease.store_id.as_str();
    check_packed(store, page, packed)?;
    let now = ts(Utc::now());
    check_lease(tx, lease)?;
    if page.assumes_blank {
        check_blank(tx, store, page)?;
    }
    {
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO orders (channel, store_id, external_id, order_number, store_name,
                     status, modified_at, content_hash, order_packed, platform, hold_until,
                     first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
                 ON CONFLICT (channel, store_id, external_id) DO UPDATE SET
                     order_number = excluded.order_number, store_name = excluded.store_name,
                     status = excluded.status, modified_at = excluded.modified_at,
                     content_hash = excluded.content_hash, order_packed = excluded.order_packed,
                     platform = excluded.platform, hold_until = excluded.hold_until,
                     updated_at = excluded.updated_at",
            )
            .ctx(store, "upsert orders")?;
        for (w, packed) in page.orders.iter().zip(packed) {
            let o = &w.order;
            if let Some(expect) = w.replaces {
                check_unchanged(tx, &o.key(), expect, "the page")?;
            }
            let (mark, until) = mark_columns(w.platform);
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
                    packed,
                    mark,
                    until,
                    now
                ])
                .ctx(store, "upsert orders")?;
        }
    }
    // The page's own orders were just written: their events need no check that they exist.
    let written: HashSet<KeyRef<'_>> = page.orders.iter().map(|w| order_key(&w.order)).collect();
    for e in &page.events {
        if !written.contains(&key_ref(&e.key)) {
            check_stored(tx, e)?;
        }
        append_event(tx, e, page.backfill, &now)?;
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
            let (key, reasons) = quarantine_entry(store, &q.rejection)?;
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
