//! The reader's leniency, mapping, rejections and protocol errors.

use chrono::{DateTime, Duration, TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelSpec, FetchOutcome, Order, ReasonCode, Rejection,
    Requirement, StoreProfile, StoresFile, TimeWindow, Weight, WeightUnit,
};
use rust_decimal::Decimal;

use super::*;

pub(crate) const CAPABILITIES: Capabilities = Capabilities::NONE
    .with_partial_shipments(true)
    .with_customer_email(true)
    .with_custom_statuses(true);

pub(crate) static SPEC: ChannelSpec = ChannelSpec {
    id: "test-store",
    name: "Test Store",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["unpaid"]),
        (CanonicalStatus::AwaitingShipment, &["paid"]),
        (CanonicalStatus::Shipped, &["shipped"]),
        (CanonicalStatus::Cancelled, &["cancelled"]),
    ],
    capabilities: CAPABILITIES,
    modified_precision: Duration::minutes(1),
};

static NO_EMAIL_SPEC: ChannelSpec = ChannelSpec {
    id: "test-store",
    capabilities: CAPABILITIES.with_customer_email(false),
    ..SPEC
};

pub(crate) fn profile_with(spec: &ChannelSpec, extra: &str) -> StoreProfile {
    let text = format!(
        "[[store]]\nid = \"hq\"\nname = \"HQ\"\nchannel = \"{}\"\nurl = \"http://x\"\n{extra}",
        spec.id
    );
    let file = StoresFile::parse(&text, &|_| None).unwrap();
    StoreProfile::new(&file.stores[0], spec).unwrap()
}

fn profile() -> StoreProfile {
    profile_with(&SPEC, "")
}

fn parse_with(
    xml: &str,
    spec: &ChannelSpec,
    store: &StoreProfile,
) -> Result<ParsedPage, ExportError> {
    parse_page(xml.as_bytes(), &ParseContext::new(spec, store))
}

fn parse(xml: &str) -> ParsedPage {
    parse_with(xml, &SPEC, &profile()).unwrap()
}

fn accepted(page: &ParsedPage) -> Vec<&Order> {
    page.outcomes
        .iter()
        .map(|o| match o {
            FetchOutcome::Accepted(order) => &**order,
            FetchOutcome::Rejected(r) => panic!("rejected: {r}"),
        })
        .collect()
}

fn only_order(xml: &str) -> Order {
    let page = parse(xml);
    assert_eq!(page.outcomes.len(), 1, "{page:?}");
    accepted(&page)[0].clone()
}

fn only_rejection(xml: &str) -> Rejection {
    let page = parse(xml);
    assert_eq!(page.outcomes.len(), 1, "{page:?}");
    match &page.outcomes[0] {
        FetchOutcome::Rejected(r) => r.clone(),
        FetchOutcome::Accepted(o) => panic!("accepted: {o:?}"),
    }
}

fn fields(rejection: &Rejection) -> Vec<(&str, ReasonCode)> {
    rejection
        .reasons
        .iter()
        .map(|r| (r.field.as_str(), r.code))
        .collect()
}

fn utc(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap()
}

/// A valid order; `extra` goes inside `<Order>`, `item_extra` inside its one item.
fn order(number: &str, extra: &str, item_extra: &str) -> String {
    format!(
        "<Order>\
           <OrderID>id-{number}</OrderID><OrderNumber>{number}</OrderNumber>\
           <OrderDate>03/07/2026 20:15</OrderDate><OrderStatus>paid</OrderStatus>\
           <LastModified>03/07/2026 21:56</LastModified><OrderTotal>25.00</OrderTotal>\
           <Customer><CustomerCode>pat</CustomerCode>\
             <ShipTo><Name>Pat</Name><Address1>1 Main St</Address1><City>Austin</City>\
               <State>TX</State><PostalCode>78701</PostalCode><Country>US</Country></ShipTo>\
           </Customer>\
           <Items><Item><SKU>SKU-1</SKU><Name>Widget</Name><Quantity>2</Quantity>\
             <UnitPrice>12.50</UnitPrice>{item_extra}</Item></Items>\
           {extra}\
         </Order>"
    )
}

