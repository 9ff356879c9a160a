//! Page tokens of an export walk.
//!
//! A [`PageToken`]'s content is `"{next}/{total}"`, such as `2/3`: the page to fetch and the
//! page count known so far. No token means page 1 with nothing known. The count page 1 reports is
//! authoritative; when a later page reports a different count, the larger one is used, so that a
//! store that grows during the walk is still read to its end.
//!
//! The count is the server's word and is not trusted blindly:
//! - a page without any `<Order>` ends the walk, whatever the count says: with LIMIT/OFFSET
//!   paging nothing can follow an empty page;
//! - a count above the store's `max_pages_per_window` fails the walk at once with the
//!   [`WalkGuard`] error (raise the limit or shorten the window), rather than after fetching
//!   that many pages.

use orderport_core::{ChannelError, PageToken, StoreProfile, TimeWindow, WalkGuard};

/// Where an export walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    /// The page to fetch, from 1.
    pub page: u32,
    /// The page count known before fetching it; `None` before page 1.
    pub known_total: Option<u32>,
}

/// A page token this crate did not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("page token {0:?} is not a Custom Store token (expected \"next/total\", such as \"2/3\"); pass the token the previous page returned")]
pub struct BadPageToken(pub String);

impl PageCursor {
    /// The cursor for a token; `None` is page 1.
    pub fn from_token(token: Option<&PageToken>) -> Result<Self, BadPageToken> {
        let Some(token) = token else {
            return Ok(Self {
                page: 1,
                known_total: None,
            });
        };
        let text = token.as_str();
        let bad = || BadPageToken(text.chars().take(40).collect());
        let (page, total) = text.split_once('/').ok_or_else(bad)?;
        let page: u32 = page.parse().map_err(|_| bad())?;
        let total: u32 = total.parse().map_err(|_| bad())?;
        if page < 2 || page > total {
            return Err(bad());
        }
        Ok(Self {
            page,
            known_total: Some(total),
        })
    }

    /// The page count after this page reported `reported` and held `orders_read` orders, and
    /// the token of the next page, if any: none after a page without orders. A count above the
    /// store's `max_pages_per_window` is the [`WalkGuard::too_many_pages`] error for `window`.
    pub fn advance(
        self,
        reported: u32,
        orders_read: usize,
        store: &StoreProfile,
        window: &TimeWindow,
    ) -> Result<(u32, Option<PageToken>), ChannelError> {
        let total = self
            .known_total
            .map_or(reported, |known| known.max(reported));
        if total > store.max_pages_per_window {
            return Err(WalkGuard::too_many_pages(
                &store.id,
                window,
                store.max_pages_per_window,
                format!("export page {} says pages=\"{reported}\"", self.page),
            ));
        }
        let next = (self.page < total && orders_read > 0).then(|| token(self.page + 1, total));
        Ok((total, next))
    }

    /// The pages after the next one, through `total` (the count [`PageCursor::advance`]
    /// returned): the pages a walk may fetch ahead. Their tokens are the ones the walk would
    /// reach one page at a time, as long as no page reports a larger count.
    pub fn ahead(self, total: u32) -> Vec<PageToken> {
        (self.page.saturating_add(2)..=total)
            .map(|page| token(page, total))
            .collect()
    }
}

