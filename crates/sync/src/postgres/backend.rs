//! [`State`] for [`PostgresState`]: each call one statement or one transaction on a pooled
//! connection.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use orderport_core::{Order, OrderRef, ShipmentUpdate};

use super::codec::{at, ns, Ctx};
use super::page_commit::Member;
use super::platform::{find_marked, lapsed_holds, read_mark, record_platform};
use super::write::{check_lease, ship};
use super::PostgresState;
use crate::codec::{
    decode_label, decode_order, decode_shipment, label_conflict, parse_status, shipment_json,
    shipment_kind, window_between, LABEL_KINDS,
};
use crate::error::StateError;
use crate::event::{DeliveryMark, OutboxEvent, StatusEvent};
use crate::packed::{pack_page, unpack_order};
use crate::state::{
    Cursor, Known, Lease, LeaseGrant, MarkedOrder, OrderLookup, PageCommit, PlatformWrite, Refetch,
    ShipmentRecord, State, StoredMeta, WalkRecord,
};
use orderport_core::OrderKey;

/// [`State::lookup`]'s statement: `$1` the channel, `$2` the store, `$3` and `$4` the external
/// ids and order numbers asked; one row per key, in the order asked.
///
/// Each key is one probe of the unique index, whatever the planner's statistics say. Planned as
/// a plain join on a database never analyzed (a first sync's, before autovacuum's first
/// `ANALYZE`), the default estimates make a store look like one order: the plan read every
/// order of the store once per page and matched the keys in a join filter, a cost quadratic in
/// the store's size. The `LATERAL … LIMIT 1` subquery cannot be flattened into that join, so it
/// is planned per key. Stale statistics (a store taken for one order by an `ANALYZE` run when
/// it had one) are schema version 3's part (`n_distinct` on `store_id`).
pub(super) const LOOKUP: &str = "
    SELECT o.status, o.modified_ns, o.content_hash, o.platform, o.hold_until_ns,
           EXISTS (SELECT 1 FROM shipments s
                   WHERE s.store_id = $2 AND s.kind = 'label'
                     AND (s.external_id = q.id
                          OR (s.external_id IS NULL AND s.order_number = q.num)))
    FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS q (id, num, i)
    LEFT JOIN LATERAL (
        SELECT status, modified_ns, content_hash, platform, hold_until_ns FROM orders
        WHERE store_id = $2 AND external_id = q.id AND channel = $1
        LIMIT 1
    ) o ON true
    ORDER BY q.i";

/// The columns of an event and its order, as every query reading events selects them (from
/// `events e JOIN orders o ON o.seq = e.order_seq`).
pub(super) const EVENT_COLUMNS: &str = "e.id, o.channel, e.store_id, o.store_name, o.external_id,
    o.order_number, e.from_status, e.to_status, e.raw_status, e.at_ns, e.label, e.backfill,
    e.recorded_ns";

/// How many columns [`EVENT_COLUMNS`] selects.
pub(super) const EVENT_COLUMN_COUNT: usize = 13;

/// The typed event from the start of a row of [`EVENT_COLUMNS`].
pub(super) fn read_event(r: &tokio_postgres::Row) -> Result<StatusEvent, StateError> {
    let store_id: String = r.get(2);
    let from: Option<String> = r.get(6);
    let to: String = r.get(7);
    Ok(StatusEvent {
        id: r.get(0),
        from: from.map(|f| parse_status(&store_id, &f)).transpose()?,
        to: parse_status(&store_id, &to)?,
        raw_status: r.get(8),
        at: at(r.get(9)),
        label: r.get(10),
        backfill: r.get(11),
        recorded_at: at(r.get(12)),
        store_name: r.get(3),
        order_number: r.get(5),
        key: OrderKey {
            channel: r.get(1),
            external_id: r.get(4),
            store_id,
        },
    })
}

