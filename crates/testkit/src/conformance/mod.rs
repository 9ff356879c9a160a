//! The conformance suite every connector runs: one call, [`run_conformance`], or each check on
//! its own.
//!
//! Every check replays recorded scenarios against the connector through a mock server, then
//! asserts the scenario's `[expect]` (the generic part, [`check_expectations`]) and what the
//! check itself proves. Checks return every failure they find, not only the first.
//!
//! The suite is laid out by responsibility:
//!
//! - the harness (`harness.rs`): [`run_scenario`] replays one scenario, [`check_expectations`]
//!   judges it;
//! - the checks by area: fetching (`fetch.rs`), shipments (`shipments.rs`), failures
//!   (`errors.rs`), the fixture directory (`fixtures.rs`), and hostile servers
//!   ([`crate::hostile`]);
//! - [`CHECKS`], the one table of every check in the order [`conformance_report`] runs them,
//!   each with the required scenario it replays. [`REQUIRED_SCENARIOS`] is derived from it.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use orderport_core::{ConfigError, SellingChannel, StoreConfig};

use crate::hostile;
use crate::scenario::{FixtureError, Scenario};

mod errors;
mod fetch;
mod fixtures;
mod harness;
mod shipments;

pub use errors::{check_bad_credentials, check_html_error, check_rate_limited, check_unavailable};
pub use fetch::{
    check_dst_window, check_empty_window, check_identity, check_invalid_orders, check_multi_page,
    check_store_status_map, check_unmapped_status,
};
pub use fixtures::{
    check_connector_scenarios, check_fixture_tree, check_hygiene, check_layout, check_schema_marks,
};
pub use harness::{
    check_expectations, run_scenario, store_secrets, ScenarioRun, MAX_PAGES, OUTCOMES_SNAPSHOT,
    SCENARIO_TIMEOUT,
};
pub use shipments::{check_shipment_full, check_shipment_partial};

/// What a running check is: a future of its result, borrowing the connector.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// A check: a function of the connector returning its running future.
pub type CheckFn = for<'a> fn(&'a Connector) -> CheckFuture<'a>;

/// One conformance check, as [`CHECKS`] lists it.
#[derive(Clone, Copy)]
pub struct CheckEntry {
    /// The check's name, as reports and docs/testing.md call it.
    pub name: &'static str,
    /// The required scenario the check replays, which every connector's fixture directory must
    /// hold; `None` for a check of the whole directory or of hostile servers.
    pub scenario: Option<&'static str>,
    /// Runs the check.
    pub run: CheckFn,
}

impl fmt::Debug for CheckEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckEntry")
            .field("name", &self.name)
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

impl CheckEntry {
    /// A check of the whole fixture directory, or of servers it starts itself.
    const fn whole(name: &'static str, run: CheckFn) -> Self {
        Self {
            name,
            scenario: None,
            run,
        }
    }

    /// A check that replays the required scenario of its own name.
    const fn replays(scenario: &'static str, run: CheckFn) -> Self {
        Self {
            name: scenario,
            scenario: Some(scenario),
            run,
        }
    }
}

/// Every check, in the order [`conformance_report`] runs them, each with the required scenario
/// it replays: the one table from which [`REQUIRED_SCENARIOS`] is derived.
#[rustfmt::skip]
pub const CHECKS: [CheckEntry; 21] = [
    CheckEntry::whole("layout", |c| Box::pin(check_layout(c))),
    CheckEntry::whole("hygiene", |c| Box::pin(check_hygiene(c))),
    CheckEntry::whole("schema", |c| Box::pin(check_schema_marks(c))),
    CheckEntry::whole("identity", |c| Box::pin(check_identity(c))),
    CheckEntry::replays("bad-credentials", |c| Box::pin(check_bad_credentials(c))),
    CheckEntry::replays("multi-page", |c| Box::pin(check_multi_page(c))),
    CheckEntry::replays("empty-window", |c| Box::pin(check_empty_window(c))),
    CheckEntry::replays("invalid-orders", |c| Box::pin(check_invalid_orders(c))),
    CheckEntry::replays("unmapped-status", |c| Box::pin(check_unmapped_status(c))),
    CheckEntry::whole("store-status-map", |c| Box::pin(check_store_status_map(c))),
    CheckEntry::replays("dst-window", |c| Box::pin(check_dst_window(c))),
    CheckEntry::replays("shipment-full", |c| Box::pin(check_shipment_full(c))),
    CheckEntry::replays("shipment-partial", |c| Box::pin(check_shipment_partial(c))),
    CheckEntry::replays("rate-limited", |c| Box::pin(check_rate_limited(c))),
    CheckEntry::replays("unavailable", |c| Box::pin(check_unavailable(c))),
    CheckEntry::replays("html-error", |c| Box::pin(check_html_error(c))),
    CheckEntry::whole("connector scenarios", |c| Box::pin(check_connector_scenarios(c))),
    CheckEntry::whole("redirects", |c| Box::pin(hostile::check_redirects(c))),
    CheckEntry::whole("echoed-secrets", |c| Box::pin(hostile::check_echoed_secrets(c))),
    CheckEntry::whole("insecure-http", |c| Box::pin(hostile::check_insecure_http(c))),
    CheckEntry::whole("body-limit", |c| Box::pin(hostile::check_body_limit(c))),
];

/// How many entries of `checks` name a required scenario.
const fn required_count(checks: &[CheckEntry]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < checks.len() {
        if checks[i].scenario.is_some() {
            count += 1;
        }
        i += 1;
    }
    count
}

/// The required scenarios of `checks`, in table order.
const fn required_array<const N: usize>(checks: &[CheckEntry]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut j) = (0, 0);
    while i < checks.len() {
        if let Some(scenario) = checks[i].scenario {
            out[j] = scenario;
            j += 1;
        }
        i += 1;
    }
    out
}

/// The scenarios every connector's fixture directory must have: those [`CHECKS`] replay.
pub const REQUIRED_SCENARIOS: [&str; required_count(&CHECKS)] = required_array(&CHECKS);

/// [`REQUIRED_SCENARIOS`], for the checks themselves: reading [`CHECKS`] at run time rather than
/// the constant keeps the constant's length out of the checks' own types (which [`CHECKS`]
/// needs to know before the length can be counted).
fn required_scenarios() -> Vec<&'static str> {
    CHECKS.iter().filter_map(|c| c.scenario).collect()
}

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

/// Runs every check of [`CHECKS`], in order, and returns every failure.
pub async fn conformance_report(connector: &Connector) -> CheckResult {
    let mut failures = Failures::default();
    for check in &CHECKS {
        failures.absorb((check.run)(connector).await);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_scenarios_come_from_the_table_in_its_order() {
        assert_eq!(
            REQUIRED_SCENARIOS,
            [
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
            ]
        );
        // Each check's name is unique, and a scenario check is named after its scenario.
        let mut names: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len());
        assert!(CHECKS
            .iter()
            .all(|c| c.scenario.is_none_or(|s| s == c.name)));
    }
}
