//! The harness: replaying one scenario against a connector ([`run_scenario`]), the generic
//! assertions every scenario gets from its `[expect]` ([`check_expectations`]), and the
//! collector the checks report through.

use std::time::{Duration, Instant};

use futures::StreamExt;
use orderport_core::{
    pages, ChannelError, FetchOutcome, Order, Page, ReasonCode, Rejection, SellingChannel,
    StoreConfig,
};
use secrecy::ExposeSecret;

use super::{CheckResult, Connector, Failures};
use crate::replay::{Replay, ReplayMismatch, ReplayReport};
use crate::scenario::{ResultKind, Scenario, ScenarioKind};
use crate::snapshot;

/// The longest a scenario may take before it counts as hung.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// The most pages a walk may return before it counts as endless.
pub const MAX_PAGES: usize = 200;

/// The snapshot every successful fetch scenario is compared with, `<scenario>/outcomes.snap`.
pub const OUTCOMES_SNAPSHOT: &str = "outcomes";

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

/// The store's secrets in clear (the fixed three and the named ones of `[store.secrets]`), to
/// search output for them.
pub fn store_secrets(store: &StoreConfig) -> Vec<String> {
    store
        .secrets
        .iter()
        .map(|(_, s)| s.expose_secret().to_owned())
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

pub(crate) fn leaked_secrets(error: &ChannelError, secrets: &[String]) -> Vec<String> {
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
pub(crate) struct Check {
    name: String,
    pub(crate) failures: Failures,
}

impl Check {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            failures: Failures::default(),
        }
    }

    pub(crate) fn fail(&mut self, message: impl Into<String>) {
        self.failures.add(&self.name, message);
    }

    pub(crate) fn ensure(&mut self, condition: bool, message: impl Into<String>) {
        if !condition {
            self.fail(message);
        }
    }

    pub(crate) fn load(&mut self, connector: &Connector, name: &str) -> Option<Scenario> {
        match connector.scenario(name) {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("cannot load the scenario: {e}"));
                None
            }
        }
    }

    /// Runs a scenario with overrides and records the generic expectations' failures.
    pub(crate) async fn run_with(
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
    pub(crate) async fn run(&mut self, connector: &Connector, name: &str) -> Option<ScenarioRun> {
        let scenario = self.load(connector, name)?;
        self.run_with(connector, &scenario, &toml::Table::new())
            .await
    }

    pub(crate) fn finish(self) -> CheckResult {
        self.failures.into_result()
    }
}
