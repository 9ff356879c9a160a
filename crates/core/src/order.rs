//! The canonical order that every channel maps into.
//!
//! Money is a [`Decimal`] serialized as a string, never a float. Every timestamp is a UTC
//! instant serialized as RFC 3339. Field names are snake_case in JSON.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::status::CanonicalStatus;

/// One order as imported from a selling channel, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The channel's identifier, such as `spark-shipping`.
    pub channel: String,
    /// The store's unique id from the configuration.
    pub store_id: String,
    /// The store's name as shown to people.
    pub store_name: String,
    /// The channel's own id for the order; the order number where the channel has none.
    pub external_id: String,
    /// The order number people see.
    pub order_number: String,
    /// The canonical status the raw status maps to.
    pub status: CanonicalStatus,
    /// The channel's own status string, verbatim.
    pub raw_status: String,
    /// When the order was placed.
    pub ordered_at: DateTime<Utc>,
    /// When the channel last modified the order.
    pub modified_at: DateTime<Utc>,
    /// When the order was paid, where the channel says.
    pub paid_at: Option<DateTime<Utc>>,
    /// Who bought.
    pub customer: Customer,
    /// The billing address, where the channel sends one.
    pub bill_to: Option<Address>,
    /// Where the order goes. Channels that require it reject orders without it.
    pub ship_to: Option<Address>,
    /// The goods ordered. Discount lines are in `discounts`, not here.
    pub items: Vec<LineItem>,
    /// Discounts and coupons applied to the order.
    pub discounts: Vec<Discount>,
    /// ISO 4217 currency of every amount on the order.
    pub currency: Option<CurrencyCode>,
    /// The order total as the channel reports it.
    pub order_total: Decimal,
    /// Tax on the order.
    pub tax_amount: Option<Decimal>,
    /// What the buyer paid for shipping.
    pub shipping_amount: Option<Decimal>,
    /// The shipping service the buyer chose.
    pub requested_shipping_service: Option<String>,
    /// How the order was paid.
    pub payment_method: Option<String>,
    /// Whether the order is a gift, and its message.
    pub gift: Gift,
    /// Notes the buyer left.
    pub customer_notes: Option<String>,
    /// Internal notes or order activity from the store.
    pub internal_notes: Option<String>,
    /// The whole order's weight, where the channel sends one.
    pub total_weight: Option<Weight>,
    /// Up to three free custom fields.
    pub custom_fields: CustomFields,
    /// The marketplace the order came from.
    pub source: Option<String>,
    /// The warehouse the store asks to ship from.
    pub requested_warehouse: Option<String>,
}

impl Order {
    /// The key orders are upserted by: channel, store and external id.
    pub fn key(&self) -> OrderKey {
        OrderKey {
            channel: self.channel.clone(),
            store_id: self.store_id.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

/// The identity of an order across every channel and store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderKey {
    /// The channel's identifier.
    pub channel: String,
    /// The store's id.
    pub store_id: String,
    /// The channel's id for the order.
    pub external_id: String,
}

/// The buyer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The channel's customer code, often a user name or an e-mail.
    pub code: Option<String>,
    /// The buyer's e-mail, where the channel imports one.
    pub email: Option<String>,
    /// The buyer's phone number.
    pub phone: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The addressee.
    pub name: Option<String>,
    /// The company.
    pub company: Option<String>,
    /// First street line.
    pub address1: Option<String>,
    /// Second street line.
    pub address2: Option<String>,
    /// Third street line.
    pub address3: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region; an ISO 3166-2 subdivision code where the channel requires one.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, where the channel requires one.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// One line of goods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// The channel's id for the line, echoed back in shipment updates.
    pub line_id: Option<String>,
    /// Stock keeping unit.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Units ordered, at least 1.
    pub quantity: u32,
    /// Price of one unit; zero is a valid price.
    pub unit_price: Decimal,
    /// Weight of one unit.
    pub weight: Option<Weight>,
    /// A picture of the product.
    pub image_url: Option<String>,
    /// Options such as colour and size.
    pub options: Vec<ItemOption>,
    /// Warehouse bin.
    pub location: Option<String>,
    /// Universal product code.
    pub upc: Option<String>,
}

/// A name and value pair on a line item, such as `Color: Blue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOption {
    /// The option's name.
    pub name: String,
    /// The option's value.
    pub value: String,
}

/// A weight with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    /// The amount.
    pub value: Decimal,
    /// The unit the amount is in.
    pub unit: WeightUnit,
}

/// Units of weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    /// Pounds.
    Pounds,
    /// Ounces.
    Ounces,
    /// Grams.
    Grams,
    /// Kilograms.
    Kilograms,
}

impl WeightUnit {
    /// Reads the spellings channels use (`lb`, `lbs`, `Pounds`, `oz`, `gm`, `grams`, `kg`…), in any case.
    pub fn parse_lenient(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "lb" | "lbs" | "pound" | "pounds" => Some(Self::Pounds),
            "oz" | "ounce" | "ounces" => Some(Self::Ounces),
            "g" | "gm" | "gram" | "grams" => Some(Self::Grams),
            "kg" | "kgs" | "kilogram" | "kilograms" => Some(Self::Kilograms),
            _ => None,
        }
    }
}

/// A discount or coupon on the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// The coupon code, where one was used.
    pub code: Option<String>,
    /// A description of the discount.
    pub description: Option<String>,
    /// The reduction, a positive amount in the order's currency.
    pub amount: Decimal,
}

/// Whether the order is a gift.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gift {
    /// True when the order is a gift.
    pub is_gift: bool,
    /// The gift message.
    pub message: Option<String>,
}

/// Up to three custom fields; more cannot be represented.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFields {
    /// Custom field 1.
    pub custom_field_1: Option<String>,
    /// Custom field 2.
    pub custom_field_2: Option<String>,
    /// Custom field 3.
    pub custom_field_3: Option<String>,
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Accepts three ASCII letters in any case and stores them upper-case.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| Self(text.to_ascii_uppercase()))
    }

    /// The code, such as `USD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("{value:?} is not an ISO 4217 currency code"))
    }
}

impl From<CurrencyCode> for String {
    fn from(value: CurrencyCode) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_units_read_every_spelling_the_schema_allows() {
        for (text, unit) in [
            ("lbs", WeightUnit::Pounds),
            ("POUNDS", WeightUnit::Pounds),
            ("Oz", WeightUnit::Ounces),
            ("gm", WeightUnit::Grams),
            ("Grams", WeightUnit::Grams),
            ("kg", WeightUnit::Kilograms),
        ] {
            assert_eq!(WeightUnit::parse_lenient(text), Some(unit), "{text}");
        }
        assert_eq!(WeightUnit::parse_lenient("stone"), None);
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(CurrencyCode::parse("usd").map(|c| c.0), Some("USD".into()));
        assert!(CurrencyCode::parse("US").is_none());
        assert!(CurrencyCode::parse("U$D").is_none());
    }
}
