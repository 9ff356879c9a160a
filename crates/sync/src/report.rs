//! What one run of one store did.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The counts of one run of one store. Serializable for logs and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// The store.
    pub store_id: String,
    /// The store's name.
    pub store_name: String,
    /// When the run started (engine clock).
    pub started_at: Option<DateTime<Utc>>,
    /// The fixed upper bound of the run, `now - lag`.
    pub upper: Option<DateTime<Utc>>,
    /// The watermark before the run.
    pub watermark_before: Option<DateTime<Utc>>,
    /// The watermark after the run.
    pub watermark_after: Option<DateTime<Utc>>,
    /// Orders received, accepted or rejected, duplicates across pages included.
    pub fetched: u64,
    /// Orders stored for the first time.
    pub new: u64,
    /// Stored orders whose content changed.
    pub updated: u64,
    /// Orders received again with no change (same canonical JSON).
    pub unchanged: u64,
    /// Re-exports older than what is stored, ignored so that nothing rolls back.
    pub stale: u64,
    /// Orders rejected and quarantined.
    pub rejected: u64,
    /// Status events written.
    pub events: u64,
    /// Pages fetched and committed.
    pub pages: u64,
    /// Slices of the run's range completed.
    pub slices: u64,
    /// Re-fetch slices completed (configuration change, shifted walks).
    pub refetch_slices: u64,
    /// Re-fetch windows queued by this run.
    pub refetch_queued: u64,
    /// Quarantined orders queued for re-evaluation because the configuration changed.
    pub requeued: u64,
    /// Platform holds that lapsed and ended at the start of the run
    /// ([`crate::SyncEngine::expire_holds`]).
    pub holds_expired: u64,
    /// True when a cancellation stopped the run after a committed page.
    pub cancelled: bool,
    /// Wall time of the run, milliseconds.
    pub duration_ms: u64,
}
