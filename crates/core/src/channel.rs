//! The [`SellingChannel`] trait every connector implements, and what it exchanges.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::config::{ConfigError, StoreConfig};
use crate::error::ChannelError;
use crate::order::Order;
use crate::rejection::{Rejection, RejectionReason};
use crate::requirements::{self, Requirement};
use crate::shipment::ShipmentUpdate;
use crate::status::{CanonicalStatus, DefaultStatusMap, StatusMapping};
use crate::store_time::StoreZone;

/// What a channel can and cannot do, declared by its connector, and what the framework and
/// the conformance suite hold it to. Built with [`Capabilities::NONE`] and the `with_`
/// methods, so that a capability added later breaks no connector:
///
/// ```
/// use orderport_core::Capabilities;
/// const CAPABILITIES: Capabilities = Capabilities::NONE
///     .with_partial_shipments(true)
///     .with_customer_email(true);
/// assert!(!CAPABILITIES.custom_statuses);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// It accepts shipment updates that cover only some items. Without it, a partial update is
    /// refused before sending ([`ShipmentUpdate::check_for`](crate::ShipmentUpdate::check_for)),
    /// which the conformance suite checks.
    pub partial_shipments: bool,
    /// It sends the buyer's e-mail. Without it, connectors drop any e-mail they come across
    /// (the Custom Store crate does) and consumers must handle its absence.
    pub customer_email: bool,
    /// Its statuses are store-defined strings, so a store's `status_map` replaces the
    /// connector's default mapping (the conformance suite checks that it does). Without it, the
    /// channel's statuses are fixed and a store's `status_map` is a configuration error.
    pub custom_statuses: bool,
}

impl Capabilities {
    /// No capability: whole shipments only, no e-mail, fixed statuses.
    pub const NONE: Self = Self {
        partial_shipments: false,
        customer_email: false,
        custom_statuses: false,
    };

    /// Sets [`Capabilities::partial_shipments`].
    #[must_use]
    pub const fn with_partial_shipments(mut self, yes: bool) -> Self {
        self.partial_shipments = yes;
        self
    }

    /// Sets [`Capabilities::customer_email`].
    #[must_use]
    pub const fn with_customer_email(mut self, yes: bool) -> Self {
        self.customer_email = yes;
        self
    }

