//! [`PageNumber`]: a walk over numbered pages (1, 2, 3, …), carried in [`PageToken`]s, and the
//! rules for whether a next page exists.
//!
//! The token's content is the page number in decimal (`"2"`); no token is page 1. What decides
//! the next page depends on the API, and each rule only ever moves forward, so that a walk
//! ends:
//!
//! - [`PageNumber::next_by_total`]: the API reports the number of pages (a header such as
//!   WooCommerce's `X-WP-TotalPages`, or a field). There is a next page while this page is
//!   below the total and held at least one order; a total above the store's
//!   `max_pages_per_window` fails the walk at once, before fetching that many pages.
//! - [`PageNumber::next_if_full`]: the API says nothing of the total; a full page (as many
//!   rows as the page size asked for) may have a successor, a short one is the last.
//! - [`PageNumber::next_reported`]: the API names the next page; only a later page is
//!   followed.
//!
//! ```
//! use orderport_core::{PageNumber, PageToken};
//!
//! let first = PageNumber::from_token("store-1", None)?;
//! assert_eq!(first.get(), 1);
//! assert_eq!(first.next_if_full(100, 100), Some(PageToken::new("2")));
//! assert_eq!(first.next_if_full(99, 100), None);
//! let second = PageNumber::from_token("store-1", Some(&PageToken::new("2")))?;
//! assert_eq!(second.next_reported(Some(3)), Some(PageToken::new("3")));
//! assert_eq!(second.next_reported(Some(2)), None); // never backwards or in place
//! assert!(PageNumber::from_token("store-1", Some(&PageToken::new("next"))).is_err());
//! # Ok::<(), orderport_core::ChannelError>(())
//! ```

use crate::channel::{PageToken, StoreProfile, TimeWindow, WalkGuard};
use crate::error::ChannelError;

/// A page number, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageNumber(u32);

impl PageNumber {
    /// Page 1.
    pub const FIRST: Self = Self(1);

    /// The page a token stands for; no token is page 1. A token that is not a page number
    /// of at least 1 (one this type did not make) is a `Configuration` error on the store.
    pub fn from_token(store: &str, token: Option<&PageToken>) -> Result<Self, ChannelError> {
        let Some(token) = token else {
            return Ok(Self::FIRST);
        };
        token
            .as_str()
            .parse::<u32>()
            .ok()
            .filter(|page| *page >= 1)
            .map(Self)
            .ok_or_else(|| ChannelError::Configuration {
                store: store.to_owned(),
                field: "page token".into(),
                detail: format!(
                    "{:?} is not a page number; restart the walk without a token",
                    token.as_str().chars().take(40).collect::<String>()
                ),
            })
    }

    /// The number, from 1.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The token that stands for this page.
    pub fn token(self) -> PageToken {
        PageToken::new(self.0.to_string())
    }

    /// The next page's token, if there is a next page (none after `u32::MAX`).
    fn next(self) -> Option<PageToken> {
        self.0.checked_add(1).map(|n| Self(n).token())
    }

    /// The next page when the API reported `total` pages and this page held `rows` orders:
    /// one while this page is below the total and not empty (nothing follows an empty page,
    /// whatever the total says). A `total` above `store.max_pages_per_window` is the
    /// [`WalkGuard::too_many_pages`] error for `window`.
    pub fn next_by_total(
        self,
        total: u32,
        rows: usize,
        store: &StoreProfile,
        window: &TimeWindow,
    ) -> Result<Option<PageToken>, ChannelError> {
        if total > store.max_pages_per_window {
            return Err(WalkGuard::too_many_pages(
                &store.id,
                window,
                store.max_pages_per_window,
                format!("page {} reports {total} pages", self.0),
            ));
        }
        Ok(if self.0 < total && rows > 0 {
            self.next()
        } else {
            None
        })
    }

    /// The next page when the API does not report a total: one after a full page (`rows` at
    /// least `page_size`, which is at least 1), none after a short one.
    pub fn next_if_full(self, rows: usize, page_size: u32) -> Option<PageToken> {
        let full = page_size > 0 && rows >= usize::try_from(page_size).unwrap_or(usize::MAX);
        if full {
            self.next()
        } else {
            None
        }
    }

    /// The next page when the API names it: that page, if it comes after this one.
    pub fn next_reported(self, next: Option<u32>) -> Option<PageToken> {
        next.filter(|n| *n > self.0).map(|n| Self(n).token())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::{sample_store as store, sample_window as window};

    fn page(n: u32) -> PageNumber {
        PageNumber::from_token("spark-hq", Some(&PageNumber(n).token())).unwrap()
    }

    #[test]
    fn a_reported_total_ends_the_walk_at_the_total_or_at_an_empty_page() {
        let (s, w) = (store(100), window());
        assert_eq!(
            page(1).next_by_total(3, 10, &s, &w),
            Ok(Some(PageToken::new("2")))
        );
        assert_eq!(page(3).next_by_total(3, 10, &s, &w), Ok(None));
        assert_eq!(page(2).next_by_total(1, 10, &s, &w), Ok(None));
        assert_eq!(page(1).next_by_total(9, 0, &s, &w), Ok(None));
        assert_eq!(page(1).next_by_total(0, 0, &s, &w), Ok(None));
        assert_eq!(page(u32::MAX).next_if_full(5, 5), None);
    }

    #[test]
    fn a_total_above_the_page_limit_fails_at_once_naming_the_limit() {
        let error = page(1)
            .next_by_total(5000, 10, &store(100), &window())
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ChannelError::Protocol { .. }), "{error:?}");
        assert!(
            text.contains("store spark-hq") && text.contains("max_pages_per_window = 100"),
            "{text}"
        );
        assert!(text.contains("page 1 reports 5000 pages"), "{text}");
        assert!(page(1)
            .next_by_total(100, 10, &store(100), &window())
            .is_ok());
    }

    #[test]
    fn foreign_tokens_are_configuration_errors() {
        for text in ["", "0", "-1", "abc", "2/3", "99999999999"] {
            let error =
                PageNumber::from_token("spark-hq", Some(&PageToken::new(text))).unwrap_err();
            assert!(
                matches!(error, ChannelError::Configuration { .. }),
                "{text}"
            );
        }
        assert_eq!(
            PageNumber::from_token("spark-hq", None),
            Ok(PageNumber::FIRST)
        );
    }

    proptest! {
        /// Every rule only moves forward, and a token round-trips to its page.
        #[test]
        fn the_walk_only_moves_forward(n in 1u32.., rows in 0usize..500, size in 0u32..500, total in 0u32..1000, next in any::<Option<u32>>()) {
            let here = page(n);
            prop_assert_eq!(here.get(), n);
            let (s, w) = (store(1000), window());
            let candidates = [
                here.next_if_full(rows, size),
                here.next_reported(next),
                here.next_by_total(total, rows, &s, &w).unwrap(),
            ];
            for token in candidates.into_iter().flatten() {
                prop_assert!(PageNumber::from_token("spark-hq", Some(&token)).unwrap() > here);
            }
        }
    }
}
