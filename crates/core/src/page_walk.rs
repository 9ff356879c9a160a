//! Walking every page of a window: one at a time ([`pages`]), or fetched ahead and parsed on
//! every core ([`walk_pages`]), always handed out in page order.
//!
//! # The pipeline
//!
//! A page may name, besides its `next` page, the pages after it that can be fetched now
//! ([`Page::ahead`]): a Custom Store export reports its page count on page 1, so pages 2 to N
//! are known at once. [`walk_pages`] keeps up to `ahead` fetches in flight while the caller
//! handles a page, each a task of its own (the connector parses and normalizes in that task, so pages are parsed on every
//! worker thread of the runtime), and hands the pages out strictly in order. Memory is bounded
//! by the pages in flight, whatever the window holds.
//!
//! A fetched-ahead page is used only for the token the one-at-a-time walk would have asked
//! for next: each page's own `next` is the truth. When it differs from the planned token (the
//! store grew and a later page reports more pages, or a page came back empty), every fetch in
//! flight is abandoned and the walk goes on from that page's `next`. So the pages handed out
//! are those of the one-at-a-time walk, in the same order, with the same [`WalkGuard`] checks;
//! only the moment each request is sent changes, and every request of the walk is still sent
//! after the walk started and answered before its last page is handed out. That is what the
//! sync engine's shifted-walk detection relies on (docs/sync.md).
//!
//! Pacing and retries are the connector's HTTP client's (orderport-http): fetches in flight
//! share the store's pacer, so fetching ahead never sends faster than the pacing allows; a
//! page that fails after its retries fails the walk when its turn comes, after every page
//! before it was handed out.
//!
//! ```
//! # use std::sync::Arc;
//! # use futures::TryStreamExt;
//! # use orderport_core::{walk_pages, SellingChannel, TimeWindow};
//! # async fn demo(channel: Arc<dyn SellingChannel>, window: TimeWindow) -> Result<(), orderport_core::ChannelError> {
//! let mut pages = std::pin::pin!(walk_pages(channel, window, 3));
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} orders", page.outcomes.len());
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{self, BoxFuture, MaybeDone};
use futures::stream::{self, Stream};
use futures::{FutureExt, TryStreamExt};

use crate::channel::{
    outcome_id, Page, PageToken, SellingChannel, StoreProfile, TimeWindow, WalkGuard,
};
use crate::error::ChannelError;

/// The most pages fetched ahead of the one handed out that [`walk_pages`] accepts.
pub const MAX_AHEAD: usize = 32;

/// Every page of a window, in order, fetched one at a time as the stream is polled.
///
/// A [`WalkGuard`] watches the walk: a window that needs more than the store's
/// `max_pages_per_window` pages, or a page that makes no progress, ends the stream with a
/// [`ChannelError::Protocol`] that says what to do, instead of paging forever.
pub fn pages(
    channel: &dyn SellingChannel,
    window: TimeWindow,
) -> impl Stream<Item = Result<Page, ChannelError>> + Send + '_ {
    pages_ahead(channel, window, 0)
}

/// Every page of a window, in order, with up to `ahead` pages (at most [`MAX_AHEAD`]) fetched
/// while the caller handles the page handed out, on a borrowed channel: the fetches in flight
/// are polled by the caller's task whenever it waits for its next page, so requests overlap
/// but pages are parsed on the caller's thread. The sync engine walks this way (it runs many
/// stores at once, which keeps every core busy); [`walk_pages`] parses on every core for one
/// walk. The same walk rules apply: pages of the one-at-a-time walk, in its order, with the
/// same [`WalkGuard`] checks. `ahead = 0` is [`pages`].
pub fn pages_ahead(
    channel: &dyn SellingChannel,
    window: TimeWindow,
    ahead: usize,
) -> impl Stream<Item = Result<Page, ChannelError>> + Send + '_ {
    let fetch = move |token: Option<PageToken>| {
        async move {
            let page = channel.fetch_page(&window, token.as_ref()).await?;
            Ok(Walked::of(page, |page| page))
        }
        .boxed()
    };
    walk(channel.store(), window, ahead.min(MAX_AHEAD), fetch).map_ok(|walked| walked.value)
}

