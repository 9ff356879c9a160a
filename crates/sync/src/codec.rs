//! How values are encoded for storage and read back, the same for every backend: timestamps,
//! statuses, windows, quarantine keys, stored orders and shipments, and the message that
//! refuses a database written by a newer orderport.

use chrono::{DateTime, SecondsFormat, Utc};
use orderport_core::{
    CanonicalStatus, Order, OrderKey, Rejection, ShipmentKind, ShipmentUpdate, TimeWindow,
};

use crate::error::StateError;
use crate::platform::PlatformMark;
use crate::state::{LabelCoverage, ShipmentRecord};

/// How long walk records are kept: long enough for the next runs to check them.
pub(crate) const WALK_RETENTION_DAYS: i64 = 7;

/// Fixed-width RFC 3339 (nanoseconds, `Z`), so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads back a timestamp written by [`ts`].
pub(crate) fn parse_ts(store: &str, text: &str) -> Result<DateTime<Utc>, StateError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StateError::Corrupt {
            store: store.to_owned(),
            detail: format!("bad timestamp {text:?}: {e}"),
        })
}

/// Reads back a canonical status.
pub(crate) fn parse_status(store: &str, text: &str) -> Result<CanonicalStatus, StateError> {
    text.parse().map_err(|_| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("bad status {text:?}"),
    })
}

/// A stored window, checked.
pub(crate) fn window_between(
    store: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<TimeWindow, StateError> {
    TimeWindow::new(from, to).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: e.to_string(),
    })
}

/// Stored JSON text as a value (kept as a string when it is not JSON).
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()))
}

/// An order's key borrowed (channel, store, external id): a page's orders are matched with
/// its events without cloning a key per order.
pub(crate) type KeyRef<'a> = (&'a str, &'a str, &'a str);

/// `order`'s key, borrowed.
pub(crate) fn order_key(order: &Order) -> KeyRef<'_> {
    (&order.channel, &order.store_id, &order.external_id)
}

/// `key`, borrowed.
pub(crate) fn key_ref(key: &OrderKey) -> KeyRef<'_> {
    (&key.channel, &key.store_id, &key.external_id)
}

/// A rejected order's quarantine row as both backends store it: its key (its external id,
/// else its number, else a hash of its reasons) and its reasons (JSON).
pub(crate) fn quarantine_entry(
    store: &str,
    rejection: &Rejection,
) -> Result<(String, String), StateError> {
    let reasons = serde_json::to_string(&rejection.reasons).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: e.to_string(),
    })?;
    let key = match (&rejection.external_id, &rejection.order_number) {
        (Some(id), _) => format!("id:{id}"),
        (None, Some(n)) => format!("number:{n}"),
        (None, None) => {
            use sha2::{Digest, Sha256};
            format!(
                "reasons:{}",
                crate::settings::hex(&Sha256::digest(reasons.as_bytes()))
            )
        }
    };
    Ok((key, reasons))
}

/// A shipment's kind as stored: `label` for a label that ships the order (one for the whole
/// order, or the part that covers its last unit), `label_part` for a label of some items that
/// leaves units unlabelled, `marked_shipped` for a shipment only marked as shipped. Only
/// `label` makes [`crate::Known::label_shipment`] true.
pub(crate) fn shipment_kind(record: &ShipmentRecord<'_>) -> &'static str {
    match record.update.kind {
        ShipmentKind::MarkedShipped => "marked_shipped",
        ShipmentKind::Label => {
            let ships = match &record.coverage {
                Some(coverage) => coverage.completes,
                None => !record.update.is_partial(),
            };
            if ships {
                "label"
            } else {
                "label_part"
            }
        }
    }
}

/// The stored kinds [`crate::State::label_shipments`] returns.
pub(crate) const LABEL_KINDS: &str = "('label', 'label_part')";

/// A label that another label's count depends on: it must read back.
pub(crate) fn decode_label(store: &str, text: &str) -> Result<ShipmentUpdate, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("a recorded label shipment cannot be read: {e}"),
    })
}

