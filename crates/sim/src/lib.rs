//! Realistic simulators of orderport's selling channels and event sinks, served over HTTP on
//! loopback, so that a newcomer sees orderport work without an account anywhere, connector
//! authors have a server to develop against, and tests have one that changes over time and
//! misbehaves on demand.
//!
//! - [`ChannelSim`] plays one channel ([`Flavor`]) for one or more generated stores: the Custom
//!   Store v1 export and shipnotify of Spark Shipping and Listing Mirror, or Order Time's REST
//!   `list`/`shipdoc` calls and the Custom Store endpoint it hosts (export and shipnotify) over
//!   the same ship docs. It answers as the real channels do:
//!   credentials checked, dates in the store server's wall clock, pages cut with
//!   LIMIT/OFFSET from rows sorted as real plugins sort them.
//! - [`KlaviyoSim`] accepts Klaviyo's Create Event and Bulk Create Events calls and records
//!   them.
//! - [`GeneratorConfig`] makes the orders, deterministically from a seed: how many stores,
//!   orders per day, days of history, the [`StatusMix`] of final states, the server's zone and
//!   the share of invalid orders. Each order follows a timeline (placed → paid → maybe on hold
//!   → shipped or cancelled), so what a store shows depends on the [`SimClock`]: advance it and
//!   an incremental sync finds new orders and new states.
//! - [`Faults`] adds latency, 429s, 500s, 503s, HTML pages with 200, truncated replies, orders
//!   modified in the middle of a page walk (one not read yet, or one already served, which makes
//!   the walk skip a row), and a server clock that keeps minutes only.
//!
//! `docs/simulator.md` describes every endpoint, knob and behaviour.
//!
//! # Example
//!
//! ```
//! use orderport_sim::chrono::{Duration, TimeZone, Utc};
//! use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let clock = SimClock::fixed(Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap());
//! let generator = GeneratorConfig {
//!     days: 7,
//!     timezone: Tz::America__Chicago,
//!     ..GeneratorConfig::default()
//! };
//! let sim = ChannelSim::start(
//!     Flavor::SparkShipping,
//!     generator,
//!     Faults::default(),
//!     clock.clone(),
//!     "127.0.0.1:0".parse()?,
//! )
//! .await?;
//! assert!(sim.base_url().starts_with("http://127.0.0.1:"));
//!
//! // One store, with a URL and fake credentials, ready for stores.toml.
//! let store = &sim.stores()[0];
//! assert!(store.url.starts_with(&sim.base_url()));
//! assert!(sim.stores_toml().contains("channel = \"spark-shipping\""));
//!
//! // As the clock advances, more orders have been modified.
//! let start = clock.now() - Duration::days(7);
//! let before = sim.orders_visible(&store.id, start, clock.now()).len();
//! clock.advance(Duration::days(1));
//! let after = sim.orders_visible(&store.id, start, clock.now()).len();
//! assert!(after > before);
//! sim.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod book;
mod clock;
mod faults;
mod flavor;
mod generator;
mod klaviyo;
mod render;
mod server;

/// The date and time library the simulators' API uses, re-exported.
pub use chrono;
/// An IANA time zone, such as `Tz::America__Chicago`.
pub use chrono_tz::Tz;

pub use clock::SimClock;
pub use faults::Faults;
pub use flavor::Flavor;
pub use generator::{GeneratorConfig, ParseStatusMixError, StatusMix, FUTURE_DAYS};
pub use klaviyo::KlaviyoSim;
pub use server::{ChannelSim, RecordedShipment, SimStore, PAGE_SIZE};
