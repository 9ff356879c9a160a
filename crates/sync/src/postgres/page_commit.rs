//! A group's page commits as one transaction: the pages of several stores, each checked
//! against its lease's fencing token, written by the same few statements.
//!
//! A page of a first sync holds about twenty orders, and most of what a commit costs the server
//! is per statement, not per row (docs/performance.md, "Group commit"): so the pages that wait
//! together in a state's [`super::commit_queue`] are committed together, each statement taking
//! every page's rows at once (`unnest` of one array per column). A group is atomic as a whole:
//! when any of its checks fails, nothing of it is written, and the queue commits each page of
//! it alone to find out which one failed and why. A group of one page is a page commit as
//! [`crate::State::commit_page`] describes it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{ClientWrapper, Object};
use orderport_core::CanonicalStatus;
use tokio_postgres::types::ToSql;

use super::codec::{describe, ns, Ctx, REFUSED};
use super::pipeline::{run, Step};
use super::platform::mark_columns;
use crate::codec::{
    changed_since_read, key_ref, no_longer_blank, order_key, quarantine_entry,
    unstored_event_order, KeyRef, WALK_RETENTION_DAYS,
};
use crate::error::StateError;
use crate::event::NewEvent;
use crate::packed::check_packed;
use crate::state::{Lease, OrderWrite, PageCommit, QuarantineWrite, SliceDone, WalkRecord};

/// One page of a group: the lease it is written under and its orders packed by
/// [`crate::packed::pack_page`].
#[derive(Debug)]
pub(super) struct Member {
    /// The lease the page is written under: its fencing token is checked.
    pub(super) lease: Lease,
    /// The page.
    pub(super) page: PageCommit,
    /// Its orders, packed, in the page's order.
    pub(super) packed: Vec<Vec<u8>>,
}

impl Member {
    /// The store the page belongs to.
    pub(super) fn store(&self) -> &str {
        &self.lease.store_id
    }
}

/// Locks the lease row of each store for the rest of the transaction and refuses the group
/// (`orderport_refuse`, naming the first store in the order given) unless each is still the
/// owner's with the token given: `$1`…`$3` the stores, owners and tokens. The rows are locked
/// in the order given, which [`commit`] makes the stores' (byte-wise) order, so two groups
/// never wait for each other's lease rows in a cycle.
const CHECK_LEASES: &str = "
    SELECT orderport_refuse('the lease is no longer this worker''s', x.store_id)
    FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY
         AS x (store_id, owner, token, i)
    LEFT JOIN LATERAL (
        SELECT token FROM leases WHERE store_id = x.store_id AND owner = x.owner FOR UPDATE
    ) l ON true
    WHERE l.token IS DISTINCT FROM x.token";

/// Locks the rows of the orders the pages replace and refuses the group (`orderport_refuse`,
/// naming the first, in the order given) unless each still has the status and mark the
/// engine read (an order no longer stored is refused too): `$1`…`$3` the keys, `$4`…`$6` the
/// status, mark and hold's end expected.
const CHECK_REPLACED: &str = "
    SELECT orderport_refuse('an order changed since the engine read it', r.external_id)
    FROM (
        SELECT x.external_id
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
             WITH ORDINALITY AS x (store_id, external_id, channel, status, platform,
                                   hold_until_ns, i)
        LEFT JOIN LATERAL (
            SELECT status, platform, hold_until_ns FROM orders
            WHERE store_id = x.store_id AND external_id = x.external_id
              AND channel = x.channel
            FOR UPDATE
        ) o ON true
        WHERE o.status IS DISTINCT FROM x.status OR o.platform IS DISTINCT FROM x.platform
           OR o.hold_until_ns IS DISTINCT FROM x.hold_until_ns
        ORDER BY x.i
        LIMIT 1
    ) r";

/// For the pages committed as [`PageCommit::assumes_blank`], the server refusing the group
/// (`orderport_refuse`) when one of their stores has a shipment: `$1` those stores. That none
/// of their orders is stored, the unique key of `orders` checks as [`INSERT_BLANK`] inserts
/// them.
const CHECK_BLANK: &str = "
    SELECT orderport_refuse('the store is no longer blank', 'a shipment')
    FROM (SELECT 1
          FROM unnest($1::text[]) AS s (store_id)
          WHERE EXISTS (SELECT 1 FROM shipments WHERE store_id = s.store_id)
          LIMIT 1) f";

