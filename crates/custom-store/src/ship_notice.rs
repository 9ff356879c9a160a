//! The shipnotify request: its query parameters and its `<ShipNotice>` XML body.
//!
//! The body carries, in this order: `OrderID` (the external id, else the order number),
//! `OrderNumber`, `CustomerCode` (omitted when unknown), `NotesToCustomer` (omitted when there
//! are none), `NotifyCustomer` (`true`/`false`), `LabelCreateDate` (the store's wall clock,
//! `MM/dd/yyyy HH:mm`, omitted when there was no label), `ShipDate` (`MM/dd/yyyy`), `Carrier`,
//! `Service` (omitted when unknown), `TrackingNumber`, `ShippingCost` (two decimals, omitted when
//! unknown) and `Items/Item{SKU, Name, Quantity, LineItemID}` for the items of this shipment only,
//! so a partial shipment lists only what shipped. Every string is written as CDATA (split where
//! it contains `]]>`); booleans, dates and numbers as plain text.

use std::io;

use orderport_core::store_time::format_custom_store;
use orderport_core::{ShipmentUpdate, ShippedItem, StoreZone};
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// The XML could not be written (writing to memory does not fail in practice).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the ShipNotice XML: {0}")]
pub struct WriteError(#[from] io::Error);

/// A shipment update as the Custom Store protocol sends it.
#[derive(Debug, Clone, Copy)]
pub struct ShipNotice<'a> {
    update: &'a ShipmentUpdate,
    zone: StoreZone,
    customer_code: Option<&'a str>,
}

impl<'a> ShipNotice<'a> {
    /// The notice for `update`, with dates in the store's `zone`.
    pub fn new(update: &'a ShipmentUpdate, zone: StoreZone) -> Self {
        Self {
            update,
            zone,
            customer_code: None,
        }
    }

    /// The same notice with the order's customer code, where the caller knows it.
    pub fn with_customer_code(mut self, customer_code: Option<&'a str>) -> Self {
        self.customer_code = customer_code;
        self
    }

    /// The query parameters after `action=shipnotify`, in order: `order_number`, `carrier`,
    /// `service` (empty when unknown, as in the protocol's example) and `tracking_number`.
    pub fn query(&self) -> [(&'static str, &'a str); 4] {
        let update = self.update;
        [
            ("order_number", update.order.order_number.as_str()),
            ("carrier", update.carrier.as_str()),
            ("service", update.service.as_deref().unwrap_or("")),
            ("tracking_number", update.tracking_number.as_str()),
        ]
    }

    /// The `<ShipNotice>` document, UTF-8, without indentation.
    pub fn to_xml(&self) -> Result<Vec<u8>, WriteError> {
        let update = self.update;
        let mut w = Writer::new(Vec::with_capacity(1024));
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        open(&mut w, "ShipNotice")?;
        let order_id = update
            .order
            .external_id
            .as_deref()
            .unwrap_or(&update.order.order_number);
        cdata(&mut w, "OrderID", order_id)?;
        cdata(&mut w, "OrderNumber", &update.order.order_number)?;
        if let Some(code) = self.customer_code {
            cdata(&mut w, "CustomerCode", code)?;
        }
        if let Some(notes) = &update.notes_to_buyer {
            cdata(&mut w, "NotesToCustomer", notes)?;
        }
        let notify = if update.notify_customer {
            "true"
        } else {
            "false"
        };
        text(&mut w, "NotifyCustomer", notify)?;
        if let Some(created) = update.label_created_at {
            text(
                &mut w,
                "LabelCreateDate",
                &format_custom_store(self.zone.to_wall(created)),
            )?;
        }
        text(
            &mut w,
            "ShipDate",
            &update.ship_date.format("%m/%d/%Y").to_string(),
        )?;
        cdata(&mut w, "Carrier", &update.carrier)?;
        if let Some(service) = &update.service {
            cdata(&mut w, "Service", service)?;
        }
        cdata(&mut w, "TrackingNumber", &update.tracking_number)?;
        if let Some(cost) = update.shipping_cost {
            text(&mut w, "ShippingCost", &format!("{:.2}", cost.round_dp(2)))?;
        }
        items(&mut w, update.items())?;
        close(&mut w, "ShipNotice")?;
        Ok(w.into_inner())
    }
}

fn items(w: &mut Writer<Vec<u8>>, items: &[ShippedItem]) -> io::Result<()> {
    open(w, "Items")?;
    for item in items {
        open(w, "Item")?;
        cdata(w, "SKU", &item.sku)?;
        if let Some(name) = &item.name {
            cdata(w, "Name", name)?;
        }
        text(w, "Quantity", &item.quantity.to_string())?;
        if let Some(line_id) = &item.line_id {
            cdata(w, "LineItemID", line_id)?;
        }
        close(w, "Item")?;
    }
    close(w, "Items")
}

