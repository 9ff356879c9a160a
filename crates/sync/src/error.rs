//! Typed errors. Every variant names the store it concerns.

use chrono::{DateTime, Utc};
use orderport_core::ChannelError;

use crate::platform::PlatformRefusal;

/// Why a state backend call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The backend failed (I/O, SQL, a full disk).
    #[error("store {store}: state backend failed to {operation}: {detail}")]
    Backend {
        /// The store concerned, or `*` for calls that concern every store.
        store: String,
        /// What was being done.
        operation: &'static str,
        /// What the backend said.
        detail: String,
    },
    /// Another worker took the store's lease over; this worker must stop writing.
    #[error(
        "store {store}: the sync lease was lost to another worker; this run stops without writing"
    )]
    LeaseLost {
        /// The store concerned.
        store: String,
    },
    /// A write that depended on what the engine had read found the data changed since (another
    /// worker got there first); nothing was written, and the caller decides again.
    #[error("store {store}: {detail}; nothing was written, try again")]
    Conflict {
        /// The store concerned.
        store: String,
        /// What changed.
        detail: String,
    },
    /// Stored data cannot be read back (a hand-edited database, a newer schema).
    #[error("store {store}: stored state is unreadable: {detail}; restore the database or resync into a new one")]
    Corrupt {
        /// The store concerned.
        store: String,
        /// What is wrong.
        detail: String,
    },
}

/// Why a sync run, or its setup, failed. Work committed before the failure stays committed and
/// the next run resumes from the last fully committed slice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A sync setting is malformed or unsafe.
    #[error("store {store}: sync setting {setting}: {detail}")]
    Config {
        /// The store concerned.
        store: String,
        /// The setting at fault, such as `sync_overlap`.
        setting: String,
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// Another worker holds the store's lease.
    #[error("store {store}: another worker ({owner}) is syncing this store until {until}; try again later")]
    Busy {
        /// The store concerned.
        store: String,
        /// The worker holding the lease.
        owner: String,
        /// When its lease expires unless renewed.
        until: DateTime<Utc>,
    },
    /// The channel failed for good (after retries) while fetching a window.
    #[error("store {store}: fetching orders modified {from} .. {to} failed: {source}; the slice will be retried on the next run")]
    Channel {
        /// The store concerned.
        store: String,
        /// The window's start.
        from: DateTime<Utc>,
        /// The window's end.
        to: DateTime<Utc>,
        /// The channel's error (boxed: it is large).
        #[source]
        source: Box<ChannelError>,
    },
    /// The state backend failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A label does not fit the stored order: it lists an item the order does not have, or
    /// more units than remain without a label. Nothing was recorded.
    #[error("store {store}: {source}")]
    Label {
        /// The store concerned.
        store: String,
        /// What does not fit.
        #[source]
        source: orderport_core::FulfilmentError,
    },
    /// An order could not be serialized to its canonical JSON.
    #[error("store {store}: order {external_id} cannot be serialized: {detail}")]
    Serialize {
        /// The store concerned.
        store: String,
        /// The order's external id.
        external_id: String,
        /// What serde said.
        detail: String,
    },
}

/// A platform action named an order the state does not have, or one its status does not allow.
/// (Kept apart from [`SyncError`]'s run failures: it is the caller's input.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// No stored order has that number (or id).
    #[error("store {store}: no stored order {order}; check the store and the number, or run `orderport sync` first so the order is imported")]
    NotFound {
        /// The store concerned.
        store: String,
        /// The order as named (its number, or its id).
        order: String,
    },
    /// The order's status does not allow the action.
    #[error("store {store}: order {order}: {refusal}")]
    Refused {
        /// The store concerned.
        store: String,
        /// The order's number.
        order: String,
        /// Why (in the message, so not also a source).
        refusal: PlatformRefusal,
    },
    /// The state backend failed.
    #[error(transparent)]
    State(#[from] StateError),
}

impl SyncError {
    /// The store the error concerns.
    pub fn store(&self) -> &str {
        match self {
            Self::Config { store, .. }
            | Self::Busy { store, .. }
            | Self::Channel { store, .. }
            | Self::Label { store, .. }
            | Self::Serialize { store, .. } => store,
            Self::State(
                StateError::Backend { store, .. }
                | StateError::LeaseLost { store }
                | StateError::Conflict { store, .. }
                | StateError::Corrupt { store, .. },
            ) => store,
        }
    }
}