/// Inserting orders, in the order given (`seq` is assigned in that order): `$1` now, then
/// one array per column ([`order_columns`]). The start of [`UPSERT_ORDERS`] and
/// [`INSERT_BLANK`].
macro_rules! insert_orders {
    () => {
        "
    INSERT INTO orders (store_id, external_id, channel, order_number, store_name, status,
        modified_ns, content_hash, order_packed, platform, hold_until_ns, first_seen_ns,
        updated_ns)
    SELECT u.store_id, u.external_id, u.channel, u.order_number, u.store_name, u.status,
        u.modified_ns, u.content_hash, u.order_packed, u.platform, u.hold_until_ns, $1, $1
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::bigint[], $9::text[], $10::bytea[], $11::text[], $12::bigint[])
         WITH ORDINALITY AS u (store_id, external_id, channel, order_number, store_name,
                               status, modified_ns, content_hash, order_packed, platform,
                               hold_until_ns, i)
    ORDER BY u.i"
    };
}

/// Inserting the events of `keyed` that have their order's `seq` and pass `$filter`, in the
/// order given; `$1` is now. The end of [`APPEND_EVENTS`] and [`INSERT_BLANK`].
macro_rules! insert_events {
    ($filter:literal) => {
        concat!(
            "
        INSERT INTO events (order_seq, store_id, from_status, to_status, raw_status, at_ns,
            label, backfill, recorded_ns)
        SELECT seq, store_id, from_status, to_status, raw_status, at_ns, label, backfill, $1
        FROM keyed WHERE seq IS NOT NULL",
            $filter,
            "
        ORDER BY i"
        )
    };
}

/// The statement upserting the general pages' orders, in the order given (`seq` is assigned
/// in that order): `$1` now, then one array per column.
const UPSERT_ORDERS: &str = concat!(
    insert_orders!(),
    "
    ON CONFLICT (store_id, external_id, channel) DO UPDATE SET
        order_number = excluded.order_number, store_name = excluded.store_name,
        status = excluded.status, modified_ns = excluded.modified_ns,
        content_hash = excluded.content_hash, order_packed = excluded.order_packed,
        platform = excluded.platform, hold_until_ns = excluded.hold_until_ns,
        updated_ns = excluded.updated_ns"
);

/// The statement appending the general pages' events in the order given, each to its order
/// found by key (`seq` from a row this transaction wrote, or one stored before); an event
/// already in the outbox (same order, status and time) is not written twice. The server
/// refuses (`orderport_refuse`) a group with an event whose order is not stored, naming the
/// first: the group is rolled back, its events with it. `$1` now, then one array per column
/// ([`event_columns`]; the last, whether the event's page is a first sync's).
pub(super) const APPEND_EVENTS: &str = concat!(
    "
    WITH e AS (
        SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::bigint[], $9::bool[], $10::bool[])
            WITH ORDINALITY
            AS e (store_id, external_id, channel, from_status, to_status, raw_status, at_ns,
                  label, backfill, i)
    ), keyed AS (
        SELECT e.*, o.seq FROM e
        LEFT JOIN LATERAL (
            SELECT seq FROM orders
            WHERE store_id = e.store_id AND external_id = e.external_id AND channel = e.channel
            LIMIT 1
        ) o ON true
    ), appended AS (",
    insert_events!(""),
    "
        ON CONFLICT (order_seq, to_status, at_ns) DO NOTHING
    )
    SELECT orderport_refuse('an event names an order neither stored nor in the page',
                            u.external_id)
    FROM (SELECT external_id FROM keyed WHERE seq IS NULL ORDER BY i LIMIT 1) u"
);

