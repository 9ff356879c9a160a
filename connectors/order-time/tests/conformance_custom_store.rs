//! The shared conformance suite over `fixtures/order-time-custom-store/`: the Custom Store
//! endpoint Order Time hosts, the default transport (every scenario's store has only `username`
//! and `api_key`), with the export bodies checked against the published Custom Store schema.
//!
//! Order Time declares `partial_shipments = false` on this transport too, so the suite's
//! `shipment-partial` check expects the refusal recorded in `shipment-partial/`.

use orderport_testkit::{run_conformance, workspace_fixtures, Connector};

#[tokio::test]
async fn custom_store_transport_conforms() {
    let connector = Connector::new(
        orderport_order_time::SPEC.id,
        orderport_order_time::connect,
        workspace_fixtures().join("order-time-custom-store"),
    )
    .with_schema(workspace_fixtures().join("custom-store/schema/orders.xsd"));
    run_conformance(&connector).await;
}