fn token(page: u32, total: u32) -> PageToken {
    PageToken::new(format!("{page}/{total}"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use orderport_core::{CanonicalStatus, StatusMapping, StatusMatch, StoreZone, UnmappedPolicy};

    use super::*;

    fn store(max_pages: u32) -> StoreProfile {
        StoreProfile {
            id: "hq".into(),
            name: "HQ".into(),
            zone: StoreZone::UTC,
            statuses: StatusMapping::new(
                std::iter::empty::<(CanonicalStatus, Vec<&str>)>(),
                StatusMatch::default(),
                UnmappedPolicy::Reject,
            )
            .unwrap(),
            max_pages_per_window: max_pages,
            pages_ahead: 0,
        }
    }

    fn window() -> TimeWindow {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 7, h, 0, 0).unwrap();
        TimeWindow::new(at(0), at(12)).unwrap()
    }

    fn advance(cursor: PageCursor, reported: u32, orders: usize) -> (u32, Option<PageToken>) {
        cursor
            .advance(reported, orders, &store(10_000), &window())
            .unwrap()
    }

    #[test]
    fn the_first_page_sets_the_count() {
        let first = PageCursor::from_token(None).unwrap();
        assert_eq!(first.page, 1);
        let (total, next) = advance(first, 3, 100);
        assert_eq!(total, 3);
        assert_eq!(next, Some(PageToken::new("2/3")));
        assert_eq!(advance(first, 1, 100).1, None);
        assert_eq!(advance(first, 0, 0).1, None);
    }

    #[test]
    fn later_pages_use_the_larger_count() {
        let second = PageCursor::from_token(Some(&PageToken::new("2/3"))).unwrap();
        assert_eq!(second.page, 2);
        // A missing attribute (1) or a shrinking count does not cut the walk short.
        assert_eq!(advance(second, 1, 100), (3, Some(PageToken::new("3/3"))));
        assert_eq!(advance(second, 4, 100), (4, Some(PageToken::new("3/4"))));
        let last = PageCursor::from_token(Some(&PageToken::new("3/3"))).unwrap();
        assert_eq!(advance(last, 3, 100), (3, None));
    }

    #[test]
    fn the_pages_ahead_are_the_tokens_the_walk_reaches_one_at_a_time() {
        let first = PageCursor::from_token(None).unwrap();
        let (total, next) = advance(first, 4, 100);
        let ahead = first.ahead(total);
        assert_eq!(ahead, vec![PageToken::new("3/4"), PageToken::new("4/4")]);
        // Walking one page at a time from `next` reaches exactly those tokens.
        let mut reached = Vec::new();
        let mut token = next;
        while let Some(t) = token {
            let cursor = PageCursor::from_token(Some(&t)).unwrap();
            reached.push(t);
            token = advance(cursor, 4, 100).1;
        }
        assert_eq!(reached[1..], ahead[..]);
        // Nothing after the last page, nor beyond a count of one.
        let last = PageCursor::from_token(Some(&PageToken::new("4/4"))).unwrap();
        assert!(last.ahead(4).is_empty());
        assert!(first.ahead(1).is_empty());
        assert!(first.ahead(2).is_empty());
    }

    #[test]
    fn a_page_without_orders_ends_the_walk_whatever_the_count() {
        let first = PageCursor::from_token(None).unwrap();
        assert_eq!(advance(first, 5, 0), (5, None));
        let second = PageCursor::from_token(Some(&PageToken::new("2/9000"))).unwrap();
        assert_eq!(advance(second, 9000, 0), (9000, None));
    }

    #[test]
    fn a_count_above_the_page_limit_fails_at_once() {
        let first = PageCursor::from_token(None).unwrap();
        let error = first
            .advance(999_999_999, 100, &store(10_000), &window())
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ChannelError::Protocol { .. }), "{error:?}");
        assert!(text.contains("store hq"), "{text}");
        assert!(text.contains("pages=\"999999999\""), "{text}");
        assert!(text.contains("max_pages_per_window = 10000"), "{text}");
        assert!(text.contains("2026-03-07T00:00:00+00:00"), "{text}");
        // At the limit is fine; a later page raising the count above it is not.
        assert_eq!(first.advance(50, 100, &store(50), &window()).unwrap().0, 50);
        let second = PageCursor::from_token(Some(&PageToken::new("2/50"))).unwrap();
        assert!(second.advance(51, 100, &store(50), &window()).is_err());
    }

    #[test]
    fn foreign_tokens_are_refused() {
        for text in ["", "abc", "2", "1/3", "4/3", "2/x", "cursor:9"] {
            assert!(
                PageCursor::from_token(Some(&PageToken::new(text))).is_err(),
                "{text}"
            );
        }
    }
}
