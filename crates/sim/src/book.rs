//! A store's order book: the generated orders, a time index of their events, the changes made
//! to them while the simulator runs, and the window queries every endpoint answers from.
//!
//! # How a window is answered
//!
//! An order's *state as of now* is its latest event at or before the clock's time; its
//! `LastModified` is that event's time, and it is invisible before it was placed. The index
//! holds every timeline event sorted by time, once. A query binary-searches the index for the
//! events in the window's time range and keeps each event that is its order's latest as of now,
//! so it costs the number of events in the range, not the size of the book. Orders changed at
//! run time (shipments, status updates, the `shift_during_walk` fault) are few and are checked
//! one by one. The last few results are cached under a key that changes whenever the answer
//! could (the window, how many events the clock has passed, the changes), so that the pages of
//! one walk are cut from one sorted list, as a database's LIMIT/OFFSET would.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::generator::{Canonical, SimOrder};

/// How many query results a book keeps.
const CACHE_SIZE: usize = 4;

/// The widest gap between a wall-clock time and UTC in any zone, with room to spare.
const MAX_OFFSET: Duration = Duration::hours(26);

/// A change made to an order while the simulator runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Edited without a status change (the `shift_during_walk` fault).
    Touched,
    /// A shipment was pushed: the order is shipped, with this tracking number.
    Shipped { tracking_number: String },
    /// Order Time's `PUT /shipdoc` set this status.
    Status { name: String },
}

impl Change {
    /// Whether the change ends the generated timeline (the store now decides the order's
    /// fate, not the generator).
    fn is_terminal(&self) -> bool {
        !matches!(self, Change::Touched)
    }
}

/// The status an order shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// A canonical state, written in the flavour's spelling.
    Canonical(Canonical),
    /// A status string set by a client.
    Raw(String),
}

/// An order as of the clock's time.
#[derive(Clone, Debug)]
pub(crate) struct OrderState {
    /// Its status.
    pub status: Status,
    /// Its last modification.
    pub modified: DateTime<Utc>,
    /// The tracking number of the last shipment pushed, if any.
    pub tracking_number: Option<String>,
}

