//! Generated orders, written as export XML in several styles (CDATA or escaped text, HTML
//! entities, five date formats, padded numbers), read back to the same values.

mod common;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use common::SPEC;
use orderport_core::{FetchOutcome, StoreProfile, StoreZone, StoresFile};
use orderport_custom_store::export::{parse_page, ParseContext};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
struct Item {
    sku: String,
    name: String,
    quantity: u32,
    price: Decimal,
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Generated {
    order_id: Option<String>,
    number: String,
    status: &'static str,
    ordered: NaiveDateTime,
    modified: NaiveDateTime,
    total: Decimal,
    notes: Option<String>,
    gift: bool,
    ship_name: String,
    street: String,
    city: String,
    items: Vec<Item>,
    discount: Option<(String, Decimal)>,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    cdata: bool,
    entities: bool,
    date_format: usize,
    padded: bool,
    zone: &'static str,
}

/// Free text with the characters that need care: markup, quotes, accents, `]]>`.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>'\"éü£_\\-]{0,12}(\\]\\]>)?[a-zA-Z0-9 é&]{0,6}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn wall() -> impl Strategy<Value = NaiveDateTime> {
    // 2020 to 2026: every order date must be plausible (from 1990 to a year after now).
    (1_577_836_800i64..1_767_225_600i64)
        .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap().naive_utc())
}

fn money(max_cents: i64) -> impl Strategy<Value = Decimal> {
    (0..max_cents).prop_map(|cents| Decimal::new(cents, 2))
}

fn item() -> impl Strategy<Value = Item> {
    (
        "[A-Z0-9\\-]{1,10}",
        text(),
        1u32..99_999,
        money(1_000_000),
        prop::collection::vec((text(), text()), 0..3),
    )
        .prop_map(|(sku, name, quantity, price, options)| Item {
            sku,
            name,
            quantity,
            price,
            options,
        })
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        (
            prop::option::of("[A-Za-z0-9\\-]{1,20}"),
            "[A-Z0-9\\-]{1,12}",
            prop::sample::select(vec!["paid", "unpaid", "shipped"]),
            wall(),
            wall(),
            money(100_000_000),
            prop::option::of(text()),
            any::<bool>(),
        ),
        (text(), text(), text()),
        prop::collection::vec(item(), 1..4),
        prop::option::of((
            "[A-Z0-9]{0,8}",
            money(10_000).prop_map(|d| d + Decimal::ONE),
        )),
    )
        .prop_map(
            |(
                (order_id, number, status, ordered, modified, total, notes, gift),
                (ship_name, street, city),
                items,
                discount,
            )| {
                Generated {
                    order_id,
                    number,
                    status,
                    ordered,
                    modified,
                    total,
                    notes,
                    gift,
                    ship_name,
                    street,
                    city,
                    items,
                    discount,
                }
            },
        )
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        0usize..5,
        any::<bool>(),
        prop::sample::select(vec![
            "UTC",
            "America/Chicago",
            "Europe/Berlin",
            "Asia/Kolkata",
        ]),
    )
        .prop_map(|(cdata, entities, date_format, padded, zone)| Style {
            cdata,
            entities,
            date_format,
            padded,
            zone,
        })
}

impl Style {
    fn text(&self, value: &str) -> String {
        if self.cdata {
            format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
        } else {
            let escaped = value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            if self.entities {
                escaped
                    .replace('é', "&eacute;")
                    .replace('£', "&pound;")
                    .replace('ü', "&#252;")
                    .replace('"', "&quot;")
            } else {
                escaped
            }
        }
    }

    fn number(&self, value: impl std::fmt::Display) -> String {
        let value = if self.padded {
            format!("\n  {value} ")
        } else {
            value.to_string()
        };
        if self.cdata {
            format!("<![CDATA[{value}]]>")
        } else {
            value
        }
    }

    /// The date as written, and the instant it must read back as.
    fn date(&self, wall: NaiveDateTime) -> (String, DateTime<Utc>) {
        let zone = StoreZone::parse(self.zone).unwrap();
        let minute = wall.with_second(0).unwrap();
        let (text, want) = match self.date_format {
            0 => (
                wall.format("%m/%d/%Y %H:%M").to_string(),
                zone.to_utc(minute),
            ),
            1 => (
                wall.format("%Y-%m-%d %H:%M:%S").to_string(),
                zone.to_utc(wall),
            ),
            2 => (
                wall.format("%-m/%-d/%Y %-I:%M %p").to_string(),
                zone.to_utc(minute),
            ),
            3 => (
                wall.format("%Y-%m-%dT%H:%M:%S.0000000").to_string(),
                zone.to_utc(wall),
            ),
            _ => (
                wall.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                wall.and_utc(),
            ),
        };
        (self.number(text), want)
    }
}

fn element(name: &str, content: &str) -> String {
    format!("<{name}>{content}</{name}>")
}

