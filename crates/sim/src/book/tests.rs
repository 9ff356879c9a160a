use chrono::{TimeZone, Timelike};

use super::*;
use crate::generator::{generate_store, GeneratorConfig};
use crate::Flavor;

fn book(tz: Tz, days: u32, per_day: u32) -> (Book, DateTime<Utc>) {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 3, 12, 0, 0).unwrap();
    let config = GeneratorConfig {
        days,
        orders_per_day: per_day,
        timezone: tz,
        ..GeneratorConfig::default()
    };
    let orders = generate_store(&config, Flavor::SparkShipping, 0, anchor);
    (Book::new(tz, orders), anchor)
}

/// The rows of a window, the slow way: every order's state, one by one.
fn brute(book: &Book, bounds: Bounds, now: DateTime<Utc>) -> Vec<Row> {
    let mut rows: Vec<Row> = (0..book.orders().len() as u32)
        .filter_map(|i| book.state(i, now).map(|s| (i, s)))
        .filter(|(_, s)| book.within(&bounds, s.modified))
        .map(|(index, s)| Row {
            index,
            modified: s.modified,
        })
        .collect();
    rows.sort_unstable_by_key(|r| (r.modified, r.index));
    rows
}

#[test]
fn an_order_shows_its_latest_state_and_is_invisible_before_it_is_placed() {
    let (book, anchor) = book(Tz::UTC, 10, 20);
    let index = book
        .orders()
        .iter()
        .position(|o| o.events.len() >= 3 && o.placed_at() < anchor - Duration::days(6))
        .unwrap() as u32;
    let order = book.order(index).clone();
    let before = order.placed_at() - Duration::seconds(1);
    assert!(book.state(index, before).is_none());
    for (k, (at, stage)) in order.events.iter().enumerate() {
        let state = book.state(index, *at).unwrap();
        assert_eq!(state.modified, *at, "event {k}");
        assert_eq!(state.status, Status::Canonical(stage.status()));
        // Just before the next event, still this state.
        if let Some((next, _)) = order.events.get(k + 1) {
            let state = book
                .state(index, *next - Duration::milliseconds(1))
                .unwrap();
            assert_eq!(state.modified, *at);
        }
    }
}

#[test]
fn windows_match_a_brute_force_scan_as_the_clock_moves() {
    let tz = chrono_tz::America::Chicago;
    let (book, anchor) = book(tz, 14, 40);
    for hours in [-72, -5, 0, 30, 24 * 8] {
        let now = anchor + Duration::hours(hours);
        for (from, to) in [
            (now - Duration::days(20), now),
            (now - Duration::hours(6), now - Duration::hours(1)),
            (anchor - Duration::days(3), anchor - Duration::days(2)),
        ] {
            let bounds = Bounds::Instant { from, to };
            assert_eq!(
                *book.rows(bounds, now),
                brute(&book, bounds, now),
                "{hours} {from} {to}"
            );
        }
    }
}

#[test]
fn wall_windows_compare_the_store_wall_clock_across_the_end_of_dst() {
    // 2026-11-01 01:00-01:59 happens twice in Chicago.
    let tz = chrono_tz::America::Chicago;
    let (book, anchor) = book(tz, 7, 200);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let lo = day.and_hms_opt(0, 30, 0).unwrap();
    let hi = day.and_hms_opt(2, 30, 0).unwrap();
    let bounds = Bounds::Wall {
        lo: Some(lo),
        hi: Some(hi),
    };
    let rows = book.rows(bounds, anchor);
    assert_eq!(*rows, brute(&book, bounds, anchor));
    // 00:30 CDT (05:30Z) to 02:30 CST (08:30Z): three hours of instants.
    let utc = book.rows(
        Bounds::Instant {
            from: Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap(),
        },
        anchor,
    );
    assert_eq!(*rows, *utc);
    assert!(
        rows.iter().any(|r| {
            let local = r.modified.with_timezone(&tz);
            local.hour() == 1 && r.modified.hour() == 7
        }),
        "some order was modified in the repeated hour's second pass"
    );
}

#[test]
fn changes_move_orders_and_end_their_timelines() {
    let (book, anchor) = book(Tz::UTC, 5, 20);
    let index = book
        .orders()
        .iter()
        .position(|o| o.events.len() >= 2 && o.events[1].0 > anchor)
        .unwrap() as u32;
    let before = book.state(index, anchor).unwrap();
    book.change(index, anchor, Change::Touched);
    let touched = book.state(index, anchor).unwrap();
    assert_eq!(touched.modified, anchor);
    assert_eq!(touched.status, before.status);
    // A touch does not stop the timeline.
    let later = book.order(index).events[1].0;
    assert_eq!(book.state(index, later).unwrap().modified, later);
    // A shipment does.
    let shipped_at = anchor + Duration::minutes(1);
    book.change(
        index,
        shipped_at,
        Change::Shipped {
            tracking_number: "1Z".into(),
        },
    );
    let state = book
        .state(index, later.max(shipped_at) + Duration::days(30))
        .unwrap();
    assert_eq!(state.status, Status::Canonical(Canonical::Shipped));
    assert_eq!(state.modified, shipped_at);
    assert_eq!(state.tracking_number.as_deref(), Some("1Z"));
    let now = anchor + Duration::days(2);
    let bounds = Bounds::Instant {
        from: anchor - Duration::days(10),
        to: now,
    };
    assert_eq!(*book.rows(bounds, now), brute(&book, bounds, now));
}

#[test]
fn a_hundred_thousand_orders_answer_windows_fast() {
    let started = std::time::Instant::now();
    let (book, anchor) = book(Tz::America__New_York, 90, 1_111);
    let built = started.elapsed();
    eprintln!("built in {built:?}");
    assert!(book.orders().len() >= 100_000, "{}", book.orders().len());
    let started = std::time::Instant::now();
    let day = book.rows(
        Bounds::Instant {
            from: anchor - Duration::days(1),
            to: anchor,
        },
        anchor,
    );
    let one_day = started.elapsed();
    eprintln!("one day in {one_day:?}");
    let all = book.rows(Bounds::Wall { lo: None, hi: None }, anchor);
    let cached = std::time::Instant::now();
    let again = book.rows(Bounds::Wall { lo: None, hi: None }, anchor);
    assert!(Arc::ptr_eq(&all, &again), "a walk's pages share one result");
    assert!(cached.elapsed() < std::time::Duration::from_millis(50));
    assert!(
        day.len() > 500 && all.len() > 90_000,
        "{} {}",
        day.len(),
        all.len()
    );
    // Generous bounds for an unoptimized build on a busy machine.
    assert!(one_day < std::time::Duration::from_secs(1), "{one_day:?}");
    assert!(built < std::time::Duration::from_secs(30), "{built:?}");
}
