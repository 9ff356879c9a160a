//! Replaying a scenario's HTTP exchanges with wiremock, and checking afterwards that the
//! connector sent exactly the recorded requests.
//!
//! Each exchange is mounted in file order with `up_to_n_times(times)` and `expect(times)`; when
//! two exchanges match the same request (a 429, then a 200), the first serves until it is used
//! up, then the next. A lowest-priority catch-all answers every other request with a 404 that
//! says so. [`Replay::finish`] then verifies explicitly, from the requests the server received,
//! that every exchange was used exactly `times` times and that nothing else was asked; it never
//! relies on wiremock's panic on drop (it resets the server so that the drop has nothing left to
//! verify).

use std::fmt;
use std::time::Duration;

use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use crate::scenario::{Exchange, RecordedRequest, Scenario};

/// The body of the catch-all response.
pub const UNEXPECTED_BODY: &str =
    "orderport-testkit: no recorded exchange matches this request (see the replay report)";

/// A running mock server that replays one scenario.
pub struct Replay {
    server: MockServer,
    exchanges: Vec<Exchange>,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("uri", &self.server.uri())
            .field("exchanges", &self.exchanges.len())
            .finish()
    }
}

/// What the connector did against the replay, once it matched the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Requests received, in all.
    pub requests: usize,
}

/// Requests that were recorded but not made, and requests that were made but not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplayMismatch {
    /// Each recorded exchange not used as often as recorded.
    pub missing: Vec<String>,
    /// Each request that no recorded exchange answered, with why the nearest one did not match.
    pub unexpected: Vec<String>,
}