/// Every page of a window, in order, with up to `ahead` pages (at most [`MAX_AHEAD`]) fetched
/// and parsed while the caller handles the page handed out, each in a task of its own (see the
/// module documentation). `ahead = 0` fetches one page at a time, as [`pages`] does.
///
/// Dropping the stream abandons the fetches in flight. Needs a Tokio runtime; on a
/// multi-threaded one, pages are parsed on every worker thread.
pub fn walk_pages(
    channel: Arc<dyn SellingChannel>,
    window: TimeWindow,
    ahead: usize,
) -> impl Stream<Item = Result<Page, ChannelError>> + Send + 'static {
    walk_pages_then(channel, window, ahead, |page| page).map_ok(|walked| walked.value)
}

/// [`walk_pages`], with the caller's work on each page (`then`: rendering it, say) done in the
/// page's own task, right after the connector made it: the page is parsed, worked on and
/// dropped on one thread, and only `then`'s result travels to the caller, in page order.
pub fn walk_pages_then<T, F>(
    channel: Arc<dyn SellingChannel>,
    window: TimeWindow,
    ahead: usize,
    then: F,
) -> impl Stream<Item = Result<Walked<T>, ChannelError>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Page) -> T + Send + Sync + 'static,
{
    let store = channel.store().clone();
    let then = Arc::new(then);
    let fetch = move |token: Option<PageToken>| {
        let channel = Arc::clone(&channel);
        let then = Arc::clone(&then);
        let store = channel.store().id.clone();
        let described = describe(token.as_ref());
        let task = tokio::spawn(async move {
            let page = channel.fetch_page(&window, token.as_ref()).await?;
            Ok(Walked::of(page, |page| then(page)))
        });
        AbortOnDrop(task)
            .map(move |joined| {
                joined.unwrap_or_else(|e| {
                    Err(ChannelError::Protocol {
                        store,
                        detail: format!(
                            "fetching {described} failed inside the connector ({e}); this is a bug in the connector: report it with the store's channel"
                        ),
                        excerpt: String::new(),
                    })
                })
            })
            .boxed()
    };
    walk(&store, window, ahead.min(MAX_AHEAD), fetch)
}

/// A page of a walk after the caller's work on it ([`walk_pages_then`]): what the walk needs
/// to go on, and the work's result.
#[derive(Debug)]
pub struct Walked<T> {
    /// The page's next page.
    pub next: Option<PageToken>,
    /// How many orders the page held, accepted or rejected.
    pub orders: usize,
    /// The caller's result.
    pub value: T,
    ahead: Vec<PageToken>,
    ids: Vec<String>,
}

impl<T> Walked<T> {
    fn of(page: Page, then: impl FnOnce(Page) -> T) -> Self {
        let ids = page.outcomes.iter().map(outcome_id).collect();
        let next = page.next.clone();
        let ahead = page.ahead.clone();
        let orders = page.outcomes.len();
        Self {
            next,
            orders,
            ahead,
            ids,
            value: then(page),
        }
    }
}

type Fetching<'a, T> = BoxFuture<'a, Result<Walked<T>, ChannelError>>;

/// The walk itself, over any way of fetching a page: `fetch(token)` starts fetching the page
/// and returns its future; futures are awaited in page order.
fn walk<'a, T, F>(
    store: &StoreProfile,
    window: TimeWindow,
    ahead: usize,
    fetch: F,
) -> impl Stream<Item = Result<Walked<T>, ChannelError>> + Send + 'a
where
    T: Send + 'a,
    F: FnMut(Option<PageToken>) -> Fetching<'a, T> + Send + 'a,
{
    let walk = Walk {
        guard: WalkGuard::new(store, window),
        ahead,
        fetch,
        in_flight: VecDeque::new(),
        planned: VecDeque::new(),
        started: false,
        done: false,
    };
    stream::unfold(walk, |mut walk| async move {
        let item = walk.step().await?;
        Some((item, walk))
    })
}

/// Where a walk stands: fetches in flight (oldest first) and tokens planned after them.
struct Walk<'a, T, F> {
    guard: WalkGuard,
    ahead: usize,
    fetch: F,
    in_flight: VecDeque<(Option<PageToken>, MaybeDone<Fetching<'a, T>>)>,
    planned: VecDeque<PageToken>,
    /// Whether the first page was asked for.
    started: bool,
    done: bool,
}

