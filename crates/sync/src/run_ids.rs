//! What one run remembers of the orders it has seen: bounded sets of hashed order ids.
//!
//! A run must not grow with a store's history, so each set is hashed (8 bytes an order) and
//! bounded: past its bound it saturates and answers "maybe" for every id. Every question is
//! asked so that "maybe" is the safe answer (a re-fetch, a lookup), and a hash collision can
//! only turn a "no" into a "maybe".

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use orderport_core::Rejection;

use crate::state::OrderLookup;

/// At most this many order ids are remembered by [`ListedIds`]; past it, every order in the
/// overlap counts as listed.
pub(crate) const LISTED_LIMIT: usize = 200_000;

/// At most this many order ids are remembered by [`WrittenIds`] (under 1 MiB per run, so 64
/// runs in flight stay within a worker's memory goal); past it, every page is looked up.
pub(crate) const WRITTEN_LIMIT: usize = 50_000;

/// A bounded set of hashed order ids: [`IdSet::may_contain`] is true for every id inserted,
/// and for others only by a hash collision or once the set is saturated (more than its limit
/// inserted).
#[derive(Debug)]
pub(crate) struct IdSet {
    ids: HashSet<u64>,
    limit: usize,
    saturated: bool,
}

impl IdSet {
    /// An empty set that saturates past `limit` ids.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            ids: HashSet::new(),
            limit,
            saturated: false,
        }
    }

    /// The hash an id is remembered by.
    pub(crate) fn key(external_id: &str) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        external_id.hash(&mut h);
        h.finish()
    }

    /// Whether `external_id` may have been inserted.
    pub(crate) fn may_contain(&self, external_id: &str) -> bool {
        self.saturated || self.ids.contains(&Self::key(external_id))
    }

    /// Remembers `external_id` (or saturates, past the limit).
    pub(crate) fn insert(&mut self, external_id: &str) {
        if self.saturated {
            return;
        }
        if self.ids.len() >= self.limit {
            self.saturated = true;
            self.ids = HashSet::new();
            return;
        }
        self.ids.insert(Self::key(external_id));
    }
}

/// The ids of the orders this run's walks listed with a modification time at or before
/// `until` (the watermark the run started from, plus the cover margin): the overlap, where an
/// order may have been stored by an earlier run rather than listed by this one. Past
/// [`LISTED_LIMIT`], every order counts as listed, which only costs re-fetches.
#[derive(Debug)]
pub(crate) struct ListedIds {
    until: Option<DateTime<Utc>>,
    ids: IdSet,
}

impl ListedIds {
    /// Remembering the orders listed at or before `until` (none when `None`).
    pub(crate) fn new(until: Option<DateTime<Utc>>) -> Self {
        Self {
            until,
            ids: IdSet::new(LISTED_LIMIT),
        }
    }

    /// Whether this run may have listed the order when its modification time was `at`:
    /// certainly after `until` (no earlier run stored orders there), else if its id was seen.
    pub(crate) fn may_have_listed(&self, external_id: &str, at: DateTime<Utc>) -> bool {
        match self.until {
            Some(until) if at <= until => self.ids.may_contain(external_id),
            _ => true,
        }
    }

    /// Notes an order listed at `at`.
    pub(crate) fn note(&mut self, external_id: &str, at: DateTime<Utc>) {
        if self.until.is_some_and(|until| at <= until) {
            self.ids.insert(external_id);
        }
    }
}

/// For a run that found its store blank ([`crate::State::is_blank`]): the orders it has
/// written since. Every other order of the store is unstored (the run holds the store's lease,
/// and only a lease holder stores orders), so a page of orders none of which
/// [`WrittenIds::may_have_written`] needs no lookup. Past [`WRITTEN_LIMIT`], every order may
/// have been written, and every page is looked up again.
#[derive(Debug)]
pub(crate) struct WrittenIds {
    ids: IdSet,
}

impl Default for WrittenIds {
    fn default() -> Self {
        Self {
            ids: IdSet::new(WRITTEN_LIMIT),
        }
    }
}

impl WrittenIds {
    /// Whether this run may have written the order.
    pub(crate) fn may_have_written(&self, external_id: &str) -> bool {
        self.ids.may_contain(external_id)
    }

    /// Notes an order written (or about to be, by the page being committed).
    pub(crate) fn note(&mut self, external_id: &str) {
        self.ids.insert(external_id);
    }
}

/// At most this many rejected orders are remembered by [`QuarantinedIds`]; past it, every page
/// releases all its orders from quarantine.
pub(crate) const QUARANTINED_LIMIT: usize = 50_000;

/// For a run that found nothing of its store quarantined
/// ([`crate::State::quarantine_is_empty`]): the orders it has quarantined since, by external id
/// and by order number (the two keys a release deletes). Only the lease holder's commits
/// quarantine a store's orders, so no other order of the store is in quarantine, and a page
/// need release only those of its orders that [`QuarantinedIds::may_hold`]. Past
/// [`QUARANTINED_LIMIT`], every order may be held, and every page releases all its orders.
#[derive(Debug)]
pub(crate) struct QuarantinedIds {
    ids: IdSet,
    numbers: IdSet,
}