/// The bounds of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Bounds {
    /// Wall-clock bounds in the store's zone, compared with the wall-clock modification time
    /// as a store's database compares local datetimes; both inclusive, either open.
    Wall {
        lo: Option<NaiveDateTime>,
        hi: Option<NaiveDateTime>,
    },
    /// UTC bounds, both inclusive.
    Instant {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// One row of a query: an order and its last modification, as of the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub index: u32,
    pub modified: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IndexEntry {
    at: DateTime<Utc>,
    order: u32,
    event: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    bounds: Bounds,
    /// How many indexed events are at or before the clock's time.
    passed: usize,
    /// The changes' version and how many of them are at or before the clock's time.
    version: u64,
    changes_passed: usize,
}

#[derive(Debug, Default)]
struct Dynamic {
    changes: BTreeMap<u32, Vec<(DateTime<Utc>, Change)>>,
    version: u64,
    cache: Vec<(CacheKey, Arc<Vec<Row>>)>,
}

/// A store's orders.
#[derive(Debug)]
pub(crate) struct Book {
    tz: Tz,
    orders: Vec<SimOrder>,
    by_number: HashMap<String, u32>,
    index: Vec<IndexEntry>,
    dynamic: Mutex<Dynamic>,
}

impl Book {
    /// A book of `orders` (in placement order) kept in zone `tz`.
    pub fn new(tz: Tz, orders: Vec<SimOrder>) -> Self {
        let mut index: Vec<IndexEntry> = orders
            .iter()
            .enumerate()
            .flat_map(|(i, order)| {
                order
                    .events
                    .iter()
                    .enumerate()
                    .map(move |(k, (at, _))| IndexEntry {
                        at: *at,
                        order: i as u32,
                        event: k as u8,
                    })
            })
            .collect();
        index.sort_unstable_by_key(|e| (e.at, e.order, e.event));
        let by_number = orders
            .iter()
            .enumerate()
            .map(|(i, o)| (o.number.clone(), i as u32))
            .collect();
        Self {
            tz,
            orders,
            by_number,
            index,
            dynamic: Mutex::new(Dynamic::default()),
        }
    }

    /// The store server's zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Every order, in placement order.
    pub fn orders(&self) -> &[SimOrder] {
        &self.orders
    }

    /// The order at `index`.
    pub fn order(&self, index: u32) -> &SimOrder {
        &self.orders[index as usize]
    }

    /// The index of the order with this number.
    pub fn find(&self, number: &str) -> Option<u32> {
        self.by_number.get(number.trim()).copied()
    }

    fn lock(&self) -> MutexGuard<'_, Dynamic> {
        // Every write to `Dynamic` completes before the guard drops; a panic cannot leave it
        // half-written, so a poisoned lock is still consistent.
        self.dynamic.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a change to order `index` at `at`.
    pub fn change(&self, index: u32, at: DateTime<Utc>, change: Change) {
        let mut dynamic = self.lock();
        let list = dynamic.changes.entry(index).or_default();
        list.push((at, change));
        list.sort_by_key(|(t, _)| *t);
        dynamic.version += 1;
        dynamic.cache.clear();
    }

    /// Order `index` as of `now`, or `None` before it was placed.
    pub fn state(&self, index: u32, now: DateTime<Utc>) -> Option<OrderState> {
        let dynamic = self.lock();
        self.state_with(index, now, dynamic.changes.get(&index).map(Vec::as_slice))
    }

    fn state_with(
        &self,
        index: u32,
        now: DateTime<Utc>,
        changes: Option<&[(DateTime<Utc>, Change)]>,
    ) -> Option<OrderState> {
        let order = self.order(index);
        let changes = changes.unwrap_or_default();
        // A terminal change ends the generated timeline.
        let cut = changes
            .iter()
            .filter(|(_, c)| c.is_terminal())
            .map(|(t, _)| *t)
            .min();
        let mut modified: Option<DateTime<Utc>> = None;
        let mut status: Option<(DateTime<Utc>, Status)> = None;
        for (at, stage) in &order.events {
            if *at > now || cut.is_some_and(|c| *at >= c) {
                break;
            }
            modified = Some(*at);
            status = Some((*at, Status::Canonical(stage.status())));
        }
        let mut tracking_number = None;
        for (at, change) in changes.iter().filter(|(t, _)| *t <= now) {
            modified = Some(modified.map_or(*at, |m| m.max(*at)));
            let new_status = match change {
                Change::Touched => None,
                Change::Shipped { tracking_number: t } => {
                    tracking_number = Some(t.clone());
                    Some(Status::Canonical(Canonical::Shipped))
                }
                Change::Status { name } => Some(Status::Raw(name.clone())),
            };
            if let Some(new_status) = new_status {
                if status.as_ref().is_none_or(|(t, _)| *t <= *at) {
                    status = Some((*at, new_status));
                }
            }
        }
        // Changes to an order not yet placed do not make it visible.
        if order.placed_at() > now {
            return None;
        }
        Some(OrderState {
            status: status.map_or(Status::Canonical(Canonical::AwaitingPayment), |(_, s)| s),
            modified: modified?,
            tracking_number,
        })
    }

    /// Whether a modification time is within `bounds`.
    fn within(&self, bounds: &Bounds, modified: DateTime<Utc>) -> bool {
        match bounds {
            Bounds::Wall { lo, hi } => {
                let wall = modified.with_timezone(&self.tz).naive_local();
                lo.is_none_or(|lo| wall >= lo) && hi.is_none_or(|hi| wall <= hi)
            }
            Bounds::Instant { from, to } => modified >= *from && modified <= *to,
        }
    }

    /// The orders whose last modification as of `now` is within `bounds`, sorted by that time
    /// and then by placement (ascending).
    pub fn rows(&self, bounds: Bounds, now: DateTime<Utc>) -> Arc<Vec<Row>> {
        let passed = self.index.partition_point(|e| e.at <= now);
        let mut dynamic = self.lock();
        let key = CacheKey {
            bounds,
            passed,
            version: dynamic.version,
            changes_passed: dynamic
                .changes
                .values()
                .flatten()
                .filter(|(t, _)| *t <= now)
                .count(),
        };
        if let Some((_, rows)) = dynamic.cache.iter().find(|(k, _)| *k == key) {
            return Arc::clone(rows);
        }
        let rows = Arc::new(self.compute(&bounds, now, passed, &dynamic.changes));
        if dynamic.cache.len() >= CACHE_SIZE {
            dynamic.cache.remove(0);
        }
        dynamic.cache.push((key, Arc::clone(&rows)));
        rows
    }

    fn compute(
        &self,
        bounds: &Bounds,
        now: DateTime<Utc>,
        passed: usize,
        changes: &BTreeMap<u32, Vec<(DateTime<Utc>, Change)>>,
    ) -> Vec<Row> {
        // A UTC range that holds every instant whose wall-clock time is within the bounds.
        let (from, to) = match *bounds {
            Bounds::Wall { lo, hi } => (
                lo.map(|lo| lo.and_utc() - MAX_OFFSET),
                hi.map(|hi| hi.and_utc() + MAX_OFFSET),
            ),
            Bounds::Instant { from, to } => (Some(from), Some(to)),
        };
        let start = from.map_or(0, |from| self.index.partition_point(|e| e.at < from));
        let end = to.map_or(passed, |to| {
            self.index.partition_point(|e| e.at <= to).min(passed)
        });
        let mut rows: Vec<Row> = Vec::new();
        for entry in self.index.get(start..end.max(start)).unwrap_or_default() {
            if changes.contains_key(&entry.order) {
                continue;
            }
            let events = &self.order(entry.order).events;
            let latest = events
                .get(usize::from(entry.event) + 1)
                .is_none_or(|(next, _)| *next > now);
            if latest && self.within(bounds, entry.at) {
                rows.push(Row {
                    index: entry.order,
                    modified: entry.at,
                });
            }
        }
        for (index, list) in changes {
            if let Some(state) = self.state_with(*index, now, Some(list)) {
                if self.within(bounds, state.modified) {
                    rows.push(Row {
                        index: *index,
                        modified: state.modified,
                    });
                }
            }
        }
        rows.sort_unstable_by_key(|r| (r.modified, r.index));
        rows
    }
}

#[cfg(test)]
mod tests;
