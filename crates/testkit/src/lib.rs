//! Contract tests for orderport connectors, ours and third parties': recorded HTTP fixtures
//! replayed with wiremock, and one conformance suite that every connector runs with one call,
//! the way `object_store`'s `integration` module serves every backend.
//!
//! - [`scenario`]: the fixture format, `fixtures/<connector-id>/<scenario>/scenario.toml` plus
//!   the bodies that went over the wire and the expected output as insta snapshots.
//! - [`replay`]: a wiremock server that answers the recorded exchanges and then verifies,
//!   explicitly, that the connector made exactly the recorded requests.
//! - [`conformance`]: the checks (`check_multi_page`, `check_rate_limited`, …) and
//!   [`run_conformance`], which runs them all and every connector-specific scenario.
//! - [`hostile`]: checks against hostile servers on loopback (redirects, echoed secrets, plain
//!   http, oversized replies), part of [`run_conformance`].
//! - [`hygiene`]: fixtures never hold real-looking credentials, e-mail addresses or phone numbers.
//! - [`pseudonym`]: stable pseudonyms for the names, e-mail addresses, phone numbers, street
//!   lines and customer codes of recorded bodies, consistent across a recording.
//! - [`fixture`]: scenarios described in Rust (store, exchanges, JSON bodies, `[expect]`) and
//!   written to, or checked against, the fixture directory, instead of a generator script.
//! - [`xsd`]: XML Schema validation in pure Rust (the `xmlschema` crate), so that bodies marked
//!   strict follow the published schema and bodies marked lenient really do not.
//!
//! `docs/testing.md` describes the fixture format field by field and what each check proves.
//!
//! # Example
//!
//! A connector's `tests/conformance.rs`:
//!
//! ```no_run
//! use orderport_testkit::{run_conformance, workspace_fixtures, Connector};
//! # mod orderport_spark_shipping {
//! #     use orderport_core::{ConfigError, SellingChannel, StoreConfig};
//! #     pub fn connect(_: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> { todo!() }
//! # }
//!
//! # async fn conformance() {
//! // #[tokio::test]
//! // async fn conformance() {
//! let connector = Connector::new(
//!     "spark-shipping",
//!     orderport_spark_shipping::connect,
//!     workspace_fixtures().join("spark-shipping"),
//! )
//! .with_schema(workspace_fixtures().join("custom-store/schema/orders.xsd"));
//! run_conformance(&connector).await; // panics with a report listing every failure
//! // }
//! # }
//! ```
//!
//! A connector can also run the checks it supports one by one:
//!
//! ```no_run
//! # use orderport_testkit::{conformance::*, Connector};
//! # async fn picked(connector: Connector) -> CheckResult {
//! check_multi_page(&connector).await?;
//! check_rate_limited(&connector).await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod conformance;
pub mod fixture;
pub mod hostile;
pub mod hygiene;
pub mod pseudonym;
pub mod replay;
pub mod scenario;
pub mod snapshot;
pub mod xsd;

use std::path::{Path, PathBuf};

pub use conformance::{
    conformance_report, run_conformance, run_scenario, CheckResult, Connector, Failure, Failures,
    ScenarioRun,
};
pub use replay::Replay;
pub use scenario::{FixtureError, ResultKind, Scenario, ScenarioKind, SchemaMark};

/// This repository's `fixtures/` directory (the kit's own location, two levels up). Connectors
/// outside the repository pass their own fixture path to [`Connector`].
pub fn workspace_fixtures() -> PathBuf {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    kit.ancestors()
        .nth(2)
        .map_or_else(|| kit.join("../../fixtures"), |root| root.join("fixtures"))
}