#[async_trait]
impl State for PostgresState {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        let client = self.client(store_id).await?;
        let expires_at = now + ttl;
        // One statement: the row lock of the upsert decides between workers racing for it.
        let granted = client
            .query_opt(
                "WITH previous AS (SELECT owner FROM leases WHERE store_id = $1 AND expires_ns <> 0)
                 INSERT INTO leases AS l (store_id, owner, token, expires_ns) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (store_id) DO UPDATE SET owner = excluded.owner,
                     token = l.token + 1, expires_ns = excluded.expires_ns
                 WHERE l.owner = excluded.owner OR l.expires_ns <= $4
                 RETURNING token, (SELECT owner FROM previous)",
                &[&store_id, &owner, &ns(expires_at), &ns(now)],
            )
            .await
            .ctx(store_id, "take the lease")?;
        if let Some(row) = granted {
            // The statement's snapshot shows the holder before it: one whose lease lapsed
            // unreleased (a released lease has expiry 0) is a takeover.
            if let Some(previous) = row.get::<_, Option<String>>(1).filter(|p| p != owner) {
                crate::telemetry::record_takeover(store_id, owner, &previous);
            }
            return Ok(LeaseGrant::Granted(Lease {
                store_id: store_id.to_owned(),
                owner: owner.to_owned(),
                token: row.get(0),
                expires_at,
            }));
        }
        let held = client
            .query_one(
                "SELECT owner, expires_ns FROM leases WHERE store_id = $1",
                &[&store_id],
            )
            .await
            .ctx(store_id, "take the lease")?;
        Ok(LeaseGrant::Held {
            owner: held.get(0),
            until: at(held.get(1)),
        })
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        let store = lease.store_id.as_str();
        let expires_at = now + ttl;
        let n = self
            .client(store)
            .await?
            .execute(
                "UPDATE leases SET expires_ns = $4
                 WHERE store_id = $1 AND owner = $2 AND token = $3",
                &[&lease.store_id, &lease.owner, &lease.token, &ns(expires_at)],
            )
            .await
            .ctx(store, "renew the lease")?;
        if n == 0 {
            return Err(StateError::LeaseLost {
                store: store.to_owned(),
            });
        }
        Ok(Lease {
            expires_at,
            ..lease.clone()
        })
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        let store = lease.store_id.as_str();
        // The row stays (with its token): deleting it would let the next holder start at 1.
        self.client(store)
            .await?
            .execute(
                "UPDATE leases SET expires_ns = 0
                 WHERE store_id = $1 AND owner = $2 AND token = $3",
                &[&lease.store_id, &lease.owner, &lease.token],
            )
            .await
            .ctx(store, "release the lease")?;
        Ok(())
    }

    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        let row = self
            .client(store_id)
            .await?
            .query_opt(
                "SELECT watermark_ns, backfill_until_ns FROM cursors WHERE store_id = $1",
                &[&store_id],
            )
            .await
            .ctx(store_id, "read the cursor")?;
        Ok(match row {
            Some(r) => Cursor {
                watermark: r.get::<_, Option<i64>>(0).map(at),
                backfill_until: r.get::<_, Option<i64>>(1).map(at),
            },
            None => Cursor::default(),
        })
    }

    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = orders.iter().map(|o| o.external_id.as_str()).collect();
        let numbers: Vec<&str> = orders.iter().map(|o| o.order_number.as_str()).collect();
        // One round trip for the whole page, answers in the order asked.
        let client = self.client(store_id).await?;
        let stmt = client
            .prepare_cached(LOOKUP)
            .await
            .ctx(store_id, "look orders up")?;
        let rows = client
            .query(&stmt, &[&channel, &store_id, &ids, &numbers])
            .await
            .ctx(store_id, "look orders up")?;
        rows.iter()
            .map(|r| {
                let status: Option<String> = r.get(0);
                let stored = match status {
                    Some(status) => Some(StoredMeta {
                        status: parse_status(store_id, &status)?,
                        modified_at: at(r.get(1)),
                        content_hash: r.get(2),
                    }),
                    None => None,
                };
                Ok(Known {
                    platform: read_mark(store_id, r.get(3), r.get(4))?,
                    stored,
                    label_shipment: r.get(5),
                })
            })
            .collect()
    }

    async fn commit_page(&self, lease: &Lease, page: PageCommit) -> Result<(), StateError> {
        // Packed by the caller, before it queues the page: it needs no connection.
        let packed = pack_page(&lease.store_id, &page)?;
        self.commit_in_group(Member {
            lease: lease.clone(),
            page,
            packed,
        })
        .await
    }

    async fn is_blank(&self, store_id: &str) -> Result<bool, StateError> {
        let row = self
            .client(store_id)
            .await?
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM orders WHERE store_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM shipments WHERE store_id = $1)",
                &[&store_id],
            )
            .await
            .ctx(store_id, "check whether the store is blank")?;
        Ok(row.get(0))
    }

    async fn quarantine_is_empty(&self, store_id: &str) -> Result<bool, StateError> {
        let row = self
            .client(store_id)
            .await?
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM quarantine WHERE store_id = $1)",
                &[&store_id],
            )
            .await
            .ctx(store_id, "check whether the store has orders in quarantine")?;
        Ok(row.get(0))
    }

    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        let rows = self
            .client(store_id)
            .await?
            .query(
                "SELECT id, from_ns, to_ns, reason FROM refetch WHERE store_id = $1 ORDER BY id",
                &[&store_id],
            )
            .await
            .ctx(store_id, "list re-fetches")?;
        rows.iter()
            .map(|r| {
                Ok(Refetch {
                    id: r.get(0),
                    window: window_between(store_id, at(r.get(1)), at(r.get(2)))?,
                    reason: r.get(3),
                })
            })
            .collect()
    }

    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        let rows = self
            .client(store_id)
            .await?
            .query(
                "SELECT from_ns, to_ns, started_ns, finished_ns FROM walks
                 WHERE store_id = $1 AND finished_ns >= $2 ORDER BY id",
                &[&store_id, &ns(since)],
            )
            .await
            .ctx(store_id, "list walks")?;
        rows.iter()
            .map(|r| {
                Ok(WalkRecord {
                    window: window_between(store_id, at(r.get(0)), at(r.get(1)))?,
                    started_at: at(r.get(2)),
                    finished_at: at(r.get(3)),
                })
            })
            .collect()
    }

    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        let store = lease.store_id.as_str();
        let mut client = self.client(store).await?;
        let tx = client
            .transaction()
            .await
            .ctx(store, "requeue quarantine")?;
        check_lease(&tx, lease).await?;
        tx.execute(
            "INSERT INTO refetch (store_id, from_ns, to_ns, reason)
             SELECT DISTINCT store_id, window_from, window_to, 'quarantine' FROM quarantine
             WHERE store_id = $1 AND fingerprint <> $2",
            &[&store, &fingerprint],
        )
        .await
        .ctx(store, "requeue quarantine")?;
        let n = tx
            .execute(
                "UPDATE quarantine SET fingerprint = $2 WHERE store_id = $1 AND fingerprint <> $2",
                &[&store, &fingerprint],
            )
            .await
            .ctx(store, "requeue quarantine")?;
        tx.commit().await.ctx(store, "requeue quarantine")?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        let row = self
            .client(store_id)
            .await?
            .query_opt(
                "SELECT order_packed FROM orders WHERE store_id = $1
                   AND (($2::text IS NOT NULL AND external_id = $2)
                        OR ($2::text IS NULL AND order_number = $3))
                 ORDER BY seq DESC LIMIT 1",
                &[&store_id, &order.external_id, &order.order_number],
            )
            .await
            .ctx(store_id, "find the shipped order")?;
        row.map(|r| decode_order(store_id, &unpack_order(store_id, r.get(0))?))
            .transpose()
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<MarkedOrder>, StateError> {
        find_marked(&**self.client(store_id).await?, store_id, order).await
    }

    async fn record_platform(&self, write: PlatformWrite) -> Result<Option<i64>, StateError> {
        let store = write.store_id.as_str();
        let mut client = self.client(store).await?;
        let tx = client
            .transaction()
            .await
            .ctx(store, "record a platform action")?;
        let id = record_platform(&tx, &write).await?;
        tx.commit().await.ctx(store, "record a platform action")?;
        Ok(id)
    }

    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MarkedOrder>, StateError> {
        lapsed_holds(&**self.client(store_id).await?, store_id, now).await
    }

    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        let store = shipment.store_id;
        let u = shipment.update;
        let json = shipment_json(store, u)?;
        let now = ns(shipment.at);
        let mut client = self.client(store).await?;
        let tx = client.transaction().await.ctx(store, "record a shipment")?;
        if let Some(coverage) = &shipment.coverage {
            // Under the order's row lock, so that two labels of one order count one after
            // the other.
            tx.query_opt(
                "SELECT 1 FROM orders
                 WHERE channel = $1 AND store_id = $2 AND external_id = $3 FOR UPDATE",
                &[
                    &coverage.key.channel,
                    &coverage.key.store_id,
                    &coverage.key.external_id,
                ],
            )
            .await
            .ctx(store, "lock the shipped order")?;
            let count: i64 = tx
                .query_one(
                    &format!(
                        "SELECT COUNT(*) FROM shipments
                         WHERE store_id = $1 AND kind IN {LABEL_KINDS} AND ({SAME_ORDER})"
                    ),
                    &[&store, &coverage.key.external_id, &coverage.order_number],
                )
                .await
                .ctx(store, "count the order's labels")?
                .get(0);
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count != coverage.labels_before {
                return Err(label_conflict(store, coverage, count));
            }
        }
        tx.execute(
            "INSERT INTO shipments (store_id, external_id, order_number, kind, tracking_number,
                 update_json, recorded_ns)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &store,
                &u.order.external_id,
                &u.order.order_number,
                &shipment_kind(&shipment),
                &u.tracking_number,
                &json,
                &now,
            ],
        )
        .await
        .ctx(store, "record a shipment")?;
        let written = match &shipment.ship {
            Some(order) => ship(&tx, order, now).await?,
            None => None,
        };
        tx.commit().await.ctx(store, "record a shipment")?;
        Ok(written)
    }

    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        let rows = self
            .client(store_id)
            .await?
            .query(
                &format!(
                    "SELECT update_json FROM shipments
                     WHERE store_id = $1 AND kind IN {LABEL_KINDS} AND ({SAME_ORDER})
                     ORDER BY id"
                ),
                &[&store_id, &order.external_id, &order.order_number],
            )
            .await
            .ctx(store_id, "list the order's labels")?;
        rows.iter()
            .map(|r| decode_label(store_id, r.get(0)))
            .collect()
    }

    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        let label = store.unwrap_or("*");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client(label)
            .await?
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS}, o.order_packed,
                            CASE WHEN e.to_status = 'shipped' THEN
                                (SELECT s.update_json FROM shipments s
                                 WHERE s.store_id = e.store_id
                                   AND (s.external_id = o.external_id
                                        OR (s.external_id IS NULL
                                            AND s.order_number = o.order_number))
                                 ORDER BY (s.kind = 'label') DESC, s.id DESC LIMIT 1)
                            END
                     FROM events e JOIN orders o ON o.seq = e.order_seq
                     WHERE e.id > $1 AND ($2::text IS NULL OR e.store_id = $2)
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.event_id = e.id AND d.sink = $3)
                     ORDER BY e.id LIMIT $4"
                ),
                &[&after, &store, &sink, &limit],
            )
            .await
            .ctx(label, "list pending events")?;
        rows.iter()
            .map(|r| {
                let event = read_event(r)?;
                let store = event.key.store_id.as_str();
                let order = decode_order(store, &unpack_order(store, r.get(EVENT_COLUMN_COUNT))?)?;
                let shipment = r
                    .get::<_, Option<&str>>(EVENT_COLUMN_COUNT + 1)
                    .and_then(decode_shipment);
                Ok(OutboxEvent {
                    event,
                    order,
                    shipment,
                })
            })
            .collect()
    }

    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        if marks.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = marks.iter().map(DeliveryMark::id).collect();
        let states: Vec<&str> = marks.iter().map(DeliveryMark::state).collect();
        let reasons: Vec<Option<&str>> = marks.iter().map(DeliveryMark::reason).collect();
        // One statement, so all or none; a verdict already recorded is kept.
        self.client("*")
            .await?
            .execute(
                "INSERT INTO deliveries (event_id, sink, state, reason, at_ns)
                 SELECT m.id, $1, m.state, m.reason, $5
                 FROM unnest($2::bigint[], $3::text[], $4::text[]) AS m (id, state, reason)
                 ON CONFLICT (event_id, sink) DO NOTHING",
                &[&sink, &ids, &states, &reasons, &ns(Utc::now())],
            )
            .await
            .ctx("*", "record deliveries")?;
        Ok(())
    }
}

/// The shipments of one order: recorded with its external id (`$2`), or by number alone (`$3`).
const SAME_ORDER: &str =
    "external_id = $2::text OR (external_id IS NULL AND order_number = $3::text)";