impl fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the requests differ from the recording:")?;
        for m in &self.missing {
            write!(f, "\n      missing: {m}")?;
        }
        for u in &self.unexpected {
            write!(f, "\n      unexpected: {u}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReplayMismatch {}

impl Replay {
    /// Starts a mock server with every exchange of the scenario mounted.
    pub async fn start(scenario: &Scenario) -> Self {
        Self::start_with(&scenario.exchanges).await
    }

    /// Starts a mock server with these exchanges mounted.
    pub async fn start_with(exchanges: &[Exchange]) -> Self {
        let server = MockServer::start().await;
        for (index, exchange) in exchanges.iter().enumerate() {
            let mut response = ResponseTemplate::new(exchange.response.status);
            for (name, value) in &exchange.response.headers {
                response = response.insert_header(name.as_str(), value.as_str());
            }
            if let Some(body) = &exchange.response.body {
                response = response.set_body_bytes(body.bytes.clone());
            }
            if let Some(ms) = exchange.response.delay_ms {
                response = response.set_delay(Duration::from_millis(ms));
            }
            Mock::given(RequestMatcher(exchange.request.clone()))
                .respond_with(response)
                .up_to_n_times(exchange.times)
                .expect(exchange.times)
                .with_priority(1)
                .named(exchange.label(index))
                .mount(&server)
                .await;
        }
        Mock::given(any())
            .respond_with(ResponseTemplate::new(404).set_body_string(UNEXPECTED_BODY))
            .with_priority(u8::MAX)
            .named("catch-all for unexpected requests")
            .mount(&server)
            .await;
        Self {
            server,
            exchanges: exchanges.to_vec(),
        }
    }

    /// The server's base URL, such as `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Verifies that the connector made exactly the recorded requests, each as often as
    /// recorded, and nothing else; then stops the server.
    pub async fn finish(self) -> Result<ReplayReport, ReplayMismatch> {
        let received = self.server.received_requests().await.unwrap_or_default();
        // Disarm wiremock's verification on drop: this function reports instead.
        self.server.reset().await;
        let result = attribute(&self.exchanges, &received);
        drop(self.server);
        result
    }
}

/// Assigns each received request to the exchange that served it, as wiremock does (file order,
/// each exchange at most `times` times), and reports what is missing or unexpected.
pub fn attribute(
    exchanges: &[Exchange],
    received: &[Request],
) -> Result<ReplayReport, ReplayMismatch> {
    let mut used = vec![0u64; exchanges.len()];
    let mut mismatch = ReplayMismatch::default();
    for (n, request) in received.iter().enumerate() {
        let served = exchanges
            .iter()
            .enumerate()
            .find(|(i, e)| used[*i] < e.times && matches(&e.request, request));
        match served {
            Some((i, _)) => used[i] += 1,
            None => mismatch.unexpected.push(format!(
                "request {}: {}{}",
                n + 1,
                describe(request),
                nearest(exchanges, request)
            )),
        }
    }
    for (i, exchange) in exchanges.iter().enumerate() {
        if used[i] < exchange.times {
            mismatch.missing.push(format!(
                "{} was expected {} time(s), made {} time(s){}",
                exchange.label(i),
                exchange.times,
                used[i],
                exchange
                    .note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
    }
    if mismatch.missing.is_empty() && mismatch.unexpected.is_empty() {
        Ok(ReplayReport {
            requests: received.len(),
        })
    } else {
        Err(mismatch)
    }
}

/// Matches a request against a recording: method, path, query as a set of exact pairs, the
/// recorded headers, and the body exactly (line endings normalized).
#[derive(Debug, Clone)]
pub struct RequestMatcher(pub RecordedRequest);

impl Match for RequestMatcher {
    fn matches(&self, request: &Request) -> bool {
        matches(&self.0, request)
    }
}

fn matches(expected: &RecordedRequest, request: &Request) -> bool {
    differences(expected, request).is_empty()
}

/// Why a request does not match a recording; empty when it matches.
pub fn differences(expected: &RecordedRequest, request: &Request) -> Vec<String> {
    let mut diffs = Vec::new();
    if !request
        .method
        .as_str()
        .eq_ignore_ascii_case(&expected.method)
    {
        diffs.push(format!(
            "method {} is not {}",
            request.method, expected.method
        ));
    }
    if request.url.path() != expected.path {
        diffs.push(format!(
            "path {:?} is not {:?}",
            request.url.path(),
            expected.path
        ));
    }
    let mut query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    if query != expected.query {
        for pair in expected.query.iter().filter(|p| !query.contains(p)) {
            let sent: Vec<&str> = query
                .iter()
                .filter(|(k, _)| *k == pair.0)
                .map(|(_, v)| v.as_str())
                .collect();
            if sent.is_empty() {
                diffs.push(format!(
                    "query parameter {} is missing (recorded {:?})",
                    pair.0, pair.1
                ));
            } else {
                diffs.push(format!(
                    "query parameter {} is {:?}, recorded {:?}",
                    pair.0, sent, pair.1
                ));
            }
        }
        for pair in query.iter().filter(|p| !expected.query.contains(p)) {
            if !expected.query.iter().any(|(k, _)| *k == pair.0) {
                diffs.push(format!(
                    "query parameter {}={:?} was not recorded",
                    pair.0, pair.1
                ));
            }
        }
    }
    for (name, value) in &expected.headers {
        let sent: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if !sent.iter().any(|s| s == value) {
            diffs.push(if sent.is_empty() {
                format!("header {name} is missing")
            } else {
                format!("header {name} is {sent:?}, recorded {value:?}")
            });
        }
    }
    let body = normalize_line_endings(&request.body);
    match &expected.body {
        Some(recorded) => {
            let recorded_bytes = normalize_line_endings(&recorded.bytes);
            if body != recorded_bytes {
                diffs.push(format!(
                    "body differs from {}: {}",
                    recorded.file,
                    first_difference(&recorded_bytes, &body)
                ));
            }
        }
        None if !body.is_empty() => diffs.push(format!(
            "a body of {} bytes was sent and none was recorded (add request.body)",
            body.len()
        )),
        None => {}
    }
    diffs
}

/// `\r\n` and lone `\r` become `\n`.
pub fn normalize_line_endings(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' {
            out.push(b'\n');
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    out
}

fn first_difference(recorded: &[u8], sent: &[u8]) -> String {
    let at = recorded
        .iter()
        .zip(sent)
        .position(|(a, b)| a != b)
        .unwrap_or(recorded.len().min(sent.len()));
    let line = recorded[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let snippet = |bytes: &[u8]| {
        let end = (at + 40).min(bytes.len());
        String::from_utf8_lossy(&bytes[at.min(end)..end]).into_owned()
    };
    let mut text = format!(
        "first difference at byte {at} (line {line}): recorded {:?}, sent {:?}",
        snippet(recorded),
        snippet(sent)
    );
    if sent.len() + 1 == recorded.len() && recorded.ends_with(b"\n") && recorded.starts_with(sent) {
        text.push_str("; the fixture file ends with a newline the request does not have");
    }
    text
}

fn describe(request: &Request) -> String {
    let mut text = format!("{} {}", request.method, request.url.path());
    if let Some(q) = request.url.query() {
        text.push('?');
        text.push_str(q);
    }
    if !request.body.is_empty() {
        text.push_str(&format!(" ({} body bytes)", request.body.len()));
    }
    text
}

/// Why the closest recorded exchange did not match, to make an unexpected request actionable.
fn nearest(exchanges: &[Exchange], request: &Request) -> String {
    let best = exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| (i, differences(&e.request, request)))
        .min_by_key(|(_, d)| d.len());
    match best {
        None => "; the scenario records no exchange".to_owned(),
        Some((i, diffs)) if diffs.is_empty() => format!(
            "; it matches {} but that exchange was already used {} time(s)",
            exchanges[i].label(i),
            exchanges[i].times
        ),
        Some((i, diffs)) => format!(
            "; nearest is {}: {}",
            exchanges[i].label(i),
            diffs.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_are_normalized() {
        assert_eq!(normalize_line_endings(b"a\r\nb\rc\n"), b"a\nb\nc\n");
    }

    #[test]
    fn the_first_difference_is_located() {
        let text = first_difference(b"<a>1</a>\n<b>2</b>\n", b"<a>1</a>\n<b>3</b>\n");
        assert!(text.contains("line 2"), "{text}");
        let text = first_difference(b"<a/>\n", b"<a/>");
        assert!(text.contains("ends with a newline"), "{text}");
    }
}
