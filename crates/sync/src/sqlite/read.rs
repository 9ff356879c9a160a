//! The read model ([`StateRead`]) on SQLite: stored orders, events with their verdicts,
//! quarantine, cursors, a page at a time (keyset paging) or as bounded-memory streams.

use async_trait::async_trait;
use futures::stream::Stream;
use rusqlite::params;

use super::codec::{Ctx, EventColumns, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use super::SqliteState;
use crate::codec::json;
use crate::error::StateError;
use crate::packed::unpack_order;
use crate::read::{
    event_stream, order_stream, quarantine_stream, CursorRow, DeliveryRow, EventListing, OrderRow,
    QuarantineRow, StateRead,
};

impl SqliteState {
    /// A page of stored orders with `seq > after`, oldest first, optionally for one store.
    pub async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OrderRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, channel, store_id, store_name, external_id, order_number, status,
                            modified_at, first_seen, updated_at, order_packed
                     FROM orders WHERE seq > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY seq LIMIT ?3",
                )
                .ctx(&label, "list orders")?;
            let mut rows = stmt
                .query(params![after, store, limit as i64])
                .ctx(&label, "list orders")?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().ctx(&label, "list orders")? {
                let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(OrderRow, Vec<u8>)> {
                    Ok((
                        OrderRow {
                            seq: r.get(0)?,
                            channel: r.get(1)?,
                            store_id: r.get(2)?,
                            store_name: r.get(3)?,
                            external_id: r.get(4)?,
                            order_number: r.get(5)?,
                            status: r.get(6)?,
                            modified_at: r.get(7)?,
                            first_seen: r.get(8)?,
                            updated_at: r.get(9)?,
                            order: serde_json::Value::Null,
                        },
                        r.get(10)?,
                    ))
                };
                let (mut row, packed) = read(r).ctx(&label, "list orders")?;
                row.order = json(&unpack_order(&row.store_id, &packed)?);
                out.push(row);
            }
            Ok(out)
        })
        .await
    }

    /// A page of events with `id > after`, in outbox order, optionally for one store, each
    /// with every sink's verdict.
    pub async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventListing>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS},
                            (SELECT json_group_array(json_object('sink', d.sink,
                                        'state', d.state, 'reason', d.reason, 'at', d.at))
                             FROM (SELECT * FROM deliveries WHERE event_id = e.id
                                   ORDER BY sink) d)
                     FROM events e WHERE e.id > ?1 AND (?2 IS NULL OR e.store_id = ?2)
                     ORDER BY e.id LIMIT ?3"
                ))
                .ctx(&label, "list events")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok((
                        EventColumns::read(r)?,
                        r.get::<_, String>(EVENT_COLUMN_COUNT)?,
                    ))
                })
                .ctx(&label, "list events")?
                .collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list events")?;
            rows.into_iter()
                .map(|(columns, deliveries)| {
                    Ok(EventListing {
                        event: columns.event()?,
                        deliveries: serde_json::from_str(&deliveries).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .await
    }

    /// A page of quarantined orders with `id > after`, optionally for one store.
    pub async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<QuarantineRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, store_id, external_id, order_number, reasons, window_from,
                            window_to, fingerprint, first_seen, last_seen
                     FROM quarantine WHERE id > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY id LIMIT ?3",
                )
                .ctx(&label, "list quarantine")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(QuarantineRow {
                        id: r.get(0)?,
                        store_id: r.get(1)?,
                        external_id: r.get(2)?,
                        order_number: r.get(3)?,
                        reasons: json(&r.get::<_, String>(4)?),
                        window_from: r.get(5)?,
                        window_to: r.get(6)?,
                        fingerprint: r.get(7)?,
                        first_seen: r.get(8)?,
                        last_seen: r.get(9)?,
                    })
                })
                .ctx(&label, "list quarantine")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list quarantine")
        })
        .await
    }

    /// Delivery verdicts for the events (optionally of one store) with `id > after`, for at
    /// most `limit` events, ordered by event id then sink. Page with the last row's `event_id`.
    pub async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StateError> {
        let store = store.map(str::to_owned);
        let label = store.clone().unwrap_or_else(|| "*".into());
        self.call(&label.clone(), move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT d.event_id, d.sink, d.state, d.reason, d.at FROM deliveries d
                     WHERE d.event_id IN (SELECT DISTINCT x.event_id FROM deliveries x JOIN events e
                                            ON e.id = x.event_id
                                          WHERE x.event_id > ?1
                                            AND (?2 IS NULL OR e.store_id = ?2)
                                          ORDER BY x.event_id LIMIT ?3)
                     ORDER BY d.event_id, d.sink",
                )
                .ctx(&label, "list deliveries")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(DeliveryRow {
                        event_id: r.get(0)?,
                        sink: r.get(1)?,
                        state: r.get(2)?,
                        reason: r.get(3)?,
                        at: r.get(4)?,
                    })
                })
                .ctx(&label, "list deliveries")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list deliveries")
        })
        .await
    }

    /// Every store's cursor.
    pub async fn cursors(&self) -> Result<Vec<CursorRow>, StateError> {
        self.call("*", |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT store_id, watermark, updated_at FROM cursors ORDER BY store_id",
                )
                .ctx("*", "list cursors")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(CursorRow {
                        store_id: r.get(0)?,
                        watermark: r.get(1)?,
                        updated_at: r.get(2)?,
                    })
                })
                .ctx("*", "list cursors")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("*", "list cursors")
        })
        .await
    }

    /// Every stored order (optionally of one store) as a stream read `page` rows at a time, so
    /// memory stays bounded whatever the database holds.
    pub fn orders(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<OrderRow, StateError>> + '_ {
        order_stream(self, store, page)
    }

    /// Every event (optionally of one store) in outbox order, `page` rows at a time.
    pub fn events(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<EventListing, StateError>> + '_ {
        event_stream(self, store, page)
    }

    /// Every quarantined order (optionally of one store), `page` rows at a time.
    pub fn quarantine(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<QuarantineRow, StateError>> + '_ {
        quarantine_stream(self, store, page)
    }
}

#[async_trait]
impl StateRead for SqliteState {
    async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OrderRow>, StateError> {
        SqliteState::orders_page(self, store, after, limit).await
    }

    async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventListing>, StateError> {
        SqliteState::events_page(self, store, after, limit).await
    }

    async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<QuarantineRow>, StateError> {
        SqliteState::quarantine_page(self, store, after, limit).await
    }

    async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StateError> {
        SqliteState::deliveries_page(self, store, after, limit).await
    }

    async fn cursors(&self) -> Result<Vec<CursorRow>, StateError> {
        SqliteState::cursors(self).await
    }
}
