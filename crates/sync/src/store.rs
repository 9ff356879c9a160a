//! One state opened from one string: a SQLite file path, or a `postgres://` URL (with the
//! `postgres` feature). What the CLI's `--db` takes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use orderport_core::{Order, OrderRef, ShipmentUpdate};

use crate::error::StateError;
use crate::event::{DeliveryMark, OutboxEvent};
use crate::read::{CursorRow, DeliveryRow, EventListing, OrderRow, QuarantineRow, StateRead};
use crate::sqlite::SqliteState;
use crate::state::{
    Cursor, Known, Lease, LeaseGrant, MarkedOrder, OrderLookup, PageCommit, PlatformWrite, Refetch,
    ShipmentRecord, State, WalkRecord,
};

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with any password in it replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end + 3].to_owned();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    out.push_str(path);
    if tail.contains('?') {
        // A password may also be a query parameter.
        let query: Vec<String> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => part.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// `db` as it may be shown: a URL without its password, or the path.
pub fn shown_db(db: &str) -> String {
    if is_postgres_url(db) {
        redact_url(db)
    } else {
        db.to_owned()
    }
}

/// A state backend chosen at run time. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub enum StateStore {
    /// One SQLite file.
    Sqlite(SqliteState),
    /// A PostgreSQL database shared by several workers.
    #[cfg(feature = "postgres")]
    Postgres(crate::postgres::PostgresState),
}

impl StateStore {
    /// Opens `db` for reading and writing, creating or migrating its schema: a `postgres://`
    /// or `postgresql://` URL (password in the URL or `PGPASSWORD`), else a SQLite file path.
    pub async fn open(db: &str) -> Result<Self, StateError> {
        if is_postgres_url(db) {
            return Self::postgres(db, false).await;
        }
        Ok(Self::Sqlite(SqliteState::open(db)?))
    }

    /// Opens `db` for reading only: nothing is created or migrated (see
    /// [`SqliteState::open_read_only`] and, with the `postgres` feature,
    /// `PostgresState::connect_read_only`).
    pub async fn open_read_only(db: &str) -> Result<Self, StateError> {
        if is_postgres_url(db) {
            return Self::postgres(db, true).await;
        }
        Ok(Self::Sqlite(SqliteState::open_read_only(db)?))
    }

    #[cfg(feature = "postgres")]
    async fn postgres(url: &str, read_only: bool) -> Result<Self, StateError> {
        use crate::postgres::PostgresState;
        let state = if read_only {
            PostgresState::connect_read_only(url).await?
        } else {
            PostgresState::connect(url).await?
        };
        Ok(Self::Postgres(state))
    }

    #[cfg(not(feature = "postgres"))]
    async fn postgres(_url: &str, _read_only: bool) -> Result<Self, StateError> {
        Err(StateError::Backend {
            store: "*".into(),
            operation: "open the database",
            detail: "this build has no PostgreSQL support (orderport-sync's `postgres` feature)"
                .into(),
        })
    }

    /// The backend as a shareable [`State`].
    pub fn shared(&self) -> Arc<dyn State> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            #[cfg(feature = "postgres")]
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// Whether several workers may share it (PostgreSQL).
    pub fn is_shared_database(&self) -> bool {
        !matches!(self, Self::Sqlite(_))
    }
}

/// Calls the same method on whichever backend it is.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            StateStore::Sqlite($s) => $call,
            #[cfg(feature = "postgres")]
            StateStore::Postgres($s) => $call,
        }
    };
}

#[async_trait]
impl State for StateStore {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        each!(self, s => s.acquire_lease(store_id, owner, ttl, now).await)
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        each!(self, s => s.renew_lease(lease, ttl, now).await)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        each!(self, s => s.release_lease(lease).await)
    }

    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        each!(self, s => s.cursor(store_id).await)
    }

    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        each!(self, s => s.lookup(channel, store_id, orders).await)
    }

    async fn commit_page(&self, lease: &Lease, commit: PageCommit) -> Result<(), StateError> {
        each!(self, s => s.commit_page(lease, commit).await)
    }

    async fn is_blank(&self, store_id: &str) -> Result<bool, StateError> {
        each!(self, s => s.is_blank(store_id).await)
    }

    async fn quarantine_is_empty(&self, store_id: &str) -> Result<bool, StateError> {
        each!(self, s => s.quarantine_is_empty(store_id).await)
    }

    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        each!(self, s => s.refetches(store_id).await)
    }

    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        each!(self, s => s.walks(store_id, since).await)
    }

    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        each!(self, s => s.requeue_quarantine(lease, fingerprint).await)
    }

    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        each!(self, s => s.find_order(store_id, order).await)
    }

    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        each!(self, s => s.label_shipments(store_id, order).await)
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<MarkedOrder>, StateError> {
        each!(self, s => s.find_marked(store_id, order).await)
    }

    async fn record_platform(&self, write: PlatformWrite) -> Result<Option<i64>, StateError> {
        each!(self, s => s.record_platform(write).await)
    }

    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MarkedOrder>, StateError> {
        each!(self, s => s.lapsed_holds(store_id, now).await)
    }

    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        each!(self, s => s.record_shipment(shipment).await)
    }

    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        each!(self, s => s.pending_events(sink, store, after, limit).await)
    }

    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        each!(self, s => s.record_deliveries(sink, marks).await)
    }
}

#[async_trait]
impl StateRead for StateStore {
    async fn orders_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OrderRow>, StateError> {
        each!(self, s => StateRead::orders_page(s, store, after, limit).await)
    }

    async fn events_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventListing>, StateError> {
        each!(self, s => StateRead::events_page(s, store, after, limit).await)
    }

    async fn quarantine_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<QuarantineRow>, StateError> {
        each!(self, s => StateRead::quarantine_page(s, store, after, limit).await)
    }

    async fn deliveries_page(
        &self,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StateError> {
        each!(self, s => StateRead::deliveries_page(s, store, after, limit).await)
    }

    async fn cursors(&self) -> Result<Vec<CursorRow>, StateError> {
        each!(self, s => StateRead::cursors(s).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url("orderport.db"));
        assert!(!is_postgres_url("./postgres/orderport.db"));
        assert!(!is_postgres_url("postgres"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db.example:5433/orders"),
            "postgres://bob:***@db.example:5433/orders"
        );
        assert_eq!(
            redact_url("postgresql://bob@db/orders?password=s3cret&sslmode=disable"),
            "postgresql://bob@db/orders?password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgres://db/orders"), "postgres://db/orders");
        assert_eq!(shown_db("postgres://a:b@h/d"), "postgres://a:***@h/d");
        assert_eq!(shown_db("state:b@x.db"), "state:b@x.db");
    }

    /// A method the trait gives a default for is forwarded too: without `is_blank`, the CLI's
    /// first syncs would look every page up.
    #[tokio::test]
    async fn is_blank_is_forwarded_to_the_backend() {
        #![allow(clippy::unwrap_used)]
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = StateStore::open(path.to_str().unwrap()).await.unwrap();
        assert!(store.is_blank("new-store").await.unwrap());
    }
}
