use chrono::{Datelike, TimeZone, Timelike};

use super::*;
use crate::Flavor;

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap()
}

fn config(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        days: 30,
        timezone: chrono_tz::America::Chicago,
        ..GeneratorConfig::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_orders_and_another_seed_others() {
    let a = generate_store(&config(7), Flavor::SparkShipping, 0, anchor());
    let b = generate_store(&config(7), Flavor::SparkShipping, 0, anchor());
    let c = generate_store(&config(8), Flavor::SparkShipping, 0, anchor());
    let summary = |orders: &[SimOrder]| {
        orders
            .iter()
            .map(|o| (o.number.clone(), o.events.clone(), o.invalid, o.seed))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&a), summary(&b));
    assert_ne!(summary(&a), summary(&c));
    // Details are drawn again from the seed, identically.
    assert_eq!(
        a[3].details(Flavor::SparkShipping),
        b[3].details(Flavor::SparkShipping)
    );
    // Stores of one simulator differ.
    let other_store = generate_store(&config(7), Flavor::SparkShipping, 1, anchor());
    assert_ne!(summary(&a)[0].3, summary(&other_store)[0].3);
}

#[test]
fn orders_cover_the_history_and_a_week_ahead_in_placement_order() {
    let config = config(1);
    let orders = generate_store(&config, Flavor::OrderTime, 0, anchor());
    let start = anchor() - Duration::days(30);
    let end = anchor() + Duration::days(i64::from(FUTURE_DAYS));
    assert!(orders
        .iter()
        .all(|o| o.placed_at() >= start && o.placed_at() < end));
    let expected = f64::from(config.orders_per_day) * f64::from(30 + FUTURE_DAYS);
    let n = orders.len() as f64;
    assert!(
        (n - expected).abs() / expected < 0.1,
        "{n} orders, expected about {expected}"
    );
    assert!(orders
        .windows(2)
        .all(|w| w[0].placed_at() <= w[1].placed_at()));
    // Order Time doc numbers follow placement.
    assert_eq!(orders[0].number, "1001");
    assert_eq!(orders[1].number, "1002");
    assert!(
        orders.iter().any(|o| o.placed_at() > anchor()),
        "future orders exist"
    );
}

#[test]
fn timelines_are_ordered_and_end_in_their_state() {
    let orders = generate_store(&config(3), Flavor::SparkShipping, 0, anchor());
    for order in &orders {
        assert_eq!(order.events[0].1, Stage::Placed);
        assert!(
            order.events.windows(2).all(|w| w[0].0 < w[1].0),
            "{order:?}"
        );
    }
    let last = |stage: Stage| {
        orders
            .iter()
            .filter(|o| o.events.last().map(|e| e.1) == Some(stage))
            .count()
    };
    // The default mix is mostly shipped.
    assert!(last(Stage::Shipped) > orders.len() / 2);
    for stage in [Stage::Placed, Stage::Paid, Stage::OnHold, Stage::Cancelled] {
        assert!(last(stage) > 0, "{stage:?}");
    }
    assert!(orders
        .iter()
        .any(|o| o.events.iter().any(|e| e.1 == Stage::Released)));
}

