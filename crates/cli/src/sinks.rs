//! `[[sink]]` tables of the stores file: building the event sinks and delivering the outbox
//! to them (`orderport sync`, `orderport push-shipment --db`).

use std::collections::HashSet;

use anyhow::anyhow;
use orderport::StoresFile;
use orderport_klaviyo::{KlaviyoConfig, KlaviyoEventSink, KlaviyoSink};
use orderport_sync::{CancellationToken, DeliveryOutcome, EventSink, SyncEngine};

use crate::exit::Failure;

/// Sink kinds this build knows.
pub const KINDS: &[&str] = &["klaviyo"];

/// Events handed to a sink at a time.
pub const BATCH: usize = 500;

/// Builds every `[[sink]]` of the file. A sink is named by its `id` (else `name`, else its
/// kind); deliveries are recorded under that name, so keep it stable. Two sinks with the same
/// name, or an unknown kind, are usage errors naming the sink.
pub fn build(file: &StoresFile) -> Result<Vec<Box<dyn EventSink>>, Failure> {
    Ok(configured(file)?
        .into_iter()
        .map(|sink| match sink {
            Configured::Klaviyo { name, sink } => {
                Box::new(KlaviyoEventSink::new(name, sink)) as Box<dyn EventSink>
            }
        })
        .collect())
}

/// A `[[sink]]` of the stores file, built and named.
pub enum Configured {
    /// A Klaviyo sink.
    Klaviyo {
        /// The sink's name (`id`, else `name`, else the kind).
        name: String,
        /// The sink.
        sink: KlaviyoSink,
    },
}

impl Configured {
    /// The sink's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Klaviyo { name, .. } => name,
        }
    }

    /// The sink's kind, as written in `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Klaviyo { .. } => "klaviyo",
        }
    }

    /// Proves the sink answers and takes its credentials, writing nothing. A failure is the
    /// exit code it maps to (3 for the credentials, 1 for the connection) and the message.
    pub async fn check_connection(&self) -> Result<(), (u8, String)> {
        match self {
            Self::Klaviyo { sink, .. } => sink.check_connection().await.map_err(|e| {
                let code = if e.is_credentials() {
                    crate::exit::AUTH
                } else {
                    crate::exit::CHANNEL_FAILED
                };
                (code, e.to_string())
            }),
        }
    }
}

/// Every `[[sink]]` of the file, built, with the rules of [`build`].
pub fn configured(file: &StoresFile) -> Result<Vec<Configured>, Failure> {
    let mut sinks = Vec::new();
    let mut names = HashSet::new();
    for (i, table) in file.sinks.iter().enumerate() {
        let kind = table.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let name = table
            .get("id")
            .or_else(|| table.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or(kind)
            .to_owned();
        let label = format!(
            "[[sink]] #{} ({})",
            i + 1,
            if name.is_empty() { "unnamed" } else { &name }
        );
        match kind {
            "klaviyo" => {
                let config = KlaviyoConfig::from_table(table)
                    .map_err(|e| Failure::usage(anyhow!("{label}: {e}")))?;
                let sink = KlaviyoSink::new(config)
                    .map_err(|e| Failure::usage(anyhow!("{label}: {e}")))?;
                if !names.insert(name.clone()) {
                    return Err(Failure::usage(anyhow!(
                        "{label}: another sink is also named {name:?}; give each [[sink]] its own id"
                    )));
                }
                sinks.push(Configured::Klaviyo { name, sink });
            }
            "" => {
                return Err(Failure::usage(anyhow!(
                    "{label}: no kind; set kind = one of {}",
                    KINDS.join(", ")
                )))
            }
            other => {
                return Err(Failure::usage(anyhow!(
                    "{label}: unknown sink kind {other:?}; known: {}",
                    KINDS.join(", ")
                )))
            }
        }
    }
    Ok(sinks)
}

/// What a delivery left undone, over every sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Undelivered {
    /// Events that failed, or whose verdict could not be stored: they stay pending.
    pub events: u64,
    /// Whether some sink's pass did not get through its pending events (a halted pass, a
    /// state error, a shutdown cutting it short), so more may be pending than `events`.
    pub cut_short: bool,
}

impl Undelivered {
    /// Whether every pending event got its verdict (refused events count as done).
    pub fn is_none(&self) -> bool {
        self.events == 0 && !self.cut_short
    }

    /// Adds another delivery's.
    pub fn add(&mut self, other: Self) {
        self.events += other.events;
        self.cut_short |= other.cut_short;
    }

    /// What to tell the operator.
    pub fn describe(&self) -> String {
        match (self.events, self.cut_short) {
            (0, _) => "delivery did not get through every pending event; they stay in the outbox and go out on the next run".to_owned(),
            (n, _) => format!(
                "{n} event(s) were not delivered; they stay in the outbox and go out on the next run"
            ),
        }
    }
}

/// Delivers every sink's pending events (optionally of one store), prints one line (or JSON
/// object) per sink, and returns what stayed pending. A pass still running when `cancel` fires
/// (a shutdown's grace period is over) is cut short; what it did not deliver stays pending.
pub async fn deliver(
    engine: &SyncEngine,
    sinks: &[Box<dyn EventSink>],
    store: Option<&str>,
    json: bool,
    cancel: &CancellationToken,
) -> Undelivered {
    let mut undelivered = Undelivered::default();
    if sinks.is_empty() {
        return undelivered;
    }
    let refs: Vec<&dyn EventSink> = sinks.iter().map(|s| s.as_ref()).collect();
    // Each sink under its delivery lease: with several workers, one delivers a sink's events.
    let outcomes = engine.deliver_claimed(&refs, store, BATCH, cancel).await;
    for outcome in &outcomes {
        undelivered.events += outcome.failed + outcome.unrecorded;
        undelivered.cut_short |= !outcome.finished();
        print_outcome(outcome, json);
    }
    undelivered
}

fn print_outcome(o: &DeliveryOutcome, json: bool) {
    if json {
        println!("{}", serde_json::json!({ "delivery": o }));
        return;
    }
    if let Some(owner) = &o.elsewhere {
        println!(
            "sink {}: another worker ({owner}) is delivering its events",
            o.sink
        );
        return;
    }
    let skipped = if o.skipped.is_empty() {
        "skipped 0".to_owned()
    } else {
        let parts: Vec<String> = o.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("skipped {} ({})", o.skipped_total(), parts.join(", "))
    };
    println!(
        "sink {}: delivered {}, {}, refused {}, failed {} (still pending)",
        o.sink, o.delivered, skipped, o.refused, o.failed
    );
    for (id, why) in &o.refusals {
        eprintln!(
            "sink {}: event {id} refused for good, not sent again (`orderport events` shows it): {why}",
            o.sink
        );
    }
    if o.halted {
        eprintln!(
            "sink {}: nothing of a batch was delivered and some of it failed, so the rest was not tried; it stays pending for the next run",
            o.sink
        );
    }
    if o.cancelled {
        eprintln!(
            "sink {}: delivery cut short by the shutdown; what was not delivered stays pending for the next run",
            o.sink
        );
    }
    for (id, why) in &o.failures {
        eprintln!("sink {}: event {id} not delivered: {why}", o.sink);
    }
    if let Some(e) = &o.error {
        eprintln!("error: sink {}: {e}", o.sink);
    }
}
