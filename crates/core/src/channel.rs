//! The [`SellingChannel`] trait every connector implements, and what it exchanges.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, Stream};

use crate::config::{ConfigError, StoreConfig};
use crate::error::ChannelError;
use crate::order::Order;
use crate::rejection::{Rejection, RejectionReason};
use crate::requirements::{self, Requirement};
use crate::shipment::ShipmentUpdate;
use crate::status::{CanonicalStatus, DefaultStatusMap, StatusMapping};
use crate::store_time::StoreZone;

/// What a channel can and cannot do, declared by its connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// It accepts shipment updates that cover only some items.
    pub partial_shipments: bool,
    /// It sends the buyer's e-mail. Consumers that need one must handle its absence otherwise.
    pub customer_email: bool,
    /// Its statuses are store-defined strings that need a mapping.
    pub custom_statuses: bool,
    /// It can tell a label shipment from an order only marked as shipped.
    pub shipment_kinds: bool,
}

/// A connector's static description: identity, required fields, default statuses, capabilities.
/// Each connector declares exactly one, in one place.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSpec {
    /// The id used in configuration, such as `spark-shipping`.
    pub id: &'static str,
    /// The name shown to people, such as `Spark Shipping`.
    pub name: &'static str,
    /// The rules every imported order must meet.
    pub requirements: &'static [Requirement],
    /// The default mapping from raw statuses, used when a store has no `status_map`.
    pub default_statuses: DefaultStatusMap,
    /// What the channel supports.
    pub capabilities: Capabilities,
    /// The precision of the channel's modification times and window bounds.
    pub modified_precision: Duration,
}

/// A store's settings that every connector needs, resolved against its channel's spec.
#[derive(Debug, Clone)]
pub struct StoreProfile {
    /// The store's id.
    pub id: String,
    /// The store's name.
    pub name: String,
    /// The store server's zone.
    pub zone: StoreZone,
    /// The resolved status mapping.
    pub statuses: StatusMapping,
    /// The most pages one window's walk may take ([`StoreConfig::max_pages_per_window`]).
    pub max_pages_per_window: u32,
}

impl StoreProfile {
    /// Resolves a store's configuration against a channel spec.
    pub fn new(config: &StoreConfig, spec: &ChannelSpec) -> Result<Self, ConfigError> {
        if config.channel != spec.id {
            return Err(ConfigError::store(
                &config.id,
                "channel",
                format!("the store is for {:?}, not {:?}", config.channel, spec.id),
            ));
        }
        Ok(Self {
            id: config.id.clone(),
            name: config.name.clone(),
            zone: config.timezone,
            statuses: config.status_mapping(spec.default_statuses)?,
            max_pages_per_window: config.max_pages_per_window,
        })
    }
}

/// A UTC window of modification times, `from <= to`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// A window whose end is before its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the window ends ({to}) before it starts ({from}); swap --from and --to")]
pub struct InvertedWindow {
    /// The start given.
    pub from: DateTime<Utc>,
    /// The end given.
    pub to: DateTime<Utc>,
}

impl TimeWindow {
    /// A window from `from` to `to`, inclusive.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, InvertedWindow> {
        if from > to {
            return Err(InvertedWindow { from, to });
        }
        Ok(Self { from, to })
    }

    /// The start.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The end.
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }

    /// Whether a modification time reported at `precision` may fall in the window: a time
    /// truncated to the minute may stand for any second of that minute.
    pub fn may_contain(&self, modified_at: DateTime<Utc>, precision: Duration) -> bool {
        modified_at + precision > self.from && modified_at <= self.to
    }
}

/// Where a page walk stands, opaque to everyone but the connector that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken(String);

impl PageToken {
    /// A token with the connector's own content.
    pub fn new(content: impl Into<String>) -> Self {
        Self(content.into())
    }

    /// The connector's content.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One order as fetched: imported, or rejected with its reasons.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    /// A valid canonical order.
    Accepted(Box<Order>),
    /// An order that cannot be imported.
    Rejected(Rejection),
}

/// One page of a window: its orders and where the next page is, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The orders on this page, accepted or rejected.
    pub outcomes: Vec<FetchOutcome>,
    /// The next page, or `None` when the window is done.
    pub next: Option<PageToken>,
}

/// A selling channel bound to one store.
///
/// Fetching is page by page so that memory is bounded by one page whatever the window holds. A
/// bad order never fails its page: it comes back as [`FetchOutcome::Rejected`].
#[async_trait]
pub trait SellingChannel: Send + Sync {
    /// The connector's declaration.
    fn spec(&self) -> &'static ChannelSpec;

    /// The store this channel instance serves.
    fn store(&self) -> &StoreProfile;

    /// Checks that the channel answers and accepts the credentials.
    async fn check_connection(&self) -> Result<(), ChannelError>;

    /// Fetches one page of the orders modified in `window`; `page` is `None` for the first page.
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError>;

    /// Maps a raw status with the store's mapping.
    fn map_status(&self, raw: &str) -> Result<CanonicalStatus, RejectionReason> {
        self.store().statuses.map(raw)
    }

    /// Sends a shipment update back to the channel.
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError>;
}

/// Every page of a window, in order, fetched one at a time as the stream is polled.
pub fn pages(
    channel: &dyn SellingChannel,
    window: TimeWindow,
) -> impl Stream<Item = Result<Page, ChannelError>> + Send + '_ {
    enum State {
        Start,
        Next(PageToken),
        Done,
    }
    stream::unfold(State::Start, move |state| async move {
        let token = match state {
            State::Start => None,
            State::Next(token) => Some(token),
            State::Done => return None,
        };
        match channel.fetch_page(&window, token.as_ref()).await {
            Ok(page) => {
                let next = page.next.clone().map_or(State::Done, State::Next);
                Some((Ok(page), next))
            }
            Err(e) => Some((Err(e), State::Done)),
        }
    })
}

/// Finishes a normalized order: checks the channel's requirements, and returns the order or a
/// rejection with every reason (those found while mapping, `reasons`, and the failed rules).
pub fn finish(order: Order, mut reasons: Vec<RejectionReason>, spec: &ChannelSpec) -> FetchOutcome {
    reasons.extend(requirements::check(&order, spec.requirements, spec.name));
    if reasons.is_empty() {
        FetchOutcome::Accepted(Box::new(order))
    } else {
        FetchOutcome::Rejected(Rejection {
            store_id: order.store_id,
            external_id: Some(order.external_id),
            order_number: Some(order.order_number),
            reasons,
        })
    }
}