/// `xml` without the first section from `open` to `close`, both included.
fn cut(xml: &str, open: &str, close: &str) -> String {
    let start = xml.find(open).unwrap();
    let end = xml.find(close).unwrap() + close.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

fn orders(pages: &str, body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders{pages}>{body}</Orders>")
}

const FULL_ORDER: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Orders pages="2">
  <Order>
    <OrderID>A-1</OrderID>
    <OrderNumber>1001</OrderNumber>
    <OrderDate>03/07/2026 20:15</OrderDate>
    <OrderStatus>paid</OrderStatus>
    <LastModified>03/07/2026 21:56 PM</LastModified>
    <PaymentDate>03/07/2026 20:16</PaymentDate>
    <ShippingMethod>Ground</ShippingMethod>
    <PaymentMethod>Credit Card</PaymentMethod>
    <CurrencyCode>usd</CurrencyCode>
    <OrderTotal>27.00</OrderTotal>
    <TaxAmount>1.50</TaxAmount>
    <ShippingAmount>5.00</ShippingAmount>
    <CustomerNotes>Leave at door</CustomerNotes>
    <InternalNotes>VIP</InternalNotes>
    <Gift>true</Gift>
    <GiftMessage>Happy birthday</GiftMessage>
    <CustomField1>c1</CustomField1>
    <CustomField2>c2</CustomField2>
    <CustomField3>c3</CustomField3>
    <RequestedWarehouse>East</RequestedWarehouse>
    <Source>eBay</Source>
    <Weight>3.5</Weight>
    <WeightUnits>Pounds</WeightUnits>
    <Customer>
      <CustomerCode>pat@example.com</CustomerCode>
      <BillTo>
        <Name>Pat Bill</Name><Company>Acme</Company><Phone>555-0100</Phone>
        <Email>pat@example.com</Email><Address1>9 Bill St</Address1><City>Dallas</City>
        <State>TX</State><PostalCode>75201</PostalCode><Country>US</Country>
      </BillTo>
      <ShipTo>
        <Name>Pat Ship</Name><Company>Acme</Company><Address1>1 Main St</Address1>
        <Address2>Suite 2</Address2><Address3>Floor 3</Address3><City>Austin</City>
        <State>TX</State><PostalCode>78701</PostalCode><Country>US</Country><Phone>555-0199</Phone>
      </ShipTo>
    </Customer>
    <Items>
      <Item>
        <LineItemID>L1</LineItemID><SKU>SKU-1</SKU><Name>Widget</Name>
        <ImageUrl>https://img.example/w.png</ImageUrl>
        <Weight>8</Weight><WeightUnits>oz</WeightUnits>
        <Quantity>2</Quantity><UnitPrice>12.50</UnitPrice>
        <Location>A-3</Location><UPC>012345678905</UPC>
        <Options>
          <Option><Name>Color</Name><Value>Blue</Value><Weight>1</Weight></Option>
          <Option><Name>Size</Name><Value>L</Value></Option>
        </Options>
      </Item>
      <Item>
        <SKU>SAVE5</SKU><Name>Coupon SAVE5</Name><Adjustment>true</Adjustment>
        <Quantity>1</Quantity><UnitPrice>-5.00</UnitPrice>
      </Item>
    </Items>
  </Order>
</Orders>"#;

#[test]
fn every_field_maps_to_the_canonical_order() {
    let page = parse(FULL_ORDER);
    assert_eq!(page.total_pages, 2);
    let order = accepted(&page)[0].clone();
    assert_eq!(order.channel, "test-store");
    assert_eq!(
        (order.store_id.as_str(), order.store_name.as_str()),
        ("hq", "HQ")
    );
    assert_eq!(order.external_id, "A-1");
    assert_eq!(order.order_number, "1001");
    assert_eq!(order.raw_status, "paid");
    assert_eq!(order.status, CanonicalStatus::AwaitingShipment);
    assert_eq!(order.ordered_at, utc(3, 7, 20, 15));
    assert_eq!(order.modified_at, utc(3, 7, 21, 56));
    assert_eq!(order.paid_at, Some(utc(3, 7, 20, 16)));
    assert_eq!(order.requested_shipping_service.as_deref(), Some("Ground"));
    assert_eq!(order.payment_method.as_deref(), Some("Credit Card"));
    assert_eq!(order.currency.as_ref().map(|c| c.as_str()), Some("USD"));
    assert_eq!(order.order_total, Decimal::new(2700, 2));
    assert_eq!(order.tax_amount, Some(Decimal::new(150, 2)));
    assert_eq!(order.shipping_amount, Some(Decimal::new(500, 2)));
    assert_eq!(order.customer_notes.as_deref(), Some("Leave at door"));
    assert_eq!(order.internal_notes.as_deref(), Some("VIP"));
    assert!(order.gift.is_gift);
    assert_eq!(order.gift.message.as_deref(), Some("Happy birthday"));
    assert_eq!(order.custom_fields.custom_field_1.as_deref(), Some("c1"));
    assert_eq!(order.custom_fields.custom_field_2.as_deref(), Some("c2"));
    assert_eq!(order.custom_fields.custom_field_3.as_deref(), Some("c3"));
    assert_eq!(order.requested_warehouse.as_deref(), Some("East"));
    assert_eq!(order.source.as_deref(), Some("eBay"));
    assert_eq!(
        order.total_weight,
        Some(Weight {
            value: Decimal::new(35, 1),
            unit: WeightUnit::Pounds
        })
    );
    assert_eq!(order.customer.code.as_deref(), Some("pat@example.com"));
    assert_eq!(order.customer.email.as_deref(), Some("pat@example.com"));
    assert_eq!(order.customer.phone.as_deref(), Some("555-0100"));
    let bill_to = order.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.name.as_deref(), Some("Pat Bill"));
    assert_eq!(bill_to.email.as_deref(), Some("pat@example.com"));
    assert_eq!(bill_to.city.as_deref(), Some("Dallas"));
    let ship_to = order.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.name.as_deref(), Some("Pat Ship"));
    assert_eq!(ship_to.company.as_deref(), Some("Acme"));
    assert_eq!(ship_to.address1.as_deref(), Some("1 Main St"));
    assert_eq!(ship_to.address2.as_deref(), Some("Suite 2"));
    assert_eq!(ship_to.address3.as_deref(), Some("Floor 3"));
    assert_eq!(ship_to.city.as_deref(), Some("Austin"));
    assert_eq!(ship_to.state.as_deref(), Some("TX"));
    assert_eq!(ship_to.postal_code.as_deref(), Some("78701"));
    assert_eq!(ship_to.country.as_deref(), Some("US"));
    assert_eq!(ship_to.phone.as_deref(), Some("555-0199"));

    assert_eq!(order.items.len(), 1);
    let item = &order.items[0];
    assert_eq!(item.line_id.as_deref(), Some("L1"));
    assert_eq!((item.sku.as_str(), item.name.as_str()), ("SKU-1", "Widget"));
    assert_eq!(item.quantity, 2);
    assert_eq!(item.unit_price, Decimal::new(1250, 2));
    assert_eq!(
        item.weight,
        Some(Weight {
            value: Decimal::from(8),
            unit: WeightUnit::Ounces
        })
    );
    assert_eq!(item.image_url.as_deref(), Some("https://img.example/w.png"));
    assert_eq!(item.location.as_deref(), Some("A-3"));
    assert_eq!(item.upc.as_deref(), Some("012345678905"));
    let options: Vec<_> = item
        .options
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(options, [("Color", "Blue"), ("Size", "L")]);

    assert_eq!(order.discounts.len(), 1);
    let discount = &order.discounts[0];
    assert_eq!(discount.code.as_deref(), Some("SAVE5"));
    assert_eq!(discount.description.as_deref(), Some("Coupon SAVE5"));
    assert_eq!(discount.amount, Decimal::new(500, 2));
}