#[test]
fn late_evening_orders_and_orders_around_dst_changes_exist() {
    let tz = chrono_tz::America::Chicago;
    let orders = generate_store(&config(5), Flavor::SparkShipping, 0, anchor());
    let late = orders
        .iter()
        .filter(|o| o.placed_at().with_timezone(&tz).hour() >= 21)
        .count();
    // 15 % forced late plus the late share of the rest: well over 1/8.
    assert!(
        late * 100 / orders.len() >= 20,
        "{late} of {}",
        orders.len()
    );
    // 2026-03-08 08:00 UTC: Chicago springs forward.
    let change = Utc.with_ymd_and_hms(2026, 3, 8, 8, 0, 0).unwrap();
    let near = orders
        .iter()
        .filter(|o| (o.placed_at() - change).num_minutes().abs() < 60)
        .count();
    assert!(near >= 2, "{near} orders within an hour of the DST change");
    assert_eq!(
        offset_change(tz, NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
        Some(change)
    );
    assert_eq!(
        offset_change(tz, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()),
        None
    );
}

#[test]
fn the_invalid_share_is_honoured_with_every_kind() {
    let mut config = config(11);
    config.invalid_share = 0.2;
    let orders = generate_store(&config, Flavor::SparkShipping, 0, anchor());
    let invalid: Vec<_> = orders.iter().filter_map(|o| o.invalid).collect();
    let share = invalid.len() as f64 / orders.len() as f64;
    assert!((0.15..0.25).contains(&share), "{share}");
    for kind in Invalid::ALL {
        assert!(invalid.contains(&kind), "{kind:?}");
    }
    config.invalid_share = 0.0;
    assert!(generate_store(&config, Flavor::SparkShipping, 0, anchor())
        .iter()
        .all(|o| o.invalid.is_none()));
}

#[test]
fn valid_details_have_iso_codes_and_invalid_ones_do_not() {
    let mut config = config(13);
    config.invalid_share = 0.3;
    for flavor in Flavor::ALL {
        for order in generate_store(&config, flavor, 0, anchor()) {
            let details = order.details(flavor);
            match order.invalid {
                Some(Invalid::MissingShipTo) => assert!(details.ship_to.is_none()),
                Some(Invalid::CountryName) => {
                    let country = &details.ship_to.as_ref().unwrap().country;
                    assert!(country.len() > 2, "{country}");
                    if flavor == Flavor::OrderTime {
                        assert_eq!(country, "USA");
                    }
                }
                Some(Invalid::StateName) => {
                    let state = details.ship_to.as_ref().unwrap().state.as_deref().unwrap();
                    assert!(state.len() > 2, "{state}");
                    assert!(orderport_core::address::check_state("US", state).is_err());
                }
                None | Some(Invalid::UnmappedStatus) => {
                    let ship = details.ship_to.as_ref().unwrap();
                    orderport_core::address::check_country(&ship.country).unwrap();
                    if let Some(state) = &ship.state {
                        orderport_core::address::check_state(&ship.country, state).unwrap();
                    }
                    assert!(!details.items.is_empty());
                    assert!(details.total_cents() > 0);
                }
            }
        }
    }
}

#[test]
fn status_mixes_parse_and_print() {
    let mix: StatusMix = "10,50,5,30,5".parse().unwrap();
    assert_eq!(mix.awaiting_shipment, 50);
    assert_eq!(mix.to_string(), "10,50,5,30,5");
    assert_eq!(
        " 1, 0,0 ,0,0"
            .parse::<StatusMix>()
            .unwrap()
            .awaiting_payment,
        1
    );
    for bad in [
        "",
        "1,2,3",
        "1,2,3,4,5,6",
        "a,1,1,1,1",
        "0,0,0,0,0",
        "-1,1,1,1,1",
    ] {
        let err = bad.parse::<StatusMix>().unwrap_err();
        assert!(err.to_string().contains("10,50,5,30,5"), "{err}");
    }
}

#[test]
fn a_mix_of_one_state_gives_only_that_state() {
    let mut config = config(17);
    config.status_mix = "0,0,0,0,1".parse().unwrap();
    let orders = generate_store(&config, Flavor::SparkShipping, 0, anchor());
    assert!(orders
        .iter()
        .all(|o| o.events.last().map(|e| e.1) == Some(Stage::Cancelled)));
}

#[test]
fn local_times_in_gaps_and_overlaps_resolve_like_the_store_would() {
    let tz = chrono_tz::America::Chicago;
    // 02:30 does not exist on 2026-03-08: read with the offset before the gap (CST).
    let gap = NaiveDate::from_ymd_opt(2026, 3, 8)
        .unwrap()
        .and_hms_opt(2, 30, 0)
        .unwrap();
    assert_eq!(
        local_to_utc(tz, gap),
        Utc.with_ymd_and_hms(2026, 3, 8, 8, 30, 0).unwrap()
    );
    // 01:30 happens twice on 2026-11-01: the earlier (CDT).
    let twice = NaiveDate::from_ymd_opt(2026, 11, 1)
        .unwrap()
        .and_hms_opt(1, 30, 0)
        .unwrap();
    assert_eq!(
        local_to_utc(tz, twice),
        Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap()
    );
    assert_eq!(local_to_utc(tz, twice).with_timezone(&tz).day(), 1);
}

#[test]
fn order_time_items_have_a_bin_and_their_skus_options_and_other_flavours_no_bin() {
    let orders = generate_store(&config(3), Flavor::OrderTime, 0, anchor());
    let mut with_options = 0;
    for order in &orders[..200] {
        let details = order.details(Flavor::OrderTime);
        assert_eq!(details, order.details(Flavor::OrderTime), "deterministic");
        for item in &details.items {
            let bin = item
                .location
                .as_deref()
                .expect("every Order Time item has a bin");
            assert_eq!(bin.len(), "A-03-2".len(), "{bin}");
            let allowed: Vec<(&str, &[&str])> = catalog::DISTRIBUTOR_OPTIONS
                .iter()
                .filter(|(skus, _, _)| skus.contains(&item.sku))
                .map(|(_, name, values)| (*name, *values))
                .collect();
            assert_eq!(item.options.len(), allowed.len(), "{}", item.sku);
            for ((name, value), (allowed_name, values)) in item.options.iter().zip(&allowed) {
                assert_eq!(name, allowed_name);
                assert!(values.contains(value), "{value}");
            }
            with_options += usize::from(!item.options.is_empty());
        }
    }
    assert!(with_options > 0);
    let spark = generate_store(&config(3), Flavor::SparkShipping, 0, anchor());
    assert!(spark[..50]
        .iter()
        .flat_map(|o| o.details(Flavor::SparkShipping).items)
        .all(|item| item.location.is_none()));
}