/// The statement writing the pages committed as [`PageCommit::assumes_blank`]: their orders
/// inserted (`$1` now, `$2`…`$12` one array per column, as [`UPSERT_ORDERS`]), and their
/// events (`$13`…`$21`, as [`APPEND_EVENTS`]'s `$2`…`$10`) appended with the `seq` of their
/// orders as the insert returns them.
///
/// A first sync's pages are such pages, and what they assume makes most of a general commit's
/// work needless: none of their orders is stored, so there is nothing to look up, lock or
/// update, and no event of an order inserted now can be in the outbox already. So the orders
/// are plainly inserted (an order stored since the run found the store blank fails the
/// statement on the unique key of `orders`: the page is refused, [`blank_refusal`]), and the
/// events find their orders among the rows inserted instead of looking each up in the index
/// (docs/performance.md, "A blank store's page as one insert, again"). An event of an order
/// not in its page is written as [`APPEND_EVENTS`] writes it: to the order stored before
/// (unless the outbox has it), else refused, naming the order.
const INSERT_BLANK: &str = concat!(
    "
    WITH inserted AS (",
    insert_orders!(),
    "
        RETURNING seq, store_id, external_id, channel
    ), keyed AS (
        SELECT e.*, o.seq IS NOT NULL AS fresh,
            COALESCE(o.seq, (SELECT seq FROM orders
                             WHERE store_id = e.store_id AND external_id = e.external_id
                               AND channel = e.channel
                             LIMIT 1)) AS seq
        FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                    $18::text[], $19::bigint[], $20::bool[], $21::bool[])
             WITH ORDINALITY
             AS e (store_id, external_id, channel, from_status, to_status, raw_status, at_ns,
                   label, backfill, i)
        LEFT JOIN inserted o ON o.store_id = e.store_id AND o.external_id = e.external_id
                            AND o.channel = e.channel
    ), appended AS (",
    insert_events!(
        "
            AND (fresh OR NOT EXISTS (SELECT 1 FROM events x
                                         WHERE x.order_seq = keyed.seq
                                           AND x.to_status = keyed.to_status
                                           AND x.at_ns = keyed.at_ns))"
    ),
    "
    )
    SELECT orderport_refuse('an event names an order neither stored nor in the page',
                            u.external_id)
    FROM (SELECT external_id FROM keyed WHERE seq IS NULL ORDER BY i LIMIT 1) u"
);

/// The unique key of `orders` (`UNIQUE (store_id, external_id, channel)` of schema version
/// 1, named by PostgreSQL's default).
const ORDERS_KEY: &str = "orders_store_id_external_id_channel_key";

/// The statement moving the stores' watermarks to the ends of their slices (`GREATEST`: a
/// watermark never moves back) and keeping each one's first backfill bound: `$1` now, `$2`…`$4`
/// the stores (each once), the ends and the bounds.
const ADVANCE_CURSORS: &str = "
    INSERT INTO cursors (store_id, watermark_ns, updated_ns, backfill_until_ns)
    SELECT x.store_id, x.watermark_ns, $1, x.backfill_until_ns
    FROM unnest($2::text[], $3::bigint[], $4::bigint[])
         AS x (store_id, watermark_ns, backfill_until_ns)
    ON CONFLICT (store_id) DO UPDATE SET
        watermark_ns = GREATEST(cursors.watermark_ns, excluded.watermark_ns),
        updated_ns = excluded.updated_ns,
        backfill_until_ns = COALESCE(cursors.backfill_until_ns, excluded.backfill_until_ns)";

/// Commits `group` in one transaction on `client`, and gives the connection back. The pages
/// must be of distinct stores, in the stores' byte-wise order (see [`CHECK_LEASES`]); a group
/// that is not is refused before anything is sent.
///
/// One pipeline of prepared statements from `BEGIN` to `COMMIT` ([`run`]): one round trip.
/// In the order sent: the checks, made by the server (each lease's fencing token under its row
/// lock, the replaced orders as the engine read them under their row locks, and no shipment
/// for the stores assumed blank); the orders and events of the pages assuming a blank store
/// in one statement ([`INSERT_BLANK`]: inserted, so that an order stored meanwhile fails the
/// unique key); the other pages' orders in one statement; each page's orders released from
/// quarantine and re-fetch windows queued; the rejected orders; the cursors; each page's
/// re-fetch window finished; the walks; the other pages' events, which find their orders by
/// key (the server refusing an event for an order not stored). A refusal rolls everything
/// back.
///
/// An error of a group of one page names what failed ([`StateError::LeaseLost`],
/// [`StateError::Conflict`]); one of a larger group says only that the group was not
/// committed, its subject any of its pages'.
pub(super) async fn commit(client: Object, group: &[Member]) -> Result<Object, StateError> {
    for m in group {
        check_packed(m.store(), &m.page, &m.packed)?;
    }
    if let Some(pair) = group.windows(2).find(|p| p[0].store() >= p[1].store()) {
        return Err(StateError::Backend {
            store: pair[1].store().to_owned(),
            operation: "commit a page",
            detail: "a group's pages are not of distinct stores in order; this is a bug in \
                     orderport, please report it"
                .into(),
        });
    }
    let lead = lead(group).to_owned();
    let now = ns(Utc::now());
    // Every statement is prepared before `BEGIN` is sent (a round trip only the first time on
    // a connection), so that the steps are sent back to back.
    let steps = group_steps(&client, group, now).await?;
    run(&client, &lead, "commit a page", steps).await?;
    Ok(client)
}