/// Wraps every value of [`FULL_ORDER`] in CDATA with whitespace around it.
fn cdata_everywhere(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(close) = rest.find("</") {
        let (before, after) = rest.split_at(close);
        match before.rfind('>') {
            Some(gt) if !before[gt + 1..].trim().is_empty() => {
                out.push_str(&before[..=gt]);
                out.push_str(&format!("\n   <![CDATA[{}]]>  \n", &before[gt + 1..]));
            }
            _ => out.push_str(before),
        }
        let end = after.find('>').unwrap() + 1;
        out.push_str(&after[..end]);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn cdata_anywhere_reads_the_same_as_plain_text() {
    let wrapped = cdata_everywhere(FULL_ORDER);
    assert!(wrapped.contains("<![CDATA[27.00]]>"), "{wrapped}");
    assert!(
        wrapped.contains("<![CDATA[03/07/2026 21:56 PM]]>"),
        "{wrapped}"
    );
    assert!(wrapped.contains("<![CDATA[true]]>"), "{wrapped}");
    assert_eq!(parse(&wrapped), parse(FULL_ORDER));
}

#[test]
fn numbers_in_cdata_and_with_whitespace_are_read() {
    let xml = orders(
        "",
        &order("1", "", "")
            .replace(
                "<OrderTotal>25.00</OrderTotal>",
                "<OrderTotal><![CDATA[ 25.00 ]]></OrderTotal><TaxAmount>\n  1.25\n</TaxAmount>",
            )
            .replace(
                "<Quantity>2</Quantity>",
                "<Quantity>\n <![CDATA[2]]> \n</Quantity>",
            ),
    );
    let order = only_order(&xml);
    assert_eq!(order.order_total, Decimal::new(2500, 2));
    assert_eq!(order.tax_amount, Some(Decimal::new(125, 2)));
    assert_eq!(order.items[0].quantity, 2);
}

#[test]
fn a_declaration_that_lies_about_the_encoding_is_read_as_utf8() {
    let xml = orders(
        "",
        &order("1", "<CustomerNotes>Café £5 日本</CustomerNotes>", ""),
    )
    .replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-16\"?>"));
    let order = only_order(&xml);
    assert_eq!(order.customer_notes.as_deref(), Some("Café £5 日本"));
}

#[test]
fn bytes_that_are_not_utf8_become_replacement_characters_not_an_error() {
    // A Latin-1 `é` (0xE9) in a UTF-8 page, in plain text and in CDATA.
    let xml = orders(
        "",
        &order("1", "<CustomerNotes>caf#</CustomerNotes>", "")
            .replace("<Name>Widget</Name>", "<Name><![CDATA[Cr#me]]></Name>"),
    );
    let bytes: Vec<u8> = xml
        .bytes()
        .map(|b| if b == b'#' { 0xE9 } else { b })
        .collect();
    assert!(std::str::from_utf8(&bytes).is_err());
    let page = parse_page(&bytes, &ParseContext::new(&SPEC, &profile())).unwrap();
    let order = accepted(&page)[0].clone();
    assert_eq!(order.customer_notes.as_deref(), Some("caf\u{FFFD}"));
    assert_eq!(order.items[0].name, "Cr\u{FFFD}me");
}

#[test]
fn a_lone_ampersand_is_text_beside_decoded_references() {
    let xml = orders(
        "",
        &order(
            "1",
            "<CustomerNotes>Fish & Chips &amp; peas & &pound;5 AT&T &</CustomerNotes>",
            "",
        )
        .replace("<Name>Widget</Name>", "<Name>R&D &#233;</Name>"),
    );
    let order = only_order(&xml);
    assert_eq!(
        order.customer_notes.as_deref(),
        Some("Fish & Chips & peas & £5 AT&T &")
    );
    assert_eq!(order.items[0].name, "R&D é");
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let xml = format!("\u{FEFF}{}", orders("", &order("1", "", "")));
    assert_eq!(only_order(&xml).order_number, "1");
}

