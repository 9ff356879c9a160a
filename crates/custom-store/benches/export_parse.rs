//! Export reading throughput, in orders per second, over 10,000 realistic orders (three items
//! each with options, CDATA free text):
//!
//! - `floor_tokenize_only`: the floor, quick-xml walking the same bytes with no work per event;
//! - `full_parse_normalize_validate`: the full path, [`parse_page`] to accepted or rejected
//!   `FetchOutcome`s (mapping, dates in the store zone, statuses, ISO checks, window filter),
//!   with the outcomes dropped outside the timing;
//! - `full_including_drop`: the same with the drop of the 10,000 orders inside the timing.
//!
//! And the NDJSON output `orderport import` writes, the same 10,000 orders rendered into one
//! buffer (`ndjson/serde_json`, `ndjson/sonic_rs`): whether a faster serializer is worth it.
//!
//! Run: `cargo bench -p orderport-custom-store --bench export_parse -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelSpec, FetchOutcome, Requirement, StoreProfile,
    StoresFile, TimeWindow,
};
use orderport_custom_store::export::{parse_page, ParseContext};
use quick_xml::events::Event;
use quick_xml::Reader;

const ORDERS: usize = 10_000;

static SPEC: ChannelSpec = ChannelSpec {
    id: "spark-shipping",
    name: "Spark Shipping",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["unpaid", "pending"]),
        (CanonicalStatus::AwaitingShipment, &["paid", "processing"]),
        (CanonicalStatus::OnHold, &["on-hold", "on_hold"]),
        (CanonicalStatus::Shipped, &["shipped", "complete"]),
        (CanonicalStatus::Cancelled, &["cancelled", "canceled"]),
    ],
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(true)
        .with_custom_statuses(true),
    modified_precision: Duration::minutes(1),
};

const STATES: [(&str, &str); 6] = [
    ("Austin", "TX"),
    ("Chicago", "IL"),
    ("Denver", "CO"),
    ("Seattle", "WA"),
    ("Boston", "MA"),
    ("Miami", "FL"),
];
const STATUSES: [&str; 4] = ["paid", "processing", "unpaid", "shipped"];
const COLORS: [&str; 4] = ["Blue", "Red", "Forest Green", "Black"];
const SIZES: [&str; 4] = ["S", "M", "L", "XL"];

fn address(tag: &str, n: usize) -> String {
    let (city, state) = STATES[n % STATES.len()];
    format!(
        "<{tag}><Name><![CDATA[Customer {n} Example]]></Name><Company><![CDATA[Acme & Sons]]></Company>\
         <Address1><![CDATA[{} Main Street]]></Address1><Address2><![CDATA[Suite {}]]></Address2>\
         <City><![CDATA[{city}]]></City><State>{state}</State><PostalCode>{:05}</PostalCode>\
         <Country>US</Country><Phone>555-01{:02}</Phone></{tag}>",
        100 + n % 900,
        n % 40,
        10_000 + n % 89_999,
        n % 100
    )
}

fn item(n: usize, line: usize) -> String {
    format!(
        "<Item><LineItemID>{n}-{line}</LineItemID><SKU><![CDATA[SKU-{:05}-{line}]]></SKU>\
         <Name><![CDATA[Organic cotton t-shirt, model {line} \u{2013} caf\u{e9} edition]]></Name>\
         <ImageUrl><![CDATA[https://cdn.example.com/products/{n}/{line}.jpg]]></ImageUrl>\
         <Weight>0.{}</Weight><WeightUnits>Pounds</WeightUnits><Quantity>{}</Quantity>\
         <UnitPrice>{}.{:02}</UnitPrice><Location><![CDATA[A-{}-{}]]></Location><UPC>0123456789{:02}</UPC>\
         <Options><Option><Name><![CDATA[Color]]></Name><Value><![CDATA[{}]]></Value></Option>\
         <Option><Name><![CDATA[Size]]></Name><Value><![CDATA[{}]]></Value></Option></Options></Item>",
        n % 10_000,
        1 + line,
        1 + (n + line) % 3,
        5 + (n * 7 + line) % 90,
        (n * 13) % 100,
        line,
        n % 20,
        (n + line) % 100,
        COLORS[(n + line) % COLORS.len()],
        SIZES[(n * 3 + line) % SIZES.len()],
    )
}