/// The steps of a group's commit, in the order they must run (see [`commit`]).
async fn group_steps<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
    now: i64,
) -> Result<Vec<Step<'a>>, StateError> {
    let (blank, general): (Vec<&'a Member>, Vec<&'a Member>) =
        group.iter().partition(|m| m.page.assumes_blank);
    let mut steps: Vec<Step<'a>> = vec![check_leases(c, group).await?];
    if let Some(step) = check_replaced(c, group).await? {
        steps.push(step);
    }
    if let Some(step) = check_blank(c, &blank).await? {
        steps.push(step);
    }
    if let Some(step) = insert_blank(c, &blank, now).await? {
        steps.push(step);
    }
    if let Some(step) = upsert_orders(c, &general, now).await? {
        steps.push(step);
    }
    for m in group {
        steps.extend(rare_writes(c, m.store(), &m.page).await?);
    }
    if let Some(step) = quarantine(c, group, now).await? {
        steps.push(step);
    }
    if let Some(step) = advance_cursors(c, group, now).await? {
        steps.push(step);
    }
    for m in group {
        steps.extend(refetch_ends(c, m.store(), &m.page).await?);
    }
    steps.extend(record_walks(c, group).await?);
    if let Some(step) = append_events(c, &general, now).await? {
        steps.push(step);
    }
    Ok(steps)
}

/// The store an error of a group's statement is reported for: its only page's, or (a larger
/// group's error being only that it was not committed) its first page's.
fn lead(group: &[Member]) -> &str {
    group.first().map_or("*", Member::store)
}

/// A statement's parameters, owned by the step that sends them.
type Params<'a> = Vec<Box<dyn ToSql + Sync + Send + 'a>>;

/// One parameter of a statement.
fn param<'a, T: ToSql + Sync + Send + 'a>(value: T) -> Box<dyn ToSql + Sync + Send + 'a> {
    Box::new(value)
}

/// How a statement's refusal by the server (`orderport_refuse`) becomes an error: from the
/// store an error is reported for and the subject the server named.
type Refusal = fn(&str, &str) -> StateError;

/// The step of `sql` with `params`: prepared now (a round trip only the first time on a
/// connection), sent when first polled. Its errors are `operation`'s for `store`; a refusal is
/// `refused`'s, where the statement may refuse.
async fn step<'a>(
    c: &'a ClientWrapper,
    sql: &'static str,
    params: Params<'a>,
    (store, operation): (&'a str, &'static str),
    refused: Option<Refusal>,
) -> Result<Step<'a>, StateError> {
    step_answered(c, sql, params, (store, operation), move |sent| {
        match refused {
            Some(refusal) => sent.ctx_refused(store, operation, |subject| refusal(store, subject)),
            None => sent.ctx(store, operation),
        }
        .map(drop)
    })
    .await
}

/// As [`step`], its statement's answer (the rows it wrote, or the driver's error) made the
/// step's outcome by `answer`: for a statement whose errors say more than a refusal.
async fn step_answered<'a>(
    c: &'a ClientWrapper,
    sql: &'static str,
    params: Params<'a>,
    (store, operation): (&'a str, &'static str),
    answer: impl FnOnce(Result<u64, tokio_postgres::Error>) -> Result<(), StateError> + Send + 'a,
) -> Result<Step<'a>, StateError> {
    let stmt = c.prepare_cached(sql).await.ctx(store, operation)?;
    Ok(Box::pin(async move {
        let values: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        answer(c.execute(&stmt, &values).await)
    }))
}

/// The lease check ([`CHECK_LEASES`]); a refusal is [`StateError::LeaseLost`] for the store
/// the server named.
async fn check_leases<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
) -> Result<Step<'a>, StateError> {
    let stores: Vec<&str> = group.iter().map(Member::store).collect();
    let owners: Vec<&str> = group.iter().map(|m| m.lease.owner.as_str()).collect();
    let tokens: Vec<i64> = group.iter().map(|m| m.lease.token).collect();
    let params = vec![param(stores), param(owners), param(tokens)];
    let lost: Refusal = |store, named| StateError::LeaseLost {
        store: if named.is_empty() { store } else { named }.to_owned(),
    };
    step(
        c,
        CHECK_LEASES,
        params,
        (lead(group), "check the lease"),
        Some(lost),
    )
    .await
}

