//! The Listing Mirror connector against the shared conformance suite: every required scenario and
//! every Listing Mirror-specific one in `fixtures/listing-mirror/`, replayed through a mock
//! server, with the recorded export pages checked against the Custom Store XSD (see
//! `docs/testing.md`).

use orderport_testkit::{run_conformance, workspace_fixtures, Connector};

#[tokio::test]
async fn listing_mirror_conforms() {
    let connector = Connector::new(
        orderport_listing_mirror::SPEC.id,
        orderport_listing_mirror::connect,
        workspace_fixtures().join("listing-mirror"),
    )
    .with_schema(workspace_fixtures().join("custom-store/schema/orders.xsd"));
    assert_eq!(connector.id, "listing-mirror");
    run_conformance(&connector).await;
}
