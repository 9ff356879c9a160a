//! The Order Time flavour over HTTP: list, ship docs, credentials, status updates, shipnotify.

mod common;

use common::*;
use orderport_sim::chrono::{Duration, TimeZone, Utc};
use orderport_sim::{Faults, Flavor, GeneratorConfig, Tz};
use serde_json::{json, Value};

fn doc_numbers(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["DocNo"].as_u64().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_filters_on_the_modified_date_in_the_tenant_wall_clock_and_pages_by_doc_no() {
    let (sim, _clock) = start(
        Flavor::OrderTime,
        generator(Tz::America__Denver),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    assert!(store.url.ends_with("/api"));
    // 2026-03-09 17:00 to 2026-03-10 05:00 MDT is 23:00Z to 11:00Z.
    let mut all = Vec::new();
    for page in 1.. {
        let reply = ot_list(
            store,
            list_info("2026-03-09T17:00:00", "2026-03-10T05:00:00", page, 20),
        )
        .await;
        assert_eq!(reply.status(), 200);
        let rows: Value = reply.json().await.unwrap();
        let numbers = doc_numbers(&rows);
        let short = numbers.len() < 20;
        all.extend(numbers);
        if short {
            break;
        }
    }
    let mut expected = sim.orders_visible(
        &store.id,
        Utc.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap(),
    );
    expected.sort_by_key(|n| n.parse::<u64>().unwrap());
    assert_eq!(all, expected);
    assert!(all.len() > 20);

    // A record looks like the fixtures: wall-clock dates, references, lines.
    let rows: Value = ot_list(
        store,
        list_info("2026-03-09T17:00:00", "2026-03-10T05:00:00", 1, 1),
    )
    .await
    .json()
    .await
    .unwrap();
    let record = &rows[0];
    let modified = record["RecordInfo"]["ModifiedDate"].as_str().unwrap();
    assert!(
        !modified.ends_with('Z') && modified.starts_with("2026-03-"),
        "{modified}"
    );
    assert!(record["StatusRef"]["Name"].is_string() && record["StatusRef"]["Id"].is_u64());
    assert!(record["LineItems"][0]["ItemRef"]["Name"].is_string());
    assert!(record["TotalAmount"].is_number());

    // Offsets are honoured; the count is PUT /list.
    let utc = ot_list(
        store,
        list_info("2026-03-09T23:00:00Z", "2026-03-10T11:00:00Z", 1, 1000),
    )
    .await;
    assert_eq!(doc_numbers(&utc.json().await.unwrap()), expected);
    let count = client()
        .put(format!("{}/list", store.url))
        .header("apiKey", store.api_key.as_deref().unwrap())
        .header("email", &store.username)
        .header("password", &store.password)
        .header("content-type", "application/json")
        .body(list_info("2026-03-09T17:00:00", "2026-03-10T05:00:00", 1, 10).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, expected.len().to_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn modified_dates_carry_dotnet_fractions_and_sorting_can_be_by_date() {
    let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let mut body = list_info("2026-03-01T00:00:00", "2026-03-11T00:00:00", 1, 1000);
    body["Sortation"] = json!({"PropertyName": "RecordInfo.ModifiedDate", "Direction": 2});
    let rows: Value = ot_list(store, body).await.json().await.unwrap();
    let dates: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RecordInfo"]["ModifiedDate"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
    assert!(
        dates
            .iter()
            .any(|d| d.len() == "2026-03-01T09:40:12.5170000".len()),
        "{:?}",
        &dates[..3]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rest_credentials_are_headers_with_a_password_or_a_dev_key() {
    let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let body = list_info("2026-03-09T00:00:00", "2026-03-10T00:00:00", 1, 5).to_string();
    let request = |login: (&str, &str), api_key: &str| {
        client()
            .post(format!("{}/list", store.url))
            .header("apikey", api_key)
            .header("email", store.username.to_uppercase())
            .header(login.0, login.1)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let key = store.api_key.as_deref().unwrap();
    let dev_key = store.dev_key.as_deref().unwrap();
    assert_eq!(
        request(("password", &store.password), key)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        request(("DevKey", dev_key), key).await.unwrap().status(),
        200
    );
    for (login, api_key) in [
        (("password", "wrong"), key),
        (("DevKey", "wrong"), key),
        (("password", store.password.as_str()), "wrong"),
    ] {
        let reply = request(login, api_key).await.unwrap();
        assert_eq!(reply.status(), 401);
        let message: Value = reply.json().await.unwrap();
        assert!(message["Message"].as_str().unwrap().contains("denied"));
    }
    // A list needs a JSON body of Type 4.
    let reply = ot_list(
        store,
        json!({"Type": 7, "PageNumber": 1, "NumberOfRecords": 1}),
    )
    .await;
    assert_eq!(reply.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn ship_docs_are_read_updated_and_shipped() {
    let (sim, clock) = start(
        Flavor::OrderTime,
        generator(Tz::America__Denver),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    let rest = |request: reqwest::RequestBuilder| {
        request
            .header("apiKey", store.api_key.as_deref().unwrap())
            .header("email", &store.username)
            .header("password", &store.password)
    };
    let now = clock.now();
    let doc_no = sim
        .orders_visible(&store.id, now - Duration::days(1), now)
        .pop()
        .unwrap();
    let get = || {
        rest(
            client()
                .get(format!("{}/shipdoc", store.url))
                .query(&[("docNo", &doc_no)]),
        )
        .send()
    };
    let record: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(record["DocNo"].as_u64().unwrap().to_string(), doc_no);
    let missing = rest(
        client()
            .get(format!("{}/shipdoc", store.url))
            .query(&[("docNo", "99999999")]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);

    // PUT the whole record with a new status.
    clock.advance(Duration::minutes(3));
    let mut updated = record.clone();
    updated["StatusRef"] = json!({"Name": "processing"});
    let put = rest(client().put(format!("{}/shipdoc", store.url)))
        .header("content-type", "application/json")
        .body(updated.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let after: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(after["StatusRef"], json!({"Id": 5, "Name": "processing"}));
    assert_eq!(sim.last_modified(&store.id, &doc_no), Some(clock.now()));
    let mut bad = record.clone();
    bad["StatusRef"] = json!({"Name": "teleported"});
    let conflict = rest(client().put(format!("{}/shipdoc", store.url)))
        .header("content-type", "application/json")
        .body(bad.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 409);
    let results: Value = conflict.json().await.unwrap();
    assert_eq!(results[0]["PropertyName"], "StatusRef");

    // shipnotify at {base}/shipstation with Basic e-mail:api_key.
    let notify = |user: &str, key: &str, number: &str| {
        client()
            .post(format!("{}/shipstation", store.url))
            .query(&[
                ("action", "shipnotify"),
                ("order_number", number),
                ("carrier", "UPS"),
                ("service", ""),
                ("tracking_number", "1Z999"),
            ])
            .basic_auth(user, Some(key))
            .header("content-type", "application/xml; charset=utf-8")
            .body(format!("<?xml version=\"1.0\"?><ShipNotice><OrderNumber>{number}</OrderNumber></ShipNotice>"))
            .send()
    };
    let key = store.api_key.as_deref().unwrap();
    assert_eq!(
        notify(&store.username, &store.password, &doc_no)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        notify(&store.username, key, "99999999")
            .await
            .unwrap()
            .status(),
        404
    );
    let ok = notify(&store.username, key, &doc_no).await.unwrap();
    assert_eq!(ok.status(), 200);
    let shipments = sim.shipments();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].service, None);
    assert_eq!(shipments[0].tracking_number, "1Z999");
    let shipped: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(shipped["StatusRef"]["Name"], "shipped");
    assert_eq!(shipped["TrackingNo"], "1Z999");
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_ship_docs_carry_names_instead_of_iso_codes() {
    let config = GeneratorConfig {
        invalid_share: 1.0,
        ..generator(Tz::UTC)
    };
    let (sim, _clock) = start(Flavor::OrderTime, config, Faults::default()).await;
    let store = &sim.stores()[0];
    let rows: Value = ot_list(
        store,
        list_info("2026-03-01T00:00:00", "2026-03-11T00:00:00", 1, 1000),
    )
    .await
    .json()
    .await
    .unwrap();
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["ShipAddress"].is_null()),
        "missing ship-to"
    );
    assert!(
        rows.iter().any(|r| r["ShipAddress"]["Country"] == "USA"),
        "three-letter country"
    );
    assert!(
        rows.iter().any(|r| r["ShipAddress"]["State"]
            .as_str()
            .is_some_and(|s| s.len() > 2)),
        "state name"
    );
    assert!(
        rows.iter().any(|r| r["StatusRef"]["Name"] == "backordered"),
        "unmapped status"
    );
    sim.shutdown().await;
}
