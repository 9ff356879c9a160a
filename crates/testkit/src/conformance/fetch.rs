//! The checks of fetching: identity, paging, empty windows, bad orders, unmapped statuses and
//! DST windows.

use std::collections::HashSet;

use chrono::{Offset, TimeZone};
use orderport_core::{CanonicalStatus, FetchOutcome, ReasonCode, UnmappedPolicy};

use super::harness::{run_scenario, Check};
use super::{CheckResult, Connector};

/// The connector builds a channel from a scenario store, reports its own id and the store's,
/// and refuses a store configured for another channel.
pub async fn check_identity(connector: &Connector) -> CheckResult {
    let mut check = Check::new("identity");
    let Some(scenario) = check.load(connector, "multi-page") else {
        return check.finish();
    };
    // No request is made: connecting does no I/O.
    let base = "http://127.0.0.1:9";
    match scenario.store_config(base, &toml::Table::new()) {
        Ok(store) => match (connector.connect)(&store) {
            Ok(channel) => {
                check.ensure(
                    channel.spec().id == connector.id,
                    format!(
                        "spec().id is {:?}, expected {:?}",
                        channel.spec().id,
                        connector.id
                    ),
                );
                check.ensure(
                    channel.store().id == store.id,
                    format!(
                        "store().id is {:?}, expected {:?}",
                        channel.store().id,
                        store.id
                    ),
                );
            }
            Err(e) => check.fail(format!("connect refused the multi-page store: {e}")),
        },
        Err(e) => check.fail(e.to_string()),
    }
    let mut other = toml::Table::new();
    other.insert(
        "channel".into(),
        toml::Value::String(format!("not-{}", connector.id)),
    );
    if let Ok(store) = scenario.store_config(base, &other) {
        check.ensure(
            (connector.connect)(&store).is_err(),
            "connect accepted a store configured for another channel",
        );
    }
    check.finish()
}

/// `multi-page`: a window of two or more pages, walked with `orderport_core::pages`, returns
/// every order exactly once (no duplicate `external_id`) and as many as the scenario expects.
pub async fn check_multi_page(connector: &Connector) -> CheckResult {
    let mut check = Check::new("multi-page");
    if let Some(run) = check.run(connector, "multi-page").await {
        check.ensure(run.result.is_ok(), "the walk failed");
        check.ensure(
            run.pages.len() >= 2,
            format!("expected at least 2 pages, got {}", run.pages.len()),
        );
        let mut seen = HashSet::new();
        for (page, outcome) in run.outcomes() {
            let id = match outcome {
                FetchOutcome::Accepted(o) => Some(o.external_id.clone()),
                FetchOutcome::Rejected(r) => r.external_id.clone(),
            };
            if let Some(id) = id {
                if !seen.insert(id.clone()) {
                    check.fail(format!(
                        "order {id} is returned twice (again on page {page})"
                    ));
                }
            }
        }
        let expected = run
            .scenario
            .expect
            .accepted
            .map(|a| a + run.scenario.expect.rejected.unwrap_or(0));
        match expected {
            Some(n) => check.ensure(
                run.outcomes().count() == n,
                format!("expected {n} orders in all, got {}", run.outcomes().count()),
            ),
            None => check.fail("[expect] must set accepted (and rejected) for multi-page"),
        }
    }
    check.finish()
}

