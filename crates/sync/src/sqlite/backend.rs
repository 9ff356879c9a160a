//! [`State`] for [`SqliteState`]: each call one statement or one transaction on the blocking
//! pool.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use orderport_core::{CanonicalStatus, Order, OrderRef, ShipmentUpdate};
use rusqlite::{params, OptionalExtension};

use super::codec::{window, Ctx, EventColumns, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use super::platform::{find_marked, lapsed_holds, read_mark, record_platform};
use super::schema::write_tx;
use super::write::{check_lease, commit, ship};
use super::SqliteState;
use crate::codec::{
    decode_label, decode_order, decode_shipment, label_conflict, missing_order, parse_status,
    parse_ts, shipment_json, shipment_kind, ts, LABEL_KINDS,
};
use crate::error::StateError;
use crate::event::{DeliveryMark, OutboxEvent};
use crate::packed::{pack_page, unpack_order};
use crate::state::{
    Cursor, Known, Lease, LeaseGrant, MarkedOrder, OrderLookup, PageCommit, PlatformWrite, Refetch,
    ShipmentRecord, State, StoredMeta, WalkRecord,
};

#[async_trait]
impl State for SqliteState {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        let taker = owner;
        let (store, owner) = (store_id.to_owned(), owner.to_owned());
        // The grant, and the holder it was taken over from (recorded on the caller's thread,
        // where a host's recorder may be).
        let (grant, previous) = self
            .call(store_id, move |c| {
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
                        let until = parse_ts(&store, &expires)?;
                        return Ok((
                            LeaseGrant::Held {
                                owner: holder,
                                until,
                            },
                            None,
                        ));
                    }
                    // A lapsed lease of another worker, not released (expiry at 1970): a takeover.
                    Some((holder, token, expires)) => (
                        token + 1,
                        Some(holder).filter(|h| {
                            *h != owner
                                && parse_ts(&store, &expires).ok() != Some(DateTime::UNIX_EPOCH)
                        }),
                    ),
                    None => (1, None),
                };
                let (token, previous) = token;
                let expires_at = now + ttl;
                tx.execute(
                "INSERT INTO leases (store_id, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (store_id) DO UPDATE SET owner = excluded.owner,
                     token = excluded.token, expires_at = excluded.expires_at",
                params![store, owner, token, ts(expires_at)],
            )
            .ctx(&store, "take the lease")?;
                tx.commit().ctx(&store, "take the lease")?;
                let grant = LeaseGrant::Granted(Lease {
                    store_id: store,
                    owner,
                    token,
                    expires_at,
                });
                Ok((grant, previous))
            })
            .await?;
        if let Some(previous) = previous {
            crate::telemetry::record_takeover(store_id, taker, &previous);
        }
        Ok(grant)
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
        self.read(store_id, move |c| {
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
        self.read(store_id, move |c| {
            let mut order_stmt = c
                .prepare_cached(
                    "SELECT status, modified_at, content_hash, platform, hold_until FROM orders
                     WHERE channel = ?1 AND store_id = ?2 AND external_id = ?3",
                )
                .ctx(&store, "look orders up")?;
            let mut label_stmt = c
                .prepare_cached(&format!(
                    "SELECT EXISTS (SELECT 1 FROM shipments WHERE store_id = ?1 AND kind = 'label'
                         AND ({SAME_ORDER}))"
                ))
                .ctx(&store, "look shipments up")?;
            let mut out = Vec::with_capacity(orders.len());
            for o in &orders {
                type Row = (String, String, String, Option<String>, Option<String>);
                let row: Option<Row> = order_stmt
                    .query_row(params![channel, store, o.external_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()
                    .ctx(&store, "look orders up")?;
                let (stored, platform) = match row {
                    Some((status, modified, hash, mark, until)) => (
                        Some(StoredMeta {
                            status: parse_status(&store, &status)?,
                            modified_at: parse_ts(&store, &modified)?,
                            content_hash: hash,
                        }),
                        read_mark(&store, mark, until)?,
                    ),
                    None => (None, None),
                };
                let label_shipment: bool = label_stmt
                    .query_row(params![store, o.external_id, o.order_number], |r| r.get(0))
                    .ctx(&store, "look shipments up")?;
                out.push(Known {
                    stored,
                    label_shipment,
                    platform,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn commit_page(&self, lease: &Lease, page: PageCommit) -> Result<(), StateError> {
        // Packed before the page joins the writer's queue: the writer runs only the SQL.
        let packed = pack_page(&lease.store_id, &page)?;
        let lease = lease.clone();
        self.call(&lease.store_id.clone(), move |c| {
            let tx = write_tx(c).ctx(&lease.store_id, "begin a page")?;
            commit(&tx, &lease, &page, &packed)?;
            tx.commit().ctx(&lease.store_id, "commit a page")
        })
        .await
    }

    async fn is_blank(&self, store_id: &str) -> Result<bool, StateError> {
        let store = store_id.to_owned();
        self.read(store_id, move |c| {
            c.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM orders WHERE store_id = ?1)
                    AND NOT EXISTS (SELECT 1 FROM shipments WHERE store_id = ?1)",
                params![store],
                |r| r.get(0),
            )
            .ctx(&store, "check whether the store is blank")
        })
        .await
    }

    async fn quarantine_is_empty(&self, store_id: &str) -> Result<bool, StateError> {
        let store = store_id.to_owned();
        self.read(store_id, move |c| {
            c.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM quarantine WHERE store_id = ?1)",
                params![store],
                |r| r.get(0),
            )
            .ctx(&store, "check whether the store has orders in quarantine")
        })
        .await
    }

    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        let store = store_id.to_owned();
        self.read(store_id, move |c| {
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
        self.read(store_id, move |c| {
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

    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        let (store, external_id, number) = (
            store_id.to_owned(),
            order.external_id.clone(),
            order.order_number.clone(),
        );
        self.call(store_id, move |c| {
            let packed: Option<Vec<u8>> = c
                .query_row(
                    "SELECT order_packed FROM orders WHERE store_id = ?1
                       AND ((?2 IS NOT NULL AND external_id = ?2)
                            OR (?2 IS NULL AND order_number = ?3))
                     ORDER BY seq DESC LIMIT 1",
                    params![store, external_id, number],
                    |r| r.get(0),
                )
                .optional()
                .ctx(&store, "find the shipped order")?;
            packed
                .map(|bytes| decode_order(&store, &unpack_order(&store, &bytes)?))
                .transpose()
        })
        .await
    }

    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        let store = shipment.store_id.to_owned();
        let u = shipment.update;
        let json = shipment_json(&store, u)?;
        let kind = shipment_kind(&shipment);
        let coverage = shipment.coverage.clone();
        let (external_id, number, tracking, at) = (
            u.order.external_id.clone(),
            u.order.order_number.clone(),
            u.tracking_number.clone(),
            ts(shipment.at),
        );
        let order = shipment.ship;
        self.call(&store.clone(), move |c| {
            let tx = write_tx(c).ctx(&store, "record a shipment")?;
            if let Some(coverage) = &coverage {
                let now = count_labels(
                    &tx,
                    &store,
                    &coverage.key.external_id,
                    &coverage.order_number,
                )?;
                if now != coverage.labels_before {
                    return Err(label_conflict(&store, coverage, now));
                }
            }
            tx.execute(
                "INSERT INTO shipments (store_id, external_id, order_number, kind,
                     tracking_number, update_json, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![store, external_id, number, kind, tracking, json, at],
            )
            .ctx(&store, "record a shipment")?;
            let written = match &order {
                Some(order) => ship(&tx, order, &at)?,
                None => None,
            };
            tx.commit().ctx(&store, "record a shipment")?;
            Ok(written)
        })
        .await
    }

    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        let (store, order) = (store_id.to_owned(), order.clone());
        self.call(store_id, move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT update_json FROM shipments
                     WHERE store_id = ?1 AND kind IN {LABEL_KINDS} AND ({SAME_ORDER})
                     ORDER BY id"
                ))
                .ctx(&store, "list the order's labels")?;
            let rows: Vec<String> = stmt
                .query_map(params![store, order.external_id, order.order_number], |r| {
                    r.get(0)
                })
                .ctx(&store, "list the order's labels")?
                .collect::<Result<_, _>>()
                .ctx(&store, "list the order's labels")?;
            rows.iter().map(|text| decode_label(&store, text)).collect()
        })
        .await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<MarkedOrder>, StateError> {
        let (store, order) = (store_id.to_owned(), order.clone());
        self.call(store_id, move |c| find_marked(c, &store, &order))
            .await
    }

    async fn record_platform(&self, write: PlatformWrite) -> Result<Option<i64>, StateError> {
        let store = write.store_id.clone();
        self.call(&store, move |c| record_platform(c, &write)).await
    }

    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MarkedOrder>, StateError> {
        let store = store_id.to_owned();
        self.read(store_id, move |c| lapsed_holds(c, &store, now))
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
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS}, o.order_packed
                     FROM events e
                     LEFT JOIN orders o ON o.channel = e.channel AND o.store_id = e.store_id
                                       AND o.external_id = e.external_id
                     WHERE e.id > ?1 AND (?2 IS NULL OR e.store_id = ?2)
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.event_id = e.id AND d.sink = ?3)
                     ORDER BY e.id LIMIT ?4"
                ))
                .ctx(&label, "list pending events")?;
            let rows: Vec<(EventColumns, Option<Vec<u8>>)> = stmt
                .query_map(params![after, store, sink, limit as i64], |r| {
                    Ok((EventColumns::read(r)?, r.get(EVENT_COLUMN_COUNT)?))
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
            for (columns, packed) in rows {
                let event = columns.event()?;
                let store_id = event.key.store_id.clone();
                let order = match packed {
                    Some(bytes) => decode_order(&store_id, &unpack_order(&store_id, &bytes)?)?,
                    None => return Err(missing_order(&store_id, event.id, &event.key.external_id)),
                };
                let shipment = if event.to == CanonicalStatus::Shipped {
                    let found: Option<String> = shipment_stmt
                        .query_row(
                            params![store_id, event.key.external_id, event.order_number],
                            |r| r.get(0),
                        )
                        .optional()
                        .ctx(&store_id, "look shipments up")?;
                    found.as_deref().and_then(decode_shipment)
                } else {
                    None
                };
                out.push(OutboxEvent {
                    event,
                    order,
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
                    put.execute(params![m.id(), sink, m.state(), m.reason(), now])
                        .ctx("*", "record deliveries")?;
                }
            }
            tx.commit().ctx("*", "record deliveries")
        })
        .await
    }
}

/// The shipments of one order: recorded with its external id (`?2`), or by number alone
/// (`?3`).
const SAME_ORDER: &str = "external_id = ?2 OR (external_id IS NULL AND order_number = ?3)";

/// How many labels (whole or part) are recorded for the order.
fn count_labels(
    c: &rusqlite::Connection,
    store: &str,
    external_id: &str,
    number: &str,
) -> Result<usize, StateError> {
    let count: i64 = c
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM shipments
                 WHERE store_id = ?1 AND kind IN {LABEL_KINDS} AND ({SAME_ORDER})"
            ),
            params![store, external_id, number],
            |r| r.get(0),
        )
        .ctx(store, "count the order's labels")?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}