fn to_xml(order: &Generated, style: &Style) -> String {
    let t = |v: &str| style.text(v);
    let mut xml = String::from("<Order>");
    if let Some(id) = &order.order_id {
        xml += &element("OrderID", &t(id));
    }
    xml += &element("OrderNumber", &t(&order.number));
    xml += &element("OrderDate", &style.date(order.ordered).0);
    xml += &element("OrderStatus", &t(order.status));
    xml += &element("LastModified", &style.date(order.modified).0);
    xml += &element("OrderTotal", &style.number(order.total));
    if let Some(notes) = &order.notes {
        xml += &element("CustomerNotes", &t(notes));
    }
    let gift = match (order.gift, style.padded) {
        (true, true) => "1",
        (true, false) => "true",
        (false, true) => "0",
        (false, false) => "false",
    };
    xml += &element("Gift", &style.number(gift));
    xml += &element(
        "Customer",
        &element(
            "ShipTo",
            &[
                element("Name", &t(&order.ship_name)),
                element("Address1", &t(&order.street)),
                element("City", &t(&order.city)),
                element("State", &t("TX")),
                element("Country", &t("US")),
            ]
            .concat(),
        ),
    );
    xml += "<Items>";
    for item in &order.items {
        let options: String = item
            .options
            .iter()
            .map(|(n, v)| {
                element(
                    "Option",
                    &(element("Name", &t(n)) + &element("Value", &t(v))),
                )
            })
            .collect();
        xml += &element(
            "Item",
            &[
                element("SKU", &t(&item.sku)),
                element("Name", &t(&item.name)),
                element("Quantity", &style.number(item.quantity)),
                element("UnitPrice", &style.number(item.price)),
                element("Options", &options),
            ]
            .concat(),
        );
    }
    if let Some((code, amount)) = &order.discount {
        xml += &element(
            "Item",
            &[
                element("SKU", &t(code)),
                element("Name", &t("Discount")),
                element("Adjustment", &style.number("true")),
                element("Quantity", &style.number(1)),
                element("UnitPrice", &style.number(-*amount)),
            ]
            .concat(),
        );
    }
    xml + "</Items></Order>"
}

fn store(zone: &str) -> StoreProfile {
    let text = format!(
        "[[store]]\nid = \"hq\"\nname = \"HQ\"\nchannel = \"test-store\"\nurl = \"http://x\"\ntimezone = \"{zone}\""
    );
    let file = StoresFile::parse(&text, &|_| None).unwrap();
    StoreProfile::new(&file.stores[0], &SPEC).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_orders_read_back_to_the_same_values(
        orders in prop::collection::vec(generated(), 1..4),
        style in style(),
    ) {
        let body: String = orders.iter().map(|o| to_xml(o, &style)).collect();
        let encoding = if style.entities { "utf-16" } else { "utf-8" };
        let xml = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<Orders pages=\"1\">{body}</Orders>");
        let store = store(style.zone);
        let page = parse_page(xml.as_bytes(), &ParseContext::new(&SPEC, &store)).unwrap();
        prop_assert_eq!(page.outcomes.len(), orders.len());
        for (outcome, want) in page.outcomes.iter().zip(&orders) {
            let FetchOutcome::Accepted(got) = outcome else {
                return Err(TestCaseError::fail(format!("rejected: {outcome:?}\n{xml}")));
            };
            prop_assert_eq!(&got.order_number, &want.number);
            prop_assert_eq!(&got.external_id, want.order_id.as_ref().unwrap_or(&want.number));
            prop_assert_eq!(got.raw_status.as_str(), want.status);
            prop_assert_eq!(got.ordered_at, style.date(want.ordered).1);
            prop_assert_eq!(got.modified_at, style.date(want.modified).1);
            prop_assert_eq!(got.order_total, want.total);
            prop_assert_eq!(&got.customer_notes, &want.notes);
            prop_assert_eq!(got.gift.is_gift, want.gift);
            let ship_to = got.ship_to.as_ref().unwrap();
            prop_assert_eq!(ship_to.name.as_ref(), Some(&want.ship_name));
            prop_assert_eq!(ship_to.address1.as_ref(), Some(&want.street));
            prop_assert_eq!(ship_to.city.as_ref(), Some(&want.city));
            prop_assert_eq!(got.items.len(), want.items.len());
            for (item, want) in got.items.iter().zip(&want.items) {
                prop_assert_eq!(&item.sku, &want.sku);
                prop_assert_eq!(&item.name, &want.name);
                prop_assert_eq!(item.quantity, want.quantity);
                prop_assert_eq!(item.unit_price, want.price);
                let options: Vec<(String, String)> =
                    item.options.iter().map(|o| (o.name.clone(), o.value.clone())).collect();
                prop_assert_eq!(&options, &want.options);
            }
            match &want.discount {
                None => prop_assert!(got.discounts.is_empty()),
                Some((code, amount)) => {
                    prop_assert_eq!(got.discounts.len(), 1);
                    let discount = &got.discounts[0];
                    prop_assert_eq!(discount.code.as_deref(), (!code.is_empty()).then_some(code.as_str()));
                    prop_assert_eq!(discount.amount, *amount);
                }
            }
        }
    }
}

#[test]
fn the_minute_formats_drop_seconds() {
    let style = Style {
        cdata: false,
        entities: false,
        date_format: 0,
        padded: false,
        zone: "UTC",
    };
    let wall = DateTime::from_timestamp(1_800_000_030, 0)
        .unwrap()
        .naive_utc();
    let (text, want) = style.date(wall);
    assert_eq!(want, wall.and_utc() - Duration::seconds(30));
    assert!(!text.contains(":30"), "{text}");
}
