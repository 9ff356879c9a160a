//! The Ship Doc record (record type 4) as Order Time's REST API sends it.
//!
//! Field names follow help.ordertime.com, "Ship Doc" (documented), and the CustomerAddress fields
//! seen in public client code (observed). Every field is optional and every text field accepts a
//! JSON string, number or boolean, so that one odd field rejects its order with a reason instead
//! of failing the page. Amounts and quantities stay raw JSON until [`crate::normalize`] reads them
//! with a field path.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Text from any JSON scalar; `null` is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Self(s)),
            Value::Number(n) => Ok(Self(n.to_string())),
            Value::Bool(b) => Ok(Self(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected text, found {}",
                kind(&other)
            ))),
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The text of an optional field, trimmed; blank is absent.
pub fn text(field: &Option<Text>) -> Option<String> {
    field
        .as_ref()
        .map(|t| t.0.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// An Order Time reference to another record: `{Id, Name}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EntityRef {
    /// The record's id.
    pub id: Option<Value>,
    /// The record's name.
    pub name: Option<Text>,
}

impl EntityRef {
    /// The name, trimmed; blank is absent.
    pub fn name(&self) -> Option<String> {
        text(&self.name)
    }
}

/// The name of an optional reference.
pub fn ref_name(reference: &Option<EntityRef>) -> Option<String> {
    reference.as_ref().and_then(EntityRef::name)
}

/// A CustomerAddress (`ShipAddress`, `BillAddress`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CustomerAddress {
    /// The address's own name.
    pub name: Option<Text>,
    /// The contact person.
    pub contact: Option<Text>,
    /// Street line 1.
    pub addr1: Option<Text>,
    /// Street line 2.
    pub addr2: Option<Text>,
    /// Street line 3.
    pub addr3: Option<Text>,
    /// Street line 4.
    pub addr4: Option<Text>,
    /// City.
    pub city: Option<Text>,
    /// State, which Order Time requires to be a two-letter ISO code for shipping.
    pub state: Option<Text>,
    /// Postal code.
    pub zip: Option<Text>,
    /// Country, which Order Time requires to be a two-letter ISO code for shipping.
    pub country: Option<Text>,
    /// Phone.
    pub phone: Option<Text>,
    /// E-mail.
    pub email: Option<Text>,
}

/// A ShipDocLineItem.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LineItem {
    /// The line's id (read-only).
    pub id: Option<Value>,
    /// The line number (read-only).
    pub line_no: Option<Value>,
    /// The item.
    pub item_ref: Option<EntityRef>,
    /// The description.
    pub description: Option<Text>,
    /// The unit price.
    pub price: Option<Value>,
    /// The quantity, a decimal.
    pub quantity: Option<Value>,
}

/// A Ship Doc header with its addresses and lines.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ShipDoc {
    /// The document number.
    pub doc_no: Option<Value>,
    /// The document date, where sent as `DocDate`.
    pub doc_date: Option<Text>,
    /// The document date (the Ship Doc page's `Date`).
    pub date: Option<Text>,
    /// The customer.
    pub customer_ref: Option<EntityRef>,
    /// The customer's purchase order number.
    #[serde(rename = "CustomerPO")]
    pub customer_po: Option<Text>,
    /// The sales order the ship doc fills (observed).
    #[serde(rename = "SONo")]
    pub so_no: Option<Text>,
    /// The tenant-defined status.
    pub status_ref: Option<EntityRef>,
    /// The ship method.
    pub ship_method_ref: Option<EntityRef>,
    /// The payment terms.
    pub term_ref: Option<EntityRef>,
    /// The location shipped from.
    pub location_ref: Option<EntityRef>,
    /// The currency.
    pub currency_ref: Option<EntityRef>,
    /// The discount.
    pub discount_ref: Option<EntityRef>,
    /// The discount's amount.
    pub discount_amount: Option<Value>,
    /// The shipping charge.
    pub ship_amount: Option<Value>,
    /// The shipping charge, where sent as `Shipping`.
    pub shipping: Option<Value>,
    /// The tax.
    pub tax: Option<Value>,
    /// The tax, where sent as `TaxAmount`.
    pub tax_amount: Option<Value>,
    /// The document total.
    pub total_amount: Option<Value>,
    /// The memo, shown to the customer.
    pub memo: Option<Text>,
    /// Internal notes.
    pub internal_notes: Option<Text>,
    /// Where it goes.
    pub ship_address: Option<CustomerAddress>,
    /// Who pays.
    pub bill_address: Option<CustomerAddress>,
    /// The lines.
    pub line_items: Option<Vec<LineItem>>,
}