#[test]
fn html_xml_and_numeric_entities_are_decoded() {
    let xml = orders(
        "",
        &order(
            "1",
            "<CustomerNotes>&pound;5&nbsp;off &amp; caf&eacute; &lt;3 &#233;&#xE9; &apos;x&apos;</CustomerNotes>",
            "",
        )
        .replace("<Name>Widget</Name>", "<Name>Cr&egrave;me &quot;br&ucirc;l&eacute;e&quot;</Name>"),
    );
    let order = only_order(&xml);
    assert_eq!(
        order.customer_notes.as_deref(),
        Some("£5\u{a0}off & café <3 éé 'x'")
    );
    assert_eq!(order.items[0].name, "Crème \"brûlée\"");
}

#[test]
fn unknown_elements_are_ignored_at_any_depth() {
    let xml = orders(
        " page=\"1\" generator=\"x\"",
        &format!(
            "<StoreCode>main</StoreCode><Meta><Order><OrderNumber>ghost</OrderNumber></Order></Meta>{}",
            order(
                "1",
                "<StoreCode>x</StoreCode><OrderPaymentMethodTitle>Card</OrderPaymentMethodTitle>\
                 <CostOfGoods>3</CostOfGoods>\
                 <Dimensions><DimensionUnits>in</DimensionUnits><Weight>99</Weight></Dimensions>\
                 <Extra><OrderTotal>999</OrderTotal><Deep><Gift>maybe</Gift></Deep></Extra>",
                "<Weight>2</Weight><Dimensions><Length>1</Length><Weight>77</Weight></Dimensions>\
                 <Options><Option><Name>Color</Name><Value>Red</Value><Weight>5</Weight>\
                 <Price>1</Price></Option><Note>n</Note></Options><Vendor><SKU>other</SKU></Vendor>",
            )
            .replace(
                "<CustomerCode>pat</CustomerCode>",
                "<CustomerCode>pat</CustomerCode><Profile><Email>x@example.com</Email></Profile>",
            )
        ),
    );
    let page = parse(&xml);
    assert_eq!(
        page.orders_read, 1,
        "the Order inside <Meta> is not an order"
    );
    let order = accepted(&page)[0].clone();
    assert_eq!(order.order_number, "1");
    assert_eq!(order.order_total, Decimal::new(2500, 2));
    assert!(!order.gift.is_gift);
    assert_eq!(
        order.total_weight, None,
        "a weight inside <Dimensions> is not the order's"
    );
    assert_eq!(order.customer.email, None);
    let item = &order.items[0];
    assert_eq!(item.sku, "SKU-1");
    assert_eq!(item.weight.map(|w| w.value), Some(Decimal::from(2)));
    assert_eq!(item.options.len(), 1);
    assert_eq!(
        (
            item.options[0].name.as_str(),
            item.options[0].value.as_str()
        ),
        ("Color", "Red")
    );
}

#[test]
fn every_date_format_is_read_in_the_store_zone() {
    let chicago = profile_with(&SPEC, "timezone = \"America/Chicago\"");
    for (text, want) in [
        ("03/07/2026 21:56", utc(3, 8, 3, 56)),
        ("03/07/2026 21:56 PM", utc(3, 8, 3, 56)),
        ("3/7/2026 9:56 PM", utc(3, 8, 3, 56)),
        ("<![CDATA[2026-03-07 21:56:00]]>", utc(3, 8, 3, 56)),
        ("2026-03-07T21:56:00.0000000", utc(3, 8, 3, 56)),
        // An offset in the text is honoured over the store's zone.
        ("2026-03-07T21:56:00Z", utc(3, 7, 21, 56)),
        ("2026-03-07T21:56:00+01:00", utc(3, 7, 20, 56)),
    ] {
        let xml = orders(
            "",
            &order("1", "", "").replace(
                "<OrderDate>03/07/2026 20:15</OrderDate>",
                &format!("<OrderDate>{text}</OrderDate>"),
            ),
        );
        let page = parse_with(&xml, &SPEC, &chicago).unwrap();
        assert_eq!(accepted(&page)[0].ordered_at, want, "{text}");
    }
}

#[test]
fn adjustment_lines_become_discounts_not_items() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "</Items>",
            "<Item><SKU></SKU><Name>Spring sale</Name><Adjustment>1</Adjustment>\
               <Quantity>2</Quantity><UnitPrice>-1.25</UnitPrice></Item>\
             <Item><SKU>total-discount</SKU><Name>Discount</Name><Adjustment>TRUE</Adjustment>\
               <UnitPrice>-3</UnitPrice></Item>\
             <Item><SKU>SKU-2</SKU><Name>Bolt</Name><Adjustment>false</Adjustment>\
               <Quantity>1</Quantity><UnitPrice>1</UnitPrice></Item></Items>",
        ),
    );
    let order = only_order(&xml);
    let skus: Vec<_> = order.items.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!(skus, ["SKU-1", "SKU-2"]);
    assert_eq!(order.discounts.len(), 2);
    assert_eq!(order.discounts[0].code, None);
    assert_eq!(
        order.discounts[0].description.as_deref(),
        Some("Spring sale")
    );
    assert_eq!(order.discounts[0].amount, Decimal::new(250, 2));
    assert_eq!(order.discounts[1].code.as_deref(), Some("total-discount"));
    assert_eq!(order.discounts[1].amount, Decimal::from(3));
}

