//! The example connector against recorded fixtures, the way a connector outside this repository
//! runs the kit: it passes its own fixture directory, and picks the checks its scenarios cover.
//! (A connector in this repository records every required scenario and calls
//! `run_conformance`; see `docs/connector-guide.md`.)

use std::path::Path;

use orderport_testkit::conformance::{
    check_bad_credentials, check_hygiene, check_identity, check_multi_page, CheckResult,
};
use orderport_testkit::Connector;

fn connector() -> Connector {
    Connector::new(
        orderport_connector_example::SPEC.id,
        orderport_connector_example::connect,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/acme-market"),
    )
}

#[tokio::test]
async fn acme_market_passes_the_checks_its_fixtures_cover() -> CheckResult {
    let connector = connector();
    check_hygiene(&connector).await?;
    check_identity(&connector).await?;
    check_bad_credentials(&connector).await?;
    check_multi_page(&connector).await?;
    Ok(())
}
