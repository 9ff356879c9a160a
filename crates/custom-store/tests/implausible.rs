//! Orders that read but cannot be true (issue 11): a negative total and dates in year 0001 or
//! 9999 are rejected by the shared validation every connector calls, each with a reason that
//! names the field and says what to do; the other orders of the page are kept.

mod common;

use common::*;
use orderport_core::{FetchOutcome, ReasonCode, StoreProfile};
use orderport_custom_store::export::{parse_page, ParseContext};

fn implausible(ordered: &str, modified: &str, total: &str) -> String {
    order("9", modified)
        .replace(
            "<OrderDate>03/07/2026 20:15</OrderDate>",
            &format!("<OrderDate>{ordered}</OrderDate>"),
        )
        .replace(
            "<OrderTotal>25.00</OrderTotal>",
            &format!("<OrderTotal>{total}</OrderTotal>"),
        )
}

#[test]
fn negative_totals_and_dates_in_year_1_or_9999_are_rejected() {
    let channel = channel_at("https://store.example/shipstation", "");
    let profile: &StoreProfile = orderport_core::SellingChannel::store(&channel);
    let body = page(
        Some("1"),
        &[
            order("1", "03/07/2026 20:30"),
            implausible("01/01/0001 00:00", "12/31/9999 23:59", "-25.00"),
        ],
    );
    let parsed = parse_page(body.as_bytes(), &ParseContext::new(&SPEC, profile)).unwrap();
    assert_eq!(parsed.outcomes.len(), 2);
    assert!(matches!(parsed.outcomes[0], FetchOutcome::Accepted(_)));
    let FetchOutcome::Rejected(rejection) = &parsed.outcomes[1] else {
        panic!("{:?}", parsed.outcomes[1]);
    };
    let fields: Vec<(&str, ReasonCode)> = rejection
        .reasons
        .iter()
        .map(|r| (r.field.as_str(), r.code))
        .collect();
    assert_eq!(
        fields,
        [
            ("order_total", ReasonCode::Implausible),
            ("ordered_at", ReasonCode::Implausible),
            ("modified_at", ReasonCode::Implausible),
        ]
    );
    let text = rejection.to_string();
    assert!(text.contains("store hq: order 9"), "{text}");
    assert!(text.contains("negative (-25.00)"), "{text}");
    assert!(text.contains("0001-01-01T00:00:00+00:00"), "{text}");
    assert!(text.contains("9999-12-31T23:59:00+00:00"), "{text}");
}