impl<'a, T, F> Walk<'a, T, F>
where
    T: Send + 'a,
    F: FnMut(Option<PageToken>) -> Fetching<'a, T> + Send + 'a,
{
    /// The next page in order, or `None` when the walk is over.
    async fn step(&mut self) -> Option<Result<Walked<T>, ChannelError>> {
        if self.done {
            return None;
        }
        self.start_planned(self.ahead.max(1));
        // Poll every fetch in flight (a borrowed one makes progress only when polled) until
        // the oldest is done; the others keep what they got for their turn.
        let in_flight = &mut self.in_flight;
        future::poll_fn(|cx| {
            for (_, fetching) in in_flight.iter_mut() {
                let _ = Pin::new(fetching).poll(cx);
            }
            match in_flight.front() {
                Some((_, MaybeDone::Future(_))) => Poll::Pending,
                _ => Poll::Ready(()),
            }
        })
        .await;
        let (token, mut fetching) = self.in_flight.pop_front()?;
        let fetched = Pin::new(&mut fetching).take_output()?;
        let mut walked = match fetched {
            Ok(walked) => walked,
            Err(e) => return Some(self.fail(e)),
        };
        let ids = std::mem::take(&mut walked.ids);
        if let Err(e) = self
            .guard
            .check_ids(token.as_ref(), ids, walked.next.as_ref())
        {
            return Some(self.fail(e));
        }
        match &walked.next {
            None => self.stop(),
            Some(next) => {
                self.follow(next, &walked.ahead);
                // Fetch ahead while the caller handles this page.
                self.start_planned(self.ahead);
            }
        }
        Some(Ok(walked))
    }

    /// Starts the first page, then planned fetches until `cap` are in flight.
    fn start_planned(&mut self, cap: usize) {
        if !self.started {
            self.started = true;
            let first = (self.fetch)(None);
            self.in_flight.push_back((None, future::maybe_done(first)));
        }
        while self.in_flight.len() < cap {
            let Some(token) = self.planned.pop_front() else {
                break;
            };
            let fetching = (self.fetch)(Some(token.clone()));
            self.in_flight
                .push_back((Some(token), future::maybe_done(fetching)));
        }
    }

    /// Goes on with `next`: keeps what is in flight and planned if it starts with `next`,
    /// else abandons it and plans `next` and the pages the page named after it.
    fn follow(&mut self, next: &PageToken, ahead: &[PageToken]) {
        let expected = self
            .in_flight
            .front()
            .and_then(|(token, _)| token.as_ref())
            .or(self.planned.front());
        if expected == Some(next) {
            return;
        }
        self.in_flight.clear();
        self.planned.clear();
        self.planned.push_back(next.clone());
        self.planned
            .extend(ahead.iter().filter(|token| *token != next).cloned());
    }

    fn stop(&mut self) {
        self.done = true;
        self.in_flight.clear();
        self.planned.clear();
    }

    fn fail(&mut self, error: ChannelError) -> Result<Walked<T>, ChannelError> {
        self.stop();
        Err(error)
    }
}

/// "page 1" or the page's token, for messages.
fn describe(token: Option<&PageToken>) -> String {
    match token {
        None => "the first page".to_owned(),
        Some(token) => format!(
            "the page {:?}",
            token.as_str().chars().take(40).collect::<String>()
        ),
    }
}

