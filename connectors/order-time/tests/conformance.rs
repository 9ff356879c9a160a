//! The shared conformance suite over `fixtures/order-time/`.
//!
//! Order Time declares `partial_shipments = false`, so the suite's `shipment-partial` check
//! expects the refusal recorded in `fixtures/order-time/shipment-partial/`.

use orderport_testkit::{run_conformance, workspace_fixtures, Connector};

#[tokio::test]
async fn conformance() {
    run_conformance(&Connector::new(
        "order-time",
        orderport_order_time::connect,
        workspace_fixtures().join("order-time"),
    ))
    .await;
}