    /// Sets [`Capabilities::custom_statuses`].
    #[must_use]
    pub const fn with_custom_statuses(mut self, yes: bool) -> Self {
        self.custom_statuses = yes;
        self
    }
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
    /// How many pages a walk fetches ahead ([`StoreConfig::pages_ahead`]).
    pub pages_ahead: u32,
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
        if config.status_map.is_some() && !spec.capabilities.custom_statuses {
            return Err(ConfigError::store(
                &config.id,
                "status_map",
                format!(
                    "{}'s statuses are fixed, so a store cannot map them: remove [store.status_map] (unmapped_status still applies)",
                    spec.name
                ),
            ));
        }
        Ok(Self {
            id: config.id.clone(),
            name: config.name.clone(),
            zone: config.timezone,
            statuses: config.status_mapping(spec.default_statuses)?,
            max_pages_per_window: config.max_pages_per_window,
            pages_ahead: config.pages_ahead,
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
    /// Pages after `next` that may be fetched now, in order (for example pages 3 to N once an
    /// API reported N pages), so that [`walk_pages`](crate::walk_pages) can fetch them ahead.
    /// Empty when only `next` is known. A hint: each page's own `next` still decides the walk.
    pub ahead: Vec<PageToken>,
}

impl Page {
    /// A page with its outcomes and its next page, naming no pages ahead.
    pub fn new(outcomes: Vec<FetchOutcome>, next: Option<PageToken>) -> Self {
        Self {
            outcomes,
            next,
            ahead: Vec::new(),
        }
    }

    /// Names the pages after `next` that may be fetched now.
    #[must_use]
    pub fn with_ahead(mut self, ahead: Vec<PageToken>) -> Self {
        self.ahead = ahead;
        self
    }
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

/// Stops a page walk that would never end, in one place for every caller ([`pages`], the sync
/// engine): one guard per walk of one window, shown each page as it arrives.
///
/// A walk fails with [`ChannelError::Protocol`] when
/// - it needs more than the store's [`StoreProfile::max_pages_per_window`] pages: the page at
///   the limit still points to a next page;
/// - a page makes no progress: its next-page token is the token it was fetched with, or it
///   repeats the previous page's orders exactly (the same ids in the same order, at least one)
///   and still points to a next page. A server that pages in a loop does one or the other.
///
/// The error names the store, the window and the page count, and says what to do: raise
/// `max_pages_per_window`, shorten the window (`sync_slice`, or `--from`/`--to`), or report the
/// server's bug.
#[derive(Debug, Clone)]
pub struct WalkGuard {
    store: String,
    window: TimeWindow,
    max_pages: u32,
    pages: u32,
    previous: Vec<String>,
}

impl WalkGuard {
    /// A guard for a walk of `window` of `store`, before its first page.
    pub fn new(store: &StoreProfile, window: TimeWindow) -> Self {
        Self {
            store: store.id.clone(),
            window,
            max_pages: store.max_pages_per_window,
            pages: 0,
            previous: Vec::new(),
        }
    }

    /// The pages checked so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Checks `page`, fetched with `token` (`None` for the first page). An error ends the walk.
    pub fn check(&mut self, token: Option<&PageToken>, page: &Page) -> Result<(), ChannelError> {
        let ids = page.outcomes.iter().map(outcome_id).collect();
        self.check_ids(token, ids, page.next.as_ref())
    }

    /// [`WalkGuard::check`] of a page known by its orders' ids (in page order) and its next
    /// page.
    pub(crate) fn check_ids(
        &mut self,
        token: Option<&PageToken>,
        ids: Vec<String>,
        next: Option<&PageToken>,
    ) -> Result<(), ChannelError> {
        self.pages = self.pages.saturating_add(1);
        let Some(next) = next else {
            return Ok(());
        };
        let failure = if token == Some(next) {
            Some(self.no_progress(format!(
                "page {} points to itself as the next page",
                self.pages
            )))
        } else if !ids.is_empty() && ids == self.previous {
            Some(self.no_progress(format!(
                "page {} repeats the {} orders of page {} exactly and still points to a next page",
                self.pages,
                ids.len(),
                self.pages - 1
            )))
        } else if self.pages >= self.max_pages {
            Some(Self::too_many_pages(
                &self.store,
                &self.window,
                self.max_pages,
                format!("page {} still points to a next page", self.pages),
            ))
        } else {
            None
        };
        match failure {
            Some(ChannelError::Protocol { store, detail, .. }) => Err(ChannelError::Protocol {
                store,
                detail,
                excerpt: summary(self.pages, &ids, next),
            }),
            Some(other) => Err(other),
            None => {
                self.previous = ids;
                Ok(())
            }
        }
    }

    /// The error for a walk of `window` that needs more than `max_pages` pages; `why` says how
    /// that is known (a page count the server reported, or a page still pointing further).
    /// Connectors that learn the page count up front use it to fail at once.
    pub fn too_many_pages(
        store: &str,
        window: &TimeWindow,
        max_pages: u32,
        why: String,
    ) -> ChannelError {
        ChannelError::Protocol {
            store: store.to_owned(),
            detail: format!(
                "the walk of the window {} to {} needs more than max_pages_per_window = {max_pages} pages ({why}); if the window really holds that many orders, raise max_pages_per_window in the store's configuration or shorten the window (sync_slice, or import --from/--to); otherwise the server is paging without end: report it to the channel",
                window.from().to_rfc3339(),
                window.to().to_rfc3339(),
            ),
            excerpt: String::new(),
        }
    }

    fn no_progress(&self, what: String) -> ChannelError {
        ChannelError::Protocol {
            store: self.store.clone(),
            detail: format!(
                "the walk of the window {} to {} makes no progress: {what}; the server is paging in a loop, so the walk was stopped after {} pages: report it to the channel, and meanwhile try a shorter window (sync_slice, or import --from/--to)",
                self.window.from().to_rfc3339(),
                self.window.to().to_rfc3339(),
                self.pages
            ),
            excerpt: String::new(),
        }
    }
}

/// A short description of a page for an error: its number, its orders' ids and its next token.
fn summary(number: u32, ids: &[String], next: &PageToken) -> String {
    let shown = match ids {
        [] => "no orders".to_owned(),
        [one] => format!("1 order, {one:?}"),
        [first, .., last] => format!("{} orders, {first:?} to {last:?}", ids.len()),
    };
    let text = format!(
        "page {number}: {shown}; next page token {:?}",
        next.as_str()
    );
    text.chars().take(crate::error::EXCERPT_LIMIT).collect()
}

/// What tells two orders of a page apart: the external id, else the order number.
pub(crate) fn outcome_id(outcome: &FetchOutcome) -> String {
    match outcome {
        FetchOutcome::Accepted(order) => order.external_id.clone(),
        FetchOutcome::Rejected(r) => r
            .external_id
            .clone()
            .or_else(|| r.order_number.clone())
            .unwrap_or_default(),
    }
}

/// Finishes a normalized order: checks the channel's requirements and the plausibility rules
/// every order passes ([`requirements::plausibility`]: no negative amounts, dates from 1990 to
/// a year ahead), and returns the order or a rejection with every reason (those found while
/// mapping, `reasons`, and the failed rules). A field the mapping already gave a reason for
/// gets no second, plausibility one.
pub fn finish(order: Order, mut reasons: Vec<RejectionReason>, spec: &ChannelSpec) -> FetchOutcome {
    let implausible: Vec<RejectionReason> = requirements::plausibility(&order, Utc::now())
        .into_iter()
        .filter(|r| !reasons.iter().any(|known| known.field == r.field))
        .collect();
    reasons.extend(implausible);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use chrono::TimeZone;
    use futures::TryStreamExt;

    use super::*;
    use crate::page_walk::pages;
    use crate::status::{StatusMatch, UnmappedPolicy};
    use crate::testing::sample_order;

    static SPEC: ChannelSpec = ChannelSpec {
        id: "looping",
        name: "Looping",
        requirements: &[],
        default_statuses: &[],
        capabilities: Capabilities::NONE
            .with_partial_shipments(false)
            .with_customer_email(true)
            .with_custom_statuses(false),
        modified_precision: Duration::seconds(1),
    };

    /// What the scripted server answers for page `n` (from 1).
    type Script = fn(u32) -> Page;

    /// A channel whose pages come from a script; it counts the requests.
    struct Scripted {
        profile: StoreProfile,
        script: Script,
        requests: AtomicU32,
    }

    impl Scripted {
        fn new(max_pages: u32, script: Script) -> Self {
            Self {
                profile: StoreProfile {
                    id: "loop-store".into(),
                    name: "Loop Store".into(),
                    zone: StoreZone::UTC,
                    statuses: StatusMapping::new(
                        std::iter::empty::<(CanonicalStatus, std::iter::Empty<&str>)>(),
                        StatusMatch::default(),
                        UnmappedPolicy::Reject,
                    )
                    .unwrap(),
                    max_pages_per_window: max_pages,
                    pages_ahead: 0,
                },
                script,
                requests: AtomicU32::new(0),
            }
        }
    }

    #[async_trait]
    impl SellingChannel for Scripted {
        fn spec(&self) -> &'static ChannelSpec {
            &SPEC
        }
        fn store(&self) -> &StoreProfile {
            &self.profile
        }
        async fn check_connection(&self) -> Result<(), ChannelError> {
            Ok(())
        }
        async fn fetch_page(
            &self,
            _window: &TimeWindow,
            page: Option<&PageToken>,
        ) -> Result<Page, ChannelError> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let n = page.map_or(1, |t| t.as_str().parse().unwrap());
            Ok((self.script)(n))
        }
        async fn push_shipment(&self, _update: &ShipmentUpdate) -> Result<(), ChannelError> {
            Ok(())
        }
    }

    fn orders(ids: std::ops::Range<u32>) -> Vec<FetchOutcome> {
        ids.map(|i| {
            let mut order = sample_order();
            order.external_id = format!("id-{i}");
            FetchOutcome::Accepted(Box::new(order))
        })
        .collect()
    }

    fn window() -> TimeWindow {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 7, h, 0, 0).unwrap();
        TimeWindow::new(at(0), at(12)).unwrap()
    }

