//! The export reply: a streaming, lenient reader of `<Orders>` pages that maps each `<Order>`
//! into the canonical [`Order`](orderport_core::Order) and checks it against the channel's
//! requirements.
//!
//! The page's bytes are walked with quick-xml's borrowing reader, one event at a time; one order
//! is built at a time and no document tree is ever made.
//!
//! # Leniency
//!
//! Real endpoints do not follow the schema, so the reader accepts:
//! - CDATA or plain text in any value, in pieces, with whitespace around it;
//! - an XML declaration whose `encoding` lies: the bytes are always read as UTF-8;
//! - the XML entities, numeric references and HTML entities such as `&pound;`, `&nbsp;`,
//!   `&eacute;`;
//! - unknown elements at any depth, ignored with everything inside them;
//! - every date format [`orderport_core::store_time::parse_timestamp`] reads, in the store's zone
//!   unless the text carries an offset;
//! - numbers inside CDATA or surrounded by whitespace;
//! - a missing `pages` attribute (one page), `pages="0"` and pages without orders.
//!
//! It never expands entities declared in a DTD: a reply whose `<!DOCTYPE>` declares entities is a
//! protocol error, and an unknown entity reference stays as written.
//!
//! # Mapping
//!
//! A bad value never fails the page: it adds a [`RejectionReason`](orderport_core::RejectionReason)
//! with its canonical field path (`ordered_at`, `items[1].quantity`, `discounts[0].amount`), a
//! placeholder takes its place, and [`orderport_core::finish`] adds the channel's requirements.
//! Indexes count from 0 in the canonical `items` and `discounts` lists.
//!
//! | Element | Canonical field |
//! |---|---|
//! | `OrderID` (absent or empty: `OrderNumber`) | `external_id` |
//! | `OrderNumber` (required) | `order_number` |
//! | `OrderStatus` (required) | `raw_status` verbatim, `status` via the store's mapping |
//! | `OrderDate`, `LastModified` (required), `PaymentDate` | `ordered_at`, `modified_at`, `paid_at` |
//! | `ShippingMethod`, `PaymentMethod` | `requested_shipping_service`, `payment_method` |
//! | `CurrencyCode`, `OrderTotal` (required), `TaxAmount`, `ShippingAmount` | money fields |
//! | `CustomerNotes`, `InternalNotes`, `Gift`, `GiftMessage` | notes and `gift` |
//! | `CustomField1..3`, `RequestedWarehouse`, `Source` | same names |
//! | `Weight` or `TotalWeight`, with `WeightUnits` | `total_weight` |
//! | `Customer/CustomerCode` | `customer.code` |
//! | `BillTo`, `ShipTo` (absent or empty: `None`) | `bill_to`, `ship_to` |
//! | `BillTo/Email` (only when the spec declares `customer_email`) | `customer.email` |
//! | `BillTo/Phone`, else `ShipTo/Phone` | `customer.phone` |
//! | `Items/Item` | `items`; with `Adjustment=true`, `discounts` |
//!
//! An item needs a SKU, a name, a quantity of at least 1 and a unit price (zero is a price). An
//! adjustment line becomes `Discount { code: SKU, description: Name, amount: -(UnitPrice ×
//! Quantity) }`. A weight without `WeightUnits` is in the store's `default_weight_units`.

mod draft;
mod item;
mod scan;
mod text;
mod values;
mod vocabulary;

#[cfg(test)]
mod tests;

use orderport_core::{ChannelSpec, FetchOutcome, StoreProfile, TimeWindow, WeightUnit};

/// What the reader needs to know about the channel and the store.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// The channel's declaration: its id, requirements and capabilities.
    pub spec: &'a ChannelSpec,
    /// The store: id, name, zone and status mapping.
    pub store: &'a StoreProfile,
    /// When set, accepted orders whose modification time cannot fall in this window are left
    /// out (rejected orders are always kept).
    pub window: Option<TimeWindow>,
    /// The unit of a weight sent without `WeightUnits`.
    pub default_weight_unit: WeightUnit,
    /// The most `<Order>` elements a page may hold: past it the page is refused before the
    /// next order is built, so memory stays bounded whatever the reply.
    pub max_orders: usize,
}

impl<'a> ParseContext<'a> {
    /// A context without a window filter, with weights in pounds by default and at most
    /// [`DEFAULT_MAX_ORDERS_PER_PAGE`](crate::settings::DEFAULT_MAX_ORDERS_PER_PAGE) orders.
    pub fn new(spec: &'a ChannelSpec, store: &'a StoreProfile) -> Self {
        Self {
            spec,
            store,
            window: None,
            default_weight_unit: WeightUnit::Pounds,
            max_orders: crate::settings::DEFAULT_MAX_ORDERS_PER_PAGE as usize,
        }
    }

    /// The same context, keeping only orders that may fall in `window`.
    pub fn with_window(mut self, window: TimeWindow) -> Self {
        self.window = Some(window);
        self
    }
}

/// One page of an export, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedPage {
    /// The `pages` attribute of `<Orders>`: 1 when absent, possibly 0.
    pub total_pages: u32,
    /// The orders kept, accepted or rejected, in document order.
    pub outcomes: Vec<FetchOutcome>,
    /// Every `<Order>` read, kept or not.
    pub orders_read: usize,
    /// Accepted orders left out because their modification time is outside the window.
    pub outside_window: usize,
}

/// Why a reply is not a readable export. Each is a protocol error, never "no orders".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Nothing, or only whitespace.
    #[error("the reply is empty; an endpoint with no orders must still answer <Orders pages=\"0\"/> (an empty reply often means the credentials were refused)")]
    Empty,
    /// An HTML page, typically a store error page answered with HTTP 200.
    #[error(
        "the reply is an HTML page, not Custom Store XML; check the URL and the store's error log"
    )]
    Html,
    /// Text that is not XML.
    #[error("the reply is not XML")]
    NotXml,
    /// A document whose root is not `<Orders>`.
    #[error("the root element is <{0}>, not <Orders>")]
    WrongRoot(String),
    /// A DTD declaring entities, which are never expanded.
    #[error("the reply declares DTD entities, which are never expanded; a Custom Store export has no DTD")]
    DtdEntities,
    /// A `pages` attribute that is not a number.
    #[error("the pages attribute {0:?} is not a number")]
    BadPages(String),
    /// Syntax the XML reader cannot get past.
    #[error("malformed XML near byte {position}: {message}")]
    Malformed {
        /// Where in the reply.
        position: u64,
        /// What the XML reader said.
        message: String,
    },
    /// More `<Order>` elements than a page may hold.
    #[error("the page holds more than {limit} orders (max_orders_per_page); a Custom Store page holds a few hundred: the server is broken, or raise max_orders_per_page")]
    TooManyOrders {
        /// The limit.
        limit: usize,
    },
    /// The document stops before `</Orders>`.
    #[error("the XML ends before </Orders>; the reply was cut off")]
    Truncated,
}

/// Reads one page of an export: every order mapped, checked against `ctx.spec`'s requirements,
/// and filtered by `ctx.window`.
pub fn parse_page(bytes: &[u8], ctx: &ParseContext<'_>) -> Result<ParsedPage, ExportError> {
    scan::scan(bytes, ctx)
}
