//! [`KlaviyoSim`]: a Klaviyo-compatible events endpoint for event-sink tests.
//!
//! - `POST /api/events` (Create Event) and `POST /api/event-bulk-create-jobs` (Bulk Create
//!   Events), JSON:API bodies as in Klaviyo's OpenAPI spec (`shared/reference/klaviyo/`).
//! - Both need `Authorization: Klaviyo-API-Key <key>` and a `revision` header (400 without
//!   either, with Klaviyo's `{"errors": [...]}` body), a JSON content type (415), a body under
//!   5 MB (413) and at most 1,000 events per bulk job (400).
//! - Accepted requests are answered `202` and recorded. Like Klaviyo, an event whose
//!   `unique_id` repeats one already recorded for the same profile and metric is accepted but
//!   not recorded again.
//! - [`Faults`]: latency, 429 (with Klaviyo's `throttled` body and `Retry-After`), 500 and 503
//!   apply; the HTML and truncation faults do not (these endpoints only write).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::faults::{Fault, FaultCounter, Faults};
use crate::server::reply::{header, Reply};

/// Klaviyo's payload limit.
const MAX_PAYLOAD: usize = 5 * 1024 * 1024;
/// Klaviyo's limit on events per bulk job.
const MAX_BULK_EVENTS: usize = 1000;

#[derive(Debug, Default)]
struct Recorded {
    /// Every accepted request body, as received.
    payloads: Vec<Value>,
    /// Every recorded event, in the Create Event `data` shape.
    events: Vec<Value>,
    /// (profile, metric, unique_id) of every recorded event with a unique id.
    unique: std::collections::HashSet<(String, String, String)>,
}

#[derive(Debug)]
struct Shared {
    faults: Faults,
    /// The only private key accepted, when set; any key otherwise.
    accepted_key: Mutex<Option<String>>,
    requests: AtomicU64,
    fault_counter: FaultCounter,
    recorded: Mutex<Recorded>,
    jobs: AtomicU64,
}

impl Shared {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A Klaviyo-compatible events endpoint on loopback.
///
/// ```
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// use orderport_sim::{Faults, KlaviyoSim};
///
/// let klaviyo = KlaviyoSim::start(Faults::default(), "127.0.0.1:0".parse()?).await?;
/// assert!(klaviyo.url().starts_with("http://127.0.0.1:"));
/// assert!(klaviyo.events().is_empty());
/// klaviyo.shutdown().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KlaviyoSim {
    shared: Arc<Shared>,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl KlaviyoSim {
    /// Starts serving on `addr`, a loopback address (port 0 picks a free port).
    pub async fn start(faults: Faults, addr: SocketAddr) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the simulator listens on loopback only; {addr} is not a loopback address, use 127.0.0.1"),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            faults,
            accepted_key: Mutex::new(None),
            requests: AtomicU64::new(0),
            fault_counter: FaultCounter::default(),
            recorded: Mutex::new(Recorded::default()),
            jobs: AtomicU64::new(0),
        });
        let router = Router::new()
            .fallback(dispatch)
            .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "Klaviyo simulator stopped with an error");
            }
        });
        Ok(Self {
            shared,
            url,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Accepts only `key` from now on (`None`: any key, the default). A request with another
    /// key gets `401 not_authenticated`, as Klaviyo answers a wrong or revoked private key.
    pub fn set_accepted_key(&self, key: Option<&str>) {
        *self
            .shared
            .accepted_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = key.map(str::to_owned);
    }

    /// The API base, `http://127.0.0.1:PORT`; the endpoints are `{url}/api/events`,
    /// `{url}/api/event-bulk-create-jobs` and, read-only, `GET {url}/api/accounts/` (Get
    /// Accounts, which `orderport check` calls).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every event recorded, in arrival order, each in the shape of a Create Event body's
    /// `data` (`{"type":"event","attributes":{…,"profile":{"data":…},"metric":{"data":…}}}`);
    /// events of a bulk job are unpacked into that shape, with their group's profile.
    /// Repeated `unique_id`s are recorded once.
    pub fn events(&self) -> Vec<Value> {
        self.shared.recorded().events.clone()
    }

    /// Every accepted request body, as received.
    pub fn payloads(&self) -> Vec<Value> {
        self.shared.recorded().payloads.clone()
    }

    /// Every HTTP request received so far, whatever its outcome.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Stops serving and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for KlaviyoSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlaviyoSim")
            .field("url", &self.url)
            .field("events", &self.shared.recorded().events.len())
            .field("faults", &self.shared.faults)
            .finish_non_exhaustive()
    }
}