impl Default for QuarantinedIds {
    fn default() -> Self {
        Self {
            ids: IdSet::new(QUARANTINED_LIMIT),
            numbers: IdSet::new(QUARANTINED_LIMIT),
        }
    }
}

impl QuarantinedIds {
    /// Whether this run may have quarantined the order: by its external id or its number.
    pub(crate) fn may_hold(&self, order: &OrderLookup) -> bool {
        self.ids.may_contain(&order.external_id) || self.numbers.may_contain(&order.order_number)
    }

    /// Notes an order quarantined (or about to be, by the page being committed), by what of
    /// its external id and number could be read.
    pub(crate) fn note(&mut self, rejection: &Rejection) {
        if let Some(id) = &rejection.external_id {
            self.ids.insert(id);
        }
        if let Some(number) = &rejection.order_number {
            self.numbers.insert(number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        /// Never a "no" for an id inserted, whatever else was inserted.
        #[test]
        fn an_inserted_id_is_always_maybe(ids in proptest::collection::vec("[a-z0-9]{1,12}", 1..200)) {
            let mut set = IdSet::new(LISTED_LIMIT);
            for id in &ids {
                set.insert(id);
            }
            for id in &ids {
                prop_assert!(set.may_contain(id));
            }
        }
    }

    proptest! {
        /// Every order quarantined, by what of its id and number could be read, may be held
        /// when it comes back under that id or that number, whatever else was quarantined: a
        /// release is never skipped for an order the run quarantined.
        #[test]
        fn a_quarantined_order_is_always_released(
            rejected in proptest::collection::vec(
                (proptest::option::of("[a-z0-9]{1,8}"), proptest::option::of("#[0-9]{1,6}")),
                1..100,
            ),
            other in "[a-z0-9]{1,8}",
        ) {
            let mut quarantined = QuarantinedIds::default();
            for (id, number) in &rejected {
                quarantined.note(&Rejection {
                    store_id: "s".into(),
                    external_id: id.clone(),
                    order_number: number.clone(),
                    reasons: Vec::new(),
                });
            }
            for (id, number) in &rejected {
                if let Some(id) = id {
                    let back = OrderLookup { external_id: id.clone(), order_number: other.clone() };
                    prop_assert!(quarantined.may_hold(&back), "by id {id}");
                }
                if let Some(number) = number {
                    let back = OrderLookup { external_id: other.clone(), order_number: number.clone() };
                    prop_assert!(quarantined.may_hold(&back), "by number {number}");
                }
            }
        }
    }

    #[test]
    fn quarantined_ids_hold_only_what_was_noted_until_the_limit() {
        let mut quarantined = QuarantinedIds::default();
        let lookup = |id: &str, number: &str| OrderLookup {
            external_id: id.into(),
            order_number: number.into(),
        };
        assert!(!quarantined.may_hold(&lookup("A-1", "#1")));
        quarantined.note(&Rejection {
            store_id: "s".into(),
            external_id: None,
            order_number: Some("#1".into()),
            reasons: Vec::new(),
        });
        assert!(quarantined.may_hold(&lookup("A-1", "#1")), "by number");
        assert!(!quarantined.may_hold(&lookup("A-2", "#2")));
        for i in 0..=QUARANTINED_LIMIT {
            quarantined.note(&Rejection {
                store_id: "s".into(),
                external_id: Some(format!("X-{i}")),
                order_number: None,
                reasons: Vec::new(),
            });
        }
        assert!(
            quarantined.may_hold(&lookup("A-2", "#2")),
            "past the limit every order is released"
        );
    }

    #[test]
    fn an_id_never_inserted_is_no_until_the_set_saturates() {
        let mut set = IdSet::new(1_000);
        set.insert("A-1");
        assert!(!set.may_contain("A-2"));
        for i in 0..1_000 {
            set.insert(&format!("X-{i}"));
        }
        assert!(set.may_contain("A-2"), "saturated: every id is a maybe");
        assert!(set.may_contain("A-1"));
    }

    #[test]
    fn listed_ids_remember_only_the_overlap() {
        let until = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single();
        let mut listed = ListedIds::new(until);
        let before = Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        assert!(!listed.may_have_listed("A-1", before));
        listed.note("A-1", before);
        assert!(listed.may_have_listed("A-1", before));
        assert!(!listed.may_have_listed("A-2", before));
        // After `until` no earlier run stored it: always listed by this one.
        assert!(listed.may_have_listed("A-2", after));
    }

    #[test]
    fn written_ids_say_no_only_for_orders_never_noted_until_the_limit() {
        let mut written = WrittenIds::default();
        assert!(!written.may_have_written("A-1"));
        written.note("A-1");
        assert!(written.may_have_written("A-1"));
        assert!(!written.may_have_written("A-2"));
        for i in 0..WRITTEN_LIMIT {
            written.note(&format!("X-{i}"));
        }
        assert!(
            written.may_have_written("A-2"),
            "past the limit every page is looked up"
        );
    }
}