/// Another label was recorded for the order since the engine counted.
pub(crate) fn label_conflict(store: &str, coverage: &LabelCoverage, now: usize) -> StateError {
    StateError::Conflict {
        store: store.to_owned(),
        detail: format!(
            "order {} has {now} labels recorded, not {} (another label was recorded meanwhile)",
            coverage.order_number, coverage.labels_before
        ),
    }
}

/// A shipment as stored (JSON).
pub(crate) fn shipment_json(store: &str, update: &ShipmentUpdate) -> Result<String, StateError> {
    serde_json::to_string(update).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: e.to_string(),
    })
}

/// A stored shipment, read back; one that does not read is ignored (it only decorates an
/// event).
pub(crate) fn decode_shipment(text: &str) -> Option<ShipmentUpdate> {
    serde_json::from_str(text).ok()
}

/// A stored order's JSON, read back; `Corrupt` when it is not a canonical order.
pub(crate) fn decode_order(store: &str, text: &str) -> Result<Order, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("a stored order cannot be read: {e}"),
    })
}

/// An event names an order that is not stored.
pub(crate) fn missing_order(store: &str, event_id: i64, external_id: &str) -> StateError {
    StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("event {event_id} names order {external_id}, which is not stored"),
    }
}

/// A page appends an event for an order neither stored nor in the page: the whole page is
/// refused.
pub(crate) fn unstored_event_order(store: &str, external_id: &str) -> StateError {
    StateError::Backend {
        store: store.to_owned(),
        operation: "append events",
        detail: format!(
            "an event names order {external_id}, which is neither stored nor in the page"
        ),
    }
}

/// The error for a database written by a newer orderport (`what`: which backend's schema).
pub(crate) fn newer_schema(what: &str, found: i64, known: i64) -> StateError {
    StateError::Corrupt {
        store: "*".into(),
        detail: format!(
            "{what} schema version {found} is not one this orderport knows ({known}); it was written by a newer orderport: use that one or a newer one"
        ),
    }
}

/// The error for a label whose order changed status before it was recorded.
/// A stored platform mark, read back from its text and the hold's end.
pub(crate) fn stored_mark(
    store: &str,
    text: Option<&str>,
    until: Option<DateTime<Utc>>,
) -> Result<Option<PlatformMark>, StateError> {
    match text {
        None => Ok(None),
        Some(text) => PlatformMark::from_stored(text, until)
            .map(Some)
            .ok_or_else(|| StateError::Corrupt {
                store: store.to_owned(),
                detail: format!("bad platform mark {text:?} (hold end {until:?})"),
            }),
    }
}

/// An order's stored status or platform mark changed since the engine read them (a label, a
/// platform action or another page in between): nothing was written.
pub(crate) fn changed_since_read(store: &str, external_id: &str, what: &str) -> StateError {
    StateError::Conflict {
        store: store.to_owned(),
        detail: format!(
            "order {external_id} changed while {what} was written (a label or a platform action in between)"
        ),
    }
}

/// The refusal of a page committed as [`PageCommit::assumes_blank`](crate::PageCommit) when
/// `what` (an order of the page, or a shipment) was stored since the run found the store blank.
pub(crate) fn no_longer_blank(store: &str, what: &str) -> StateError {
    StateError::Conflict {
        store: store.to_owned(),
        detail: format!(
            "{what} was stored since the run found the store blank, so the page's orders must be looked up"
        ),
    }
}

pub(crate) fn ship_conflict(store: &str, external_id: &str, expect: CanonicalStatus) -> StateError {
    StateError::Conflict {
        store: store.to_owned(),
        detail: format!(
            "order {external_id} is no longer {} (it changed while the shipment was recorded)",
            expect.as_str()
        ),
    }
}