impl Drop for KlaviyoSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A Klaviyo error reply: `{"errors":[{id, status, code, title, detail, source}]}`.
fn error(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: &str,
    pointer: Option<&str>,
) -> Reply {
    let mut entry = json!({
        "id": format!("sim-{code}"),
        "status": status.as_u16(),
        "code": code,
        "title": title,
        "detail": detail,
    });
    if let Some(pointer) = pointer {
        entry["source"] = json!({ "pointer": pointer });
    }
    Reply::new(
        status,
        "application/vnd.api+json",
        json!({ "errors": [entry] }).to_string(),
    )
}

fn invalid(detail: &str, pointer: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        "Invalid input.",
        detail,
        Some(pointer),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Single,
    Bulk,
    Accounts,
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !shared.faults.latency.is_zero() {
        tokio::time::sleep(shared.faults.latency).await;
    }
    handle(&shared, &method, &uri, &headers, &body).into_response()
}

fn handle(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Reply {
    let endpoint = match uri.path().trim_end_matches('/') {
        "/api/events" => Endpoint::Single,
        "/api/event-bulk-create-jobs" => Endpoint::Bulk,
        "/api/accounts" => Endpoint::Accounts,
        other => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found.",
                &format!("No endpoint at {other}; the simulator serves /api/events, /api/event-bulk-create-jobs and /api/accounts"),
                None,
            )
        }
    };
    let allowed = if endpoint == Endpoint::Accounts {
        Method::GET
    } else {
        Method::POST
    };
    if method != allowed {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed.",
            &format!("Method \"{method}\" not allowed."),
            None,
        );
    }
    match shared.fault_counter.next(&shared.faults) {
        Some(Fault::RateLimited) => {
            let wait = shared.faults.retry_after();
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Request was throttled.",
                &format!("Request was throttled. Expected available in {wait} second."),
                None,
            )
            .with_header(RETRY_AFTER, wait.to_string());
        }
        Some(Fault::Error500) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "A server error occurred.",
                "A server error occurred.",
                None,
            )
        }
        Some(Fault::Error503) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Service unavailable.",
                "Try again later.",
                None,
            )
            .with_header(RETRY_AFTER, "1")
        }
        Some(Fault::Html200 | Fault::Truncated) | None => {}
    }
    let key = header(headers, AUTHORIZATION.as_str())
        .and_then(|v| v.trim().strip_prefix("Klaviyo-API-Key "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if key.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_authorization",
            "Missing authorization.",
            "Send the header Authorization: Klaviyo-API-Key <private key>.",
            None,
        );
    }
    let accepted = shared
        .accepted_key
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if accepted.is_some_and(|accepted| key != Some(accepted.as_str())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
            "Missing or invalid private key.",
            None,
        );
    }
    if header(headers, "revision").is_none_or(|r| r.trim().is_empty()) {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_revision",
            "Missing revision header.",
            "Send the header revision: YYYY-MM-DD, such as 2026-07-15.",
            None,
        );
    }
    if endpoint == Endpoint::Accounts {
        return Reply::new(
            StatusCode::OK,
            "application/vnd.api+json",
            json!({"data": [{
                "type": "account",
                "id": "SimAcct",
                "attributes": {
                    "contact_information": {"organization_name": "Klaviyo Simulator"},
                    "test_account": true,
                },
            }]})
            .to_string(),
        );
    }
    if !header(headers, CONTENT_TYPE.as_str())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"))
    {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type.",
            "Send Content-Type: application/vnd.api+json (or application/json).",
            None,
        );
    }
    let payload: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return invalid(&format!("The body is not JSON: {e}"), "/"),
    };
    let events = match endpoint {
        Endpoint::Single => single_event(&payload).map(|e| vec![e]),
        // (Get Accounts was answered above.)
        Endpoint::Bulk | Endpoint::Accounts => bulk_events(&payload),
    };
    let events = match events {
        Ok(events) => events,
        Err(reply) => return reply,
    };
    let count = events.len();
    {
        let mut recorded = shared.recorded();
        recorded.payloads.push(payload);
        for event in events {
            let attributes = &event["attributes"];
            if let Some(unique_id) = attributes["unique_id"].as_str() {
                let identity = (
                    profile_identity(&attributes["profile"]["data"]["attributes"]),
                    attributes["metric"]["data"]["attributes"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    unique_id.to_owned(),
                );
                if !recorded.unique.insert(identity) {
                    continue;
                }
            }
            recorded.events.push(event);
        }
    }
    match endpoint {
        Endpoint::Single => Reply::empty(StatusCode::ACCEPTED),
        Endpoint::Bulk | Endpoint::Accounts => {
            let job = shared.jobs.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::new(
                StatusCode::ACCEPTED,
                "application/vnd.api+json",
                json!({"data": {
                    "type": "event-bulk-create-job",
                    "id": format!("sim-job-{job}"),
                    "attributes": {"status": "queued", "total_count": count},
                }})
                .to_string(),
            )
        }
    }
}