impl ShipDoc {
    /// Whether the record has line items and a ship-to address.
    pub fn has_details(&self) -> bool {
        self.ship_address.is_some() && self.line_items.as_ref().is_some_and(|l| !l.is_empty())
    }
}

/// One record as received: its raw JSON (kept for the modification date, read by path) and its
/// parsed form, or why it could not be parsed.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's JSON (`null` when its bytes were not JSON).
    pub raw: Value,
    /// The parsed record, or why it cannot be read.
    pub doc: Result<ShipDoc, String>,
    /// The document number, known even when the record does not parse.
    doc_no: Option<String>,
}

impl Record {
    /// Parses one record.
    pub fn parse(raw: Value) -> Self {
        let doc = ShipDoc::deserialize(&raw).map_err(|e| e.to_string());
        let doc_no = raw.get("DocNo").and_then(scalar_text);
        Self { raw, doc, doc_no }
    }

    /// Reads one row's bytes: a record, or, for bytes that are not JSON (a number out of
    /// range, a byte that is not UTF-8), a record that is rejected alone with the reason.
    pub fn from_bytes(row: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(row) {
            Ok(raw) => Self::parse(raw),
            Err(e) => Self {
                raw: Value::Null,
                doc: Err(format!("its JSON cannot be read: {e}")),
                doc_no: crate::rows::doc_no_hint(row),
            },
        }
    }

    /// The same record, rejected with `reason` (its details could not be read).
    pub fn unreadable(mut self, reason: String) -> Self {
        self.doc = Err(reason);
        self
    }

    /// The document number.
    pub fn doc_no(&self) -> Option<String> {
        self.doc_no.clone()
    }

    /// The text at a dotted path such as `RecordInfo.ModifiedDate`.
    pub fn text_at(&self, path: &str) -> Option<String> {
        path.split('.')
            .try_fold(&self.raw, |value, key| value.get(key))
            .and_then(scalar_text)
    }

    /// Whether the record lacks lines, a ship-to address or the modification date at `path`.
    pub fn needs_details(&self, modified_path: &str) -> bool {
        let complete = self.doc.as_ref().is_ok_and(ShipDoc::has_details);
        !complete || self.text_at(modified_path).is_none()
    }
}

/// A JSON string or number as trimmed text; anything else, or blank, is absent.
pub fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_parse_leniently_and_keep_their_number() {
        let record = Record::parse(json!({
            "DocNo": 1042,
            "CustomerPO": 5511,
            "StatusRef": {"Id": 3, "Name": "shipped"},
            "RecordInfo": {"ModifiedDate": "2026-11-01T01:30:00"},
            "LineItems": [{"ItemRef": {"Name": "SKU-1"}, "Quantity": 2, "Price": "9.50"}],
            "ShipAddress": {"Addr1": "1 Main St", "Country": "US"},
            "Unknown": {"kept": true}
        }));
        let doc = record.doc.as_ref().unwrap();
        assert_eq!(record.doc_no().as_deref(), Some("1042"));
        assert_eq!(text(&doc.customer_po).as_deref(), Some("5511"));
        assert_eq!(ref_name(&doc.status_ref).as_deref(), Some("shipped"));
        assert_eq!(
            record.text_at("RecordInfo.ModifiedDate").as_deref(),
            Some("2026-11-01T01:30:00")
        );
        assert!(!record.needs_details("RecordInfo.ModifiedDate"));
        assert!(record.needs_details("RecordInfo.Missing"));
    }

    #[test]
    fn rows_without_lines_or_addresses_need_details() {
        let modified = json!({"ModifiedDate": "2026-11-01T01:30:00"});
        let summary = Record::parse(json!({"DocNo": "7", "RecordInfo": modified}));
        assert!(summary.needs_details("RecordInfo.ModifiedDate"));
        let no_lines = Record::parse(json!({
            "DocNo": 7, "RecordInfo": modified, "ShipAddress": {}, "LineItems": []
        }));
        assert!(no_lines.needs_details("RecordInfo.ModifiedDate"));
    }

    #[test]
    fn an_odd_field_fails_only_its_record() {
        let record = Record::parse(json!({"DocNo": 9, "Memo": {"nested": 1}}));
        assert_eq!(record.doc_no().as_deref(), Some("9"));
        assert!(record
            .doc
            .unwrap_err()
            .contains("expected text, found an object"));
    }
}
