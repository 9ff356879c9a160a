//! The read model ([`StateRead`]) on PostgreSQL.

use async_trait::async_trait;

use super::backend::{read_event, EVENT_COLUMNS};
use super::codec::{at, Ctx};
use super::PostgresState;
use crate::codec::{json, ts};
use crate::error::StateError;
use crate::packed::unpack_order;
use crate::read::{
    CursorRow, DeliveryRow, EventDelivery, EventListing, OrderRow, QuarantineRow, StateRead,
};

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn text_ts(ns: i64) -> String {
    ts(at(ns))
}

#[async_trait]
impl StateRead for PostgresState {
    async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit_rows: usize,
    ) -> Result<Vec<OrderRow>, StateError> {
        let label = store.unwrap_or("*");
        let rows = self
            .client(label)
            .await?
            .query(
                "SELECT seq, channel, store_id, store_name, external_id, order_number, status,
                        modified_ns, first_seen_ns, updated_ns, order_packed
                 FROM orders WHERE seq > $1 AND ($2::text IS NULL OR store_id = $2)
                 ORDER BY seq LIMIT $3",
                &[&after, &store, &limit(limit_rows)],
            )
            .await
            .ctx(label, "list orders")?;
        rows.iter()
            .map(|r| {
                let store: String = r.get(2);
                let order = json(&unpack_order(&store, r.get(10))?);
                Ok(OrderRow {
                    seq: r.get(0),
                    channel: r.get(1),
                    store_name: r.get(3),
                    external_id: r.get(4),
                    order_number: r.get(5),
                    status: r.get(6),
                    modified_at: text_ts(r.get(7)),
                    first_seen: text_ts(r.get(8)),
                    updated_at: text_ts(r.get(9)),
                    order,
                    store_id: store,
                })
            })
            .collect()
    }

    async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit_rows: usize,
    ) -> Result<Vec<EventListing>, StateError> {
        let label = store.unwrap_or("*");
        let client = self.client(label).await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events e JOIN orders o ON o.seq = e.order_seq
                     WHERE e.id > $1 AND ($2::text IS NULL OR e.store_id = $2)
                     ORDER BY e.id LIMIT $3"
                ),
                &[&after, &store, &limit(limit_rows)],
            )
            .await
            .ctx(label, "list events")?;
        let mut listings = rows
            .iter()
            .map(|r| {
                Ok(EventListing {
                    event: read_event(r)?,
                    deliveries: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StateError>>()?;
        let ids: Vec<i64> = listings.iter().map(|l| l.event.id).collect();
        if ids.is_empty() {
            return Ok(listings);
        }
        let verdicts = client
            .query(
                "SELECT event_id, sink, state, reason, at_ns FROM deliveries
                 WHERE event_id = ANY($1) ORDER BY event_id, sink",
                &[&ids],
            )
            .await
            .ctx(label, "list events")?;
        // Both are in event order: walk them together.
        let mut verdicts = verdicts.iter().peekable();
        for listing in &mut listings {
            while let Some(v) = verdicts.next_if(|v| v.get::<_, i64>(0) <= listing.event.id) {
                if v.get::<_, i64>(0) == listing.event.id {
                    listing.deliveries.push(EventDelivery {
                        sink: v.get(1),
                        state: v.get(2),
                        reason: v.get(3),
                        at: text_ts(v.get(4)),
                    });
                }
            }
        }
        Ok(listings)
    }

    async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit_rows: usize,
    ) -> Result<Vec<QuarantineRow>, StateError> {
        let label = store.unwrap_or("*");
        let rows = self
            .client(label)
            .await?
            .query(
                "SELECT id, store_id, external_id, order_number, reasons, window_from, window_to,
                        fingerprint, first_seen_ns, last_seen_ns
                 FROM quarantine WHERE id > $1 AND ($2::text IS NULL OR store_id = $2)
                 ORDER BY id LIMIT $3",
                &[&after, &store, &limit(limit_rows)],
            )
            .await
            .ctx(label, "list quarantine")?;
        Ok(rows
            .iter()
            .map(|r| QuarantineRow {
                id: r.get(0),
                store_id: r.get(1),
                external_id: r.get(2),
                order_number: r.get(3),
                reasons: json(r.get(4)),
                window_from: text_ts(r.get(5)),
                window_to: text_ts(r.get(6)),
                fingerprint: r.get(7),
                first_seen: text_ts(r.get(8)),
                last_seen: text_ts(r.get(9)),
            })
            .collect())
    }

    async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit_rows: usize,
    ) -> Result<Vec<DeliveryRow>, StateError> {
        let label = store.unwrap_or("*");
        let rows = self
            .client(label)
            .await?
            .query(
                "SELECT d.event_id, d.sink, d.state, d.reason, d.at_ns FROM deliveries d
                 WHERE d.event_id IN (SELECT DISTINCT x.event_id FROM deliveries x
                                      JOIN events e ON e.id = x.event_id
                                      WHERE x.event_id > $1
                                        AND ($2::text IS NULL OR e.store_id = $2)
                                      ORDER BY x.event_id LIMIT $3)
                 ORDER BY d.event_id, d.sink",
                &[&after, &store, &limit(limit_rows)],
            )
            .await
            .ctx(label, "list deliveries")?;
        Ok(rows
            .iter()
            .map(|r| DeliveryRow {
                event_id: r.get(0),
                sink: r.get(1),
                state: r.get(2),
                reason: r.get(3),
                at: text_ts(r.get(4)),
            })
            .collect())
    }

    async fn cursors(&self) -> Result<Vec<CursorRow>, StateError> {
        let rows = self
            .client("*")
            .await?
            .query(
                "SELECT store_id, watermark_ns, updated_ns FROM cursors ORDER BY store_id",
                &[],
            )
            .await
            .ctx("*", "list cursors")?;
        Ok(rows
            .iter()
            .map(|r| CursorRow {
                store_id: r.get(0),
                watermark: r.get::<_, Option<i64>>(1).map(text_ts),
                updated_at: text_ts(r.get(2)),
            })
            .collect())
    }
}
