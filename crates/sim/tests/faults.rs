//! Every fault knob, seen at the HTTP level.

mod common;

use std::time::{Duration as StdDuration, Instant};

use common::*;
use orderport_sim::{Faults, Flavor, Tz};
use serde_json::Value;

const START: &str = "01/01/2026 00:00";
const END: &str = "12/31/2026 23:59";

#[tokio::test]
async fn latency_delays_every_reply() {
    let faults = Faults {
        latency: StdDuration::from_millis(150),
        ..Faults::default()
    };
    let (sim, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let started = Instant::now();
    assert_eq!(export(store, START, END, 1).await.status(), 200);
    assert!(started.elapsed() >= StdDuration::from_millis(150));
    let started = Instant::now();
    let _ = client()
        .get(format!("{}/elsewhere", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_millis(150),
        "even off the protocol"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn every_nth_request_is_rate_limited_with_retry_after() {
    for (retry_after_secs, expected) in [(0, "1"), (3, "3")] {
        let faults = Faults {
            rate_limit_every: 2,
            retry_after_secs,
            ..Faults::default()
        };
        let (sim, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), faults).await;
        let store = &sim.stores()[0];
        let statuses: Vec<u16> = futures_statuses(store, 4).await;
        assert_eq!(statuses, [200, 429, 200, 429]);
        let limited = export(store, START, END, 1).await;
        assert_eq!(limited.status(), 200);
        let limited = export(store, START, END, 1).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], expected);
        assert_eq!(sim.request_count(), 6);
        sim.shutdown().await;
    }
}

async fn futures_statuses(store: &orderport_sim::SimStore, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(export(store, START, END, 1).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn every_nth_request_fails_with_500_or_503() {
    let faults = Faults {
        error_500_every: 3,
        error_503_every: 2,
        ..Faults::default()
    };
    let (sim, _clock) = start(Flavor::OrderTime, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = ot_list(
            store,
            list_info("2026-03-09T00:00:00", "2026-03-10T00:00:00", 1, 5),
        )
        .await;
        statuses.push(reply.status().as_u16());
    }
    // 500 wins where both pick a request (the 6th).
    assert_eq!(statuses, [200, 503, 500, 503, 200, 500]);
    sim.shutdown().await;
}

#[tokio::test]
async fn html_pages_come_with_200_on_reads_only() {
    let faults = Faults {
        html_200_every: 1,
        ..Faults::default()
    };
    let (sim, clock) = start(Flavor::SparkShipping, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let reply = export(store, START, END, 1).await;
    assert_eq!(reply.status(), 200);
    assert!(reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(reply.text().await.unwrap().starts_with("<!doctype html>"));
    // A write still works and is recorded.
    let now = clock.now();
    let number = sim
        .orders_visible(
            &store.id,
            now - orderport_sim::chrono::Duration::days(1),
            now,
        )
        .remove(0);
    let notify = client()
        .post(&store.url)
        .query(&[
            ("action", "shipnotify"),
            ("order_number", number.as_str()),
            ("carrier", "UPS"),
            ("tracking_number", "1Z"),
        ])
        .basic_auth(&store.username, Some(&store.password))
        .body("<ShipNotice/>")
        .send()
        .await
        .unwrap();
    assert_eq!(notify.status(), 200);
    assert_eq!(sim.shipments().len(), 1);
    sim.shutdown().await;

    let (sim, _clock) = start(
        Flavor::OrderTime,
        generator(Tz::UTC),
        Faults {
            html_200_every: 1,
            ..Faults::default()
        },
    )
    .await;
    let reply = ot_list(
        &sim.stores()[0],
        list_info("2026-03-09T00:00:00", "2026-03-10T00:00:00", 1, 5),
    )
    .await;
    assert_eq!(reply.status(), 200);
    assert!(reply.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_replies_are_the_real_reply_cut_short_with_200() {
    let (clean, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), Faults::default()).await;
    let full = export(&clean.stores()[0], START, END, 1)
        .await
        .text()
        .await
        .unwrap();
    let faults = Faults {
        truncate_every: 1,
        ..Faults::default()
    };
    let (sim, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), faults).await;
    let reply = export(&sim.stores()[0], START, END, 1).await;
    assert_eq!(reply.status(), 200);
    let cut = reply.bytes().await.unwrap();
    assert!(cut.len() < full.len() && full.as_bytes().starts_with(&cut));
    assert!(!String::from_utf8_lossy(&cut).contains("</Orders>"));
    clean.shutdown().await;
    sim.shutdown().await;

    let (sim, _clock) = start(
        Flavor::OrderTime,
        generator(Tz::UTC),
        Faults {
            truncate_every: 1,
            ..Faults::default()
        },
    )
    .await;
    let reply = ot_list(
        &sim.stores()[0],
        list_info("2026-03-09T00:00:00", "2026-03-10T00:00:00", 1, 5),
    )
    .await;
    assert_eq!(reply.status(), 200);
    let text = reply.text().await.unwrap();
    assert!(text.starts_with("[{"));
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "cut mid-JSON"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_shift_during_a_walk_moves_the_oldest_order_to_page_one_and_repeats_a_row() {
    let faults = Faults {
        shift_during_walk: true,
        ..Faults::default()
    };
    let (sim, clock) = start(Flavor::SparkShipping, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let before = {
        let mut v = sim.orders_visible(
            &store.id,
            orderport_sim::chrono::DateTime::UNIX_EPOCH,
            clock.now(),
        );
        v.reverse();
        v
    };
    let page1 = export(store, START, END, 1).await.text().await.unwrap();
    let total = pages(&page1);
    assert!(total >= 3);
    let mut walked = order_numbers(&page1);
    for page in 2..=total {
        walked.extend(order_numbers(
            &export(store, START, END, page).await.text().await.unwrap(),
        ));
    }
    let oldest = before.last().unwrap();
    assert!(
        !walked.contains(oldest),
        "the modified order was missed by the walk"
    );
    assert_eq!(
        walked[100], walked[99],
        "page 2 repeats the last row of page 1"
    );
    assert_eq!(sim.last_modified(&store.id, oldest), Some(clock.now()));
    // A new walk starts from the top and finds it first (and shifts another order).
    let again = export(store, START, END, 1).await.text().await.unwrap();
    assert_eq!(order_numbers(&again)[0], *oldest);
    sim.shutdown().await;
}

#[tokio::test]
async fn order_time_walks_sorted_by_doc_no_keep_their_rows_through_a_shift() {
    let faults = Faults {
        shift_during_walk: true,
        ..Faults::default()
    };
    let (sim, clock) = start(Flavor::OrderTime, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let window = ("2026-03-01T00:00:00", "2026-03-10T12:00:00");
    let mut walked = Vec::new();
    for page in 1..=100 {
        let rows: Value = ot_list(store, list_info(window.0, window.1, page, 50))
            .await
            .json()
            .await
            .unwrap();
        let numbers: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["DocNo"].to_string())
            .collect();
        let short = numbers.len() < 50;
        walked.extend(numbers);
        if short {
            break;
        }
    }
    let last = walked.last().unwrap().clone();
    assert_eq!(
        sim.last_modified(&store.id, &last),
        Some(clock.now()),
        "the last row was modified"
    );
    let mut unique = walked.clone();
    unique.dedup();
    assert_eq!(unique.len(), walked.len());
    let from = orderport_sim::chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut expected = sim.orders_visible(&store.id, from, clock.now());
    expected.sort_by_key(|n| n.parse::<u64>().unwrap());
    assert_eq!(walked, expected, "nothing lost, nothing repeated");
    sim.shutdown().await;
}

/// A window of the past: 2026-03-07, in UTC (the store's zone).
const PAST_START: &str = "03/07/2026 00:00";
const PAST_END: &str = "03/07/2026 23:59";

/// Every order number a Custom Store walk of `[start, end]` serves, page by page.
async fn custom_store_walk(store: &orderport_sim::SimStore, start: &str, end: &str) -> Vec<String> {
    let first = export(store, start, end, 1).await.text().await.unwrap();
    let total = pages(&first);
    let mut walked = order_numbers(&first);
    for page in 2..=total {
        walked.extend(order_numbers(
            &export(store, start, end, page).await.text().await.unwrap(),
        ));
    }
    walked
}

#[tokio::test]
async fn a_served_order_modified_during_a_walk_of_the_past_loses_the_first_row_of_page_two() {
    let faults = Faults {
        shift_served_on_walk: 1,
        ..Faults::default()
    };
    let generator = orderport_sim::GeneratorConfig {
        orders_per_day: 250,
        ..generator(Tz::UTC)
    };
    let (sim, clock) = start(Flavor::SparkShipping, generator, faults).await;
    let store = &sim.stores()[0];
    // Newest first, as the walk sees the listing before the change.
    let mut before = sim.orders_visible(
        &store.id,
        common::utc("2026-03-07T00:00:00Z"),
        common::utc("2026-03-07T23:59:59Z"),
    );
    before.reverse();
    assert!(before.len() > 100, "two pages at least: {}", before.len());
    let walked = custom_store_walk(store, PAST_START, PAST_END).await;
    let (moved, skipped) = (&before[99], &before[100]);
    assert_eq!(walked[99], *moved, "served last on page 1, then modified");
    assert_eq!(sim.last_modified(&store.id, moved), Some(clock.now()));
    assert!(
        !walked.contains(skipped),
        "the first row of page 2 is never served"
    );
    let mut expected: Vec<&String> = before.iter().filter(|n| *n != skipped).collect();
    expected.sort();
    let mut got: Vec<&String> = walked.iter().collect();
    got.sort();
    assert_eq!(got, expected, "only that row is lost, none repeated");
    // Only the first multi-page walk is shifted: the next walk loses nothing.
    let again = custom_store_walk(store, PAST_START, PAST_END).await;
    assert_eq!(
        again.len(),
        before.len() - 1,
        "the moved order left the window"
    );
    assert!(again.contains(skipped));
    sim.shutdown().await;
}

#[tokio::test]
async fn order_time_loses_the_first_row_of_page_two_when_a_served_doc_leaves_the_window() {
    let faults = Faults {
        shift_served_on_walk: 1,
        ..Faults::default()
    };
    let (sim, clock) = start(Flavor::OrderTime, generator(Tz::UTC), faults).await;
    let store = &sim.stores()[0];
    let window = ("2026-03-06T00:00:00", "2026-03-08T00:00:00");
    let mut before = sim.orders_visible(
        &store.id,
        common::utc("2026-03-06T00:00:00Z"),
        common::utc("2026-03-08T00:00:00Z"),
    );
    before.sort_by_key(|n| n.parse::<u64>().unwrap());
    assert!(before.len() > 50, "{}", before.len());
    let mut walked = Vec::new();
    for page in 1..=100 {
        let rows: Value = ot_list(store, list_info(window.0, window.1, page, 25))
            .await
            .json()
            .await
            .unwrap();
        let numbers: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["DocNo"].to_string())
            .collect();
        let short = numbers.len() < 25;
        walked.extend(numbers);
        if short {
            break;
        }
    }
    let (moved, skipped) = (&before[24], &before[25]);
    assert_eq!(walked[24], *moved);
    assert_eq!(sim.last_modified(&store.id, moved), Some(clock.now()));
    assert!(
        !walked.contains(skipped),
        "the first row of page 2 is never served"
    );
    assert_eq!(walked.len(), before.len() - 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_minute_clock_dates_the_servers_changes_to_the_minute() {
    let faults = Faults {
        shift_served_on_walk: 1,
        minute_clock: true,
        ..Faults::default()
    };
    let generator = orderport_sim::GeneratorConfig {
        orders_per_day: 250,
        ..generator(Tz::UTC)
    };
    let (sim, clock) = start(Flavor::SparkShipping, generator, faults).await;
    clock.advance(orderport_sim::chrono::Duration::seconds(42));
    let store = &sim.stores()[0];
    let walked = custom_store_walk(store, PAST_START, PAST_END).await;
    assert_eq!(
        sim.last_modified(&store.id, &walked[99]),
        Some(start_time()),
        "dated 12:00:00, not 12:00:42"
    );
    sim.shutdown().await;
}
