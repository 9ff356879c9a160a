//! The checks of failures: bad credentials, rate limits, unavailable servers and HTML error
//! pages.

use std::time::Duration;

use orderport_core::ChannelError;

use super::harness::{leaked_secrets, store_secrets, Check};
use super::{CheckResult, Connector};

/// `bad-credentials`: a 401 gives `ChannelError::Authentication`, whose Display and Debug
/// output show none of the store's secrets (password, api_key, dev_key, and the named ones).
pub async fn check_bad_credentials(connector: &Connector) -> CheckResult {
    let mut check = Check::new("bad-credentials");
    if let Some(run) = check.run(connector, "bad-credentials").await {
        let secrets = store_secrets(&run.store);
        check.ensure(
            !secrets.is_empty(),
            "the scenario's [store] has no secret, so a leak could not be seen",
        );
        check.ensure(
            run.scenario
                .exchanges
                .iter()
                .any(|e| e.response.status == 401),
            "no recorded response is a 401",
        );
        match &run.result {
            Err(error @ ChannelError::Authentication { .. }) => {
                for leak in leaked_secrets(error, &secrets) {
                    check.fail(leak);
                }
            }
            other => check.fail(format!(
                "expected ChannelError::Authentication, got {other:?}"
            )),
        }
    }
    check.finish()
}

/// `rate-limited`: a 429 with `Retry-After`, then a success: the call succeeds, and took at
/// least the time the server asked to wait.
pub async fn check_rate_limited(connector: &Connector) -> CheckResult {
    let mut check = Check::new("rate-limited");
    if let Some(run) = check.run(connector, "rate-limited").await {
        let exchanges = &run.scenario.exchanges;
        let limited = exchanges
            .iter()
            .position(|e| e.response.status == 429 && e.response.retry_after_secs().is_some());
        match limited {
            None => check.fail("no recorded response is a 429 with a numeric Retry-After"),
            Some(i) => {
                check.ensure(
                    exchanges[i + 1..]
                        .iter()
                        .any(|e| (200..300).contains(&e.response.status)),
                    "no success is recorded after the 429",
                );
                let wait: u64 = exchanges
                    .iter()
                    .filter(|e| e.response.status == 429)
                    .filter_map(|e| e.response.retry_after_secs().map(|s| s * e.times))
                    .sum();
                check.ensure(
                    run.elapsed >= Duration::from_secs(wait),
                    format!(
                        "the call took {:?}, less than the {wait}s Retry-After asked: the header is not honoured",
                        run.elapsed
                    ),
                );
            }
        }
        check.ensure(run.result.is_ok(), "the call did not succeed after the 429");
    }
    check.finish()
}

/// `unavailable`: a 503, then a success: the call is retried and succeeds.
pub async fn check_unavailable(connector: &Connector) -> CheckResult {
    let mut check = Check::new("unavailable");
    if let Some(run) = check.run(connector, "unavailable").await {
        check.ensure(
            run.scenario
                .exchanges
                .iter()
                .any(|e| e.response.status == 503),
            "no recorded response is a 503",
        );
        check.ensure(run.result.is_ok(), "the call did not succeed after the 503");
    }
    check.finish()
}

/// `html-error`: a 200 carrying an HTML page (a store's error page) is a
/// `ChannelError::Protocol`, not an empty success.
pub async fn check_html_error(connector: &Connector) -> CheckResult {
    let mut check = Check::new("html-error");
    if let Some(run) = check.run(connector, "html-error").await {
        check.ensure(
            run.scenario
                .exchanges
                .iter()
                .any(|e| e.response.status == 200 && e.response.is_html()),
            "no recorded response is a 200 carrying an HTML page",
        );
        check.ensure(
            matches!(run.result, Err(ChannelError::Protocol { .. })),
            format!("expected ChannelError::Protocol, got {:?}", run.result),
        );
    }
    check.finish()
}
