//! The Custom Store endpoint of the Order Time flavour (`{api}/shipstation`): the same ship docs
//! as the REST API, as Custom Store XML with the seed's fields, behind HTTP Basic e-mail:API key.

mod common;

use std::collections::BTreeSet;

use common::*;
use orderport_sim::chrono::{Duration, TimeZone, Utc};
use orderport_sim::{Faults, Flavor, GeneratorConfig, Tz};
use orderport_testkit::workspace_fixtures;
use orderport_testkit::xsd::XsdSchema;
use serde_json::Value;

#[tokio::test]
async fn the_export_serves_the_same_ship_docs_as_the_rest_list() {
    let (sim, _clock) = start(
        Flavor::OrderTime,
        generator(Tz::America__Denver),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    // 2026-03-07 00:00 MST to 2026-03-10 05:00 MDT (across the spring-forward) is 07:00Z on
    // the 7th to 11:00Z on the 10th, in both protocols.
    let (exported, bodies) = ot_export_walk(store, "03/07/2026 00:00", "03/10/2026 05:00").await;
    assert!(bodies.len() >= 2, "the window spans pages");
    let rows: Value = ot_list(
        store,
        list_info("2026-03-07T00:00:00", "2026-03-10T05:00:00", 1, 1000),
    )
    .await
    .json()
    .await
    .unwrap();
    let listed: BTreeSet<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["DocNo"].as_u64().unwrap().to_string())
        .collect();
    let visible: BTreeSet<String> = sim
        .orders_visible(
            &store.id,
            Utc.with_ymd_and_hms(2026, 3, 7, 7, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap(),
        )
        .into_iter()
        .collect();
    let unique: BTreeSet<String> = exported.iter().cloned().collect();
    assert_eq!(unique.len(), exported.len(), "no ship doc twice");
    assert_eq!(unique, listed);
    assert_eq!(unique, visible);

    // One ship doc, both ways: the same number, status, lines and (to the minute) time.
    let xml = bodies.concat();
    for row in rows.as_array().unwrap().iter().take(20) {
        let doc_no = row["DocNo"].as_u64().unwrap().to_string();
        assert_eq!(field(&xml, &doc_no, "OrderID"), doc_no);
        assert_eq!(
            field(&xml, &doc_no, "OrderStatus"),
            row["StatusRef"]["Name"].as_str().unwrap()
        );
        assert_eq!(
            field(&xml, &doc_no, "LineItemID"),
            row["LineItems"][0]["Id"].as_u64().unwrap().to_string()
        );
        assert_eq!(field(&xml, &doc_no, "CustomField2"), format!("SO-{doc_no}"));
        assert_eq!(
            field(&xml, &doc_no, "RequestedWarehouse"),
            row["LocationRef"]["Name"].as_str().unwrap()
        );
        // 2026-03-09T17:05:12.5170000 is 03/09/2026 17:05 (the same wall clock).
        let modified = row["RecordInfo"]["ModifiedDate"].as_str().unwrap();
        let wall = format!(
            "{}/{}/{} {}",
            &modified[5..7],
            &modified[8..10],
            &modified[0..4],
            &modified[11..16]
        );
        assert_eq!(field(&xml, &doc_no, "LastModified"), wall);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn the_export_carries_the_seeds_fields_and_follows_the_schema() {
    let schema =
        XsdSchema::load(&workspace_fixtures().join("custom-store/schema/orders.xsd")).unwrap();
    let config = GeneratorConfig {
        invalid_share: 0.0,
        ..generator(Tz::UTC)
    };
    let (sim, _clock) = start(Flavor::OrderTime, config, Faults::default()).await;
    let store = &sim.stores()[0];
    let (numbers, bodies) = ot_export_walk(store, "01/01/2026 00:00", "12/31/2026 23:59").await;
    assert!(numbers.len() > 200);
    for (page, xml) in bodies.iter().enumerate() {
        schema
            .validate(xml.as_bytes())
            .unwrap_or_else(|e| panic!("page {}: {e}", page + 1));
    }
    let xml = bodies.concat();
    let items = xml.matches("<Item>").count();
    let adjustments = xml.matches("<Adjustment>true</Adjustment>").count();
    // Every line of goods has a weight and a bin; some have an image or options.
    assert_eq!(xml.matches("<WeightUnits>").count(), items - adjustments);
    assert_eq!(xml.matches("<Location>").count(), items - adjustments);
    assert!(xml.contains("<ImageUrl>https://images.example.com/"));
    assert!(xml.contains("<Option><Name><![CDATA[Finish]]></Name>"));
    assert!(xml.contains("<Gift>true</Gift>"));
    assert!(xml.contains("<GiftMessage>"));
    assert!(adjustments > 0, "coupons are adjustment lines");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_endpoint_takes_the_email_and_the_api_key_only() {
    let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let key = store.api_key.as_deref().unwrap();
    let url = format!("{}/shipstation", store.url);
    let export = || {
        client().get(&url).query(&[
            ("action", "export"),
            ("start_date", "03/09/2026 00:00"),
            ("end_date", "03/10/2026 00:00"),
        ])
    };
    // Basic with the e-mail in any case, or SS-UserName/SS-Password.
    let upper = export()
        .basic_auth(store.username.to_uppercase(), Some(key))
        .send()
        .await
        .unwrap();
    assert_eq!(upper.status(), 200);
    let query = export()
        .query(&[
            ("SS-UserName", store.username.as_str()),
            ("SS-Password", key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    // The password, a developer key or the REST headers do not open it.
    for secret in [store.password.as_str(), store.dev_key.as_deref().unwrap()] {
        let reply = export()
            .basic_auth(&store.username, Some(secret))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401);
        assert!(reply.headers().contains_key("www-authenticate"));
    }
    let rest_headers = export()
        .header("apiKey", key)
        .header("email", &store.username)
        .header("password", &store.password)
        .send()
        .await
        .unwrap();
    assert_eq!(rest_headers.status(), 401);
    // Unknown actions and methods are refused.
    let unknown = client()
        .get(&url)
        .query(&[("action", "import")])
        .basic_auth(&store.username, Some(key))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let put = client()
        .put(&url)
        .query(&[("action", "export")])
        .basic_auth(&store.username, Some(key))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_shipnotify_shows_in_the_export_as_shipped_now() {
    let (sim, clock) = start(
        Flavor::OrderTime,
        generator(Tz::America__Denver),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    let now = clock.now();
    let doc_no = sim
        .orders_visible(&store.id, now - Duration::days(1), now)
        .remove(0);
    clock.advance(Duration::minutes(7));
    let notify = client()
        .post(format!("{}/shipstation", store.url))
        .query(&[
            ("action", "shipnotify"),
            ("order_number", doc_no.as_str()),
            ("carrier", "UPS"),
            ("tracking_number", "1ZSIM"),
        ])
        .basic_auth(&store.username, store.api_key.as_deref())
        .body("<ShipNotice/>")
        .send()
        .await
        .unwrap();
    assert_eq!(notify.status(), 200);
    // 12:07Z is 06:07 MDT.
    let reply = ot_export(store, "03/10/2026 06:07", "03/10/2026 06:07", 1).await;
    let xml = reply.text().await.unwrap();
    assert_eq!(order_numbers(&xml), std::slice::from_ref(&doc_no));
    assert_eq!(field(&xml, &doc_no, "OrderStatus"), "shipped");
    assert_eq!(field(&xml, &doc_no, "LastModified"), "03/10/2026 06:07");
    sim.shutdown().await;
}

#[tokio::test]
async fn export_faults_are_order_times_sign_in_page_and_a_cut_reply() {
    for (faults, html) in [
        (
            Faults {
                html_200_every: 1,
                ..Faults::default()
            },
            true,
        ),
        (
            Faults {
                truncate_every: 1,
                ..Faults::default()
            },
            false,
        ),
    ] {
        let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), faults).await;
        let reply = ot_export(&sim.stores()[0], "03/09/2026 00:00", "03/10/2026 00:00", 1).await;
        assert_eq!(reply.status(), 200);
        let text = reply.text().await.unwrap();
        if html {
            assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
        } else {
            assert!(
                text.starts_with("<?xml") && !text.contains("</Orders>"),
                "{text}"
            );
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn stores_toml_writes_the_default_transport_and_rest_stores_toml_the_rest_one() {
    let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let default = sim.stores_toml();
    assert!(default.contains(&format!(
        "api_key = \"{}\"",
        store.api_key.as_deref().unwrap()
    )));
    assert!(!default.contains("password"), "{default}");
    let rest = sim.rest_stores_toml();
    assert!(rest.contains(&format!("password = \"{}\"", store.password)));
    assert!(rest.contains("api_key = "));
    sim.shutdown().await;
    let (spark, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), Faults::default()).await;
    assert_eq!(spark.stores_toml(), spark.rest_stores_toml());
    spark.shutdown().await;
}