    async fn walk(channel: &Scripted) -> Result<Vec<Page>, ChannelError> {
        pages(channel, window()).try_collect().await
    }

    fn protocol_detail(error: ChannelError) -> String {
        let text = error.to_string();
        match error {
            ChannelError::Protocol { store, .. } => {
                assert_eq!(store, "loop-store");
                assert!(text.contains("2026-03-07T00:00:00+00:00"), "{text}");
                text
            }
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_server_serving_the_same_full_page_forever_is_stopped_at_page_two() {
        // Order Time-like: every page is full, so the client always asks for the next one, and
        // the server serves the same rows whatever the page number.
        let channel = Scripted::new(10_000, |n| Page {
            outcomes: orders(0..100),
            next: Some(PageToken::new((n + 1).to_string())),
            ahead: Vec::new(),
        });
        let text = protocol_detail(walk(&channel).await.unwrap_err());
        assert!(text.contains("makes no progress"), "{text}");
        assert!(text.contains("repeats the 100 orders of page 1"), "{text}");
        assert!(text.contains("report it to the channel"), "{text}");
        assert_eq!(channel.requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_page_pointing_to_itself_is_stopped() {
        let channel = Scripted::new(10_000, |n| Page {
            outcomes: orders(n * 10..n * 10 + 10),
            next: Some(PageToken::new(n.max(2).to_string())),
            ahead: Vec::new(),
        });
        let text = protocol_detail(walk(&channel).await.unwrap_err());
        assert!(text.contains("page 2 points to itself"), "{text}");
        assert_eq!(channel.requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_walk_that_never_ends_stops_at_the_page_limit() {
        // Fresh orders on every page, without end.
        let channel = Scripted::new(25, |n| Page {
            outcomes: orders(n * 10..n * 10 + 10),
            next: Some(PageToken::new((n + 1).to_string())),
            ahead: Vec::new(),
        });
        let text = protocol_detail(walk(&channel).await.unwrap_err());
        assert!(
            text.contains("needs more than max_pages_per_window = 25 pages"),
            "{text}"
        );
        assert!(text.contains("raise max_pages_per_window"), "{text}");
        assert!(
            text.contains("page 25 still points to a next page"),
            "{text}"
        );
        assert_eq!(channel.requests.load(Ordering::SeqCst), 25);
    }

    #[tokio::test]
    async fn a_walk_of_exactly_the_limit_and_empty_pages_are_fine() {
        let channel = Scripted::new(5, |n| Page {
            outcomes: if n.is_multiple_of(2) {
                Vec::new()
            } else {
                orders(n * 10..n * 10 + 3)
            },
            next: (n < 5).then(|| PageToken::new((n + 1).to_string())),
            ahead: Vec::new(),
        });
        let walked = walk(&channel).await.unwrap();
        assert_eq!(walked.len(), 5);
        // Two empty pages in a row repeat nothing.
        let channel = Scripted::new(5, |n| Page {
            outcomes: Vec::new(),
            next: (n < 3).then(|| PageToken::new((n + 1).to_string())),
            ahead: Vec::new(),
        });
        assert_eq!(walk(&channel).await.unwrap().len(), 3);
    }

    #[test]
    fn finish_rejects_implausible_orders_once_per_field() {
        let mut order = sample_order();
        order.order_total = rust_decimal::Decimal::new(-100, 2);
        order.ordered_at = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        order.modified_at = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap();
        // The mapping already said what is wrong with the order date: no second reason.
        let mapped = vec![RejectionReason::new(
            "ordered_at",
            crate::rejection::ReasonCode::InvalidDate,
            "unreadable",
        )];
        let FetchOutcome::Rejected(rejection) = finish(order, mapped, &SPEC) else {
            panic!("an implausible order is rejected");
        };
        let fields: Vec<(&str, crate::rejection::ReasonCode)> = rejection
            .reasons
            .iter()
            .map(|r| (r.field.as_str(), r.code))
            .collect();
        use crate::rejection::ReasonCode::{Implausible, InvalidDate};
        assert_eq!(
            fields,
            [
                ("ordered_at", InvalidDate),
                ("order_total", Implausible),
                ("modified_at", Implausible),
            ]
        );
        assert_eq!(rejection.external_id.as_deref(), Some("A-1"));
        assert!(matches!(
            finish(sample_order(), Vec::new(), &SPEC),
            FetchOutcome::Accepted(_)
        ));
    }

    #[test]
    fn a_page_repeating_an_earlier_but_not_the_previous_page_passes() {
        let store = Scripted::new(100, |_| Page::default());
        let mut guard = WalkGuard::new(&store.profile, window());
        let page = |ids: std::ops::Range<u32>, next: &str| Page {
            outcomes: orders(ids),
            next: Some(PageToken::new(next)),
            ahead: Vec::new(),
        };
        guard.check(None, &page(0..3, "2")).unwrap();
        guard
            .check(Some(&PageToken::new("2")), &page(3..6, "3"))
            .unwrap();
        guard
            .check(Some(&PageToken::new("3")), &page(0..3, "4"))
            .unwrap();
        assert_eq!(guard.pages(), 3);
        // The same orders on the last page (no next) end the walk normally.
        let last = Page {
            outcomes: orders(0..3),
            next: None,
            ahead: Vec::new(),
        };
        guard.check(Some(&PageToken::new("4")), &last).unwrap();
    }
}
