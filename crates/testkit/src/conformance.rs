//! The conformance suite every connector runs: one call, [`run_conformance`], or each check on
//! its own.
//!
//! Every check replays recorded scenarios against the connector through a mock server, then
//! asserts the scenario's `[expect]` (the generic part, [`check_expectations`]) and what the
//! check itself proves. Checks return every failure they find, not only the first.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Offset, TimeZone};
use futures::StreamExt;
use orderport_core::shipment::InvalidShipment;
use orderport_core::{
    pages, ChannelError, ConfigError, FetchOutcome, Order, Page, ReasonCode, Rejection,
    SellingChannel, ShipmentScope, StoreConfig, UnmappedPolicy,
};
use secrecy::ExposeSecret;

use crate::hygiene;
use crate::replay::{Replay, ReplayMismatch, ReplayReport};
use crate::scenario::{
    scenario_dirs, FixtureError, ResultKind, Scenario, ScenarioKind, SchemaMark, SCENARIO_FILE,
};
use crate::snapshot;
use crate::xsd::{XsdError, XsdSchema};

/// The scenarios every connector's fixture directory must have.
pub const REQUIRED_SCENARIOS: [&str; 11] = [
    "bad-credentials",
    "multi-page",
    "empty-window",
    "invalid-orders",
    "unmapped-status",
    "dst-window",
    "shipment-full",
    "shipment-partial",
    "rate-limited",
    "unavailable",
    "html-error",
];

/// The longest a scenario may take before it counts as hung.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// The most pages a walk may return before it counts as endless.
pub const MAX_PAGES: usize = 200;

/// The snapshot every successful fetch scenario is compared with, `<scenario>/outcomes.snap`.
pub const OUTCOMES_SNAPSHOT: &str = "outcomes";