/// Rows with a key each, each key once: its last row, where the key first appears. What
/// writing each row in turn would leave, for a statement that writes them all at once (one
/// statement may not update a row twice).
fn last_per_key<K: Eq + Hash, V>(rows: impl IntoIterator<Item = (K, V)>) -> Vec<V> {
    let mut last: Vec<V> = Vec::new();
    let mut slots: HashMap<K, usize> = HashMap::new();
    for (key, row) in rows {
        match slots.entry(key) {
            Entry::Occupied(slot) => last[*slot.get()] = row,
            Entry::Vacant(slot) => {
                slot.insert(last.len());
                last.push(row);
            }
        }
    }
    last
}

/// Rows' order keys as the three column arrays a statement unnests: store ids, external ids
/// and channels, in the rows' order.
fn key_columns<'a>(
    keys: impl Iterator<Item = KeyRef<'a>>,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for (channel, store_id, external_id) in keys {
        columns.0.push(store_id);
        columns.1.push(external_id);
        columns.2.push(channel);
    }
    columns
}

/// The check that what the engine read of the orders the pages replace is what is stored
/// ([`CHECK_REPLACED`], row locks held to the commit); `None` for a group that replaces none.
async fn check_replaced<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
) -> Result<Option<Step<'a>>, StateError> {
    let replaced: Vec<(&'a OrderWrite, (CanonicalStatus, _))> = group
        .iter()
        .flat_map(|m| &m.page.orders)
        .filter_map(|w| Some((w, w.replaces?)))
        .collect();
    if replaced.is_empty() {
        return Ok(None);
    }
    let (store_ids, external_ids, channels) =
        key_columns(replaced.iter().map(|(w, _)| order_key(&w.order)));
    let statuses: Vec<&str> = replaced.iter().map(|(_, e)| e.0.as_str()).collect();
    let (marks, untils): (Vec<Option<&str>>, Vec<Option<i64>>) =
        replaced.iter().map(|(_, e)| mark_columns(e.1)).unzip();
    let params = vec![
        param(store_ids),
        param(external_ids),
        param(channels),
        param(statuses),
        param(marks),
        param(untils),
    ];
    let changed: Refusal = |store, id| changed_since_read(store, id, "the page");
    let what = (lead(group), "check the order");
    step(c, CHECK_REPLACED, params, what, Some(changed))
        .await
        .map(Some)
}

/// The check that no store of the pages committed as [`PageCommit::assumes_blank`] has a
/// shipment ([`CHECK_BLANK`]); `None` for a group without any.
async fn check_blank<'a>(
    c: &'a ClientWrapper,
    blank: &[&'a Member],
) -> Result<Option<Step<'a>>, StateError> {
    let Some(first) = blank.first() else {
        return Ok(None);
    };
    let stores: Vec<&str> = blank.iter().map(|m| m.store()).collect();
    let what = (first.store(), "check the store is blank");
    step(
        c,
        CHECK_BLANK,
        vec![param(stores)],
        what,
        Some(no_longer_blank),
    )
    .await
    .map(Some)
}

/// The orders of `pages` as [`insert_orders!`]'s parameters, `$1` now first, and how many
/// there are.
///
/// An order a page writes twice is written once, with its last write's content, where it
/// first appears: what writing each in turn would leave (one statement may not update a row
/// twice, nor insert it twice). The pages' stores are distinct, so no two pages write the same
/// order.
fn order_columns<'a>(pages: &[&'a Member], now: i64) -> (usize, Params<'a>) {
    let rows: Vec<(&'a OrderWrite, &'a [u8])> = last_per_key(pages.iter().flat_map(|m| {
        m.page
            .orders
            .iter()
            .zip(&m.packed)
            .map(|(w, p)| (order_key(&w.order), (w, p.as_slice())))
    }));
    let (store_ids, external_ids, channels) =
        key_columns(rows.iter().map(|(w, _)| order_key(&w.order)));
    let column = |f: fn(&'a OrderWrite) -> &'a str| -> Vec<&'a str> {
        rows.iter().map(|(w, _)| f(w)).collect()
    };
    let (marks, untils): (Vec<Option<&str>>, Vec<Option<i64>>) =
        rows.iter().map(|(w, _)| mark_columns(w.platform)).unzip();
    let columns = vec![
        param(now),
        param(store_ids),
        param(external_ids),
        param(channels),
        param(column(|w| &w.order.order_number)),
        param(column(|w| &w.order.store_name)),
        param(column(|w| w.order.status.as_str())),
        param(
            rows.iter()
                .map(|(w, _)| ns(w.order.modified_at))
                .collect::<Vec<i64>>(),
        ),
        param(column(|w| &w.content_hash)),
        param(rows.iter().map(|(_, p)| *p).collect::<Vec<&[u8]>>()),
        param(marks),
        param(untils),
    ];
    (rows.len(), columns)
}

