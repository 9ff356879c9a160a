//! `[[sink]]` tables of the stores file: building the event sinks and delivering the outbox
//! to them (`orderport sync`, `orderport push-shipment --db`).

use std::collections::HashSet;

use anyhow::anyhow;
use orderport::StoresFile;
use orderport_klaviyo::{KlaviyoConfig, KlaviyoEventSink, KlaviyoSink};
use orderport_sync::{DeliveryOutcome, EventSink, SyncEngine};

use crate::exit::Failure;

/// Sink kinds this build knows.
pub const KINDS: &[&str] = &["klaviyo"];

/// Events handed to a sink at a time.
pub const BATCH: usize = 500;

/// Builds every `[[sink]]` of the file. A sink is named by its `id` (else `name`, else its
/// kind); deliveries are recorded under that name, so keep it stable. Two sinks with the same
/// name, or an unknown kind, are usage errors naming the sink.
pub fn build(file: &StoresFile) -> Result<Vec<Box<dyn EventSink>>, Failure> {
    let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
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
                sinks.push(Box::new(KlaviyoEventSink::new(name, sink)));
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

/// Delivers every sink's pending events (optionally of one store), prints one line (or JSON
/// object) per sink, and returns how many events failed (they stay pending).
pub async fn deliver(
    engine: &SyncEngine,
    sinks: &[Box<dyn EventSink>],
    store: Option<&str>,
    json: bool,
) -> u64 {
    if sinks.is_empty() {
        return 0;
    }
    let refs: Vec<&dyn EventSink> = sinks.iter().map(|s| s.as_ref()).collect();
    let outcomes = engine.deliver_pending(&refs, store, BATCH).await;
    let mut failed = 0;
    for outcome in &outcomes {
        failed += outcome.failed + u64::from(outcome.error.is_some());
        print_outcome(outcome, json);
    }
    failed
}

fn print_outcome(o: &DeliveryOutcome, json: bool) {
    if json {
        println!("{}", serde_json::json!({ "delivery": o }));
        return;
    }
    let skipped = if o.skipped.is_empty() {
        "skipped 0".to_owned()
    } else {
        let parts: Vec<String> = o.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("skipped {} ({})", o.skipped_total(), parts.join(", "))
    };
    println!(
        "sink {}: delivered {}, {}, failed {} (still pending)",
        o.sink, o.delivered, skipped, o.failed
    );
    if o.halted {
        eprintln!(
            "sink {}: a whole batch failed, so the rest was not tried; it stays pending for the next run",
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