/// How to build a connector's channel, and where its fixtures are.
#[derive(Clone)]
pub struct Connector {
    /// The channel id, such as `spark-shipping`; accepted orders must carry it.
    pub id: &'static str,
    /// The connector's constructor.
    pub connect: fn(&StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError>,
    /// The connector's fixture directory, such as `fixtures/spark-shipping`.
    pub fixtures: PathBuf,
    /// The XSD that response bodies marked `schema = "strict"` or `"lenient"` are checked
    /// against, where the channel publishes one.
    pub schema: Option<PathBuf>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("id", &self.id)
            .field("fixtures", &self.fixtures)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector with no schema.
    pub fn new(
        id: &'static str,
        connect: fn(&StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError>,
        fixtures: impl Into<PathBuf>,
    ) -> Self {
        Self {
            id,
            connect,
            fixtures: fixtures.into(),
            schema: None,
        }
    }

    /// The same connector, with response bodies checked against this XSD.
    pub fn with_schema(mut self, schema: impl Into<PathBuf>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Loads one of the connector's scenarios.
    pub fn scenario(&self, name: &str) -> Result<Scenario, FixtureError> {
        Scenario::load(&self.fixtures.join(name))
    }
}

/// One thing that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check that found it, such as `multi-page` or `hygiene`.
    pub check: String,
    /// What is wrong.
    pub message: String,
}

/// Every failure a check found. Its `Debug` is the readable report, so that a test returning
/// `Result<(), Failures>` prints it as is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Failures(pub Vec<Failure>);

impl Failures {
    /// True when nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing failed.
    pub fn into_result(self) -> CheckResult {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Adds the failures of another check's result.
    pub fn absorb(&mut self, result: CheckResult) {
        if let Err(other) = result {
            self.0.extend(other.0);
        }
    }

    /// A single failure of `check`.
    pub(crate) fn one(check: &str, message: impl Into<String>) -> Self {
        let mut failures = Self::default();
        failures.add(check, message);
        failures
    }

    pub(crate) fn add(&mut self, check: &str, message: impl Into<String>) {
        self.0.push(Failure {
            check: check.to_owned(),
            message: message.into(),
        });
    }
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} conformance failure(s):", self.0.len())?;
        for failure in &self.0 {
            write!(f, "\n  [{}] {}", failure.check, failure.message)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failures {}

/// What a check returns.
pub type CheckResult = Result<(), Failures>;

/// A scenario replayed against a connector: what it returned and what it sent.
#[derive(Debug)]
pub struct ScenarioRun {
    /// The scenario.
    pub scenario: Scenario,
    /// The store the channel was built from (its url pointing at the mock server).
    pub store: StoreConfig,
    /// How the call ended. For a fetch, the first error ends the walk.
    pub result: Result<(), ChannelError>,
    /// The pages walked before the walk ended (fetch).
    pub pages: Vec<Page>,
    /// How long the call took.
    pub elapsed: Duration,
    /// Whether the requests matched the recording.
    pub replay: Result<ReplayReport, ReplayMismatch>,
}

impl ScenarioRun {
    /// Every outcome with its page number, from 1.
    pub fn outcomes(&self) -> impl Iterator<Item = (usize, &FetchOutcome)> {
        self.pages
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.outcomes.iter().map(move |o| (i + 1, o)))
    }

    /// Every accepted order with its page number.
    pub fn accepted(&self) -> impl Iterator<Item = (usize, &Order)> {
        self.outcomes().filter_map(|(page, o)| match o {
            FetchOutcome::Accepted(order) => Some((page, order.as_ref())),
            FetchOutcome::Rejected(_) => None,
        })
    }

    /// Every rejection with its page number.
    pub fn rejected(&self) -> impl Iterator<Item = (usize, &Rejection)> {
        self.outcomes().filter_map(|(page, o)| match o {
            FetchOutcome::Rejected(rejection) => Some((page, rejection)),
            FetchOutcome::Accepted(_) => None,
        })
    }

    /// The kind of the result.
    pub fn result_kind(&self) -> ResultKind {
        ResultKind::of(&self.result)
    }
}

/// Replays a scenario against the connector: starts a mock server with its exchanges, builds
/// the channel from `[store]` (with `overrides` replacing store keys), makes the call, and
/// verifies the requests. Fails only when the run itself cannot happen (bad fixture, connect
/// error, timeout); what the run returned is judged by [`check_expectations`].
pub async fn run_scenario(
    connector: &Connector,
    scenario: &Scenario,
    overrides: &toml::Table,
) -> Result<ScenarioRun, String> {
    let replay = Replay::start(scenario).await;
    let store = scenario
        .store_config(&replay.uri(), overrides)
        .map_err(|e| e.to_string())?;
    let channel = (connector.connect)(&store)
        .map_err(|e| format!("connect refused the scenario's [store]: {e}"))?;
    let started = Instant::now();
    let call = async {
        let mut walked = Vec::new();
        let result = match scenario.kind {
            ScenarioKind::Fetch => walk(channel.as_ref(), scenario, &mut walked).await,
            ScenarioKind::PushShipment => match &scenario.shipment {
                Some(update) => channel.push_shipment(update).await,
                None => Ok(()),
            },
            ScenarioKind::CheckConnection => channel.check_connection().await,
        };
        (result, walked)
    };
    let timed = tokio::time::timeout(SCENARIO_TIMEOUT, call).await;
    let elapsed = started.elapsed();
    let replay_result = replay.finish().await;
    let (result, pages) = timed.map_err(|_| {
        format!(
            "the call did not finish within {}s{}",
            SCENARIO_TIMEOUT.as_secs(),
            replay_result
                .as_ref()
                .err()
                .map(|m| format!("; {m}"))
                .unwrap_or_default()
        )
    })?;
    Ok(ScenarioRun {
        scenario: scenario.clone(),
        store,
        result,
        pages,
        elapsed,
        replay: replay_result,
    })
}

async fn walk(
    channel: &dyn SellingChannel,
    scenario: &Scenario,
    walked: &mut Vec<Page>,
) -> Result<(), ChannelError> {
    let Some(window) = scenario.window else {
        return Ok(());
    };
    let mut stream = std::pin::pin!(pages(channel, window));
    while let Some(page) = stream.next().await {
        walked.push(page?);
        if walked.len() >= MAX_PAGES {
            break;
        }
    }
    Ok(())
}

/// The store's secrets in clear, to search output for them.
pub fn store_secrets(store: &StoreConfig) -> Vec<String> {
    [
        &store.secrets.password,
        &store.secrets.api_key,
        &store.secrets.dev_key,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose_secret().to_owned())
    .filter(|s| !s.is_empty())
    .collect()
}

/// The generic assertions every scenario gets from its `[expect]`, plus the invariants of the
/// trait: the requests match the recording; the result kind is the expected one; no error shows
/// a secret; the counts, pinned orders and pinned rejections are as expected; every rejection has
/// field-level reasons; accepted orders carry the connector's id and the store; and a successful
/// fetch matches `outcomes.snap`.
pub fn check_expectations(connector: &Connector, run: &ScenarioRun) -> Vec<String> {
    let mut problems = Vec::new();
    let expect = &run.scenario.expect;
    if let Err(mismatch) = &run.replay {
        problems.push(mismatch.to_string());
    }
    let kind = run.result_kind();
    if kind != expect.result {
        problems.push(format!(
            "expected result {}, got {kind}{}",
            expect.result,
            run.result
                .as_ref()
                .err()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    if let Err(error) = &run.result {
        for leak in leaked_secrets(error, &store_secrets(&run.store)) {
            problems.push(leak);
        }
    }
    if run.scenario.kind == ScenarioKind::Fetch {
        if run.pages.len() >= MAX_PAGES {
            problems.push(format!("the walk did not end after {MAX_PAGES} pages"));
        }
        let accepted = run.accepted().count();
        let rejected = run.rejected().count();
        for (what, expected, got) in [
            ("pages", expect.pages, run.pages.len()),
            ("accepted orders", expect.accepted, accepted),
            ("rejected orders", expect.rejected, rejected),
        ] {
            if let Some(expected) = expected {
                if expected != got {
                    problems.push(format!("expected {expected} {what}, got {got}"));
                }
            }
        }
        problems.extend(pinned_orders(run));
        problems.extend(pinned_rejections(run));
        problems.extend(invariants(connector, run));
        if run.result.is_ok() {
            if let Err(e) = snapshot::check_outcomes(
                &run.scenario.dir,
                OUTCOMES_SNAPSHOT,
                &run.scenario.description,
                &run.pages,
            ) {
                problems.push(e);
            }
        }
    }
    problems
}

fn leaked_secrets(error: &ChannelError, secrets: &[String]) -> Vec<String> {
    let display = error.to_string();
    let debug = format!("{error:?}");
    secrets
        .iter()
        .filter(|s| display.contains(s.as_str()) || debug.contains(s.as_str()))
        .map(|_| {
            format!("the error shows a store secret in its Display or Debug output: {display}")
        })
        .take(1)
        .collect()
}

fn pinned_orders(run: &ScenarioRun) -> Vec<String> {
    let mut problems = Vec::new();
    for pinned in &run.scenario.expect.order {
        let found: Vec<&Order> = run
            .accepted()
            .map(|(_, o)| o)
            .filter(|o| o.order_number == pinned.order_number)
            .collect();
        let [order] = found.as_slice() else {
            problems.push(format!(
                "expected order {} to be accepted once, found it accepted {} time(s)",
                pinned.order_number,
                found.len()
            ));
            continue;
        };
        let mut compare = |field: &str, expected: Option<String>, got: Option<String>| {
            if let Some(expected) = expected {
                if Some(&expected) != got.as_ref() {
                    problems.push(format!(
                        "order {}: expected {field} {expected}, got {}",
                        pinned.order_number,
                        got.as_deref().unwrap_or("none")
                    ));
                }
            }
        };
        compare(
            "status",
            pinned.status.map(|s| s.to_string()),
            Some(order.status.to_string()),
        );
        compare(
            "ordered_at",
            pinned.ordered_at.map(|t| t.to_rfc3339()),
            Some(order.ordered_at.to_rfc3339()),
        );
        compare(
            "modified_at",
            pinned.modified_at.map(|t| t.to_rfc3339()),
            Some(order.modified_at.to_rfc3339()),
        );
        compare(
            "paid_at",
            pinned.paid_at.map(|t| t.to_rfc3339()),
            order.paid_at.map(|t| t.to_rfc3339()),
        );
    }
    problems
}

fn pinned_rejections(run: &ScenarioRun) -> Vec<String> {
    let mut problems = Vec::new();
    for pinned in &run.scenario.expect.rejection {
        let rejections: Vec<&Rejection> = run
            .rejected()
            .map(|(_, r)| r)
            .filter(|r| r.order_number.as_deref() == Some(pinned.order_number.as_str()))
            .collect();
        if rejections.is_empty() {
            problems.push(format!(
                "expected order {} to be rejected, it was not",
                pinned.order_number
            ));
            continue;
        }
        let has = rejections.iter().any(|r| {
            r.reasons
                .iter()
                .any(|reason| reason.field == pinned.field && reason.code == pinned.code)
        });
        if !has {
            problems.push(format!(
                "order {}: expected a reason {} on {}, got {}",
                pinned.order_number,
                code_name(pinned.code),
                pinned.field,
                rejections
                    .iter()
                    .flat_map(|r| &r.reasons)
                    .map(|r| format!("{} on {}", code_name(r.code), r.field))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    problems
}

fn code_name(code: ReasonCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{code:?}"))
}

fn invariants(connector: &Connector, run: &ScenarioRun) -> Vec<String> {
    let mut problems = Vec::new();
    for (page, order) in run.accepted() {
        if order.channel != connector.id {
            problems.push(format!(
                "page {page}: order {} has channel {:?}, expected {:?}",
                order.order_number, order.channel, connector.id
            ));
        }
        if order.store_id != run.store.id || order.store_name != run.store.name {
            problems.push(format!(
                "page {page}: order {} has store {:?} ({:?}), expected {:?} ({:?})",
                order.order_number, order.store_id, order.store_name, run.store.id, run.store.name
            ));
        }
    }
    for (page, rejection) in run.rejected() {
        let who = rejection.order_number.as_deref().unwrap_or("<unknown>");
        if rejection.reasons.is_empty() {
            problems.push(format!(
                "page {page}: order {who} is rejected with no reason"
            ));
        }
        for reason in &rejection.reasons {
            if reason.field.trim().is_empty() || reason.message.trim().is_empty() {
                problems.push(format!(
                    "page {page}: order {who} has a reason without a field path or a message: {reason:?}"
                ));
            }
        }
        if rejection.store_id != run.store.id {
            problems.push(format!(
                "page {page}: rejection of {who} names store {:?}, expected {:?}",
                rejection.store_id, run.store.id
            ));
        }
    }
    problems
}

/// Collects one check's failures.
struct Check {
    name: String,
    failures: Failures,
}

impl Check {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            failures: Failures::default(),
        }
    }

    fn fail(&mut self, message: impl Into<String>) {
        self.failures.add(&self.name, message);
    }

    fn ensure(&mut self, condition: bool, message: impl Into<String>) {
        if !condition {
            self.fail(message);
        }
    }

    fn load(&mut self, connector: &Connector, name: &str) -> Option<Scenario> {
        match connector.scenario(name) {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("cannot load the scenario: {e}"));
                None
            }
        }
    }

    /// Runs a scenario with overrides and records the generic expectations' failures.
    async fn run_with(
        &mut self,
        connector: &Connector,
        scenario: &Scenario,
        overrides: &toml::Table,
    ) -> Option<ScenarioRun> {
        match run_scenario(connector, scenario, overrides).await {
            Ok(run) => {
                for problem in check_expectations(connector, &run) {
                    self.fail(problem);
                }
                Some(run)
            }
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Loads and runs a named scenario of the connector.
    async fn run(&mut self, connector: &Connector, name: &str) -> Option<ScenarioRun> {
        let scenario = self.load(connector, name)?;
        self.run_with(connector, &scenario, &toml::Table::new())
            .await
    }

    fn finish(self) -> CheckResult {
        self.failures.into_result()
    }
}

/// `bad-credentials`: a 401 gives `ChannelError::Authentication`, whose Display and Debug
/// output show none of the store's secrets (password, api_key, dev_key).
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

/// `multi-page`: a window of two or more pages, walked with `orderport_core::pages`, returns
/// every order exactly once (no duplicate `external_id`) and as many as the scenario expects.
pub async fn check_multi_page(connector: &Connector) -> CheckResult {
    let mut check = Check::new("multi-page");
    if let Some(run) = check.run(connector, "multi-page").await {
        check.ensure(run.result.is_ok(), "the walk failed");
        check.ensure(
            run.pages.len() >= 2,
            format!("expected at least 2 pages, got {}", run.pages.len()),
        );
        let mut seen = HashSet::new();
        for (page, outcome) in run.outcomes() {
            let id = match outcome {
                FetchOutcome::Accepted(o) => Some(o.external_id.clone()),
                FetchOutcome::Rejected(r) => r.external_id.clone(),
            };
            if let Some(id) = id {
                if !seen.insert(id.clone()) {
                    check.fail(format!(
                        "order {id} is returned twice (again on page {page})"
                    ));
                }
            }
        }
        let expected = run
            .scenario
            .expect
            .accepted
            .map(|a| a + run.scenario.expect.rejected.unwrap_or(0));
        match expected {
            Some(n) => check.ensure(
                run.outcomes().count() == n,
                format!("expected {n} orders in all, got {}", run.outcomes().count()),
            ),
            None => check.fail("[expect] must set accepted (and rejected) for multi-page"),
        }
    }
    check.finish()
}

/// `empty-window`: a window with no orders is `Ok` with zero outcomes.
pub async fn check_empty_window(connector: &Connector) -> CheckResult {
    let mut check = Check::new("empty-window");
    if let Some(run) = check.run(connector, "empty-window").await {
        check.ensure(run.result.is_ok(), "the walk failed");
        check.ensure(
            run.outcomes().count() == 0,
            format!("expected no orders, got {}", run.outcomes().count()),
        );
    }
    check.finish()
}

/// `invalid-orders`: bad orders come back as rejections with field-level reasons, and never
/// fail their page: at least one order on a page with a rejection is accepted.
pub async fn check_invalid_orders(connector: &Connector) -> CheckResult {
    let mut check = Check::new("invalid-orders");
    if let Some(run) = check.run(connector, "invalid-orders").await {
        check.ensure(
            run.result.is_ok(),
            "the walk failed: a bad order must not fail its page",
        );
        let rejected_pages: HashSet<usize> = run.rejected().map(|(p, _)| p).collect();
        check.ensure(!rejected_pages.is_empty(), "no order was rejected");
        check.ensure(
            run.rejected().all(|(_, r)| {
                r.reasons
                    .iter()
                    .all(|x| !x.field.is_empty() && !x.message.is_empty())
            }),
            "a rejection reason has no field path or message",
        );
        check.ensure(
            run.accepted().any(|(p, _)| rejected_pages.contains(&p)),
            "no page holds both a rejected and an accepted order",
        );
    }
    check.finish()
}

/// `unmapped-status`: with `unmapped_status = "reject"` the order is rejected with code
/// `unmapped_status`; replayed again with `unmapped_status` set to the scenario's fallback, the
/// same order is accepted with that status and its raw status kept.
pub async fn check_unmapped_status(connector: &Connector) -> CheckResult {
    let mut check = Check::new("unmapped-status");
    let Some(scenario) = check.load(connector, "unmapped-status") else {
        return check.finish();
    };
    let Some(unmapped) = scenario.expect.unmapped.clone() else {
        check.fail("[expect.unmapped] must name order_number, raw_status and fallback");
        return check.finish();
    };
    if let Some(run) = check
        .run_with(connector, &scenario, &toml::Table::new())
        .await
    {
        check.ensure(
            run.store.unmapped_status == UnmappedPolicy::Reject,
            "the scenario's [store] must have unmapped_status = \"reject\"",
        );
        let rejected = run.rejected().any(|(_, r)| {
            r.order_number.as_deref() == Some(unmapped.order_number.as_str())
                && r.reasons
                    .iter()
                    .any(|x| x.code == ReasonCode::UnmappedStatus)
        });
        check.ensure(
            rejected,
            format!(
                "order {} is not rejected with code unmapped_status",
                unmapped.order_number
            ),
        );
    }
    let mut overrides = toml::Table::new();
    overrides.insert(
        "unmapped_status".into(),
        toml::Value::String(unmapped.fallback.to_string()),
    );
    match run_scenario(connector, &scenario, &overrides).await {
        Ok(run) => {
            if let Err(m) = &run.replay {
                check.fail(format!("with the fallback: {m}"));
            }
            let order = run
                .accepted()
                .map(|(_, o)| o)
                .find(|o| o.order_number == unmapped.order_number);
            match order {
                Some(order) => {
                    check.ensure(
                        order.status == unmapped.fallback,
                        format!(
                            "with unmapped_status = {:?}, order {} has status {}",
                            unmapped.fallback.as_str(),
                            order.order_number,
                            order.status
                        ),
                    );
                    check.ensure(
                        order.raw_status == unmapped.raw_status,
                        format!(
                            "order {} keeps raw status {:?}, expected {:?}",
                            order.order_number, order.raw_status, unmapped.raw_status
                        ),
                    );
                }
                None => check.fail(format!(
                    "with unmapped_status = {:?}, order {} is not accepted",
                    unmapped.fallback.as_str(),
                    unmapped.order_number
                )),
            }
        }
        Err(e) => check.fail(format!("with the fallback: {e}")),
    }
    check.finish()
}

/// `dst-window`: a store in a zone other than UTC, a window across a change of its UTC offset,
/// requests that pin the wall-clock bounds, and orders whose UTC instants (`ordered_at`,
/// `modified_at`) are pinned in `[[expect.order]]`, one of them on another calendar day in UTC
/// than on the store's wall clock.
pub async fn check_dst_window(connector: &Connector) -> CheckResult {
    let mut check = Check::new("dst-window");
    if let Some(run) = check.run(connector, "dst-window").await {
        let zone = run.store.timezone;
        let tz = zone.tz();
        check.ensure(
            zone != orderport_core::StoreZone::UTC,
            "the store must be in a zone other than UTC",
        );
        if let Some(window) = run.scenario.window {
            let offset = |t: chrono::DateTime<chrono::Utc>| {
                tz.offset_from_utc_datetime(&t.naive_utc()).fix()
            };
            check.ensure(
                offset(window.from()) != offset(window.to()),
                format!("the window does not cross a change of {zone}'s UTC offset"),
            );
        }
        check.ensure(
            !run.scenario.exchanges.is_empty()
                && run
                    .scenario
                    .exchanges
                    .iter()
                    .all(|e| !e.request.query.is_empty() || e.request.body.is_some()),
            "every recorded request must pin the window it asks for (query or body)",
        );
        let pinned = &run.scenario.expect.order;
        check.ensure(
            !pinned.is_empty(),
            "[[expect.order]] must pin at least one order",
        );
        check.ensure(
            pinned
                .iter()
                .all(|o| o.ordered_at.is_some() && o.modified_at.is_some()),
            "every [[expect.order]] must pin ordered_at and modified_at",
        );
        check.ensure(
            pinned.iter().filter_map(|o| o.ordered_at).any(|t| zone.to_wall(t).date() != t.date_naive()),
            "no pinned order is on another day in UTC than on the store's clock (add a late-day order)",
        );
    }
    check.finish()
}

async fn check_shipment(connector: &Connector, name: &str, partial: bool) -> CheckResult {
    let mut check = Check::new(name);
    if let Some(run) = check.run(connector, name).await {
        check.ensure(
            run.scenario.kind == ScenarioKind::PushShipment,
            "kind must be push_shipment",
        );
        // A channel that declares no partial shipments must refuse one before sending anything.
        let refuses_partial = partial && !supports_partial_shipments(connector, &run.store);
        if refuses_partial {
            check.ensure(
                matches!(
                    run.result,
                    Err(ChannelError::InvalidShipment {
                        reason: InvalidShipment::PartialNotSupported { .. },
                        ..
                    })
                ),
                "the channel declares partial_shipments = false, so a partial shipment must be refused with ChannelError::InvalidShipment (PartialNotSupported): call ShipmentUpdate::check_for before sending",
            );
            check.ensure(
                run.scenario.exchanges.is_empty(),
                "a refused partial shipment must send nothing: record no exchange",
            );
        } else {
            check.ensure(run.result.is_ok(), "push_shipment failed");
        }
        if let Some(update) = &run.scenario.shipment {
            if let Err(e) = update.validate() {
                check.fail(format!("[shipment] is not a valid update: {e}"));
            }
            for (field, set) in [
                ("service", update.service.is_some()),
                ("label_created_at", update.label_created_at.is_some()),
                ("shipping_cost", update.shipping_cost.is_some()),
                ("notes_to_buyer", update.notes_to_buyer.is_some()),
            ] {
                check.ensure(
                    set,
                    format!("[shipment] must set {field} so that sending every field is exercised"),
                );
            }
            match (&update.scope, partial) {
                (ShipmentScope::Partial(_), true) | (ShipmentScope::Complete(_), false) => {}
                (_, true) => check.fail("[shipment] scope must be partial"),
                (_, false) => check.fail("[shipment] scope must be complete"),
            }
        }
        check.ensure(
            refuses_partial
                || run
                    .scenario
                    .exchanges
                    .iter()
                    .any(|e| e.request.body.is_some()),
            "no recorded request has a body, so what is sent is not compared",
        );
    }
    check.finish()
}

/// What the channel built from `store` declares about partial shipments. Connecting does no I/O.
fn supports_partial_shipments(connector: &Connector, store: &StoreConfig) -> bool {
    (connector.connect)(store).map_or(true, |channel| {
        channel.spec().capabilities.partial_shipments
    })
}

/// `shipment-full`: a complete shipment that sets every optional field is sent, and the request
/// (query and body) is exactly the recorded one.
pub async fn check_shipment_full(connector: &Connector) -> CheckResult {
    check_shipment(connector, "shipment-full", false).await
}

/// `shipment-partial`: as `shipment-full`, for a `ShipmentScope::Partial` shipment. A channel
/// whose `Capabilities::partial_shipments` is false must instead refuse it with
/// `ChannelError::InvalidShipment` (`PartialNotSupported`) and send nothing.
pub async fn check_shipment_partial(connector: &Connector) -> CheckResult {
    check_shipment(connector, "shipment-partial", true).await
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

/// Every scenario directory that is not a required one (the connector's own scenarios), each
/// replayed and judged by its `[expect]` and snapshot.
pub async fn check_connector_scenarios(connector: &Connector) -> CheckResult {
    let mut check = Check::new("connector scenarios");
    let dirs = match scenario_dirs(&connector.fixtures) {
        Ok(dirs) => dirs,
        Err(e) => {
            check.fail(e.to_string());
            return check.finish();
        }
    };
    for dir in dirs {
        let name = dir_name(&dir);
        if REQUIRED_SCENARIOS.contains(&name.as_str()) {
            continue;
        }
        let mut one = Check::new(&name);
        if let Some(scenario) = one.load(connector, &name) {
            one.run_with(connector, &scenario, &toml::Table::new())
                .await;
        }
        check.failures.absorb(one.finish());
    }
    check.finish()
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The fixture directory is complete and tidy: every required scenario is present, every
/// scenario loads, every file in a scenario directory is used (`scenario.toml`, a body it names,
/// a `.snap`, or a `.md` note), and no snapshot is left pending review (`.snap.new`).
pub async fn check_layout(connector: &Connector) -> CheckResult {
    let mut check = Check::new("layout");
    let dirs = match scenario_dirs(&connector.fixtures) {
        Ok(dirs) => dirs,
        Err(e) => {
            check.fail(e.to_string());
            return check.finish();
        }
    };
    let names: Vec<String> = dirs.iter().map(|d| dir_name(d)).collect();
    for required in REQUIRED_SCENARIOS {
        check.ensure(
            names.iter().any(|n| n == required),
            format!("the required scenario {required}/ is missing"),
        );
    }
    for dir in &dirs {
        let name = dir_name(dir);
        if !dir.join(SCENARIO_FILE).is_file() {
            check.fail(format!("{name}/ has no {SCENARIO_FILE}"));
            continue;
        }
        let scenario = match Scenario::load(dir) {
            Ok(s) => s,
            Err(e) => {
                check.fail(e.to_string());
                continue;
            }
        };
        let used: HashSet<&str> = scenario
            .exchanges
            .iter()
            .flat_map(|e| [e.request.body.as_ref(), e.response.body.as_ref()])
            .flatten()
            .map(|b| b.file.as_str())
            .collect();
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".snap.new") || file.ends_with(".pending-snap") {
                check.fail(format!(
                    "{name}/{file} is a snapshot pending review: read it, then rename it to .snap or delete it"
                ));
            } else if !(file == SCENARIO_FILE
                || file.ends_with(".snap")
                || file.ends_with(".md")
                || used.contains(file.as_str()))
            {
                check.fail(format!("{name}/{file} is not used by {SCENARIO_FILE}"));
            }
        }
    }
    check.finish()
}

/// The connector builds a channel from a scenario store, reports its own id and the store's,
/// and refuses a store configured for another channel.
pub async fn check_identity(connector: &Connector) -> CheckResult {
    let mut check = Check::new("identity");
    let Some(scenario) = check.load(connector, "multi-page") else {
        return check.finish();
    };
    // No request is made: connecting does no I/O.
    let base = "http://127.0.0.1:9";
    match scenario.store_config(base, &toml::Table::new()) {
        Ok(store) => match (connector.connect)(&store) {
            Ok(channel) => {
                check.ensure(
                    channel.spec().id == connector.id,
                    format!(
                        "spec().id is {:?}, expected {:?}",
                        channel.spec().id,
                        connector.id
                    ),
                );
                check.ensure(
                    channel.store().id == store.id,
                    format!(
                        "store().id is {:?}, expected {:?}",
                        channel.store().id,
                        store.id
                    ),
                );
            }
            Err(e) => check.fail(format!("connect refused the multi-page store: {e}")),
        },
        Err(e) => check.fail(e.to_string()),
    }
    let mut other = toml::Table::new();
    other.insert(
        "channel".into(),
        toml::Value::String(format!("not-{}", connector.id)),
    );
    if let Ok(store) = scenario.store_config(base, &other) {
        check.ensure(
            (connector.connect)(&store).is_err(),
            "connect accepted a store configured for another channel",
        );
    }
    check.finish()
}

/// Fixture hygiene over the connector's fixtures: no real-looking credentials or personal data
/// (see [`crate::hygiene`] for the rules).
pub async fn check_hygiene(connector: &Connector) -> CheckResult {
    check_fixture_tree(&connector.fixtures)
}

/// Fixture hygiene over any tree, such as the whole `fixtures/` directory.
pub fn check_fixture_tree(root: &Path) -> CheckResult {
    let mut failures = Failures::default();
    for violation in hygiene::check_tree(root) {
        failures.add("hygiene", violation.to_string());
    }
    failures.into_result()
}

/// Schema marks are honest: with a connector schema, every response body marked
/// `schema = "strict"` validates against it, every one marked `"lenient"` fails validation, and
/// every successful XML response is marked one way or the other.
pub async fn check_schema_marks(connector: &Connector) -> CheckResult {
    let mut check = Check::new("schema");
    let schema = match &connector.schema {
        Some(path) => match XsdSchema::load(path) {
            Ok(schema) => Some(schema),
            Err(e) => {
                check.fail(format!("{}: {e}", path.display()));
                return check.finish();
            }
        },
        None => None,
    };
    let Ok(dirs) = scenario_dirs(&connector.fixtures) else {
        return check.finish();
    };
    for dir in dirs {
        let Ok(scenario) = Scenario::load(&dir) else {
            continue; // check_layout reports it
        };
        let name = &scenario.name;
        for (i, exchange) in scenario.exchanges.iter().enumerate() {
            let response = &exchange.response;
            let xml = response
                .content_type()
                .is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
            if schema.is_some()
                && response.schema.is_none()
                && response.body.is_some()
                && xml
                && (200..300).contains(&response.status)
            {
                check.fail(format!(
                    "{name}: {} returns XML without schema = \"strict\" or \"lenient\"",
                    exchange.label(i)
                ));
            }
        }
        for (_, mark, body) in scenario.marked_responses() {
            let Some(schema) = &schema else {
                check.fail(format!(
                    "{name}/{}: marked {mark:?} but the connector declares no schema",
                    body.file
                ));
                continue;
            };
            match (mark, schema.validate(&body.bytes)) {
                (SchemaMark::Strict, Ok(())) => {}
                (SchemaMark::Strict, Err(e)) => check.fail(format!(
                    "{name}/{} is marked strict but does not validate: {e}",
                    body.file
                )),
                (SchemaMark::Lenient, Ok(())) => check.fail(format!(
                    "{name}/{} is marked lenient but validates: mark it strict",
                    body.file
                )),
                (SchemaMark::Lenient, Err(XsdError::Invalid(_) | XsdError::NotWellFormed(_))) => {}
                (SchemaMark::Lenient, Err(e)) => check.fail(format!("{name}/{}: {e}", body.file)),
            }
        }
    }
    check.finish()
}

/// Runs every check and returns every failure.
pub async fn conformance_report(connector: &Connector) -> CheckResult {
    let mut failures = Failures::default();
    failures.absorb(check_layout(connector).await);
    failures.absorb(check_hygiene(connector).await);
    failures.absorb(check_schema_marks(connector).await);
    failures.absorb(check_identity(connector).await);
    failures.absorb(check_bad_credentials(connector).await);
    failures.absorb(check_multi_page(connector).await);
    failures.absorb(check_empty_window(connector).await);
    failures.absorb(check_invalid_orders(connector).await);
    failures.absorb(check_unmapped_status(connector).await);
    failures.absorb(check_dst_window(connector).await);
    failures.absorb(check_shipment_full(connector).await);
    failures.absorb(check_shipment_partial(connector).await);
    failures.absorb(check_rate_limited(connector).await);
    failures.absorb(check_unavailable(connector).await);
    failures.absorb(check_html_error(connector).await);
    failures.absorb(check_connector_scenarios(connector).await);
    failures.absorb(crate::hostile::check_redirects(connector).await);
    failures.absorb(crate::hostile::check_echoed_secrets(connector).await);
    failures.absorb(crate::hostile::check_insecure_http(connector).await);
    failures.absorb(crate::hostile::check_body_limit(connector).await);
    failures.into_result()
}

/// Runs every check and every scenario, and panics with a report listing every failure.
pub async fn run_conformance(connector: &Connector) {
    if let Err(failures) = conformance_report(connector).await {
        panic!(
            "connector {} does not conform ({}):\n{failures}",
            connector.id,
            connector.fixtures.display()
        );
    }
}
