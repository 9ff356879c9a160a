//! The read model for the CLI and hosts ([`StateRead`]): stored orders, events with their
//! verdicts, quarantine, delivery verdicts and cursors, a page at a time (keyset paging) or as
//! bounded-memory streams. Every backend implements it; the rows are the same for all.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, Stream};
use serde::Serialize;

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

/// What the CLI and hosts read back from a state, a page at a time. Object safe.
#[async_trait]
pub trait StateRead: Send + Sync {
    /// A page of stored orders with `seq > after`, oldest first, optionally for one store.
    async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OrderRow>, StateError>;

    /// A page of events with `id > after`, in outbox order, optionally for one store, each
    /// with every sink's verdict (ordered by sink).
    async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventListing>, StateError>;

    /// A page of quarantined orders with `id > after`, optionally for one store.
    async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<QuarantineRow>, StateError>;

    /// Delivery verdicts for the events (optionally of one store) with `id > after`, for at
    /// most `limit` events, ordered by event id then sink. Page with the last row's `event_id`.
    async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StateError>;

    /// Every store's cursor.
    async fn cursors(&self) -> Result<Vec<CursorRow>, StateError>;

    /// Every stored order (optionally of one store) as a stream read `page` rows at a time, so
    /// memory stays bounded whatever the database holds.
    fn orders_stream(
        &self,
        store: Option<String>,
        page: usize,
    ) -> BoxStream<'_, Result<OrderRow, StateError>> {
        Box::pin(order_stream(self, store, page))
    }

    /// Every event (optionally of one store) in outbox order, `page` rows at a time.
    fn events_stream(
        &self,
        store: Option<String>,
        page: usize,
    ) -> BoxStream<'_, Result<EventListing, StateError>> {
        Box::pin(event_stream(self, store, page))
    }

    /// Every quarantined order (optionally of one store), `page` rows at a time.
    fn quarantine_stream(
        &self,
        store: Option<String>,
        page: usize,
    ) -> BoxStream<'_, Result<QuarantineRow, StateError>> {
        Box::pin(quarantine_stream(self, store, page))
    }
}

/// Every stored order of `state` (optionally of one store), `page` rows at a time.
pub(crate) fn order_stream<'a, S: StateRead + ?Sized>(
    state: &'a S,
    store: Option<String>,
    page: usize,
) -> impl Stream<Item = Result<OrderRow, StateError>> + Send + 'a {
    paged(move |after| {
        let store = store.clone();
        async move {
            let rows = state.orders_page(store.as_deref(), after, page).await?;
            let last = rows.last().map(|r| r.seq);
            Ok((rows, last))
        }
    })
}

/// Every event of `state` (optionally of one store), in outbox order, `page` rows at a time.
pub(crate) fn event_stream<'a, S: StateRead + ?Sized>(
    state: &'a S,
    store: Option<String>,
    page: usize,
) -> impl Stream<Item = Result<EventListing, StateError>> + Send + 'a {
    paged(move |after| {
        let store = store.clone();
        async move {
            let rows = state.events_page(store.as_deref(), after, page).await?;
            let last = rows.last().map(|r| r.event.id);
            Ok((rows, last))
        }
    })
}

/// Every quarantined order of `state` (optionally of one store), `page` rows at a time.
pub(crate) fn quarantine_stream<'a, S: StateRead + ?Sized>(
    state: &'a S,
    store: Option<String>,
    page: usize,
) -> impl Stream<Item = Result<QuarantineRow, StateError>> + Send + 'a {
    paged(move |after| {
        let store = store.clone();
        async move {
            let rows = state.quarantine_page(store.as_deref(), after, page).await?;
            let last = rows.last().map(|r| r.id);
            Ok((rows, last))
        }
    })
}

/// Turns a keyset-paged query into a stream of rows.
pub(crate) fn paged<'a, T, F, Fut>(
    fetch: F,
) -> impl Stream<Item = Result<T, StateError>> + Send + 'a
where
    T: Send + 'a,
    F: Fn(i64) -> Fut + Send + 'a,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<i64>), StateError>> + Send + 'a,
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