#[test]
fn an_adjustment_with_a_positive_price_is_a_rejection() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "</Items>",
            "<Item><SKU>X</SKU><Name>Surcharge</Name><Adjustment>true</Adjustment>\
               <Quantity>1</Quantity><UnitPrice>2</UnitPrice></Item></Items>",
        ),
    );
    let rejection = only_rejection(&xml);
    assert_eq!(
        fields(&rejection),
        [("discounts[0].amount", ReasonCode::InvalidValue)]
    );
}

#[test]
fn a_zero_price_item_is_still_an_item() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "</Items>",
            "<Item><SKU>FREE</SKU><Name>Sticker</Name><Quantity>1</Quantity>\
               <UnitPrice>0.00</UnitPrice></Item></Items>",
        ),
    );
    let order = only_order(&xml);
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.items[1].sku, "FREE");
    assert_eq!(order.items[1].unit_price, Decimal::ZERO);
    assert!(order.discounts.is_empty());
}

#[test]
fn a_missing_or_empty_order_id_falls_back_to_the_order_number() {
    let without = order("1001", "", "").replace("<OrderID>id-1001</OrderID>", "");
    let empty = order("1002", "", "").replace(
        "<OrderID>id-1002</OrderID>",
        "<OrderID><![CDATA[ ]]></OrderID>",
    );
    let self_closing = order("1003", "", "").replace("<OrderID>id-1003</OrderID>", "<OrderID/>");
    let page = parse(&orders("", &format!("{without}{empty}{self_closing}")));
    let ids: Vec<_> = accepted(&page)
        .iter()
        .map(|o| o.external_id.clone())
        .collect();
    assert_eq!(ids, ["1001", "1002", "1003"]);
}