/// The events of `pages` as nine column arrays (key, statuses, time, label, whether the page
/// is a first sync's), in the pages' order, and how many there are. An event a page holds
/// twice (same order, status and time) is sent once, where it first appears: the outbox keeps
/// it once, and [`INSERT_BLANK`] inserts its events without `ON CONFLICT`.
fn event_columns<'a>(pages: &[&'a Member]) -> (usize, Params<'a>) {
    let mut seen = HashSet::new();
    let events: Vec<(&'a NewEvent, bool)> = pages
        .iter()
        .flat_map(|m| m.page.events.iter().map(|e| (e, m.page.backfill)))
        .filter(|(e, _)| seen.insert((key_ref(&e.key), e.to, e.at)))
        .collect();
    let (store_ids, external_ids, channels) =
        key_columns(events.iter().map(|(e, _)| key_ref(&e.key)));
    let column = |f: fn(&'a NewEvent) -> &'a str| -> Vec<&'a str> {
        events.iter().map(|(e, _)| f(e)).collect()
    };
    let columns = vec![
        param(store_ids),
        param(external_ids),
        param(channels),
        param(
            events
                .iter()
                .map(|(e, _)| e.from.map(CanonicalStatus::as_str))
                .collect::<Vec<Option<&str>>>(),
        ),
        param(column(|e| e.to.as_str())),
        param(column(|e| &e.raw_status)),
        param(events.iter().map(|(e, _)| ns(e.at)).collect::<Vec<i64>>()),
        param(events.iter().map(|(e, _)| e.label).collect::<Vec<bool>>()),
        param(events.iter().map(|(_, b)| *b).collect::<Vec<bool>>()),
    ];
    (events.len(), columns)
}

/// The general pages' orders as one statement ([`UPSERT_ORDERS`]); `None` for pages without
/// any.
async fn upsert_orders<'a>(
    c: &'a ClientWrapper,
    general: &[&'a Member],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    let (Some(first), (1.., params)) = (general.first(), order_columns(general, now)) else {
        return Ok(None);
    };
    let what = (first.store(), "upsert orders");
    step(c, UPSERT_ORDERS, params, what, None).await.map(Some)
}

/// The general pages' events as one statement ([`APPEND_EVENTS`]); `None` for pages without
/// any. A group with an event for an order that is not stored is refused whole.
async fn append_events<'a>(
    c: &'a ClientWrapper,
    general: &[&'a Member],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    let (Some(first), (1.., columns)) = (general.first(), event_columns(general)) else {
        return Ok(None);
    };
    let mut params = vec![param(now)];
    params.extend(columns);
    let what = (first.store(), "append events");
    step(c, APPEND_EVENTS, params, what, Some(unstored_event_order))
        .await
        .map(Some)
}

/// The orders and events of the pages committed as [`PageCommit::assumes_blank`] as one
/// statement ([`INSERT_BLANK`]); `None` for pages without either. Its errors are
/// [`blank_refusal`]'s.
async fn insert_blank<'a>(
    c: &'a ClientWrapper,
    blank: &[&'a Member],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    let (orders, mut params) = order_columns(blank, now);
    let (events, columns) = event_columns(blank);
    let Some(first) = blank.first().filter(|_| orders + events > 0) else {
        return Ok(None);
    };
    params.extend(columns);
    let what = (first.store(), "insert a blank store's orders");
    let pages: Vec<&'a Member> = blank.to_vec();
    step_answered(c, INSERT_BLANK, params, what, move |sent| {
        sent.map(drop).map_err(|e| blank_refusal(&pages, &e))
    })
    .await
    .map(Some)
}

/// The error of [`INSERT_BLANK`] for `pages`: an order already stored (the unique key of
/// `orders`) is [`no_longer_blank`] for its store, naming the order; an event without its
/// order in the page (`orderport_refuse`) names the order; anything else is the driver's.
fn blank_refusal(pages: &[&Member], e: &tokio_postgres::Error) -> StateError {
    let lead = pages.first().map_or("*", |m| m.store());
    let backend = || StateError::Backend {
        store: lead.to_owned(),
        operation: "insert a blank store's orders",
        detail: describe(e),
    };
    let Some(db) = e.as_db_error() else {
        return backend();
    };
    if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
        && db.constraint() == Some(ORDERS_KEY)
    {
        // PostgreSQL names the key's values in the detail: `Key (store_id, external_id,
        // channel)=(s, x, c) already exists.`
        let detail = db.detail().unwrap_or_default();
        let found = pages.iter().find_map(|m| {
            m.page.orders.iter().find(|w| {
                let (channel, store, id) = order_key(&w.order);
                detail.contains(&format!("=({store}, {id}, {channel})"))
            })
        });
        return match found {
            Some(w) => {
                no_longer_blank(&w.order.store_id, &format!("order {}", w.order.external_id))
            }
            None => no_longer_blank(lead, &format!("an order of the page ({detail})")),
        };
    }
    if db.code().code() == REFUSED {
        return unstored_event_order(lead, db.detail().unwrap_or_default());
    }
    backend()
}