/// `store-status-map`, for channels that declare `custom_statuses`: a store's `status_map`
/// replaces the connector's default mapping. Replays `multi-page` with a map that sends every
/// raw status the orders carry to `on_hold`, and expects the same orders accepted, each on
/// hold. A channel with fixed statuses passes without a run (its stores cannot map statuses).
pub async fn check_store_status_map(connector: &Connector) -> CheckResult {
    let mut check = Check::new("store-status-map");
    let Some(scenario) = check.load(connector, "multi-page") else {
        return check.finish();
    };
    let Ok(store) = scenario.store_config("http://127.0.0.1:9", &toml::Table::new()) else {
        // `multi-page` reports a bad [store] itself.
        return check.finish();
    };
    let custom = (connector.connect)(&store)
        .is_ok_and(|channel| channel.spec().capabilities.custom_statuses);
    if !custom {
        return check.finish();
    }
    let plain = match run_scenario(connector, &scenario, &toml::Table::new()).await {
        Ok(run) => run,
        Err(e) => {
            check.fail(e);
            return check.finish();
        }
    };
    let mut raws: Vec<String> = plain
        .accepted()
        .map(|(_, o)| o.raw_status.clone())
        .collect();
    raws.sort_unstable();
    raws.dedup();
    if raws.is_empty() {
        check.fail("multi-page accepts no order, so the store's status_map cannot be checked");
        return check.finish();
    }
    let mut map = toml::Table::new();
    map.insert(
        CanonicalStatus::OnHold.as_str().to_owned(),
        toml::Value::Array(raws.iter().cloned().map(toml::Value::String).collect()),
    );
    let mut overrides = toml::Table::new();
    overrides.insert("status_map".into(), toml::Value::Table(map));
    match run_scenario(connector, &scenario, &overrides).await {
        Ok(mapped) => {
            check.ensure(
                mapped.result.is_ok(),
                "the walk with the store's status_map failed",
            );
            check.ensure(
                mapped.accepted().count() == plain.accepted().count(),
                format!(
                    "with a status_map mapping {raws:?} to on_hold, {} orders were accepted instead of {}",
                    mapped.accepted().count(),
                    plain.accepted().count()
                ),
            );
            for (page, order) in mapped.accepted() {
                check.ensure(
                    order.status == CanonicalStatus::OnHold,
                    format!(
                        "order {} (page {page}, raw status {:?}) is {:?}: the store's status_map maps {:?} to on_hold and must replace the connector's default mapping",
                        order.external_id,
                        order.raw_status,
                        order.status,
                        order.raw_status
                    ),
                );
            }
        }
        Err(e) => check.fail(format!("with the store's status_map: {e}")),
    }
    check.finish()
}

/// `empty-window`: a window with no orders is `Ok` with zero outcomes.
pub async fn check_empty_window(connector: &Connector) -> CheckResult {
    let mut check = Check::new("empty-window");
    if let Some(run) = check.run(connector, "empty-window").await {
        check.ensure(run.result.is_ok(), "the walk failed");
        check.ensure(
            run.outcomes().count() == 0,
            format!("expected no orders, got {}", run.outcomes().count()),
        );
    }
    check.finish()
}

/// `invalid-orders`: bad orders come back as rejections with field-level reasons, and never
/// fail their page: at least one order on a page with a rejection is accepted.
pub async fn check_invalid_orders(connector: &Connector) -> CheckResult {
    let mut check = Check::new("invalid-orders");
    if let Some(run) = check.run(connector, "invalid-orders").await {
        check.ensure(
            run.result.is_ok(),
            "the walk failed: a bad order must not fail its page",
        );
        let rejected_pages: HashSet<usize> = run.rejected().map(|(p, _)| p).collect();
        check.ensure(!rejected_pages.is_empty(), "no order was rejected");
        check.ensure(
            run.rejected().all(|(_, r)| {
                r.reasons
                    .iter()
                    .all(|x| !x.field.is_empty() && !x.message.is_empty())
            }),
            "a rejection reason has no field path or message",
        );
        check.ensure(
            run.accepted().any(|(p, _)| rejected_pages.contains(&p)),
            "no page holds both a rejected and an accepted order",
        );
    }
    check.finish()
}