#[test]
fn page_counts_default_to_one_and_zero_is_fine() {
    assert_eq!(parse(&orders("", &order("1", "", ""))).total_pages, 1);
    assert_eq!(parse(&orders(" pages=\"\"", "")).total_pages, 1);
    let zero = parse(&orders(" pages=\"0\"", ""));
    assert_eq!(zero.total_pages, 0);
    assert!(zero.outcomes.is_empty());
    let self_closing = parse(r#"<?xml version="1.0"?><Orders pages="0"/>"#);
    assert_eq!(
        (self_closing.total_pages, self_closing.outcomes.len()),
        (0, 0)
    );
    let empty_page = parse(&orders(" pages=\"3\"", "\n  "));
    assert_eq!((empty_page.total_pages, empty_page.outcomes.len()), (3, 0));
    assert_eq!(parse(&orders(" pages=\" 12 \"", "")).total_pages, 12);
    assert!(matches!(
        parse_with(&orders(" pages=\"many\"", ""), &SPEC, &profile()),
        Err(ExportError::BadPages(_))
    ));
}

#[test]
fn truncated_xml_is_a_protocol_error() {
    let full = orders(
        " pages=\"1\"",
        &format!("{}{}", order("1", "", ""), order("2", "", "")),
    );
    for cut in [
        full.len() - 9,
        full.len() / 2,
        full.find("<Order>").unwrap() + 3,
    ] {
        let result = parse_with(&full[..cut], &SPEC, &profile());
        assert!(
            matches!(
                result,
                Err(ExportError::Truncated | ExportError::Malformed { .. })
            ),
            "cut at {cut}: {result:?}"
        );
    }
    assert_eq!(
        parse_with(&full[..full.len() - 9], &SPEC, &profile()),
        Err(ExportError::Truncated)
    );
}

#[test]
fn an_html_page_with_status_200_is_a_protocol_error() {
    for body in [
        "<!doctype html><html><head><title>Error</title></head><body>Database down</body></html>",
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><html></html>",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "\n<HTML>maintenance</HTML>",
    ] {
        assert_eq!(
            parse_with(body, &SPEC, &profile()),
            Err(ExportError::Html),
            "{body}"
        );
    }
}

#[test]
fn an_empty_reply_is_a_protocol_error_not_an_empty_page() {
    for body in ["", "  \r\n\t", "\u{FEFF}"] {
        assert_eq!(
            parse_with(body, &SPEC, &profile()),
            Err(ExportError::Empty),
            "{body:?}"
        );
    }
}

#[test]
fn other_roots_and_plain_text_are_protocol_errors() {
    assert_eq!(
        parse_with(
            "<Error><Message>bad login</Message></Error>",
            &SPEC,
            &profile()
        ),
        Err(ExportError::WrongRoot("Error".into()))
    );
    assert_eq!(
        parse_with("Invalid username or password", &SPEC, &profile()),
        Err(ExportError::NotXml)
    );
    assert_eq!(
        parse_with("<?xml version=\"1.0\"?><!-- nothing -->", &SPEC, &profile()),
        Err(ExportError::NotXml)
    );
    assert!(matches!(
        parse_with("<Orders><Order></Orderz></Orders>", &SPEC, &profile()),
        Err(ExportError::Malformed { .. })
    ));
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Orders pages="1"><Order><OrderNumber>&lol9;</OrderNumber><CustomerNotes>&lol9;</CustomerNotes></Order></Orders>"#;

#[test]
fn dtd_entities_are_never_expanded() {
    assert_eq!(
        parse_with(BILLION_LAUGHS, &SPEC, &profile()),
        Err(ExportError::DtdEntities)
    );
    // Without a DTD, an undeclared entity stays as written instead of being substituted.
    let xml = orders(
        "",
        &order("1", "<CustomerNotes>&lol9; &xxe;</CustomerNotes>", ""),
    );
    assert_eq!(
        only_order(&xml).customer_notes.as_deref(),
        Some("&lol9; &xxe;")
    );
    // A doctype without entities is harmless and ignored.
    let xml = format!(
        "<!DOCTYPE Orders>{}",
        orders("", &order("1", "", "")).replace("<?xml version=\"1.0\" encoding=\"utf-8\"?>", "")
    );
    assert_eq!(only_order(&xml).order_number, "1");
}

#[test]
fn bad_fields_reject_their_order_with_every_reason_and_spare_the_page() {
    let bad = order("2", "", "")
        .replace("<OrderDate>03/07/2026 20:15</OrderDate>", "<OrderDate>yesterday</OrderDate>")
        .replace("<OrderTotal>25.00</OrderTotal>", "<OrderTotal>12,50</OrderTotal>")
        .replace("<Country>US</Country>", "<Country>USA</Country>")
        .replace(
            "</Items>",
            "<Item><SKU>B</SKU><Name>Bolt</Name><Quantity>0</Quantity><UnitPrice>x</UnitPrice></Item></Items>",
        );
    let page = parse(&orders(
        "",
        &format!("{}{bad}{}", order("1", "", ""), order("3", "", "")),
    ));
    assert_eq!(page.outcomes.len(), 3);
    let FetchOutcome::Rejected(rejection) = &page.outcomes[1] else {
        panic!("{:?}", page.outcomes[1]);
    };
    assert_eq!(rejection.order_number.as_deref(), Some("2"));
    assert_eq!(rejection.external_id.as_deref(), Some("id-2"));
    assert_eq!(rejection.store_id, "hq");
    assert_eq!(
        fields(rejection),
        [
            ("ordered_at", ReasonCode::InvalidDate),
            ("order_total", ReasonCode::InvalidNumber),
            ("items[1].quantity", ReasonCode::InvalidValue),
            ("items[1].unit_price", ReasonCode::InvalidNumber),
            ("ship_to.country", ReasonCode::InvalidCountryCode),
        ]
    );
    assert!(matches!(page.outcomes[0], FetchOutcome::Accepted(_)));
    assert!(matches!(page.outcomes[2], FetchOutcome::Accepted(_)));
}

#[test]
fn missing_required_values_are_named() {
    let xml = orders(
        "",
        "<Order><Items><Item><Quantity>1</Quantity></Item></Items></Order>",
    );
    let rejection = only_rejection(&xml);
    assert_eq!(rejection.order_number.as_deref(), Some(""));
    assert_eq!(
        fields(&rejection),
        [
            ("items[0].sku", ReasonCode::Missing),
            ("items[0].name", ReasonCode::Missing),
            ("items[0].unit_price", ReasonCode::Missing),
            ("order_number", ReasonCode::Missing),
            ("raw_status", ReasonCode::Missing),
            ("ordered_at", ReasonCode::Missing),
            ("modified_at", ReasonCode::Missing),
            ("order_total", ReasonCode::Missing),
            ("ship_to", ReasonCode::Missing),
        ]
    );
    let no_items = orders("", &cut(&order("1", "", ""), "<Items>", "</Items>"));
    assert_eq!(
        fields(&only_rejection(&no_items)),
        [("items", ReasonCode::Missing)]
    );
}

#[test]
fn unmapped_statuses_follow_the_store_policy() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "<OrderStatus>paid</OrderStatus>",
            "<OrderStatus>Paid</OrderStatus>",
        ),
    );
    let rejection = only_rejection(&xml);
    assert_eq!(
        fields(&rejection),
        [("raw_status", ReasonCode::UnmappedStatus)]
    );
    let lenient = profile_with(&SPEC, "unmapped_status = \"on_hold\"");
    let page = parse_with(&xml, &SPEC, &lenient).unwrap();
    let order = accepted(&page)[0];
    assert_eq!(
        (order.raw_status.as_str(), order.status),
        ("Paid", CanonicalStatus::OnHold)
    );
}

