//! Platform actions on SQLite: an order's mark read and written with its status, in one
//! transaction that checks what the engine read ([`crate::platform`] holds the rules).

use chrono::{DateTime, Utc};
use orderport_core::OrderRef;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::Ctx;
use super::schema::write_tx;
use super::write::{append_event, check_stored};
use crate::codec::{changed_since_read, decode_order, parse_status, parse_ts, stored_mark, ts};
use crate::error::StateError;
use crate::packed::{repack_with_status, unpack_order};
use crate::platform::PlatformMark;
use crate::state::{MarkedOrder, PlatformWrite};

/// A stored mark, from its two columns.
pub(super) fn read_mark(
    store: &str,
    mark: Option<String>,
    until: Option<String>,
) -> Result<Option<PlatformMark>, StateError> {
    let until = until.map(|t| parse_ts(store, &t)).transpose()?;
    stored_mark(store, mark.as_deref(), until)
}

/// A mark as its two columns.
pub(super) fn mark_columns(mark: Option<PlatformMark>) -> (Option<&'static str>, Option<String>) {
    (
        mark.map(|m| m.as_str()),
        mark.and_then(|m| m.until()).map(ts),
    )
}

type MarkedRow = (String, Vec<u8>, Option<String>, Option<String>);

fn marked(store: &str, row: MarkedRow) -> Result<MarkedOrder, StateError> {
    let (status, packed, mark, until) = row;
    let mut order = decode_order(store, &unpack_order(store, &packed)?)?;
    order.status = parse_status(store, &status)?;
    Ok(MarkedOrder {
        order,
        platform: read_mark(store, mark, until)?,
    })
}

pub(super) fn find_marked(
    c: &Connection,
    store: &str,
    order: &OrderRef,
) -> Result<Option<MarkedOrder>, StateError> {
    let row: Option<MarkedRow> = c
        .query_row(
            "SELECT status, order_packed, platform, hold_until FROM orders WHERE store_id = ?1
               AND ((?2 IS NOT NULL AND external_id = ?2)
                    OR (?2 IS NULL AND order_number = ?3))
             ORDER BY seq DESC LIMIT 1",
            params![store, order.external_id, order.order_number],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .ctx(store, "find the order")?;
    row.map(|row| marked(store, row)).transpose()
}

pub(super) fn lapsed_holds(
    c: &Connection,
    store: &str,
    now: DateTime<Utc>,
) -> Result<Vec<MarkedOrder>, StateError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT status, order_packed, platform, hold_until FROM orders
             WHERE store_id = ?1 AND platform = 'hold' AND hold_until <= ?2
             ORDER BY hold_until, seq",
        )
        .ctx(store, "list lapsed holds")?;
    let rows: Vec<MarkedRow> = stmt
        .query_map(params![store, ts(now)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .ctx(store, "list lapsed holds")?
        .collect::<Result<_, _>>()
        .ctx(store, "list lapsed holds")?;
    rows.into_iter().map(|row| marked(store, row)).collect()
}

/// Checks that the order's stored status and mark are still `expect` (the write transaction
/// holds the lock); returns its `seq` and packed JSON.
pub(super) fn check_unchanged(
    c: &Connection,
    key: &orderport_core::OrderKey,
    expect: (orderport_core::CanonicalStatus, Option<PlatformMark>),
    what: &str,
) -> Result<(i64, Vec<u8>), StateError> {
    let store = key.store_id.as_str();
    type Row = (i64, Vec<u8>, String, Option<String>, Option<String>);
    let row: Option<Row> = c
        .query_row(
            "SELECT seq, order_packed, status, platform, hold_until FROM orders
             WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3",
            params![key.channel, key.store_id, key.external_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .ctx(store, "check the order")?;
    let Some((seq, packed, status, mark, until)) = row else {
        return Err(changed_since_read(store, &key.external_id, what));
    };
    let now = (
        parse_status(store, &status)?,
        read_mark(store, mark, until)?,
    );
    if now != expect {
        return Err(changed_since_read(store, &key.external_id, what));
    }
    Ok((seq, packed))
}

pub(super) fn record_platform(
    c: &mut Connection,
    write: &PlatformWrite,
) -> Result<Option<i64>, StateError> {
    let store = write.store_id.as_str();
    let tx = write_tx(c).ctx(store, "record a platform action")?;
    let (seq, packed) = check_unchanged(&tx, &write.key, write.expect, "the platform action")?;
    let (mark, until) = mark_columns(write.platform);
    let now = ts(write.at);
    tx.execute(
        "UPDATE orders SET status = ?2, order_packed = ?3, platform = ?4, hold_until = ?5,
             updated_at = ?6
         WHERE seq = ?1",
        params![
            seq,
            write.status.as_str(),
            repack_with_status(store, &packed, write.status)?,
            mark,
            until,
            now
        ],
    )
    .ctx(store, "record a platform action")?;
    let id = match &write.event {
        Some(event) => {
            check_stored(&tx, event)?;
            append_event(&tx, event, false, &now)?
        }
        None => None,
    };
    tx.commit().ctx(store, "record a platform action")?;
    Ok(id)
}
