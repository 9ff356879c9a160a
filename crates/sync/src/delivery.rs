//! Delivering the outbox to event sinks (Klaviyo, a webhook, …).
//!
//! The outbox (`events`) is append-only; what each sink did with each event is a row of
//! `deliveries(event_id, sink, state, reason, at)`, unique on `(event_id, sink)`:
//!
//! - `delivered`: the sink accepted it (Klaviyo: `202`);
//! - `skipped` with a reason code (`not_a_label`, `unattributable`, …): the sink must not or
//!   cannot send it, a retry would not help; counted and reported, never silent;
//! - `refused` with the destination's reason: the destination refused this event for good
//!   (Klaviyo: a `400` to the event sent alone); never sent again, shown by `orderport events`;
//! - no row: **pending**. Events a sink failed to deliver stay pending and go out on the next
//!   call, after a restart too.
//!
//! [`deliver_pending`] reads each sink's pending events in outbox order, a page at a time
//! (bounded memory), hands each page to the sink and records its verdicts in one transaction.
//! [`deliver_pending_until`] does the same and stops when a [`CancellationToken`] fires.

use std::collections::{BTreeMap, HashSet};
use tracing::Instrument;

use async_trait::async_trait;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::StateError;
pub use crate::event::{DeliveryMark, OutboxEvent};
use crate::state::State;

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
    /// Not sent, for good: the sink's own decision.
    pub skipped: Vec<Skip>,
    /// Refused for good by the destination, with its reason: the event itself is at fault (a
    /// `400` to the event sent alone), so sending it again would fail the same way. Recorded as
    /// `refused`, never sent again. Not for a refused key or an outage: those are `failed`.
    pub refused: Vec<(i64, String)>,
    /// Failed this time (an outage, a refused key, a timeout); stays pending.
    pub failed: Vec<(i64, String)>,
}

/// A destination for the engine's status events. Object safe.
///
/// `deliver` must never fail as a whole: a failure is reported per event. It must be safe to
/// hand the same event again after a crash between delivery and recording (Klaviyo: the
/// deterministic `unique_id`), since recording happens after `deliver` returns. For the same
/// reason `deliver` may be dropped part-way (a shutdown, see [`deliver_pending_until`]): the
/// page's events stay pending and are handed again later.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// A stable name: deliveries are recorded under it, so renaming a sink re-sends everything.
    fn name(&self) -> &str;

    /// Delivers a batch of events (outbox order) and reports each one's fate.
    async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport;
}

/// What one sink did in one [`deliver_pending`] call. `delivered`, `skipped` and `refused`
/// count only verdicts that were stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryOutcome {
    /// The sink's name.
    pub sink: String,
    /// Events delivered.
    pub delivered: u64,
    /// Events skipped, by reason code.
    pub skipped: BTreeMap<String, u64>,
    /// Events the destination refused for good (stored as `refused`, never sent again).
    pub refused: u64,
    /// The first few refusals (id, reason), for the operator.
    pub refusals: Vec<(i64, String)>,
    /// Events that failed and stay pending.
    pub failed: u64,
    /// The first few failures (id, message), for the operator.
    pub failures: Vec<(i64, String)>,
    /// Events the sink handled whose verdicts could not be stored (see `error`): they stay
    /// pending and are handed to the sink again on the next call.
    pub unrecorded: u64,
    /// Set when no event of a page was delivered and some failed (the destination is down, the
    /// key is refused): the sink's later pending events were not tried this time and stay
    /// pending, so an outage costs one page of requests, not one per page of the outbox.
    /// Refused events do not halt a pass: they are recorded and the pass goes on past them.
    pub halted: bool,
    /// Set when the cancellation token of [`deliver_pending_until`] fired while the sink still
    /// had pending events: the page in hand was abandoned, and it and every later event stay
    /// pending.
    pub cancelled: bool,
    /// Set when the state could not be read or written; the sink's remaining events stay
    /// pending.
    pub error: Option<String>,
    /// Set by [`crate::SyncEngine::deliver_claimed`] when another worker (named here) holds
    /// the sink's delivery lease: this pass left the sink's events to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<String>,
}

impl DeliveryOutcome {
    /// Events skipped, all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Whether the pass went through every pending event and stored a verdict for each one it
    /// was given, except events that failed (counted in `failed`).
    pub fn finished(&self) -> bool {
        !self.cancelled && !self.halted && self.error.is_none() && self.unrecorded == 0
    }
}

/// The largest page handed to a sink when the caller passes 0.
pub const DEFAULT_BATCH: usize = 500;

/// How many characters of a refusal's reason are stored.
pub const MAX_REASON_CHARS: usize = 500;

/// How many failure and refusal messages a [`DeliveryOutcome`] keeps.
const KEPT_FAILURES: usize = 5;

/// Delivers every sink's pending events (optionally of one store) in outbox order, `batch` at
/// a time, recording delivered, skipped and refused events atomically per page. Failed events
/// stay pending for the next call. A page of which nothing was delivered and some events
/// failed stops that sink's pass ([`DeliveryOutcome::halted`]). Never fails as a whole: a state
/// error ends that sink's pass and is reported in its outcome.
pub async fn deliver_pending(
    state: &dyn State,
    sinks: &[&dyn EventSink],
    store: Option<&str>,
    batch: usize,
) -> Vec<DeliveryOutcome> {
    deliver_pending_until(state, sinks, store, batch, &CancellationToken::new()).await
}