#[test]
fn an_absent_or_empty_ship_to_is_none_and_rejected() {
    let ship_to = |o: &str| {
        let start = o.find("<ShipTo>").unwrap();
        o[start..]
            .split_inclusive("</ShipTo>")
            .next()
            .unwrap()
            .to_owned()
    };
    let base = order("1", "", "");
    for replacement in [
        "",
        "<ShipTo/>",
        "<ShipTo>\n</ShipTo>",
        "<ShipTo><Name></Name></ShipTo>",
    ] {
        let xml = orders("", &base.replace(&ship_to(&base), replacement));
        let rejection = only_rejection(&xml);
        assert_eq!(
            fields(&rejection),
            [("ship_to", ReasonCode::Missing)],
            "{replacement}"
        );
        assert!(rejection.reasons[0].message.contains("Test Store requires"));
    }
    // Without the requirement the order is accepted with no ship-to.
    static LAX: ChannelSpec = ChannelSpec {
        requirements: &[],
        ..SPEC
    };
    let page = parse_with(
        &orders("", &base.replace(&ship_to(&base), "<ShipTo/>")),
        &LAX,
        &profile_with(&LAX, ""),
    )
    .unwrap();
    assert_eq!(accepted(&page)[0].ship_to, None);
}

#[test]
fn emails_are_dropped_everywhere_when_the_channel_sends_none() {
    let with_email = profile_with(&NO_EMAIL_SPEC, "");
    let page = parse_with(FULL_ORDER, &NO_EMAIL_SPEC, &with_email).unwrap();
    let order = accepted(&page)[0];
    assert_eq!(order.customer.email, None);
    assert_eq!(order.bill_to.as_ref().unwrap().email, None);
    assert_eq!(order.ship_to.as_ref().unwrap().email, None);
    // Not even through a customer code that is an e-mail address.
    assert_eq!(order.customer.code, None);
    assert!(!format!("{order:?}").contains("pat@example.com"));
    // A code that is not an e-mail is kept.
    let xml = FULL_ORDER.replace(
        "<CustomerCode>pat@example.com</CustomerCode>",
        "<CustomerCode>pat-42</CustomerCode>",
    );
    assert_ne!(xml, FULL_ORDER, "the fixture's customer code changed");
    let page = parse_with(&xml, &NO_EMAIL_SPEC, &with_email).unwrap();
    assert_eq!(accepted(&page)[0].customer.code.as_deref(), Some("pat-42"));
}

#[test]
fn the_phone_comes_from_bill_to_else_ship_to() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "<Country>US</Country></ShipTo>",
            "<Country>US</Country><Phone>555-0123</Phone></ShipTo>",
        ),
    );
    assert_eq!(only_order(&xml).customer.phone.as_deref(), Some("555-0123"));
}

#[test]
fn gift_flags_read_every_spelling() {
    for (text, want) in [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("false", false),
        ("0", false),
        ("", false),
    ] {
        let xml = orders("", &order("1", &format!("<Gift>{text}</Gift>"), ""));
        assert_eq!(only_order(&xml).gift.is_gift, want, "{text:?}");
    }
    let xml = orders("", &order("1", "<Gift/>", ""));
    assert!(!only_order(&xml).gift.is_gift);
    let xml = orders("", &order("1", "<Gift>perhaps</Gift>", ""));
    assert_eq!(
        fields(&only_rejection(&xml)),
        [("gift.is_gift", ReasonCode::InvalidValue)]
    );
}

#[test]
fn the_order_weight_is_read_when_sent() {
    let weight = |extra: &str| only_order(&orders("", &order("1", extra, ""))).total_weight;
    assert_eq!(weight(""), None);
    assert_eq!(
        weight("<TotalWeight>2.5</TotalWeight><WeightUnits>kg</WeightUnits>"),
        Some(Weight {
            value: Decimal::new(25, 1),
            unit: WeightUnit::Kilograms
        })
    );
    // Without units, the store's default unit (pounds unless configured).
    assert_eq!(
        weight("<Weight>16</Weight>"),
        Some(Weight {
            value: Decimal::from(16),
            unit: WeightUnit::Pounds
        })
    );
    let xml = orders(
        "",
        &order(
            "1",
            "<Weight>1</Weight><WeightUnits>stone</WeightUnits>",
            "",
        ),
    );
    assert_eq!(
        fields(&only_rejection(&xml)),
        [("total_weight", ReasonCode::InvalidValue)]
    );
    let store = profile();
    let ctx = ParseContext {
        default_weight_unit: WeightUnit::Grams,
        ..ParseContext::new(&SPEC, &store)
    };
    let page = parse_page(
        orders("", &order("1", "", "<Weight>100</Weight>")).as_bytes(),
        &ctx,
    )
    .unwrap();
    assert_eq!(
        accepted(&page)[0].items[0].weight.map(|w| w.unit),
        Some(WeightUnit::Grams)
    );
}