/// The watermarks of the pages that end a slice of their store's cursor
/// ([`SliceDone::Advance`]) as one statement ([`ADVANCE_CURSORS`]); `None` for a group
/// without any.
async fn advance_cursors<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    let mut stores: Vec<&'a str> = Vec::new();
    let mut ends: Vec<i64> = Vec::new();
    let mut untils: Vec<Option<i64>> = Vec::new();
    for m in group {
        if let Some(SliceDone::Advance(end)) = m.page.done {
            stores.push(m.store());
            ends.push(ns(end));
            untils.push(m.page.backfill_until.map(ns));
        }
    }
    if stores.is_empty() {
        return Ok(None);
    }
    let params = vec![param(now), param(stores), param(ends), param(untils)];
    let what = (lead(group), "advance the watermark");
    step(c, ADVANCE_CURSORS, params, what, None).await.map(Some)
}

/// The statement quarantining the pages' rejected orders (inserted, or their reasons, window,
/// fingerprint and last sight updated): `$1` now, then one array per column.
const QUARANTINE: &str = "
    INSERT INTO quarantine (store_id, qkey, external_id, order_number, reasons, window_from,
        window_to, fingerprint, first_seen_ns, last_seen_ns)
    SELECT x.store_id, x.qkey, x.external_id, x.order_number, x.reasons, x.window_from,
        x.window_to, x.fingerprint, $1, $1
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                $8::bigint[], $9::text[]) WITH ORDINALITY
         AS x (store_id, qkey, external_id, order_number, reasons, window_from, window_to,
               fingerprint, i)
    ORDER BY x.i
    ON CONFLICT (store_id, qkey) DO UPDATE SET
        external_id = excluded.external_id, order_number = excluded.order_number,
        reasons = excluded.reasons, window_from = excluded.window_from,
        window_to = excluded.window_to, fingerprint = excluded.fingerprint,
        last_seen_ns = excluded.last_seen_ns";

/// Every page's rejected orders as one statement ([`QUARANTINE`]); `None` for a group without
/// any. An entry a page writes twice (same store and key) is written once, with its last
/// write's content, as writing each in turn would leave it.
async fn quarantine<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
    now: i64,
) -> Result<Option<Step<'a>>, StateError> {
    let mut entries = Vec::new();
    for m in group {
        for q in &m.page.quarantine {
            let (key, reasons) = quarantine_entry(m.store(), &q.rejection)?;
            entries.push(((m.store(), key.clone()), (m.store(), key, reasons, q)));
        }
    }
    let rows: Vec<(&'a str, String, String, &'a QuarantineWrite)> = last_per_key(entries);
    if rows.is_empty() {
        return Ok(None);
    }
    let stores: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let ids: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.3.rejection.external_id.as_deref())
        .collect();
    let numbers: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.3.rejection.order_number.as_deref())
        .collect();
    let from: Vec<i64> = rows.iter().map(|r| ns(r.3.window.from())).collect();
    let to: Vec<i64> = rows.iter().map(|r| ns(r.3.window.to())).collect();
    let fingerprints: Vec<&str> = rows.iter().map(|r| r.3.fingerprint.as_str()).collect();
    let (keys, reasons): (Vec<String>, Vec<String>) = rows.into_iter().map(|r| (r.1, r.2)).unzip();
    let params = vec![
        param(now),
        param(stores),
        param(keys),
        param(ids),
        param(numbers),
        param(reasons),
        param(from),
        param(to),
        param(fingerprints),
    ];
    let what = (lead(group), "quarantine orders");
    step(c, QUARANTINE, params, what, None).await.map(Some)
}

/// The statement recording the walks that the pages finish: one array per column.
const RECORD_WALKS: &str = "
    INSERT INTO walks (store_id, from_ns, to_ns, started_ns, finished_ns)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])";

/// The statement pruning the walks of stores `$1` that finished before `$2`.
const PRUNE_WALKS: &str = "DELETE FROM walks WHERE store_id = ANY($1::text[]) AND finished_ns < $2";

