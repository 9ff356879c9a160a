//! What the HTTP layer reports to a host's telemetry: a `tracing` span per request and metrics
//! through the [`metrics`] facade, so a host plugs in its own recorder (Prometheus, StatsD,
//! OpenTelemetry) and its own subscriber. Without a recorder installed the metrics cost nothing
//! but a check.
//!
//! | metric | kind | labels | meaning |
//! |---|---|---|---|
//! | [`REQUEST_SECONDS`] | histogram | `channel`, `status` | the duration of each attempt, from send to the body read (`status` is the HTTP status, or `none` when no reply came) |
//! | [`RETRIES`] | counter | `channel` | attempts repeated after a retryable failure |
//!
//! The span is `http.request`, with `channel` (the connector's id, or the sink's kind), `store`
//! (the store id, or the sink's name), `operation`, and once known `status` and `attempts`.

use std::time::Duration;

/// Histogram of request attempt durations, in seconds.
pub const REQUEST_SECONDS: &str = "orderport_http_request_duration_seconds";
/// Counter of retried attempts.
pub const RETRIES: &str = "orderport_http_retries_total";

/// Records one attempt: its duration under the channel and the reply's status.
pub(crate) fn record_attempt(channel: &'static str, status: Option<u16>, took: Duration) {
    let status = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
    metrics::histogram!(REQUEST_SECONDS, "channel" => channel, "status" => status)
        .record(took.as_secs_f64());
}

/// Records one retry of the channel's.
pub(crate) fn record_retry(channel: &'static str) {
    metrics::counter!(RETRIES, "channel" => channel).increment(1);
}
