//! A client for ShipStation's Custom Store protocol (v1, XML), shared by the connectors whose
//! channels speak it.
//!
//! A connector declares its [`ChannelSpec`](orderport_core::ChannelSpec) and builds a
//! [`CustomStoreChannel`] from a store's configuration; the channel implements
//! [`SellingChannel`](orderport_core::SellingChannel):
//!
//! - **Export**: `GET {url}?action=export&start_date=..&end_date=..&page=N&SS-UserName=..&SS-Password=..`
//!   with HTTP Basic as well, walking every page up to the `pages` attribute of `<Orders>` (see
//!   [`paging`]). Each page is read by the streaming, lenient [`export`] reader.
//! - **Shipnotify**: `POST {url}?action=shipnotify&order_number=..&carrier=..&service=..&tracking_number=..`
//!   with a [`ship_notice`] body. Nothing is sent for an update that fails
//!   `ShipmentUpdate::check_for` (invalid, or partial on a channel without
//!   `partial_shipments`): `ChannelError::InvalidShipment`; see
//!   [`CustomStoreChannel::ship_notice`].
//! - **HTTP** ([`client`], over the shared [`orderport_http`] layer): 401 is an authentication
//!   error, 403 a permission error, 429 rate limited (honouring `Retry-After`), 5xx, timeouts
//!   and connection failures transient, any other 4xx refused, a redirect refused (never
//!   followed). Retries follow the store's [`settings`]; a shipnotify is retried only when the
//!   server surely did not process it. No message, error or log line ever carries the password.
//!
//! # The export window
//!
//! The store server's zone is the store's `timezone` (default UTC): the window sent and every
//! date read are in it. For a UTC window `[from, to]`:
//!
//! 1. `wall = zone.wall_window(from, to, 1 minute)`;
//! 2. `start_date = wall.start − 1 minute`, `end_date = wall.end + 1 minute`, since the
//!    protocol's bound inclusivity is undocumented and an order modified in a boundary minute
//!    must not be lost;
//! 3. both as `MM/dd/yyyy HH:mm`.
//!
//! After reading, an accepted order is kept only when
//! `window.may_contain(modified_at, 1 minute)`; rejected orders are always kept. See [`window`].
//!
//! # Example
//!
//! ```
//! use orderport_core::{StoresFile, TimeWindow};
//! use orderport_custom_store::export::{parse_page, ParseContext};
//! # use orderport_core::{Capabilities, CanonicalStatus, ChannelSpec, Requirement};
//! # static SPEC: ChannelSpec = ChannelSpec {
//! #     id: "example", name: "Example", requirements: &[Requirement::ShipToAddress],
//! #     default_statuses: &[(CanonicalStatus::AwaitingShipment, &["paid"])],
//! #     capabilities: Capabilities::NONE.with_partial_shipments(true)
//! #         .with_customer_email(true).with_custom_statuses(true),
//! #     modified_precision: chrono::Duration::minutes(1),
//! # };
//! use orderport_custom_store::CustomStoreChannel;
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "hq"
//!     name = "HQ"
//!     channel = "example"
//!     url = "https://store.example/shipstation"
//!     username = "vendor"
//!     password = "secret"
//!     timezone = "America/Chicago"
//!     retry_max_attempts = 3
//!     "#,
//!     &|_| None,
//! )?;
//! let channel = CustomStoreChannel::new(&SPEC, file.store("hq")?)?;
//!
//! let xml = br#"<?xml version="1.0" encoding="utf-16"?>
//! <Orders pages="1"><Order>
//!   <OrderNumber><![CDATA[1001]]></OrderNumber>
//!   <OrderDate>03/07/2026 21:56 PM</OrderDate><LastModified>03/07/2026 21:58</LastModified>
//!   <OrderStatus>paid</OrderStatus><OrderTotal> 12.50 </OrderTotal>
//!   <Customer><ShipTo><Name>Pat</Name><Address1>1 Main St</Address1><City>Austin</City>
//!     <State>TX</State><Country>US</Country></ShipTo></Customer>
//!   <Items><Item><SKU>A</SKU><Name>Caf&eacute; mug</Name><Quantity>1</Quantity>
//!     <UnitPrice>12.50</UnitPrice></Item></Items>
//! </Order></Orders>"#;
//! let page = parse_page(xml, &channel.parse_context(None))?;
//! assert_eq!(page.outcomes.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod channel;
pub mod client;
pub mod export;
pub mod paging;
pub mod settings;
pub mod ship_notice;
pub mod window;

pub use channel::CustomStoreChannel;
pub use client::{CustomStoreClient, Operation};
pub use export::{parse_page, ExportError, ParseContext, ParsedPage};
pub use settings::{CustomStoreSettings, SETTINGS};
pub use ship_notice::ShipNotice;
