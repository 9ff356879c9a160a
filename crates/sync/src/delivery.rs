//! Delivering the outbox to event sinks (Klaviyo, a webhook, …).
//!
//! The outbox (`events`) is append-only; what each sink did with each event is a row of
//! `deliveries(event_id, sink, state, reason, at)`, unique on `(event_id, sink)`:
//!
//! - `delivered`: the sink accepted it (Klaviyo: `202`);
//! - `skipped` with a reason code (`not_a_label`, `unattributable`, …): the sink must not or
//!   cannot send it, a retry would not help; counted and reported, never silent;
//! - no row: **pending**. Events a sink failed to deliver stay pending and go out on the next
//!   call, after a restart too.
//!
//! [`deliver_pending`] reads each sink's pending events in outbox order, a page at a time
//! (bounded memory), hands each page to the sink and records its verdicts in one transaction.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use orderport_core::ShipmentKind;
use serde::Serialize;

use crate::error::StateError;
use crate::state::{State, StatusEvent};

/// The shipment recorded for an event's order, attached to events to `shipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipmentNote {
    /// The carrier, such as `UPS`.
    pub carrier: String,
    /// The carrier's service.
    pub service: Option<String>,
    /// The tracking number.
    pub tracking_number: String,
    /// Label or only marked shipped.
    pub kind: ShipmentKind,
}

/// One outbox event handed to a sink.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// The outbox id (`events.id`): the sink reports verdicts by it.
    pub id: i64,
    /// The status change.
    pub event: StatusEvent,
    /// True for events written during the store's first sync (its history backfill).
    pub backfill: bool,
    /// For events to `shipped`: the latest shipment recorded for the order, label first.
    pub shipment: Option<ShipmentNote>,
}

/// Why a sink skipped an event: a stable code for counting and a human detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The outbox id.
    pub id: i64,
    /// A short stable code, such as `not_a_label` or `unattributable`.
    pub code: String,
    /// What it means for this event.
    pub detail: String,
}

/// A sink's verdict on a batch. Every input id should be in exactly one list; an id the sink
/// does not mention is treated as failed (it stays pending).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SinkReport {
    /// Accepted by the destination.
    pub delivered: Vec<i64>,
    /// Not sent, for good.
    pub skipped: Vec<Skip>,
    /// Failed this time; stays pending.
    pub failed: Vec<(i64, String)>,
}

/// A destination for the engine's status events. Object safe.
///
/// `deliver` must never fail as a whole: a failure is reported per event. It must be safe to
/// hand the same event again after a crash between delivery and recording (Klaviyo: the
/// deterministic `unique_id`), since recording happens after `deliver` returns.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// A stable name: deliveries are recorded under it, so renaming a sink re-sends everything.
    fn name(&self) -> &str;

    /// Delivers a batch of events (outbox order) and reports each one's fate.
    async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport;
}

/// How a sink's verdict on one event is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryMark {
    /// Delivered.
    Delivered(i64),
    /// Skipped, with its reason code.
    Skipped {
        /// The outbox id.
        id: i64,
        /// The reason code.
        reason: String,
    },
}

/// What one sink did in one [`deliver_pending`] call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryOutcome {
    /// The sink's name.
    pub sink: String,
    /// Events delivered.
    pub delivered: u64,
    /// Events skipped, by reason code.
    pub skipped: BTreeMap<String, u64>,
    /// Events that failed and stay pending.
    pub failed: u64,
    /// The first few failures (id, message), for the operator.
    pub failures: Vec<(i64, String)>,
    /// Set when no event of a page was delivered and some failed (the destination is down, the
    /// key is refused): the sink's
    /// later pending events were not tried this time and stay pending, so an outage costs one
    /// page of requests, not one per page of the outbox.
    pub halted: bool,
    /// Set when the state could not be read or written; the sink's remaining events stay
    /// pending.
    pub error: Option<String>,
}

impl DeliveryOutcome {
    /// Events skipped, all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// The largest page handed to a sink when the caller passes 0.
pub const DEFAULT_BATCH: usize = 500;

/// How many failure messages a [`DeliveryOutcome`] keeps.
const KEPT_FAILURES: usize = 5;

/// Delivers every sink's pending events (optionally of one store) in outbox order, `batch` at
/// a time, recording delivered and skipped events atomically per page. Failed events stay
/// pending for the next call. A page that fails whole stops that sink's pass
/// ([`DeliveryOutcome::halted`]). Never fails as a whole: a state error ends that sink's pass and
/// is reported in its outcome.
pub async fn deliver_pending(
    state: &dyn State,
    sinks: &[&dyn EventSink],
    store: Option<&str>,
    batch: usize,
) -> Vec<DeliveryOutcome> {
    let batch = if batch == 0 { DEFAULT_BATCH } else { batch };
    let mut outcomes = Vec::with_capacity(sinks.len());
    for sink in sinks {
        let mut outcome = DeliveryOutcome {
            sink: sink.name().to_owned(),
            ..DeliveryOutcome::default()
        };
        if let Err(e) = deliver_one(state, *sink, store, batch, &mut outcome).await {
            tracing::warn!(sink = sink.name(), error = %e, "delivery stopped; pending events stay in the outbox");
            outcome.error = Some(e.to_string());
        }
        outcomes.push(outcome);
    }
    outcomes
}

async fn deliver_one(
    state: &dyn State,
    sink: &dyn EventSink,
    store: Option<&str>,
    batch: usize,
    outcome: &mut DeliveryOutcome,
) -> Result<(), StateError> {
    let name = sink.name();
    let mut after = 0i64;
    loop {
        let page = state.pending_events(name, store, after, batch).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            return Ok(());
        };
        after = last;
        let asked: HashSet<i64> = page.iter().map(|e| e.id).collect();
        let report = sink.deliver(&page).await;
        let mut answered: HashSet<i64> = HashSet::new();
        let mut marks = Vec::new();
        for id in report.delivered {
            if asked.contains(&id) && answered.insert(id) {
                marks.push(DeliveryMark::Delivered(id));
                outcome.delivered += 1;
            }
        }
        for skip in report.skipped {
            if asked.contains(&skip.id) && answered.insert(skip.id) {
                *outcome.skipped.entry(skip.code.clone()).or_insert(0) += 1;
                marks.push(DeliveryMark::Skipped {
                    id: skip.id,
                    reason: skip.code,
                });
            }
        }
        let mut failed: Vec<(i64, String)> = report
            .failed
            .into_iter()
            .filter(|(id, _)| asked.contains(id) && answered.insert(*id))
            .collect();
        for e in &page {
            if answered.insert(e.id) {
                failed.push((e.id, "the sink did not report this event".into()));
            }
        }
        outcome.failed += failed.len() as u64;
        // Nothing of the page reached the destination (skips are the sink's own decisions).
        let whole_page_failed = !failed.is_empty()
            && !marks
                .iter()
                .any(|m| matches!(m, DeliveryMark::Delivered(_)));
        for f in failed {
            if outcome.failures.len() < KEPT_FAILURES {
                outcome.failures.push(f);
            }
        }
        state.record_deliveries(name, &marks).await?;
        if whole_page_failed {
            tracing::warn!(
                sink = name,
                "a whole page failed; the rest stays pending for the next run"
            );
            outcome.halted = true;
            return Ok(());
        }
    }
}
