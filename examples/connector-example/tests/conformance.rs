//! The example connector against the whole conformance suite: every required scenario and
//! Acme's own in `fixtures/acme-market/` (written by `tests/fixtures.rs`), replayed through a
//! mock server, and the hostile-server checks.

use std::path::Path;

use orderport_testkit::{run_conformance, Connector};

#[tokio::test]
async fn acme_market_conforms() {
    let connector = Connector::new(
        orderport_connector_example::SPEC.id,
        orderport_connector_example::connect,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/acme-market"),
    );
    run_conformance(&connector).await;
}
