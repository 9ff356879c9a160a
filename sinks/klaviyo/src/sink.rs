//! [`KlaviyoSink`]: plans requests (single or bulk, split by count and size), paces them, sends
//! them, retries what may be retried, and reports every event's fate.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use orderport_core::ChannelError;
use orderport_http::{
    Auth, Failure, HttpClient, HttpService, Idempotency, Request, StatusHook, WindowPacer,
};
use orderport_sync::OutboxEvent;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

use crate::config::KlaviyoConfig;
use crate::error::{refuses_content, CheckError, DeliveryError, KlaviyoError};
use crate::event::{prepare, Prepared, ProfileId, SkipReason};
use crate::{JSON_API, MAX_BULK_EVENTS, MAX_PAYLOAD_BYTES, REVISION, SINGLE_EVENT_THRESHOLD};

/// What became of each event of a delivery. Every input id is in exactly one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Outbox ids Klaviyo accepted with `202`: take them out of the outbox.
    pub delivered: Vec<i64>,
    /// Outbox ids not sent, and why: take them out of the outbox, and count them.
    pub skipped: Vec<(i64, SkipReason)>,
    /// Outbox ids Klaviyo refused for good when sent on their own (HTTP 400, 409, 413 or 422
    /// to a Create Event request), and why: take them out of the outbox, record the reason,
    /// never send them again.
    pub refused: Vec<(i64, String)>,
    /// Outbox ids whose request failed this time (an outage, a refused key, a timeout, a
    /// wrong URL), and why: they stay in the outbox and are sent again.
    pub failed: Vec<(i64, String)>,
    /// HTTP requests made, retries included.
    pub requests: u32,
}

impl DeliveryReport {
    /// How many events were skipped for each [`SkipReason::code`].
    pub fn skip_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for (_, reason) in &self.skipped {
            *counts.entry(reason.code()).or_insert(0) += 1;
        }
        counts
    }
}

/// The two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Single,
    Bulk,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Self::Single => "/api/events",
            Self::Bulk => "/api/event-bulk-create-jobs",
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Self::Single => "Create Event",
            Self::Bulk => "Bulk Create Events",
        }
    }
}

/// One planned request.
#[derive(Debug)]
enum Planned {
    Single(usize),
    Bulk(Vec<usize>),
}

/// Sends order-status events to Klaviyo.
#[derive(Debug)]
pub struct KlaviyoSink {
    config: KlaviyoConfig,
    single: HttpService,
    bulk: HttpService,
    base: Url,
}

/// Klaviyo's own reading of statuses: only 429, 503, 504 and 524 are worth retrying at once; a
/// 500, 502 or other 5xx is left pending for the next run rather than repeated now.
#[derive(Debug)]
struct KlaviyoStatuses;

impl StatusHook for KlaviyoStatuses {
    fn classify(&self, failure: &Failure<'_>) -> Option<ChannelError> {
        let code = failure.status.as_u16();
        (failure.status.is_server_error() && !matches!(code, 503 | 504 | 524)).then(|| {
            ChannelError::Refused {
                store: failure.owner.to_owned(),
                operation: failure.operation.to_owned(),
                status: code,
                detail: failure.said(),
            }
        })
    }
}

impl KlaviyoSink {
    /// Builds the sink on the process-wide HTTP client; fails when the URL may not carry the
    /// key (see [`KlaviyoConfig::check_url`]), the key cannot be an HTTP header, or the client
    /// cannot be built.
    pub fn new(config: KlaviyoConfig) -> Result<Self, KlaviyoError> {
        let client = HttpClient::new().map_err(|e| KlaviyoError::Client { detail: e.0 })?;
        Self::with_client(config, client)
    }

    /// [`new`](Self::new), sending through the host platform's HTTP client (build it from
    /// [`orderport_http::client_builder`], which follows no redirect).
    pub fn with_client(config: KlaviyoConfig, client: HttpClient) -> Result<Self, KlaviyoError> {
        config.check_url()?;
        let base = orderport_http::endpoint::parse(&config.url, config.allow_insecure_http)
            .map_err(|e| KlaviyoError::config("url", e.to_string()))?;
        let auth = Auth::none()
            .with_prefixed_header("Authorization", "Klaviyo-API-Key ", config.api_key.clone())
            .map_err(|_| {
                KlaviyoError::config(
                    "api_key",
                    "contains characters an HTTP header cannot carry (a pasted newline?)",
                )
            })?;
        let service = HttpService::new(client, "klaviyo", auth, config.http)
            .with_hook(Arc::new(KlaviyoStatuses))
            .with_channel("klaviyo");
        Ok(Self {
            single: service
                .clone()
                .with_pacer(Arc::new(WindowPacer::new(config.limits.single))),
            bulk: service.with_pacer(Arc::new(WindowPacer::new(config.limits.bulk))),
            base,
            config,
        })
    }

