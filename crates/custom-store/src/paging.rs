//! Page tokens of an export walk.
//!
//! A [`PageToken`]'s content is `"{next}/{total}"`, such as `2/3`: the page to fetch and the
//! page count known so far. No token means page 1 with nothing known. The count page 1 reports is
//! authoritative; when a later page reports a different count, the larger one is used, so that a
//! store that grows during the walk is still read to its end.

use orderport_core::PageToken;

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

    /// The page count after this page reported `reported`, and the token of the next page, if
    /// any.
    pub fn advance(self, reported: u32) -> (u32, Option<PageToken>) {
        let total = self
            .known_total
            .map_or(reported, |known| known.max(reported));
        let next =
            (self.page < total).then(|| PageToken::new(format!("{}/{total}", self.page + 1)));
        (total, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_page_sets_the_count() {
        let first = PageCursor::from_token(None).unwrap();
        assert_eq!(first.page, 1);
        let (total, next) = first.advance(3);
        assert_eq!(total, 3);
        assert_eq!(next, Some(PageToken::new("2/3")));
        assert_eq!(first.advance(1).1, None);
        assert_eq!(first.advance(0).1, None);
    }

    #[test]
    fn later_pages_use_the_larger_count() {
        let second = PageCursor::from_token(Some(&PageToken::new("2/3"))).unwrap();
        assert_eq!(second.page, 2);
        // A missing attribute (1) or a shrinking count does not cut the walk short.
        assert_eq!(second.advance(1), (3, Some(PageToken::new("3/3"))));
        assert_eq!(second.advance(4), (4, Some(PageToken::new("3/4"))));
        let last = PageCursor::from_token(Some(&PageToken::new("3/3"))).unwrap();
        assert_eq!(last.advance(3), (3, None));
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