#[test]
fn the_window_filter_keeps_boundary_minutes_and_every_rejection() {
    let modified = |number: &str, at: &str, valid: bool| {
        let o = order(number, "", "").replace(
            "<LastModified>03/07/2026 21:56</LastModified>",
            &format!("<LastModified>{at}</LastModified>"),
        );
        if valid {
            o
        } else {
            o.replace("<Country>US</Country>", "<Country>XX</Country>")
        }
    };
    let body = [
        modified("before", "03/07/2026 19:58", true),
        modified("boundary-start", "03/07/2026 20:00", true),
        modified("inside", "03/07/2026 20:30", true),
        modified("boundary-end", "03/07/2026 21:00", true),
        modified("after", "03/07/2026 21:01", true),
        modified("rejected-outside", "03/07/2026 19:00", false),
    ]
    .concat();
    let store = profile();
    // 20:00:30 to 21:00:00: the order stamped 20:00 may have been modified at 20:00:45.
    let from = Utc.with_ymd_and_hms(2026, 3, 7, 20, 0, 30).unwrap();
    let window = TimeWindow::new(from, utc(3, 7, 21, 0)).unwrap();
    let ctx = ParseContext::new(&SPEC, &store).with_window(window);
    let page = parse_page(orders("", &body).as_bytes(), &ctx).unwrap();
    let kept: Vec<_> = page
        .outcomes
        .iter()
        .map(|o| match o {
            FetchOutcome::Accepted(order) => order.order_number.clone(),
            FetchOutcome::Rejected(r) => r.order_number.clone().unwrap(),
        })
        .collect();
    assert_eq!(
        kept,
        [
            "boundary-start",
            "inside",
            "boundary-end",
            "rejected-outside"
        ]
    );
    assert_eq!((page.orders_read, page.outside_window), (6, 2));
}

#[test]
fn item_problems_are_indexed_in_the_canonical_lists() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "</Items>",
            "<Item><SKU>D</SKU><Name>Deal</Name><Adjustment>true</Adjustment><UnitPrice>-1</UnitPrice></Item>\
             <Item><SKU>C</SKU><Name>Cup</Name><Quantity>-1</Quantity><UnitPrice>1</UnitPrice>\
             <Weight>1</Weight><WeightUnits>stone</WeightUnits></Item>\
             <Item><SKU>E</SKU><Name>Deal 2</Name><Adjustment>true</Adjustment><UnitPrice>abc</UnitPrice></Item></Items>",
        ),
    );
    assert_eq!(
        fields(&only_rejection(&xml)),
        [
            ("items[1].quantity", ReasonCode::InvalidValue),
            ("items[1].weight", ReasonCode::InvalidValue),
            ("discounts[1].amount", ReasonCode::InvalidNumber),
        ]
    );
}

#[test]
fn prefixed_names_are_read_by_their_local_name() {
    let xml = orders("", &order("1", "", ""))
        .replace("<Orders>", "<ss:Orders xmlns:ss=\"urn:x\">")
        .replace("</Orders>", "</ss:Orders>")
        .replace(
            "<OrderNumber>1</OrderNumber>",
            "<ss:OrderNumber>1</ss:OrderNumber>",
        );
    assert!(xml.contains("<ss:OrderNumber>"), "{xml}");
    assert_eq!(only_order(&xml).order_number, "1");
}

#[test]
fn statuses_are_mapped_per_order_even_when_repeated() {
    let body: String = ["paid", "Paid", "paid", "Paid", "shipped"]
        .iter()
        .enumerate()
        .map(|(n, status)| {
            order(&n.to_string(), "", "").replace(
                "<OrderStatus>paid</OrderStatus>",
                &format!("<OrderStatus>{status}</OrderStatus>"),
            )
        })
        .collect();
    let page = parse(&orders("", &body));
    let kinds: Vec<_> = page
        .outcomes
        .iter()
        .map(|o| match o {
            FetchOutcome::Accepted(order) => Some(order.status),
            FetchOutcome::Rejected(r) => {
                assert_eq!(fields(r), [("raw_status", ReasonCode::UnmappedStatus)]);
                None
            }
        })
        .collect();
    use CanonicalStatus::*;
    assert_eq!(
        kinds,
        [
            Some(AwaitingShipment),
            None,
            Some(AwaitingShipment),
            None,
            Some(Shipped)
        ]
    );
}

#[test]
fn an_adjustment_too_large_to_multiply_is_a_reason_not_a_panic() {
    let xml = orders(
        "",
        &order("1", "", "").replace(
            "</Items>",
            "<Item><SKU>X</SKU><Name>Huge</Name><Adjustment>true</Adjustment>\
               <Quantity>4000000000</Quantity><UnitPrice>-79228162514264337593543950</UnitPrice></Item></Items>",
        ),
    );
    assert_eq!(
        fields(&only_rejection(&xml)),
        [("discounts[0].amount", ReasonCode::InvalidValue)]
    );
}

#[test]
fn a_page_with_more_orders_than_allowed_is_refused_before_building_them() {
    let store = profile();
    let page = |n: usize| format!("<Orders pages=\"1\">{}</Orders>", "<Order/>".repeat(n));
    let ctx = ParseContext {
        max_orders: 3,
        ..ParseContext::new(&SPEC, &store)
    };
    let read = parse_page(page(3).as_bytes(), &ctx).unwrap();
    assert_eq!(read.outcomes.len(), 3);
    assert!(read
        .outcomes
        .iter()
        .all(|o| matches!(o, FetchOutcome::Rejected(_))));
    assert_eq!(
        parse_page(page(4).as_bytes(), &ctx),
        Err(ExportError::TooManyOrders { limit: 3 })
    );
    // An 8 MB page of empty orders (a million rejections of ~1.6 KB each, 1.6 GB, before the
    // limit) stops at the default limit.
    let ctx = ParseContext::new(&SPEC, &store);
    let huge = page(1_000_000);
    assert!(huge.len() > 8_000_000);
    assert_eq!(
        parse_page(huge.as_bytes(), &ctx),
        Err(ExportError::TooManyOrders { limit: 10_000 })
    );
}