    /// Proves that Klaviyo answers and takes the key, without writing anything: a read-only
    /// `GET {url}/api/accounts/` (Get Accounts), retried like any read (429, 503, network
    /// errors). `Ok` on 200; [`CheckError::Unauthorized`] on 401 (the key is wrong or revoked);
    /// [`CheckError::MissingScope`] on 403 (the key is valid but lacks `accounts:read`, so
    /// whether it may write events cannot be proved without sending one);
    /// [`CheckError::Unreachable`] otherwise. The key never appears in the error.
    pub async fn check_connection(&self) -> Result<(), CheckError> {
        let mut url = self.base.clone();
        url.set_path("/api/accounts/");
        let request = Request::get(url, "Get Accounts")
            .header(ACCEPT, HeaderValue::from_static(JSON_API))
            .header(
                HeaderName::from_static("revision"),
                HeaderValue::from_static(REVISION),
            )
            .idempotency(Idempotency::Idempotent);
        match self.single.send(request).await {
            Ok(reply) if reply.status == StatusCode::OK => Ok(()),
            Ok(reply) => Err(CheckError::Unreachable {
                detail: format!(
                    "Get Accounts answered HTTP {} instead of 200: {}",
                    reply.status.as_u16(),
                    self.single.redactor().excerpt(&reply.body, 300)
                ),
            }),
            Err(ChannelError::Authentication { detail, .. }) => {
                Err(CheckError::Unauthorized { detail })
            }
            Err(ChannelError::Permission { detail, .. }) => {
                Err(CheckError::MissingScope { detail })
            }
            Err(other) => Err(CheckError::Unreachable {
                detail: other.to_string(),
            }),
        }
    }

    /// The sink's configuration.
    pub fn config(&self) -> &KlaviyoConfig {
        &self.config
    }

    /// The Create Event body for `event` under this sink's settings, or why it is skipped.
    pub fn payload(&self, event: &OutboxEvent) -> Result<Value, SkipReason> {
        crate::payload(event, self.config.external_id_scope)
    }

    /// Delivers `events`: skips what must not be sent, sends the rest (Create Event for fewer
    /// than [`SINGLE_EVENT_THRESHOLD`] events, else Bulk Create jobs of at most
    /// [`MAX_BULK_EVENTS`] events and [`MAX_PAYLOAD_BYTES`]), and reports each event. Requests
    /// go one at a time, paced per endpoint. Never fails as a whole: a failure is reported
    /// per event.
    pub async fn deliver(&self, events: &[OutboxEvent]) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut seen: HashMap<(ProfileId, &'static str, String), usize> = HashMap::new();
        for event in events {
            match prepare(event, self.config.external_id_scope) {
                Err(reason) => {
                    // Per event at debug: a first sync skips thousands (orders shipped without
                    // a label); the verdicts are stored, and the delivery's summary counts them.
                    tracing::debug!(
                        outbox_id = event.id(),
                        reason = reason.code(),
                        "Klaviyo event skipped"
                    );
                    report.skipped.push((event.id(), reason));
                }
                Ok(p) => {
                    // The same change twice in one batch: send it once (a bulk job with a
                    // repeated unique_id fails whole), deliver both ids with it.
                    let key = (p.profile.clone(), p.metric, p.unique_id.clone());
                    match seen.get(&key) {
                        Some(&first) => prepared[first].ids.push(event.id()),
                        None => {
                            seen.insert(key, prepared.len());
                            prepared.push(p);
                        }
                    }
                }
            }
        }

        let plan = if prepared.len() < SINGLE_EVENT_THRESHOLD {
            (0..prepared.len()).map(Planned::Single).collect()
        } else {
            plan_bulk(&prepared, MAX_BULK_EVENTS, MAX_PAYLOAD_BYTES)
        };

        let mut halted: Option<String> = None;
        for planned in plan {
            let indices: Vec<usize> = match &planned {
                Planned::Single(i) => vec![*i],
                Planned::Bulk(list) => list.clone(),
            };
            if let Some(reason) = &halted {
                fail(&mut report, &prepared, &indices, reason);
                continue;
            }
            let outcome = match &planned {
                Planned::Single(i) => self.send_single(&prepared[*i], &mut report).await,
                Planned::Bulk(list) => {
                    let body = bulk_body(&prepared, list);
                    self.send(Endpoint::Bulk, &body, &mut report).await
                }
            };
            match outcome {
                Ok(()) => deliver(&mut report, &prepared, &indices),
                Err(DeliveryError::Rejected { status, detail })
                    if matches!(planned, Planned::Bulk(_)) && splittable(status) =>
                {
                    // One bad event (or a unique_id Klaviyo already holds, which the bulk
                    // endpoint may refuse) fails the whole job: send each event on its own
                    // once, so the good ones land and only the bad one is reported.
                    tracing::warn!(status, %detail, events = indices.len(), "Klaviyo refused a bulk job; sending its events one by one");
                    for &i in &indices {
                        if let Some(reason) = &halted {
                            fail(&mut report, &prepared, &[i], reason);
                            continue;
                        }
                        match self.send_single(&prepared[i], &mut report).await {
                            Ok(()) => deliver(&mut report, &prepared, &[i]),
                            Err(error) => {
                                if matches!(error, DeliveryError::Unauthorized { .. }) {
                                    halted = Some(error.to_string());
                                }
                                settle_single(&mut report, &prepared[i], &error);
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, events = indices.len(), "Klaviyo request failed");
                    if matches!(error, DeliveryError::Unauthorized { .. }) {
                        halted = Some(error.to_string());
                    }
                    match &planned {
                        Planned::Single(i) => settle_single(&mut report, &prepared[*i], &error),
                        Planned::Bulk(_) => {
                            fail(&mut report, &prepared, &indices, &error.to_string());
                        }
                    }
                }
            }
        }
        tracing::info!(
            delivered = report.delivered.len(),
            skipped = report.skipped.len(),
            refused = report.refused.len(),
            failed = report.failed.len(),
            requests = report.requests,
            "Klaviyo delivery done"
        );
        report
    }

    async fn send_single(
        &self,
        event: &Prepared,
        report: &mut DeliveryReport,
    ) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&event.create_body()).unwrap_or_default();
        self.send(Endpoint::Single, &body, report).await
    }