/// `unmapped-status`: with `unmapped_status = "reject"` the order is rejected with code
/// `unmapped_status`; replayed again with `unmapped_status` set to the scenario's fallback, the
/// same order is accepted with that status and its raw status kept.
pub async fn check_unmapped_status(connector: &Connector) -> CheckResult {
    let mut check = Check::new("unmapped-status");
    let Some(scenario) = check.load(connector, "unmapped-status") else {
        return check.finish();
    };
    let Some(unmapped) = scenario.expect.unmapped.clone() else {
        check.fail("[expect.unmapped] must name order_number, raw_status and fallback");
        return check.finish();
    };
    if let Some(run) = check
        .run_with(connector, &scenario, &toml::Table::new())
        .await
    {
        check.ensure(
            run.store.unmapped_status == UnmappedPolicy::Reject,
            "the scenario's [store] must have unmapped_status = \"reject\"",
        );
        let rejected = run.rejected().any(|(_, r)| {
            r.order_number.as_deref() == Some(unmapped.order_number.as_str())
                && r.reasons
                    .iter()
                    .any(|x| x.code == ReasonCode::UnmappedStatus)
        });
        check.ensure(
            rejected,
            format!(
                "order {} is not rejected with code unmapped_status",
                unmapped.order_number
            ),
        );
    }
    let mut overrides = toml::Table::new();
    overrides.insert(
        "unmapped_status".into(),
        toml::Value::String(unmapped.fallback.to_string()),
    );
    match run_scenario(connector, &scenario, &overrides).await {
        Ok(run) => {
            if let Err(m) = &run.replay {
                check.fail(format!("with the fallback: {m}"));
            }
            let order = run
                .accepted()
                .map(|(_, o)| o)
                .find(|o| o.order_number == unmapped.order_number);
            match order {
                Some(order) => {
                    check.ensure(
                        order.status == unmapped.fallback,
                        format!(
                            "with unmapped_status = {:?}, order {} has status {}",
                            unmapped.fallback.as_str(),
                            order.order_number,
                            order.status
                        ),
                    );
                    check.ensure(
                        order.raw_status == unmapped.raw_status,
                        format!(
                            "order {} keeps raw status {:?}, expected {:?}",
                            order.order_number, order.raw_status, unmapped.raw_status
                        ),
                    );
                }
                None => check.fail(format!(
                    "with unmapped_status = {:?}, order {} is not accepted",
                    unmapped.fallback.as_str(),
                    unmapped.order_number
                )),
            }
        }
        Err(e) => check.fail(format!("with the fallback: {e}")),
    }
    check.finish()
}

/// `dst-window`: a store in a zone other than UTC, a window across a change of its UTC offset,
/// requests that pin the wall-clock bounds, and orders whose UTC instants (`ordered_at`,
/// `modified_at`) are pinned in `[[expect.order]]`, one of them on another calendar day in UTC
/// than on the store's wall clock.
pub async fn check_dst_window(connector: &Connector) -> CheckResult {
    let mut check = Check::new("dst-window");
    if let Some(run) = check.run(connector, "dst-window").await {
        let zone = run.store.timezone;
        let tz = zone.tz();
        check.ensure(
            zone != orderport_core::StoreZone::UTC,
            "the store must be in a zone other than UTC",
        );
        if let Some(window) = run.scenario.window {
            let offset = |t: chrono::DateTime<chrono::Utc>| {
                tz.offset_from_utc_datetime(&t.naive_utc()).fix()
            };
            check.ensure(
                offset(window.from()) != offset(window.to()),
                format!("the window does not cross a change of {zone}'s UTC offset"),
            );
        }
        check.ensure(
            !run.scenario.exchanges.is_empty()
                && run
                    .scenario
                    .exchanges
                    .iter()
                    .all(|e| !e.request.query.is_empty() || e.request.body.is_some()),
            "every recorded request must pin the window it asks for (query or body)",
        );
        let pinned = &run.scenario.expect.order;
        check.ensure(
            !pinned.is_empty(),
            "[[expect.order]] must pin at least one order",
        );
        check.ensure(
            pinned
                .iter()
                .all(|o| o.ordered_at.is_some() && o.modified_at.is_some()),
            "every [[expect.order]] must pin ordered_at and modified_at",
        );
        check.ensure(
            pinned.iter().filter_map(|o| o.ordered_at).any(|t| zone.to_wall(t).date() != t.date_naive()),
            "no pinned order is on another day in UTC than on the store's clock (add a late-day order)",
        );
    }
    check.finish()
}