/// [`deliver_pending`] that stops when `cancel` fires: the sink's `deliver` in progress is
/// dropped (its requests and retry waits abandoned), nothing of that page is recorded, and the
/// page and every later event stay pending ([`DeliveryOutcome::cancelled`]). Recording a page's
/// verdicts is never interrupted. A host shutting down fires `cancel` after a short grace
/// period, so a final pass can finish what is quick without holding the process.
pub async fn deliver_pending_until(
    state: &dyn State,
    sinks: &[&dyn EventSink],
    store: Option<&str>,
    batch: usize,
    cancel: &CancellationToken,
) -> Vec<DeliveryOutcome> {
    let batch = if batch == 0 { DEFAULT_BATCH } else { batch };
    let mut outcomes = Vec::with_capacity(sinks.len());
    for sink in sinks {
        let mut outcome = DeliveryOutcome {
            sink: sink.name().to_owned(),
            ..DeliveryOutcome::default()
        };
        let span = tracing::info_span!("sync.delivery", sink = sink.name());
        let delivered = deliver_one(state, *sink, store, batch, cancel, &mut outcome)
            .instrument(span)
            .await;
        crate::telemetry::record_delivery(&outcome);
        if let Err(e) = delivered {
            let error = if outcome.unrecorded > 0 {
                format!(
                    "{e}; the verdicts of {} event(s) were not stored, so they stay pending and go to the sink again",
                    outcome.unrecorded
                )
            } else {
                format!("{e}; the sink's pending events stay in the outbox")
            };
            tracing::warn!(sink = sink.name(), %error, "delivery stopped");
            outcome.error = Some(error);
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// Keeps the first [`MAX_REASON_CHARS`] characters of a reason.
fn bounded(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((end, _)) => format!("{}…", &reason[..end]),
        None => reason.to_owned(),
    }
}

/// One page's verdicts, counted before they are stored.
#[derive(Default)]
struct PageVerdicts {
    marks: Vec<DeliveryMark>,
    delivered: u64,
    skipped: BTreeMap<String, u64>,
    refusals: Vec<(i64, String)>,
    failed: Vec<(i64, String)>,
}

/// Sorts a sink's report on a page: ids not asked for and repeats are ignored, ids not
/// mentioned are failed.
fn verdicts(page: &[OutboxEvent], report: SinkReport) -> PageVerdicts {
    let asked: HashSet<i64> = page.iter().map(OutboxEvent::id).collect();
    let mut answered: HashSet<i64> = HashSet::new();
    let mut v = PageVerdicts::default();
    for id in report.delivered {
        if asked.contains(&id) && answered.insert(id) {
            v.marks.push(DeliveryMark::Delivered(id));
            v.delivered += 1;
        }
    }
    for skip in report.skipped {
        if asked.contains(&skip.id) && answered.insert(skip.id) {
            *v.skipped.entry(skip.code.clone()).or_insert(0) += 1;
            v.marks.push(DeliveryMark::Skipped {
                id: skip.id,
                reason: skip.code,
            });
        }
    }
    for (id, reason) in report.refused {
        if asked.contains(&id) && answered.insert(id) {
            let reason = bounded(&reason);
            v.marks.push(DeliveryMark::Refused {
                id,
                reason: reason.clone(),
            });
            v.refusals.push((id, reason));
        }
    }
    v.failed = report
        .failed
        .into_iter()
        .filter(|(id, _)| asked.contains(id) && answered.insert(*id))
        .collect();
    for e in page {
        if answered.insert(e.id()) {
            v.failed
                .push((e.id(), "the sink did not report this event".into()));
        }
    }
    v
}

async fn deliver_one(
    state: &dyn State,
    sink: &dyn EventSink,
    store: Option<&str>,
    batch: usize,
    cancel: &CancellationToken,
    outcome: &mut DeliveryOutcome,
) -> Result<(), StateError> {
    let name = sink.name();
    let mut after = 0i64;
    loop {
        let page = state.pending_events(name, store, after, batch).await?;
        let Some(last) = page.last().map(OutboxEvent::id) else {
            return Ok(());
        };
        if cancel.is_cancelled() {
            // Only a pass that leaves events pending is cut short.
            outcome.cancelled = true;
            return Ok(());
        }
        after = last;
        let report = tokio::select! {
            report = sink.deliver(&page) => report,
            () = cancel.cancelled() => {
                tracing::info!(sink = name, events = page.len(), "delivery cancelled; the page in hand stays pending");
                outcome.cancelled = true;
                return Ok(());
            }
        };
        let v = verdicts(&page, report);
        outcome.failed += v.failed.len() as u64;
        for f in &v.failed {
            if outcome.failures.len() < KEPT_FAILURES {
                outcome.failures.push(f.clone());
            }
        }
        // Nothing of the page reached the destination and some of it failed: it is down or
        // refuses the key. Refused events are the destination's answer about those events
        // alone, so they neither halt the pass nor count as delivered.
        let halt = !v.failed.is_empty() && v.delivered == 0;
        if let Err(e) = state.record_deliveries(name, &v.marks).await {
            // Nothing of this page is counted as delivered: its verdicts are not stored, so its
            // events stay pending and go to the sink again (sinks are idempotent).
            outcome.unrecorded += v.marks.len() as u64;
            return Err(e);
        }
        outcome.delivered += v.delivered;
        for (code, n) in v.skipped {
            *outcome.skipped.entry(code).or_insert(0) += n;
        }
        outcome.refused += v.refusals.len() as u64;
        for r in v.refusals {
            tracing::warn!(sink = name, event = r.0, reason = %r.1, "event refused for good; it will not be sent again");
            if outcome.refusals.len() < KEPT_FAILURES {
                outcome.refusals.push(r);
            }
        }
        if halt {
            tracing::warn!(
                sink = name,
                "nothing of a page was delivered and some of it failed; the rest stays pending for the next run"
            );
            outcome.halted = true;
            return Ok(());
        }
    }
}
