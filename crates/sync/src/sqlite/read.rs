//! The read model for the CLI and hosts: stored orders, events with their verdicts, quarantine,
//! cursors, a page at a time (keyset paging) or as bounded-memory streams.

use futures::stream::{self, Stream};
use rusqlite::params;
use serde::Serialize;

use super::codec::{json, Ctx, EventColumns, EVENT_COLUMNS, EVENT_COLUMN_COUNT};
use super::SqliteState;
use crate::error::StateError;
use crate::event::StatusEvent;

/// One stored order, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    /// Position in insertion order; page with `after`.
    pub seq: i64,
    /// The channel.
    pub channel: String,
    /// The store.
    pub store_id: String,
    /// The store's name.
    pub store_name: String,
    /// The channel's id for the order.
    pub external_id: String,
    /// The order number.
    pub order_number: String,
    /// Its canonical status.
    pub status: String,
    /// When the channel last modified it.
    pub modified_at: String,
    /// When the engine first stored it.
    pub first_seen: String,
    /// When the engine last changed it.
    pub updated_at: String,
    /// The canonical order.
    pub order: serde_json::Value,
}

/// One status event from the outbox with each sink's verdict on it, as `orderport events`
/// lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventListing {
    /// The event.
    #[serde(flatten)]
    pub event: StatusEvent,
    /// Each sink's verdict on it, by sink name. A sink with no verdict here has the event
    /// pending.
    pub deliveries: Vec<EventDelivery>,
}

/// One sink's verdict on an event, as [`EventListing`] carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EventDelivery {
    /// The sink's name.
    pub sink: String,
    /// `delivered`, `skipped` or `refused`.
    pub state: String,
    /// For `skipped`: the reason code; for `refused`: what the destination said.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: String,
}

/// One quarantined order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineRow {
    /// Its row id; page with `after`.
    pub id: i64,
    /// The store.
    pub store_id: String,
    /// The external id, where it could be read.
    pub external_id: Option<String>,
    /// The order number, where it could be read.
    pub order_number: Option<String>,
    /// Every reason, as JSON.
    pub reasons: serde_json::Value,
    /// The window it was last fetched in.
    pub window_from: String,
    /// The window it was last fetched in.
    pub window_to: String,
    /// The configuration fingerprint it was judged under.
    pub fingerprint: String,
    /// First rejected.
    pub first_seen: String,
    /// Last rejected.
    pub last_seen: String,
}

/// One sink's verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    /// The outbox id.
    pub event_id: i64,
    /// The sink's name.
    pub sink: String,
    /// `delivered`, `skipped` or `refused`.
    pub state: String,
    /// For `skipped`: the reason code; for `refused`: what the destination said.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: String,
}

/// A store's cursor, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CursorRow {
    /// The store.
    pub store_id: String,
    /// Its watermark.
    pub watermark: Option<String>,
    /// When it last moved.
    pub updated_at: String,
}

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
                            modified_at, first_seen, updated_at, order_json
                     FROM orders WHERE seq > ?1 AND (?2 IS NULL OR store_id = ?2)
                     ORDER BY seq LIMIT ?3",
                )
                .ctx(&label, "list orders")?;
            let rows = stmt
                .query_map(params![after, store, limit as i64], |r| {
                    Ok(OrderRow {
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
                        order: json(&r.get::<_, String>(10)?),
                    })
                })
                .ctx(&label, "list orders")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx(&label, "list orders")
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
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.orders_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.seq);
                Ok((rows, last))
            }
        })
    }

    /// Every event (optionally of one store) in outbox order, `page` rows at a time.
    pub fn events(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<EventListing, StateError>> + '_ {
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.events_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.event.id);
                Ok((rows, last))
            }
        })
    }

    /// Every quarantined order (optionally of one store), `page` rows at a time.
    pub fn quarantine(
        &self,
        store: Option<String>,
        page: usize,
    ) -> impl Stream<Item = Result<QuarantineRow, StateError>> + '_ {
        paged(move |after| {
            let store = store.clone();
            async move {
                let rows = self.quarantine_page(store.as_deref(), after, page).await?;
                let last = rows.last().map(|r| r.id);
                Ok((rows, last))
            }
        })
    }
}

/// Turns a keyset-paged query into a stream of rows.
fn paged<'a, T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, StateError>> + 'a
where
    T: 'a,
    F: Fn(i64) -> Fut + 'a,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<i64>), StateError>> + 'a,
{
    let pages = stream::unfold(Some(0i64), move |after| {
        let next = after.map(&fetch);
        async move {
            match next?.await {
                Ok((rows, Some(last))) => Some((Ok(rows), Some(last))),
                Ok((_, None)) => None,
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    futures::StreamExt::flat_map(pages, |page| match page {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok).collect::<Vec<_>>()),
        Err(e) => stream::iter(vec![Err(e)]),
    })
}
