//! The shared conformance suite over `fixtures/order-time/`: the REST transport (every scenario's
//! store sets a password or a dev_key). The Custom Store transport has its own suite in
//! `conformance_custom_store.rs`, a separate test binary: the process-wide HTTP client keeps
//! connections per runtime, and two suites in one binary run in parallel runtimes.
//!
//! Order Time declares `partial_shipments = false`, so the suite's `shipment-partial` check
//! expects the refusal recorded in `fixtures/order-time/shipment-partial/`.

use orderport_testkit::{run_conformance, workspace_fixtures, Connector};

#[tokio::test]
async fn rest_transport_conforms() {
    run_conformance(&Connector::new(
        "order-time",
        orderport_order_time::connect,
        workspace_fixtures().join("order-time"),
    ))
    .await;
}
