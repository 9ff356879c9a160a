//! Listing Mirror's promises, asserted explicitly over its recorded fixtures (the conformance
//! suite checks them through the snapshots; these say what matters in plain words).

use orderport_core::{FetchOutcome, ReasonCode};
use orderport_listing_mirror::{connect, SpeedCategory, SPEC};
use orderport_testkit::{run_scenario, workspace_fixtures, Connector, ScenarioKind, ScenarioRun};

fn connector() -> Connector {
    Connector::new(
        SPEC.id,
        connect,
        workspace_fixtures().join("listing-mirror"),
    )
}

async fn run(name: &str) -> ScenarioRun {
    let connector = connector();
    let scenario = connector.scenario(name).unwrap();
    let run = run_scenario(&connector, &scenario, &toml::Table::new())
        .await
        .unwrap();
    if let Err(mismatch) = &run.replay {
        panic!("{name}: {mismatch}");
    }
    run.result.as_ref().unwrap();
    run
}

fn body(name: &str, file: &str) -> String {
    std::fs::read_to_string(
        workspace_fixtures()
            .join("listing-mirror")
            .join(name)
            .join(file),
    )
    .unwrap()
}

#[tokio::test]
async fn a_bill_to_email_on_the_wire_is_never_imported() {
    let page = body("email-not-imported", "page-1.xml");
    assert!(page.contains("<Email><![CDATA[ada.buyer@example.com]]></Email>"));
    let run = run("email-not-imported").await;
    let order = run
        .accepted()
        .map(|(_, o)| o)
        .find(|o| o.order_number == "5061")
        .unwrap();
    assert_eq!(order.customer.email, None);
    let bill_to = order.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.email, None);
    // The rest of the bill-to address is kept.
    assert_eq!(bill_to.company.as_deref(), Some("Fixture Works"));
    assert_eq!(bill_to.address1.as_deref(), Some("100 Example Street"));
    assert_eq!(order.customer.phone.as_deref(), Some("312-555-0111"));
}

#[tokio::test]
async fn no_accepted_order_of_any_fetch_scenario_carries_an_email() {
    let connector = connector();
    let mut fetched = 0;
    for entry in std::fs::read_dir(&connector.fixtures).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let scenario = connector.scenario(&name).unwrap();
        if scenario.kind != ScenarioKind::Fetch {
            continue;
        }
        let run = run_scenario(&connector, &scenario, &toml::Table::new())
            .await
            .unwrap();
        for (_, order) in run.accepted() {
            fetched += 1;
            let emails = [
                order.customer.email.as_ref(),
                order.bill_to.as_ref().and_then(|a| a.email.as_ref()),
                order.ship_to.as_ref().and_then(|a| a.email.as_ref()),
            ];
            assert_eq!(
                emails,
                [None, None, None],
                "{name}: order {}",
                order.order_number
            );
            // No other field holds the address either (the fixtures' e-mails are all at
            // example.com, and no customer code is an e-mail).
            let text = format!("{order:?}");
            assert!(!text.contains("@example."), "{name}: {text}");
        }
    }
    assert!(fetched >= 20, "only {fetched} orders were checked");
}

#[tokio::test]
async fn speed_categories_and_raw_names_arrive_verbatim() {
    let run = run("speed-categories").await;
    let services: Vec<(&str, Option<&str>)> = run
        .accepted()
        .map(|(_, o)| {
            (
                o.order_number.as_str(),
                o.requested_shipping_service.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            ("5071", Some("Standard")),
            ("5072", Some("Expedited")),
            ("5073", Some("Priority")),
            ("5074", Some("USPS First Class Mail")),
        ]
    );
    let categories: Vec<Option<SpeedCategory>> = services
        .iter()
        .map(|(_, s)| s.and_then(SpeedCategory::parse))
        .collect();
    assert_eq!(
        categories,
        [
            Some(SpeedCategory::Standard),
            Some(SpeedCategory::Expedited),
            Some(SpeedCategory::Priority),
            None
        ]
    );
}

#[tokio::test]
async fn orders_without_a_ship_to_are_rejected_for_that_reason() {
    let run = run("invalid-orders").await;
    for number in ["5012", "5015"] {
        let (_, rejection) = run
            .rejected()
            .find(|(_, r)| r.order_number.as_deref() == Some(number))
            .unwrap();
        let reason = rejection
            .reasons
            .iter()
            .find(|r| r.field == "ship_to")
            .unwrap();
        assert_eq!(reason.code, ReasonCode::Missing);
        assert!(
            reason.message.contains("Listing Mirror requires one"),
            "{}",
            reason.message
        );
    }
    // A page with rejections still yields its good order.
    assert_eq!(run.accepted().count(), 1);
    assert!(run
        .pages
        .iter()
        .flat_map(|p| &p.outcomes)
        .any(|o| matches!(o, FetchOutcome::Accepted(_))));
}

#[tokio::test]
async fn every_seed_feature_is_imported() {
    let run = run("seed-features").await;
    let (_, order) = run.accepted().next().unwrap();
    assert_eq!(order.raw_status, "Accepted");
    assert!(order.customer.phone.is_some());
    assert_eq!(
        order.requested_shipping_service.as_deref(),
        Some("Expedited")
    );
    assert_eq!(order.payment_method.as_deref(), Some("Credit Card"));
    assert_eq!(order.discounts.len(), 1);
    assert!(order.gift.is_gift && order.gift.message.is_some());
    assert!(order.internal_notes.is_some() && order.customer_notes.is_some());
    assert!(order.total_weight.is_some());
    let tee = &order.items[0];
    assert!(tee.weight.is_some() && tee.image_url.is_some() && tee.location.is_some());
    assert_eq!(tee.options.len(), 2);
    assert_eq!(order.customer.email, None);
}

#[tokio::test]
async fn a_utf16_declaration_on_utf8_bytes_is_read_as_utf8() {
    let page = body("lenient-export", "page-1.xml");
    assert!(page.starts_with("<?xml version=\"1.0\" encoding=\"utf-16\"?>"));
    let run = run("lenient-export").await;
    let (_, order) = run.accepted().next().unwrap();
    assert_eq!(order.items[0].name, "Café mug & saucer – blue");
    assert_eq!(
        order.ship_to.as_ref().unwrap().name.as_deref(),
        Some("Zoë Fixture")
    );
}