/// The identifiers of a profile, as one comparable text.
fn profile_identity(attributes: &Value) -> String {
    ["id", "email", "phone_number", "external_id", "anonymous_id"]
        .iter()
        .map(|k| attributes[*k].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// Checks an event's attributes (`properties`, `metric.data.attributes.name`, and a profile
/// with an identifier unless `profile` is given by the bulk group).
fn check_event(attributes: &Value, at: &str, needs_profile: bool) -> Result<(), Reply> {
    if !attributes.is_object() {
        return Err(invalid("attributes must be an object", at));
    }
    if !attributes["properties"].is_object() {
        return Err(invalid(
            "properties is required and must be an object",
            &format!("{at}/properties"),
        ));
    }
    let name = attributes["metric"]["data"]["attributes"]["name"].as_str();
    if name.is_none_or(|n| n.is_empty() || n.chars().count() >= 128) {
        return Err(invalid(
            "metric.data.attributes.name is required and must be under 128 characters",
            &format!("{at}/metric/data/attributes/name"),
        ));
    }
    if needs_profile {
        check_profile(&attributes["profile"], &format!("{at}/profile"))?;
    }
    Ok(())
}

fn check_profile(profile: &Value, at: &str) -> Result<(), Reply> {
    let attributes = &profile["data"]["attributes"];
    if profile_identity(attributes).chars().all(|c| c == '|') {
        return Err(invalid(
            "the profile needs an identifier: id, email, phone_number, external_id or anonymous_id",
            &format!("{at}/data/attributes"),
        ));
    }
    Ok(())
}

fn single_event(payload: &Value) -> Result<Value, Reply> {
    let data = &payload["data"];
    if data["type"] != "event" {
        return Err(invalid("data.type must be \"event\"", "/data/type"));
    }
    check_event(&data["attributes"], "/data/attributes", true)?;
    Ok(data.clone())
}

fn bulk_events(payload: &Value) -> Result<Vec<Value>, Reply> {
    let data = &payload["data"];
    if data["type"] != "event-bulk-create-job" {
        return Err(invalid(
            "data.type must be \"event-bulk-create-job\"",
            "/data/type",
        ));
    }
    let groups = data["attributes"]["events-bulk-create"]["data"]
        .as_array()
        .ok_or_else(|| {
            invalid(
                "events-bulk-create.data must be an array of profile groups",
                "/data/attributes/events-bulk-create/data",
            )
        })?;
    let mut events = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let at = format!("/data/attributes/events-bulk-create/data/{g}");
        if group["type"] != "event-bulk-create" {
            return Err(invalid(
                "each group's type must be \"event-bulk-create\"",
                &format!("{at}/type"),
            ));
        }
        let attributes = &group["attributes"];
        check_profile(&attributes["profile"], &format!("{at}/attributes/profile"))?;
        let list = attributes["events"]["data"].as_array().ok_or_else(|| {
            invalid(
                "events.data must be an array",
                &format!("{at}/attributes/events/data"),
            )
        })?;
        for (e, event) in list.iter().enumerate() {
            let at = format!("{at}/attributes/events/data/{e}");
            if event["type"] != "event" {
                return Err(invalid(
                    "each event's type must be \"event\"",
                    &format!("{at}/type"),
                ));
            }
            check_event(&event["attributes"], &format!("{at}/attributes"), false)?;
            let mut merged: Map<String, Value> =
                event["attributes"].as_object().cloned().unwrap_or_default();
            merged.insert("profile".into(), attributes["profile"].clone());
            if !merged.contains_key("backfill") {
                if let Some(backfill) = attributes.get("backfill") {
                    merged.insert("backfill".into(), backfill.clone());
                }
            }
            events.push(json!({"type": "event", "attributes": Value::Object(merged)}));
        }
    }
    if events.len() > MAX_BULK_EVENTS {
        return Err(invalid(
            &format!(
                "a bulk job takes at most {MAX_BULK_EVENTS} events; this one has {}",
                events.len()
            ),
            "/data/attributes/events-bulk-create/data",
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests;
