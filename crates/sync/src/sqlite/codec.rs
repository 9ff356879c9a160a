//! How values are read from SQLite text columns, and how SQLite errors become
//! [`StateError`]s. The encodings themselves are the backends' shared ones
//! ([`crate::codec`]).

use orderport_core::{OrderKey, TimeWindow};

use crate::codec::{parse_status, parse_ts, window_between};
use crate::error::StateError;
use crate::event::StatusEvent;

pub(super) fn window(store: &str, from: &str, to: &str) -> Result<TimeWindow, StateError> {
    window_between(store, parse_ts(store, from)?, parse_ts(store, to)?)
}

pub(super) trait Ctx<T> {
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError> {
        self.map_err(|e| StateError::Backend {
            store: store.to_owned(),
            operation,
            detail: e.to_string(),
        })
    }
}
/// The columns of an event, as every query reading events selects them (from `events e`).
pub(super) const EVENT_COLUMNS: &str = "e.id, e.channel, e.store_id, e.store_name, e.external_id,
    e.order_number, e.from_status, e.to_status, e.raw_status, e.at, e.label, e.backfill,
    e.recorded_at";

/// How many columns [`EVENT_COLUMNS`] selects.
pub(super) const EVENT_COLUMN_COUNT: usize = 13;

/// An event's columns as read, before they are checked.
pub(super) struct EventColumns {
    id: i64,
    channel: String,
    store_id: String,
    store_name: String,
    external_id: String,
    order_number: String,
    from: Option<String>,
    to: String,
    raw_status: String,
    at: String,
    label: i64,
    backfill: i64,
    recorded_at: String,
}

impl EventColumns {
    /// Reads [`EVENT_COLUMNS`] from the start of a row.
    pub(super) fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            channel: r.get(1)?,
            store_id: r.get(2)?,
            store_name: r.get(3)?,
            external_id: r.get(4)?,
            order_number: r.get(5)?,
            from: r.get(6)?,
            to: r.get(7)?,
            raw_status: r.get(8)?,
            at: r.get(9)?,
            label: r.get(10)?,
            backfill: r.get(11)?,
            recorded_at: r.get(12)?,
        })
    }

    /// The typed event; a column that does not read back is `Corrupt`.
    pub(super) fn event(self) -> Result<StatusEvent, StateError> {
        let store = self.store_id.as_str();
        Ok(StatusEvent {
            id: self.id,
            from: self.from.map(|f| parse_status(store, &f)).transpose()?,
            to: parse_status(store, &self.to)?,
            at: parse_ts(store, &self.at)?,
            recorded_at: parse_ts(store, &self.recorded_at)?,
            raw_status: self.raw_status,
            label: self.label != 0,
            backfill: self.backfill != 0,
            order_number: self.order_number,
            store_name: self.store_name,
            key: OrderKey {
                channel: self.channel,
                store_id: self.store_id,
                external_id: self.external_id,
            },
        })
    }
}
