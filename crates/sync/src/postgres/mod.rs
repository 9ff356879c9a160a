//! The PostgreSQL state, for several workers sharing one database: every call is one
//! statement or one transaction on a pooled connection (tokio-postgres with deadpool).
//!
//! - Leases are rows of `leases` with an expiry and a fencing token; every page commit locks
//!   the store's lease row (`SELECT … FOR UPDATE`) and checks the token before it writes.
//! - Each order's content is stored once (`orders.order_packed`: its JSON compressed with zstd
//!   and a preset dictionary, about a fifth of its size);
//!   events refer to their order by its `seq`.
//! - Times are stored as `bigint` nanoseconds since 1970 (UTC), exactly as the engine gives
//!   them (PostgreSQL's own timestamps keep microseconds). Times past 2262 are stored as 2262.
//! - The schema is versioned in `orderport_migrations`; migrations run once, under an
//!   advisory lock, when a worker connects; a database of a newer version is refused.
//! - Page commits that wait together are committed together (`commit_queue`): one
//!   transaction for a group of pages of distinct stores, each statement taking every page's
//!   rows (`page_commit`), each page checked against its own lease; a group that fails is
//!   committed again page by page, so each page fails only for its own reason.
//! - A group's commit is one round trip: `BEGIN`, its prepared statements and `COMMIT` as one
//!   pipeline, its checks made by the server (`pipeline`); the connections' I/O and the group
//!   commits run on a thread of the state's own; the state analyzes the tables it grows, so
//!   plans keep up with a first sync (`statistics`).
//!
//! Connections use no TLS: use a local server, a private network or an SSH tunnel.

mod backend;
mod codec;
mod commit_queue;
mod io_thread;
mod page_commit;
mod pipeline;
mod platform;
mod read;
mod schema;
mod statistics;
mod write;

#[cfg(all(test, feature = "state-suite"))]
mod query_plans;

use std::str::FromStr;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use secrecy::{ExposeSecret, SecretString};

pub use schema::SCHEMA_VERSION;

use crate::error::StateError;
pub use crate::store::redact_url;

/// Connections a [`PostgresState`] keeps open at most, unless told otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The PostgreSQL state store. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PostgresState {
    pool: Pool,
    /// The database as it may be shown: `postgres://user@host:port/db`, never a password.
    target: String,
    /// The orders this state wrote, for `ANALYZE` as the tables grow ([`statistics`]).
    growth: Arc<statistics::Growth>,
    /// The `ANALYZE`s running in tasks of their own ([`statistics`]).
    analyses: Arc<statistics::Analyses>,
    /// The pages waiting to be committed, in groups ([`commit_queue`]).
    commits: Arc<commit_queue::CommitQueue>,
    /// The thread the connections and the group commits run on ([`io_thread`]).
    io: Arc<io_thread::IoThread>,
}

impl std::fmt::Debug for PostgresState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresState")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for PostgresState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.target)
    }
}

/// A parsed connection URL: the driver's configuration and how it may be shown.
struct Target {
    config: tokio_postgres::Config,
    shown: String,
}

impl Target {
    /// Parses `url`; the password comes from the URL, else from `PGPASSWORD`. Errors never
    /// repeat the URL (it may hold the password).
    fn parse(url: &str) -> Result<Self, StateError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| StateError::Backend {
                store: "*".into(),
                operation: "read the PostgreSQL URL",
                detail: format!("{}: {e}", redact_url(url)),
            })?;
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                let password = SecretString::from(password);
                config.password(password.expose_secret());
            }
        }
        let shown = shown(&config);
        Ok(Self { config, shown })
    }
}

/// `postgres://user@host:port/db`, from a configuration: never its password.
fn shown(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("postgres://{user}{at}{}/{db}", hosts.join(","))
}

impl PostgresState {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/db`; the
    /// password may come from `PGPASSWORD` instead) with a pool of [`DEFAULT_POOL_SIZE`]
    /// connections, creates or migrates the schema (once, whichever worker comes first) and
    /// refuses a database of a newer schema version.
    pub async fn connect(url: &str) -> Result<Self, StateError> {
        Self::connect_with(url, DEFAULT_POOL_SIZE).await
    }

    /// [`PostgresState::connect`] with at most `pool_size` connections.
    pub async fn connect_with(url: &str, pool_size: usize) -> Result<Self, StateError> {
        let state = Self::pool(url, pool_size)?;
        schema::migrate(&state).await?;
        Ok(state)
    }

    /// Connects for reading only: nothing is created or migrated. A database without the
    /// schema, or of another version than this release writes, is refused.
    pub async fn connect_read_only(url: &str) -> Result<Self, StateError> {
        let state = Self::pool(url, 2)?;
        schema::check_current(&state).await?;
        Ok(state)
    }

    fn pool(url: &str, size: usize) -> Result<Self, StateError> {
        let target = Target::parse(url)?;
        let io = Arc::new(io_thread::IoThread::start()?);
        let manager = Manager::from_connect(
            target.config,
            io_thread::Connector {
                io: Arc::clone(&io),
            },
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size.max(2))
            .build()
            .map_err(|e| StateError::Backend {
                store: "*".into(),
                operation: "build the connection pool",
                detail: e.to_string(),
            })?;
        Ok(Self {
            pool,
            target: target.shown,
            growth: Arc::new(statistics::Growth::new(statistics::FIRST_ANALYZE_AFTER)),
            analyses: Arc::default(),
            commits: Arc::new(commit_queue::CommitQueue::new(
                commit_queue::GROUPS_IN_FLIGHT,
            )),
            io,
        })
    }

    /// A pooled connection.
    async fn client(&self, store: &str) -> Result<deadpool_postgres::Object, StateError> {
        self.pool.get().await.map_err(|e| StateError::Backend {
            store: store.to_owned(),
            operation: "connect to PostgreSQL",
            detail: format!("{}: {e}", self.target),
        })
    }

    /// The database as it may be shown (no password).
    pub fn target(&self) -> &str {
        &self.target
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_shown_target_has_no_password() {
        let target = Target::parse("postgres://bob:s3cret@db.example:5433/orders").unwrap();
        assert_eq!(target.shown, "postgres://bob@db.example:5433/orders");
        let bad = Target::parse("postgres://bob:s3cret@db.example:notaport/orders")
            .err()
            .unwrap();
        assert!(!bad.to_string().contains("s3cret"), "{bad}");
        assert!(!format!("{bad:?}").contains("s3cret"), "{bad:?}");
    }
}