fn open(w: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))
}

fn close(w: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// `<name><![CDATA[value]]></name>`, splitting the section where the value holds `]]>`.
fn cdata(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    open(w, name)?;
    for section in BytesCData::escaped(value) {
        w.write_event(Event::CData(section))?;
    }
    close(w, name)
}

/// `<name>value</name>` with the value escaped.
fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    open(w, name)?;
    w.write_event(Event::Text(BytesText::new(value)))?;
    close(w, name)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use orderport_core::{OrderRef, ShipmentKind, ShipmentScope};
    use rust_decimal::Decimal;

    use super::*;

    fn update() -> ShipmentUpdate {
        ShipmentUpdate {
            order: OrderRef {
                external_id: Some("A-1".into()),
                order_number: "1001".into(),
            },
            carrier: "USPS".into(),
            service: Some("Priority Mail".into()),
            tracking_number: "9400111".into(),
            ship_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            label_created_at: Some(Utc.with_ymd_and_hms(2026, 3, 8, 3, 56, 0).unwrap()),
            shipping_cost: Some(Decimal::new(75, 1)),
            notes_to_buyer: Some("Thanks & enjoy ]]> it".into()),
            notify_customer: true,
            scope: ShipmentScope::Partial(vec![ShippedItem {
                line_id: Some("L1".into()),
                sku: "SKU-1".into(),
                name: Some("Widget <blue>".into()),
                quantity: 2,
            }]),
            kind: ShipmentKind::Label,
        }
    }

    #[test]
    fn the_body_is_exact() {
        let update = update();
        let chicago = StoreZone::parse("America/Chicago").unwrap();
        let xml = ShipNotice::new(&update, chicago)
            .with_customer_code(Some("buyer@example.com"))
            .to_xml()
            .unwrap();
        let expected = concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            "<ShipNotice>",
            "<OrderID><![CDATA[A-1]]></OrderID>",
            "<OrderNumber><![CDATA[1001]]></OrderNumber>",
            "<CustomerCode><![CDATA[buyer@example.com]]></CustomerCode>",
            "<NotesToCustomer><![CDATA[Thanks & enjoy ]]]]><![CDATA[> it]]></NotesToCustomer>",
            "<NotifyCustomer>true</NotifyCustomer>",
            // 03:56 UTC is 21:56 the day before in Chicago.
            "<LabelCreateDate>03/07/2026 21:56</LabelCreateDate>",
            "<ShipDate>03/08/2026</ShipDate>",
            "<Carrier><![CDATA[USPS]]></Carrier>",
            "<Service><![CDATA[Priority Mail]]></Service>",
            "<TrackingNumber><![CDATA[9400111]]></TrackingNumber>",
            "<ShippingCost>7.50</ShippingCost>",
            "<Items><Item>",
            "<SKU><![CDATA[SKU-1]]></SKU>",
            "<Name><![CDATA[Widget <blue>]]></Name>",
            "<Quantity>2</Quantity>",
            "<LineItemID><![CDATA[L1]]></LineItemID>",
            "</Item></Items>",
            "</ShipNotice>",
        );
        assert_eq!(String::from_utf8(xml).unwrap(), expected);
    }

    #[test]
    fn unknown_values_are_omitted_and_the_order_number_stands_in_for_the_id() {
        let mut update = update();
        update.order.external_id = None;
        update.service = None;
        update.label_created_at = None;
        update.shipping_cost = None;
        update.notes_to_buyer = None;
        update.notify_customer = false;
        update.scope = ShipmentScope::Complete(vec![]);
        let notice = ShipNotice::new(&update, StoreZone::UTC);
        let xml = String::from_utf8(notice.to_xml().unwrap()).unwrap();
        assert!(xml.contains("<OrderID><![CDATA[1001]]></OrderID>"), "{xml}");
        assert!(
            xml.contains("<NotifyCustomer>false</NotifyCustomer>"),
            "{xml}"
        );
        for absent in [
            "CustomerCode",
            "NotesToCustomer",
            "LabelCreateDate",
            "Service",
            "ShippingCost",
        ] {
            assert!(!xml.contains(absent), "{absent} in {xml}");
        }
        assert!(xml.ends_with("<Items></Items></ShipNotice>"), "{xml}");
        assert_eq!(
            notice.query(),
            [
                ("order_number", "1001"),
                ("carrier", "USPS"),
                ("service", ""),
                ("tracking_number", "9400111"),
            ]
        );
    }
}
