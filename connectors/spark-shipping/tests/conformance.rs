//! The Spark Shipping connector against the shared conformance suite: every required scenario and
//! every Spark-specific one in `fixtures/spark-shipping/`, replayed through a mock server, with the
//! recorded export pages checked against the Custom Store XSD (see `docs/testing.md`).

use orderport_testkit::{run_conformance, workspace_fixtures, Connector};

#[tokio::test]
async fn spark_shipping_conforms() {
    let connector = Connector::new(
        orderport_spark_shipping::SPEC.id,
        orderport_spark_shipping::connect,
        workspace_fixtures().join("spark-shipping"),
    )
    .with_schema(workspace_fixtures().join("custom-store/schema/orders.xsd"));
    assert_eq!(connector.id, "spark-shipping");
    run_conformance(&connector).await;
}
