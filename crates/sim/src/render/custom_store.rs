//! Custom Store v1 XML: `<Orders pages="N">` with one `<Order>` per row, dates as
//! `MM/dd/yyyy HH:mm` in the store's wall clock, free text in CDATA.
//!
//! The document follows `fixtures/custom-store/schema/orders.xsd` for every valid order: it
//! carries no `CurrencyCode` (the schema has none), and an order without a ship-to address —
//! one of the invalid kinds — leaves out `<ShipTo>`, which the schema requires.
//!
//! Order Time's export (the endpoint it hosts beside its REST API) writes the same ship docs as
//! the REST records: `OrderID` and `OrderNumber` the `DocNo`, the REST line ids, `CustomField2`
//! the sales order (`SONo`), `RequestedWarehouse` the location (`LocationRef`), and per item the
//! bin it is picked from (`Location`) and its options.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{money, order_time, raw_status};
use crate::book::OrderState;
use crate::generator::{Address, Details, SimOrder};
use crate::Flavor;

/// A tiny XML writer: elements, escaped text and CDATA sections.
#[derive(Debug, Default)]
pub(crate) struct Xml {
    out: String,
}

impl Xml {
    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name>text</name>`, escaped.
    pub fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        for c in value.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                c => self.out.push(c),
            }
        }
        self.close(name);
    }

    /// `<name><![CDATA[value]]></name>`, split where the value holds `]]>`.
    pub fn cdata(&mut self, name: &str, value: &str) {
        self.open(name);
        self.out.push_str("<![CDATA[");
        self.out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
        self.out.push_str("]]>");
        self.close(name);
    }

    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A wall-clock time as the protocol writes it.
pub(crate) fn wall(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%m/%d/%Y %H:%M").to_string()
}

/// The `<Orders>` document for one page.
pub(crate) fn page<'a>(
    flavor: Flavor,
    tz: Tz,
    pages: usize,
    orders: impl IntoIterator<Item = (&'a SimOrder, OrderState)>,
) -> String {
    let mut xml = Xml::default();
    xml.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.raw(&format!("<Orders pages=\"{pages}\">"));
    for (order, state) in orders {
        xml.raw("\n  ");
        write_order(&mut xml, flavor, tz, order, &state);
    }
    xml.raw("\n</Orders>\n");
    xml.finish()
}

fn write_order(xml: &mut Xml, flavor: Flavor, tz: Tz, order: &SimOrder, state: &OrderState) {
    let details = order.details(flavor);
    xml.open("Order");
    xml.cdata("OrderID", &order.id);
    xml.cdata("OrderNumber", &order.number);
    xml.text("OrderDate", &wall(tz, order.placed_at()));
    xml.cdata("OrderStatus", &raw_status(flavor, order, &details, state));
    xml.text("LastModified", &wall(tz, state.modified));
    xml.cdata("ShippingMethod", details.shipping_method);
    xml.cdata("PaymentMethod", details.payment_method);
    xml.text("OrderTotal", &money(details.total_cents()));
    xml.text("TaxAmount", &money(details.tax_cents));
    xml.text("ShippingAmount", &money(details.shipping_cents));
    if let Some(notes) = details.customer_notes {
        xml.cdata("CustomerNotes", notes);
    }
    let internal = match (&state.tracking_number, details.internal_notes) {
        (Some(tracking), _) => Some(format!("Shipped, tracking {tracking}")),
        (None, notes) => notes.map(str::to_owned),
    };
    if let Some(notes) = internal {
        xml.cdata("InternalNotes", &notes);
    }
    if let Some(message) = details.gift_message {
        xml.text("Gift", "true");
        xml.cdata("GiftMessage", message);
    }
    xml.cdata("CustomField1", &details.custom_field1);
    if flavor == Flavor::OrderTime {
        xml.cdata("CustomField2", &format!("SO-{}", order.number));
        xml.cdata("RequestedWarehouse", details.warehouse);
    }
    xml.cdata("Source", details.source);
    write_customer(xml, &details);
    write_items(xml, flavor, order, &details);
    xml.close("Order");
}

fn write_customer(xml: &mut Xml, details: &Details) {
    xml.open("Customer");
    xml.cdata("CustomerCode", &details.customer_code);
    let bill = &details.bill_to;
    xml.open("BillTo");
    xml.cdata("Name", &bill.name);
    if let Some(company) = &bill.company {
        xml.cdata("Company", company);
    }
    xml.cdata("Phone", &bill.phone);
    // A Listing Mirror e-mail is a marketplace relay address: present, but not the buyer's.
    xml.cdata("Email", &bill.email);
    xml.close("BillTo");
    if let Some(ship) = &details.ship_to {
        write_ship_to(xml, ship);
    }
    xml.close("Customer");
}

fn write_ship_to(xml: &mut Xml, ship: &Address) {
    xml.open("ShipTo");
    xml.cdata("Name", &ship.name);
    if let Some(company) = &ship.company {
        xml.cdata("Company", company);
    }
    xml.cdata("Address1", &ship.address1);
    if let Some(line) = &ship.address2 {
        xml.cdata("Address2", line);
    }
    xml.cdata("City", &ship.city);
    if let Some(state) = &ship.state {
        xml.cdata("State", state);
    }
    xml.cdata("PostalCode", &ship.postal_code);
    xml.cdata("Country", &ship.country);
    xml.cdata("Phone", &ship.phone);
    xml.close("ShipTo");
}

fn write_items(xml: &mut Xml, flavor: Flavor, order: &SimOrder, details: &Details) {
    xml.open("Items");
    for (index, item) in details.items.iter().enumerate() {
        xml.open("Item");
        if flavor == Flavor::OrderTime {
            xml.cdata("LineItemID", &order_time::line_id(order, index).to_string());
        } else {
            xml.cdata("LineItemID", &item.line_id);
        }
        xml.cdata("SKU", item.sku);
        xml.cdata("Name", item.name);
        if let Some(url) = &item.image_url {
            xml.text("ImageUrl", url);
        }
        xml.text("Weight", &item.weight.0);
        xml.text("WeightUnits", item.weight.1);
        xml.text("Quantity", &item.quantity.to_string());
        xml.text("UnitPrice", &money(item.unit_cents));
        if let Some(location) = &item.location {
            xml.cdata("Location", location);
        }
        if !item.options.is_empty() {
            xml.open("Options");
            for (name, value) in &item.options {
                xml.open("Option");
                xml.cdata("Name", name);
                xml.cdata("Value", value);
                xml.close("Option");
            }
            xml.close("Options");
        }
        xml.close("Item");
    }
    if let Some((code, description, cents)) = details.discount {
        xml.open("Item");
        xml.cdata("SKU", code);
        xml.cdata("Name", description);
        xml.text("Adjustment", "true");
        xml.text("Quantity", "1");
        xml.text("UnitPrice", &money(-cents));
        xml.close("Item");
    }
    xml.close("Items");
}
