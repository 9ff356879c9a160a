//! The writes besides a page commit ([`super::page_commit`]) that must be atomic: a shipment
//! with the order it ships, and a platform action with its event, each checked against the
//! stored order under its row lock.

use deadpool_postgres::Transaction;
use orderport_core::CanonicalStatus;

use super::codec::{ns, Ctx};
use crate::codec::ship_conflict;
use crate::error::StateError;
use crate::event::NewEvent;
use crate::packed::repack_with_status;
use crate::state::{Lease, ShipOrder};

/// Locks the store's lease row for the rest of the transaction and reads its token: `$1`
/// store, `$2` owner.
const LOCK_LEASE: &str = "SELECT token FROM leases WHERE store_id = $1 AND owner = $2 FOR UPDATE";

/// The error for a lease that is no longer `lease` (another owner's, a newer token, gone).
fn lease_lost(lease: &Lease) -> StateError {
    StateError::LeaseLost {
        store: lease.store_id.clone(),
    }
}

/// Checks the token [`LOCK_LEASE`] read (`None`: the lease is another owner's, or gone):
/// [`StateError::LeaseLost`] unless it is still `lease`'s.
fn check_token(lease: &Lease, token: Option<i64>) -> Result<(), StateError> {
    match token {
        Some(token) if token == lease.token => Ok(()),
        _ => Err(lease_lost(lease)),
    }
}

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