    /// Sends one body until Klaviyo answers 202, it fails for good, or the retries run out
    /// (the shared HTTP layer retries 429, 503, 504, 524 and network errors, honouring
    /// Retry-After; events are idempotent by `unique_id`, so a repeat is safe).
    async fn send(
        &self,
        endpoint: Endpoint,
        body: &[u8],
        report: &mut DeliveryReport,
    ) -> Result<(), DeliveryError> {
        let service = match endpoint {
            Endpoint::Single => &self.single,
            Endpoint::Bulk => &self.bulk,
        };
        let mut url = self.base.clone();
        url.set_path(endpoint.path());
        let request = Request::post(url, endpoint.operation())
            .body(body.to_vec(), JSON_API)
            .header(ACCEPT, HeaderValue::from_static(JSON_API))
            .header(
                HeaderName::from_static("revision"),
                HeaderValue::from_static(REVISION),
            )
            .idempotency(Idempotency::Idempotent);
        let (result, attempts) = service.send_counted(request).await;
        report.requests += attempts;
        match result {
            Ok(reply) if reply.status == StatusCode::ACCEPTED => Ok(()),
            Ok(reply) => Err(DeliveryError::NotAccepted {
                status: reply.status.as_u16(),
                detail: service.redactor().excerpt(&reply.body, 300),
            }),
            Err(error) => Err(self.delivery_error(error, attempts)),
        }
    }

    /// The sink's reading of a request that failed for good.
    fn delivery_error(&self, error: ChannelError, attempts: u32) -> DeliveryError {
        match error {
            ChannelError::Authentication { detail, .. } => DeliveryError::Unauthorized {
                status: 401,
                detail,
            },
            ChannelError::Permission { detail, .. } => DeliveryError::Unauthorized {
                status: 403,
                detail,
            },
            ChannelError::Refused { status, detail, .. } if status < 500 => {
                DeliveryError::Rejected { status, detail }
            }
            ChannelError::Refused { status, detail, .. } => {
                DeliveryError::NotAccepted { status, detail }
            }
            ChannelError::RateLimited {
                retry_after: Some(asked),
                ..
            } if asked > self.config.http.retry.max_delay => DeliveryError::RetryAfterTooLong {
                retry_after_secs: asked.as_secs(),
                max_delay_secs: self.config.http.retry.max_delay.as_secs(),
            },
            ChannelError::RateLimited { .. } => DeliveryError::GaveUp {
                attempts,
                detail: "HTTP 429: rate limited".to_owned(),
            },
            ChannelError::Transient { detail, .. } => DeliveryError::GaveUp { attempts, detail },
            other => DeliveryError::Failed {
                detail: other.to_string(),
            },
        }
    }
}