/// A spawned task that is aborted when its handle is dropped, so that abandoning a walk stops
/// its fetches in flight.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration as StdDuration;

    use async_trait::async_trait;
    use chrono::{Duration, TimeZone, Utc};
    use futures::TryStreamExt;
    use proptest::prelude::*;

    use super::*;
    use crate::channel::{Capabilities, ChannelSpec, FetchOutcome};
    use crate::shipment::ShipmentUpdate;
    use crate::status::{CanonicalStatus, StatusMapping, StatusMatch, UnmappedPolicy};
    use crate::store_time::StoreZone;
    use crate::testing::sample_order;

    static SPEC: ChannelSpec = ChannelSpec {
        id: "numbered",
        name: "Numbered",
        requirements: &[],
        default_statuses: &[],
        capabilities: Capabilities::NONE
            .with_partial_shipments(false)
            .with_customer_email(true)
            .with_custom_statuses(false),
        modified_precision: Duration::seconds(1),
    };

    /// What the server answers for one page (from 1): how many orders, the page count it
    /// reports, and how long it takes.
    #[derive(Debug, Clone)]
    struct Served {
        orders: u32,
        reports: u32,
        delay_ms: u64,
        fails: bool,
    }

    /// A numbered-pages server like a Custom Store export: tokens are `page/total`, page 1
    /// names every later page, the larger count wins, an empty page ends the walk.
    struct Numbered {
        profile: StoreProfile,
        served: Vec<Served>,
        requests: Mutex<Vec<String>>,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        finished: AtomicUsize,
    }

    impl Numbered {
        fn new(served: Vec<Served>) -> Self {
            Self {
                profile: StoreProfile {
                    id: "numbered-store".into(),
                    name: "Numbered Store".into(),
                    zone: StoreZone::UTC,
                    statuses: StatusMapping::new(
                        std::iter::empty::<(CanonicalStatus, std::iter::Empty<&str>)>(),
                        StatusMatch::default(),
                        UnmappedPolicy::Reject,
                    )
                    .unwrap(),
                    max_pages_per_window: 10_000,
                    pages_ahead: 0,
                },
                served,
                requests: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
                finished: AtomicUsize::new(0),
            }
        }
    }

    /// Counts a fetch in flight until dropped (finished or abandoned).
    struct Flight<'a>(&'a Numbered);

    impl Drop for Flight<'_> {
        fn drop(&mut self) {
            self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl SellingChannel for Numbered {
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
            token: Option<&PageToken>,
        ) -> Result<Page, ChannelError> {
            let (page, known) = match token {
                None => (1, 0),
                Some(t) => {
                    let (p, total) = t.as_str().split_once('/').unwrap();
                    (p.parse::<u32>().unwrap(), total.parse::<u32>().unwrap())
                }
            };
            self.requests
                .lock()
                .unwrap()
                .push(token.map_or("1".into(), |t| t.as_str().to_owned()));
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            let _flight = Flight(self);
            let served = self.served[page as usize - 1].clone();
            tokio::time::sleep(StdDuration::from_millis(served.delay_ms)).await;
            self.finished.fetch_add(1, Ordering::SeqCst);
            if served.fails {
                return Err(ChannelError::Transient {
                    store: self.profile.id.clone(),
                    detail: format!("page {page} failed"),
                });
            }
            let total = known.max(served.reports).min(self.served.len() as u32);
            let outcomes = (0..served.orders)
                .map(|i| {
                    let mut order = sample_order();
                    order.external_id = format!("p{page}-{i}");
                    FetchOutcome::Accepted(Box::new(order))
                })
                .collect();
            let token = |p: u32| PageToken::new(format!("{p}/{total}"));
            let next = (page < total && served.orders > 0).then(|| token(page + 1));
            let ahead = if next.is_some() {
                (page + 2..=total).map(token).collect()
            } else {
                Vec::new()
            };
            Ok(Page::new(outcomes, next).with_ahead(ahead))
        }
        async fn push_shipment(&self, _update: &ShipmentUpdate) -> Result<(), ChannelError> {
            Ok(())
        }
    }

    fn window() -> TimeWindow {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 7, h, 0, 0).unwrap();
        TimeWindow::new(at(0), at(12)).unwrap()
    }

    fn paused() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    fn ids(pages: &[Page]) -> Vec<String> {
        pages
            .iter()
            .flat_map(|p| &p.outcomes)
            .map(|o| match o {
                FetchOutcome::Accepted(order) => order.external_id.clone(),
                FetchOutcome::Rejected(r) => r.external_id.clone().unwrap_or_default(),
            })
            .collect()
    }

    /// The walk one page at a time and its outcome; the reference.
    async fn one_at_a_time(served: &[Served]) -> (Vec<String>, Option<String>) {
        let channel = Numbered::new(served.to_vec());
        let mut got = Vec::new();
        let mut stream = std::pin::pin!(pages(&channel, window()));
        loop {
            match stream.try_next().await {
                Ok(Some(page)) => got.push(page),
                Ok(None) => return (ids(&got), None),
                Err(e) => return (ids(&got), Some(e.to_string())),
            }
        }
    }

    async fn ahead_walk(
        channel: Arc<Numbered>,
        ahead: usize,
    ) -> (Vec<String>, Option<String>, usize) {
        let mut got = Vec::new();
        let mut stream = std::pin::pin!(walk_pages(channel, window(), ahead));
        loop {
            match stream.try_next().await {
                Ok(Some(page)) => got.push(page),
                Ok(None) => return (ids(&got), None, got.len()),
                Err(e) => return (ids(&got), Some(e.to_string()), got.len()),
            }
        }
    }

    /// The walk on a borrowed channel ([`pages_ahead`]), polled by this task only.
    async fn borrowed_walk(channel: &Numbered, ahead: usize) -> (Vec<String>, Option<String>) {
        let mut got = Vec::new();
        let mut stream = std::pin::pin!(pages_ahead(channel, window(), ahead));
        loop {
            match stream.try_next().await {
                Ok(Some(page)) => got.push(page),
                Ok(None) => return (ids(&got), None),
                Err(e) => return (ids(&got), Some(e.to_string())),
            }
        }
    }

    fn served() -> impl Strategy<Value = Vec<Served>> {
        prop::collection::vec(
            (0u32..4, 0u32..12, 0u64..50, prop::bool::weighted(0.05)).prop_map(
                |(orders, reports, delay_ms, fails)| Served {
                    // Mostly full pages; an empty one now and then ends the walk early.
                    orders: if orders == 0 { 0 } else { orders + 2 },
                    reports,
                    delay_ms,
                    fails,
                },
            ),
            1..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the page counts reported (growing, shrinking, absent), empty pages, failures
        /// and the order in which fetches complete, the pipeline hands out exactly the pages of
        /// the one-at-a-time walk, in the same order, ends with the same error, and never has
        /// more than `ahead` fetches in flight (one when `ahead` is 0).
        #[test]
        fn fetching_ahead_hands_out_the_pages_of_the_one_at_a_time_walk(
            served in served(),
            ahead in 0usize..5,
        ) {
            let runtime = paused();
            let (reference, reference_error) = runtime.block_on(one_at_a_time(&served));
            let channel = Arc::new(Numbered::new(served.clone()));
            let (got, error, _) = runtime.block_on(ahead_walk(channel.clone(), ahead));
            prop_assert_eq!(&got, &reference);
            prop_assert_eq!(error.is_some(), reference_error.is_some());
            if let (Some(got), Some(expected)) = (&error, &reference_error) {
                // The same page fails (the detail names it).
                prop_assert_eq!(got, expected);
            }
            prop_assert!(channel.most_in_flight.load(Ordering::SeqCst) <= ahead.max(1));
            // Nothing is left running once the walk is over.
            runtime.block_on(async { tokio::time::sleep(StdDuration::from_secs(1)).await });
            prop_assert_eq!(channel.in_flight.load(Ordering::SeqCst), 0);
            // The same on a borrowed channel, its fetches polled by the caller's task.
            let borrowed = Numbered::new(served.clone());
            let (got, error) = runtime.block_on(borrowed_walk(&borrowed, ahead));
            prop_assert_eq!(&got, &reference);
            prop_assert_eq!(&error, &reference_error);
            prop_assert!(borrowed.most_in_flight.load(Ordering::SeqCst) <= ahead.max(1));
            prop_assert_eq!(borrowed.in_flight.load(Ordering::SeqCst), 0);
        }
    }

    fn full(n: u32, reports: u32, delay_ms: u64) -> Vec<Served> {
        (0..n)
            .map(|_| Served {
                orders: 3,
                reports,
                delay_ms,
                fails: false,
            })
            .collect()
    }

    #[test]
    fn later_pages_are_fetched_while_earlier_ones_are_slow() {
        // Page 1 names 8 pages; page 2 is slow and the others fast: with 4 ahead, pages 3 to 5
        // are asked for before page 2 is answered.
        let mut served = full(8, 8, 1);
        served[1].delay_ms = 1_000;
        let channel = Arc::new(Numbered::new(served));
        let (got, error, pages) = paused().block_on(ahead_walk(channel.clone(), 4));
        assert_eq!(error, None);
        assert_eq!(pages, 8);
        assert_eq!(got.len(), 24);
        assert_eq!(channel.most_in_flight.load(Ordering::SeqCst), 4);
        let requests = channel.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 8, "{requests:?}");
        assert_eq!(&requests[..5], ["1", "2/8", "3/8", "4/8", "5/8"]);
    }

    #[test]
    fn a_borrowed_walk_overlaps_its_fetches() {
        // Eight pages of 100 ms each: one at a time takes 800 ms of (paused) time; with 4 ahead
        // the fetches overlap, polled by the caller's task alone, and the pages are the same.
        let runtime = paused();
        let (alone, took_alone) = runtime.block_on(async {
            let channel = Numbered::new(full(8, 8, 100));
            let start = tokio::time::Instant::now();
            (borrowed_walk(&channel, 0).await, start.elapsed())
        });
        let channel = Numbered::new(full(8, 8, 100));
        let (ahead, took_ahead) = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            (borrowed_walk(&channel, 4).await, start.elapsed())
        });
        assert_eq!(ahead, alone);
        assert_eq!(ahead.0.len(), 24);
        assert_eq!(took_alone, StdDuration::from_millis(800));
        assert!(
            took_ahead <= StdDuration::from_millis(300),
            "{took_ahead:?}"
        );
        assert_eq!(channel.most_in_flight.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_store_growing_during_the_walk_is_read_to_its_end_and_no_page_twice() {
        // Page 1 says 3 pages, page 2 says 5: the tokens planned ("3/3") are not the ones the
        // walk reaches ("3/5"), so they are abandoned and the walk goes on from page 2's next.
        let mut served = full(5, 3, 5);
        served[1].reports = 5;
        let channel = Arc::new(Numbered::new(served));
        let (got, error, pages) = paused().block_on(ahead_walk(channel.clone(), 4));
        assert_eq!(error, None);
        assert_eq!(pages, 5);
        let mut unique = got.clone();
        unique.dedup();
        assert_eq!(unique.len(), 15, "{got:?}");
        assert!(got.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn a_failing_page_ends_the_walk_after_every_page_before_it() {
        let mut served = full(6, 6, 10);
        served[3].fails = true;
        served[3].delay_ms = 0;
        let channel = Arc::new(Numbered::new(served));
        let runtime = paused();
        let (got, error, pages) = runtime.block_on(ahead_walk(channel.clone(), 4));
        assert_eq!(pages, 3);
        assert_eq!(got.len(), 9);
        assert!(error.unwrap().contains("page 4 failed"));
        runtime.block_on(async { tokio::time::sleep(StdDuration::from_secs(1)).await });
        assert_eq!(channel.in_flight.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn dropping_the_walk_abandons_the_fetches_in_flight() {
        let served = full(10, 10, 100);
        let channel = Arc::new(Numbered::new(served));
        let runtime = paused();
        runtime.block_on(async {
            let mut stream = Box::pin(walk_pages(channel.clone(), window(), 5));
            let first = stream.try_next().await.unwrap().unwrap();
            assert_eq!(first.outcomes.len(), 3);
            // Pages 2 to 6 are in flight.
            tokio::time::sleep(StdDuration::from_millis(10)).await;
            assert_eq!(channel.in_flight.load(Ordering::SeqCst), 5);
            drop(stream);
            tokio::time::sleep(StdDuration::from_secs(1)).await;
        });
        assert_eq!(channel.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(channel.finished.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_walk_guard_still_stops_a_server_that_loops() {
        // Every page repeats page 1's orders and points further: stopped at page 2 as in the
        // one-at-a-time walk, with pages ahead abandoned.
        struct Looping(Numbered);
        #[async_trait]
        impl SellingChannel for Looping {
            fn spec(&self) -> &'static ChannelSpec {
                &SPEC
            }
            fn store(&self) -> &StoreProfile {
                &self.0.profile
            }
            async fn check_connection(&self) -> Result<(), ChannelError> {
                Ok(())
            }
            async fn fetch_page(
                &self,
                window: &TimeWindow,
                _token: Option<&PageToken>,
            ) -> Result<Page, ChannelError> {
                // Always page 1's reply.
                self.0.fetch_page(window, None).await
            }
            async fn push_shipment(&self, _u: &ShipmentUpdate) -> Result<(), ChannelError> {
                Ok(())
            }
        }
        let channel = Arc::new(Looping(Numbered::new(full(50, 50, 1))));
        let error = paused()
            .block_on(walk_pages(channel, window(), 4).try_collect::<Vec<_>>())
            .unwrap_err();
        assert!(error.to_string().contains("makes no progress"), "{error}");
    }

    #[test]
    fn ahead_is_capped() {
        let channel = Arc::new(Numbered::new(full(100, 100, 1)));
        let (_, error, pages) = paused().block_on(ahead_walk(channel.clone(), 1_000));
        assert_eq!(error, None);
        assert_eq!(pages, 100);
        assert_eq!(channel.most_in_flight.load(Ordering::SeqCst), MAX_AHEAD);
    }

    #[test]
    fn no_pages_ahead_is_one_request_at_a_time() {
        let channel = Arc::new(Numbered::new(full(6, 6, 5)));
        let runtime = paused();
        runtime.block_on(async {
            let mut stream = Box::pin(walk_pages(channel.clone(), window(), 0));
            while let Some(_page) = stream.try_next().await.unwrap() {
                // While the caller handles a page, nothing is being fetched.
                tokio::time::sleep(StdDuration::from_millis(50)).await;
                assert_eq!(channel.in_flight.load(Ordering::SeqCst), 0);
            }
        });
        assert_eq!(channel.most_in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(channel.requests.lock().unwrap().len(), 6);
    }
}