fn order(n: usize) -> String {
    let minute = n % 60;
    let items: String = (0..3).map(|line| item(n, line)).collect();
    format!(
        "<Order><OrderID><![CDATA[{n}]]></OrderID><OrderNumber><![CDATA[SP-{n:06}]]></OrderNumber>\
         <OrderDate>11/01/2026 {:02}:{minute:02}</OrderDate><OrderStatus><![CDATA[{}]]></OrderStatus>\
         <LastModified>11/01/2026 {:02}:{minute:02}</LastModified>\
         <ShippingMethod><![CDATA[USPS Priority Mail]]></ShippingMethod>\
         <PaymentMethod><![CDATA[Credit Card]]></PaymentMethod><CurrencyCode>USD</CurrencyCode>\
         <OrderTotal>{}.{:02}</OrderTotal><TaxAmount>4.25</TaxAmount><ShippingAmount>7.95</ShippingAmount>\
         <CustomerNotes><![CDATA[Please leave the parcel at the back door & ring twice. Thanks!]]></CustomerNotes>\
         <InternalNotes><![CDATA[Routed by Spark to the ShipStation vendor; split order {n}.]]></InternalNotes>\
         <Gift>{}</Gift><GiftMessage><![CDATA[Happy birthday!]]></GiftMessage>\
         <CustomField1><![CDATA[campaign-fall]]></CustomField1><Source><![CDATA[shopify]]></Source>\
         <Customer><CustomerCode><![CDATA[customer{n}@example.com]]></CustomerCode>{}{}</Customer>\
         <Items>{items}</Items></Order>\n",
        8 + n % 12,
        STATUSES[n % STATUSES.len()],
        9 + n % 12,
        20 + n % 500,
        n % 100,
        n.is_multiple_of(5),
        address("BillTo", n).replace("</Phone>", "</Phone><Email>customer@example.com</Email>"),
        address("ShipTo", n + 1),
    )
}

fn export() -> Vec<u8> {
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Orders pages=\"1\">\n");
    for n in 0..ORDERS {
        xml.push_str(&order(n));
    }
    xml.push_str("</Orders>\n");
    xml.into_bytes()
}

fn store() -> StoreProfile {
    let file = StoresFile::parse(
        "[[store]]\nid = \"spark-hq\"\nname = \"Spark HQ\"\nchannel = \"spark-shipping\"\nurl = \"http://x\"",
        &|_| None,
    )
    .expect("store");
    StoreProfile::new(&file.stores[0], &SPEC).expect("profile")
}

/// The floor: every event tokenized, nothing done with it.
fn tokenize(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let bytes = export();
    let store = store();
    let window = TimeWindow::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
    )
    .expect("window");
    let ctx = ParseContext::new(&SPEC, &store).with_window(window);
    let page = parse_page(&bytes, &ctx).expect("page");
    let accepted = page
        .outcomes
        .iter()
        .filter(|o| matches!(o, FetchOutcome::Accepted(_)))
        .count();
    assert_eq!(accepted, ORDERS, "every generated order is valid");
    eprintln!(
        "export: {} orders, {} bytes ({:.0} bytes/order), {} events",
        ORDERS,
        bytes.len(),
        bytes.len() as f64 / ORDERS as f64,
        tokenize(&bytes)
    );

    let mut group = c.benchmark_group("export_parse");
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.sample_size(20);
    group.bench_function("floor_tokenize_only", |b| {
        b.iter(|| tokenize(black_box(&bytes)))
    });
    // The outcomes are dropped outside the timing: freeing 10,000 orders is the consumer's cost,
    // not the reader's. `full_including_drop` measures both.
    group.bench_function("full_parse_normalize_validate", |b| {
        b.iter_with_large_drop(|| parse_page(black_box(&bytes), &ctx))
    });
    group.bench_function("full_including_drop", |b| {
        b.iter(|| parse_page(black_box(&bytes), &ctx).map(|p| p.outcomes.len()))
    });
    group.finish();

    let orders: Vec<_> = page
        .outcomes
        .into_iter()
        .filter_map(|o| match o {
            FetchOutcome::Accepted(order) => Some(order),
            FetchOutcome::Rejected(_) => None,
        })
        .collect();
    let mut group = c.benchmark_group("ndjson");
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.sample_size(20);
    group.bench_function("serde_json", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(orders.len() * 2048);
            for order in &orders {
                serde_json::to_writer(&mut out, order).expect("renders");
                out.push(b'\n');
            }
            out.len()
        })
    });
    group.bench_function("sonic_rs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(orders.len() * 2048);
            for order in &orders {
                sonic_rs::to_writer(&mut out, order).expect("renders");
                out.push(b'\n');
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
