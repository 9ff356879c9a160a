//! Walking a window page by page: shared by `import` and `demo`.

use std::collections::BTreeMap;

use std::sync::Arc;

use futures::TryStreamExt;
use orderport::{
    walk_pages_then, CanonicalStatus, ChannelError, FetchOutcome, Page, SellingChannel, TimeWindow,
};
use orderport_sync::CancellationToken;

use crate::progress::Progress;

/// What a walk saw.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Tally {
    /// Pages fetched.
    pub pages: usize,
    /// Orders accepted.
    pub imported: usize,
    /// Orders rejected.
    pub rejected: usize,
    /// Accepted orders by canonical status.
    pub by_status: BTreeMap<CanonicalStatus, usize>,
    /// Rejection reasons by `field: message`, each counted once per order.
    pub reasons: BTreeMap<String, usize>,
}

impl Tally {
    /// Adds another page's counts.
    fn add(&mut self, other: Tally) {
        self.pages += other.pages;
        self.imported += other.imported;
        self.rejected += other.rejected;
        for (status, n) in other.by_status {
            *self.by_status.entry(status).or_default() += n;
        }
        for (reason, n) in other.reasons {
            *self.reasons.entry(reason).or_default() += n;
        }
    }

    fn count(&mut self, outcome: &FetchOutcome) {
        match outcome {
            FetchOutcome::Accepted(order) => {
                self.imported += 1;
                *self.by_status.entry(order.status).or_default() += 1;
            }
            FetchOutcome::Rejected(rejection) => {
                self.rejected += 1;
                for reason in &rejection.reasons {
                    *self
                        .reasons
                        .entry(format!("{}: {}", reason.field, reason.message))
                        .or_default() += 1;
                }
            }
        }
    }

    /// The `n` most frequent rejection reasons, most frequent first.
    pub fn top_reasons(&self, n: usize) -> Vec<(&str, usize)> {
        let mut all: Vec<(&str, usize)> =
            self.reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// Why a walk stopped early.
#[derive(Debug)]
pub enum WalkError<E> {
    /// The channel failed.
    Channel(ChannelError),
    /// The caller's writer failed (for example, writing the output).
    Handler(E),
    /// `cancel` fired (a signal): the requests in flight (or the connector's retry waits) were
    /// abandoned; every page before them was written.
    Cancelled,
}

/// Fetches every page of `window` with the store's `pages_ahead` pages fetched ahead
/// ([`walk_pages_then`]), has each page counted and rendered by `render` in the task that
/// fetched and parsed it (so that pages are parsed and rendered on every core, and each page's
/// orders are made and freed on one thread), and hands the rendered pages to `write` strictly
/// in page order, so that output can be flushed before the next page is written. Memory is
/// bounded by the pages in flight. When `cancel` fires, the fetches in flight are dropped and
/// the walk ends with [`WalkError::Cancelled`].
pub async fn walk<R, E>(
    channel: Arc<dyn SellingChannel>,
    window: TimeWindow,
    progress: &Progress,
    cancel: &CancellationToken,
    render: impl Fn(Page) -> R + Send + Sync + 'static,
    mut write: impl FnMut(R) -> Result<(), E>,
) -> (Tally, Result<(), WalkError<E>>)
where
    R: Send + 'static,
{
    let mut tally = Tally::default();
    let ahead = usize::try_from(channel.store().pages_ahead).unwrap_or(0);
    let pages = walk_pages_then(channel, window, ahead, move |page| {
        let mut counts = Tally {
            pages: 1,
            ..Tally::default()
        };
        page.outcomes.iter().for_each(|o| counts.count(o));
        (counts, render(page))
    });
    let mut pages = std::pin::pin!(pages);
    loop {
        let next = tokio::select! {
            next = pages.try_next() => next,
            () = cancel.cancelled() => return (tally, Err(WalkError::Cancelled)),
        };
        let (counts, page) = match next {
            Ok(Some(walked)) => walked.value,
            Ok(None) => return (tally, Ok(())),
            Err(e) => return (tally, Err(WalkError::Channel(e))),
        };
        tally.add(counts);
        if let Err(e) = write(page) {
            return (tally, Err(WalkError::Handler(e)));
        }
        progress.page(tally.pages, tally.imported, tally.rejected);
    }
}
