//! [`KlaviyoEventSink`]: the sink as the sync engine's [`EventSink`], so
//! `deliver_pending` hands it the outbox and records its verdicts per event.

use async_trait::async_trait;
use orderport_core::ShipmentKind;
use orderport_sync::delivery::{EventSink, OutboxEvent, SinkReport, Skip};

use crate::event::{ShipmentInfo, SinkEvent};
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

/// The engine's outbox event as the sink's input. The shipment is passed on only when it is a
/// label: a merely marked shipment carries no label information for Klaviyo.
pub fn sink_event(event: &OutboxEvent) -> SinkEvent {
    SinkEvent {
        id: event.id,
        event: event.event.clone(),
        backfill: event.backfill,
        shipment: event
            .shipment
            .as_ref()
            .filter(|s| s.kind == ShipmentKind::Label)
            .map(|s| ShipmentInfo {
                carrier: s.carrier.clone(),
                service: s.service.clone(),
                tracking_number: s.tracking_number.clone(),
            }),
    }
}

#[async_trait]
impl EventSink for KlaviyoEventSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport {
        let events: Vec<SinkEvent> = batch.iter().map(sink_event).collect();
        let report = self.sink.deliver(&events).await;
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
