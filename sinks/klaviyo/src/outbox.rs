//! [`KlaviyoEventSink`]: the sink as the sync engine's [`EventSink`], so
//! `deliver_pending` hands it the outbox and records its verdicts per event.

use async_trait::async_trait;
use orderport_sync::delivery::{EventSink, SinkReport, Skip};
use orderport_sync::OutboxEvent;

use crate::sink::KlaviyoSink;

/// A [`KlaviyoSink`] under a stable name (deliveries are recorded under it).
#[derive(Debug)]
pub struct KlaviyoEventSink {
    name: String,
    sink: KlaviyoSink,
}

impl KlaviyoEventSink {
    /// Wraps `sink` under `name` (`klaviyo` for a single Klaviyo sink).
    pub fn new(name: impl Into<String>, sink: KlaviyoSink) -> Self {
        Self {
            name: name.into(),
            sink,
        }
    }

    /// The wrapped sink.
    pub fn sink(&self) -> &KlaviyoSink {
        &self.sink
    }
}

#[async_trait]
impl EventSink for KlaviyoEventSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport {
        let report = self.sink.deliver(batch).await;
        SinkReport {
            delivered: report.delivered,
            skipped: report
                .skipped
                .into_iter()
                .map(|(id, reason)| Skip {
                    id,
                    code: reason.code().to_owned(),
                    detail: reason.to_string(),
                })
                .collect(),
            refused: report.refused,
            failed: report.failed,
        }
    }
}