/// The walks the pages finish, recorded, then the walks of their stores older than the
/// retention pruned: two statements for the group; none for a group without a walk.
///
/// One bound prunes every store of the group: the retention counted back from the earliest
/// walk finished, so a store keeps at least [`WALK_RETENTION_DAYS`] of walks (a few seconds
/// more at most, pruned by its next walk). For a group of one page, it is that page's bound.
async fn record_walks<'a>(
    c: &'a ClientWrapper,
    group: &'a [Member],
) -> Result<Vec<Step<'a>>, StateError> {
    let walks: Vec<(&'a str, &WalkRecord)> = group
        .iter()
        .filter_map(|m| Some((m.store(), m.page.walk.as_ref()?)))
        .collect();
    let Some(earliest) = walks.iter().map(|(_, w)| w.finished_at).min() else {
        return Ok(Vec::new());
    };
    let stores: Vec<&str> = walks.iter().map(|(s, _)| *s).collect();
    let column = |f: fn(&WalkRecord) -> DateTime<Utc>| -> Vec<i64> {
        walks.iter().map(|(_, w)| ns(f(w))).collect()
    };
    let record = vec![
        param(stores.clone()),
        param(column(|w| w.window.from())),
        param(column(|w| w.window.to())),
        param(column(|w| w.started_at)),
        param(column(|w| w.finished_at)),
    ];
    let oldest = ns(earliest - Duration::days(WALK_RETENTION_DAYS));
    let prune = vec![param(stores), param(oldest)];
    let store = lead(group);
    Ok(vec![
        step(c, RECORD_WALKS, record, (store, "record a walk"), None).await?,
        step(c, PRUNE_WALKS, prune, (store, "prune walks"), None).await?,
    ])
}

/// A page's rare writes, in order: orders released from quarantine (an order quarantined
/// before and accepted now) and re-fetch windows queued. Rare next to the writes of every
/// page, so one statement each, and each a probe of an index by its store, whatever the
/// planner's statistics say. Prepared here, sent when polled.
async fn rare_writes<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
) -> Result<Vec<Step<'a>>, StateError> {
    let mut writes: Vec<Step<'a>> = Vec::new();
    if !page.release.is_empty() {
        let keys: Vec<String> = page
            .release
            .iter()
            .flat_map(|r| {
                [
                    format!("id:{}", r.external_id),
                    format!("number:{}", r.order_number),
                ]
            })
            .collect();
        let sql = "DELETE FROM quarantine WHERE store_id = $1 AND qkey = ANY($2::text[])";
        let params = vec![param(store), param(keys)];
        writes.push(step(c, sql, params, (store, "release quarantine"), None).await?);
    }
    for (w, reason) in &page.refetch {
        let sql = "INSERT INTO refetch (store_id, from_ns, to_ns, reason) VALUES ($1, $2, $3, $4)";
        let params = vec![
            param(store),
            param(ns(w.from())),
            param(ns(w.to())),
            param(reason.as_str()),
        ];
        writes.push(step(c, sql, params, (store, "queue a re-fetch"), None).await?);
    }
    Ok(writes)
}

/// The end of a page's slice that re-fetched a window: the window finished or shortened.
/// Prepared here, sent when polled.
async fn refetch_ends<'a>(
    c: &'a ClientWrapper,
    store: &'a str,
    page: &'a PageCommit,
) -> Result<Vec<Step<'a>>, StateError> {
    let Some(SliceDone::Refetch { id, end }) = page.done else {
        return Ok(Vec::new());
    };
    let end = ns(end);
    let finish = "DELETE FROM refetch WHERE id = $1 AND store_id = $2 AND to_ns <= $3";
    let advance =
        "UPDATE refetch SET from_ns = GREATEST(from_ns, $3) WHERE id = $1 AND store_id = $2";
    let params = || vec![param(id), param(store), param(end)];
    Ok(vec![
        step(c, finish, params(), (store, "finish a re-fetch"), None).await?,
        step(c, advance, params(), (store, "advance a re-fetch"), None).await?,
    ])
}

#[cfg(test)]
mod tests {
    use super::last_per_key;

    #[test]
    fn each_key_keeps_its_last_row_where_it_first_appears() {
        let rows = [(1, 'a'), (2, 'b'), (1, 'c'), (3, 'd'), (2, 'e')];
        assert_eq!(last_per_key(rows), ['c', 'e', 'd']);
        assert!(last_per_key(Vec::<(u8, u8)>::new()).is_empty());
    }
}
