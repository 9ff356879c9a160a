//! Platform actions on PostgreSQL: an order's mark read and written with its status, in one
//! transaction that locks the order's row and checks what the engine read
//! ([`crate::platform`] holds the rules).

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use orderport_core::{CanonicalStatus, OrderKey, OrderRef};
use tokio_postgres::{Client, Row};

use super::codec::{at, ns, Ctx};
use super::write::append_event;
use crate::codec::{changed_since_read, decode_order, parse_status, stored_mark};
use crate::error::StateError;
use crate::packed::{repack_with_status, unpack_order};
use crate::platform::PlatformMark;
use crate::state::{MarkedOrder, PlatformWrite};

/// A stored mark, from its two columns.
pub(super) fn read_mark(
    store: &str,
    mark: Option<String>,
    until: Option<i64>,
) -> Result<Option<PlatformMark>, StateError> {
    stored_mark(store, mark.as_deref(), until.map(at))
}

/// A mark as its two columns.
pub(super) fn mark_columns(mark: Option<PlatformMark>) -> (Option<&'static str>, Option<i64>) {
    (
        mark.map(|m| m.as_str()),
        mark.and_then(|m| m.until()).map(ns),
    )
}

/// The columns [`marked`] reads, in its order.
const MARKED_COLUMNS: &str = "status, order_packed, platform, hold_until_ns";

fn marked(store: &str, r: &Row) -> Result<MarkedOrder, StateError> {
    let mut order = decode_order(store, &unpack_order(store, r.get(1))?)?;
    order.status = parse_status(store, r.get(0))?;
    Ok(MarkedOrder {
        order,
        platform: read_mark(store, r.get(2), r.get(3))?,
    })
}

pub(super) async fn find_marked(
    c: &Client,
    store: &str,
    order: &OrderRef,
) -> Result<Option<MarkedOrder>, StateError> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {MARKED_COLUMNS} FROM orders WHERE store_id = $1
                   AND (($2::text IS NOT NULL AND external_id = $2)
                        OR ($2::text IS NULL AND order_number = $3))
                 ORDER BY seq DESC LIMIT 1"
            ),
            &[&store, &order.external_id, &order.order_number],
        )
        .await
        .ctx(store, "find the order")?;
    row.map(|r| marked(store, &r)).transpose()
}

pub(super) async fn lapsed_holds(
    c: &Client,
    store: &str,
    now: DateTime<Utc>,
) -> Result<Vec<MarkedOrder>, StateError> {
    let rows = c
        .query(
            &format!(
                "SELECT {MARKED_COLUMNS} FROM orders
                 WHERE store_id = $1 AND platform = 'hold' AND hold_until_ns <= $2
                 ORDER BY hold_until_ns, seq"
            ),
            &[&store, &ns(now)],
        )
        .await
        .ctx(store, "list lapsed holds")?;
    rows.iter().map(|r| marked(store, r)).collect()
}

/// Locks the order's row and checks that its stored status and mark are still `expect`;
/// returns its `seq` and packed JSON.
async fn check_unchanged(
    tx: &Transaction<'_>,
    key: &OrderKey,
    expect: (CanonicalStatus, Option<PlatformMark>),
    what: &str,
) -> Result<(i64, Vec<u8>), StateError> {
    let store = key.store_id.as_str();
    let stmt = tx
        .prepare_cached(
            "SELECT seq, order_packed, status, platform, hold_until_ns FROM orders
             WHERE store_id = $1 AND external_id = $2 AND channel = $3
             FOR UPDATE",
        )
        .await
        .ctx(store, "check the order")?;
    let row = tx
        .query_opt(&stmt, &[&key.store_id, &key.external_id, &key.channel])
        .await
        .ctx(store, "check the order")?;
    let Some(row) = row else {
        return Err(changed_since_read(store, &key.external_id, what));
    };
    let now = (
        parse_status(store, row.get(2))?,
        read_mark(store, row.get(3), row.get(4))?,
    );
    if now != expect {
        return Err(changed_since_read(store, &key.external_id, what));
    }
    Ok((row.get(0), row.get(1)))
}

pub(super) async fn record_platform(
    tx: &Transaction<'_>,
    write: &PlatformWrite,
) -> Result<Option<i64>, StateError> {
    let store = write.store_id.as_str();
    let (seq, packed) =
        check_unchanged(tx, &write.key, write.expect, "the platform action").await?;
    let (mark, until) = mark_columns(write.platform);
    let now = ns(write.at);
    tx.execute(
        "UPDATE orders SET status = $2, order_packed = $3, platform = $4, hold_until_ns = $5,
             updated_ns = $6
         WHERE seq = $1",
        &[
            &seq,
            &write.status.as_str(),
            &repack_with_status(store, &packed, write.status)?,
            &mark,
            &until,
            &now,
        ],
    )
    .await
    .ctx(store, "record a platform action")?;
    match &write.event {
        Some(event) => append_event(tx, seq, event, false, now).await,
        None => Ok(None),
    }
}