/// 4xx answers to a bulk job that may come from one event of it, so its events are worth
/// sending one by one. Not 401/403 (the key), 404/405 (the URL), 415 (our content type).
fn splittable(status: u16) -> bool {
    refuses_content(status)
}

/// Reports a Create Event request (one event, perhaps under several outbox ids) that failed:
/// refused for good when Klaviyo refused the event itself, else failed (it stays pending).
fn settle_single(report: &mut DeliveryReport, event: &Prepared, error: &DeliveryError) {
    if error.refuses_the_event() {
        tracing::warn!(%error, outbox_ids = ?event.ids, "Klaviyo refused the event for good; it will not be sent again");
        for &id in &event.ids {
            report.refused.push((id, error.to_string()));
        }
    } else {
        for &id in &event.ids {
            report.failed.push((id, error.to_string()));
        }
    }
}

fn deliver(report: &mut DeliveryReport, prepared: &[Prepared], indices: &[usize]) {
    for &i in indices {
        report.delivered.extend(&prepared[i].ids);
    }
}

fn fail(report: &mut DeliveryReport, prepared: &[Prepared], indices: &[usize], reason: &str) {
    for &i in indices {
        for &id in &prepared[i].ids {
            report.failed.push((id, reason.to_owned()));
        }
    }
}

/// The JSON of a bulk job with no groups, and of a group with no events, so sizes can be
/// summed exactly.
fn empty_job() -> Value {
    json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": []}}}})
}

fn group(profile: &ProfileId, backfill: bool, events: Vec<Value>) -> Value {
    json!({"type": "event-bulk-create", "attributes": {
        "profile": {"data": profile.to_resource()},
        "events": {"data": events},
        "backfill": backfill,
    }})
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX / 4, |v| v.len())
}

/// The bulk job body for `indices`: one group per (profile, backfill), so that a group's
/// `backfill` always agrees with each of its events'.
fn bulk_body(prepared: &[Prepared], indices: &[usize]) -> Vec<u8> {
    let mut groups: Vec<((ProfileId, bool), Vec<Value>)> = Vec::new();
    for &i in indices {
        let p = &prepared[i];
        let key = (p.profile.clone(), p.backfill);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, events)) => events.push(p.bulk_entry()),
            None => groups.push((key, vec![p.bulk_entry()])),
        }
    }
    let data: Vec<Value> = groups
        .into_iter()
        .map(|((profile, backfill), events)| group(&profile, backfill, events))
        .collect();
    let body = json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": data}}}});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Splits the events into bulk jobs of at most `max_events` events and `max_bytes` bytes,
/// keeping their order. Sizes are summed from each part's JSON (an upper bound: every event
/// and group counts a separating comma); a job that still comes out too large is halved.
fn plan_bulk(prepared: &[Prepared], max_events: usize, max_bytes: usize) -> Vec<Planned> {
    let envelope = json_len(&empty_job());
    let mut jobs: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut size = envelope;
    let mut groups: Vec<(ProfileId, bool)> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let event_size = json_len(&p.bulk_entry()) + 1;
        let key = (p.profile.clone(), p.backfill);
        let group_size = json_len(&group(&p.profile, p.backfill, Vec::new())) + 1;
        let added = |groups: &[(ProfileId, bool)]| {
            if groups.contains(&key) {
                event_size
            } else {
                event_size + group_size
            }
        };
        if !current.is_empty() && (current.len() >= max_events || size + added(&groups) > max_bytes)
        {
            jobs.push(std::mem::take(&mut current));
            groups.clear();
            size = envelope;
        }
        size += added(&groups);
        if !groups.contains(&key) {
            groups.push(key);
        }
        current.push(i);
    }
    if !current.is_empty() {
        jobs.push(current);
    }
    let mut planned = Vec::new();
    let mut stack: Vec<Vec<usize>> = jobs.into_iter().rev().collect();
    while let Some(job) = stack.pop() {
        if job.len() > 1 && bulk_body(prepared, &job).len() > max_bytes {
            let second = job[job.len() / 2..].to_vec();
            let first = job[..job.len() / 2].to_vec();
            stack.push(second);
            stack.push(first);
        } else {
            planned.push(Planned::Bulk(job));
        }
    }
    planned
}
