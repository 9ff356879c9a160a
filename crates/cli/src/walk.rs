//! Walking a window page by page: shared by `import` and `demo`.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use orderport::{pages, CanonicalStatus, ChannelError, FetchOutcome, SellingChannel, TimeWindow};
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
    /// The caller's handler failed (for example, writing the output).
    Handler(E),
    /// `cancel` fired (a signal): the request or retry wait in flight was abandoned; every page
    /// before it was handled.
    Cancelled,
}

/// Fetches every page of `window`, handing each outcome to `handle` and calling `page_done`
/// after each page so that output can be flushed before the next request. Memory is one page.
/// When `cancel` fires, the request in flight (or the connector's retry wait) is dropped and
/// the walk ends with [`WalkError::Cancelled`].
pub async fn walk<E>(
    channel: &dyn SellingChannel,
    window: TimeWindow,
    progress: &Progress,
    cancel: &CancellationToken,
    mut handle: impl FnMut(FetchOutcome) -> Result<(), E>,
    mut page_done: impl FnMut() -> Result<(), E>,
) -> (Tally, Result<(), WalkError<E>>) {
    let mut tally = Tally::default();
    let mut stream = Box::pin(pages(channel, window));
    loop {
        let next = tokio::select! {
            next = stream.try_next() => next,
            () = cancel.cancelled() => return (tally, Err(WalkError::Cancelled)),
        };
        let page = match next {
            Ok(Some(page)) => page,
            Ok(None) => return (tally, Ok(())),
            Err(e) => return (tally, Err(WalkError::Channel(e))),
        };
        tally.pages += 1;
        for outcome in page.outcomes {
            tally.count(&outcome);
            if let Err(e) = handle(outcome) {
                return (tally, Err(WalkError::Handler(e)));
            }
        }
        if let Err(e) = page_done() {
            return (tally, Err(WalkError::Handler(e)));
        }
        progress.page(tally.pages, tally.imported, tally.rejected);
    }
}
