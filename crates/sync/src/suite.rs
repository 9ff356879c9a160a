//! The [`State`] conformance suite (feature `state-suite`): what every backend must do, as
//! async functions a backend's tests call, like `object_store`'s integration functions. Both
//! of orderport's backends run it (`crates/sync/tests/state_suite.rs`); a host platform that
//! implements [`State`] calls the same functions on its own:
//!
//! ```ignore
//! #[tokio::test]
//! async fn fencing() {
//!     let state = MyState::fresh().await; // an empty state of its own
//!     orderport_sync::suite::fencing(&state).await.unwrap();
//! }
//! ```
//!
//! Each check takes a fresh, empty state (or, for [`reopen_keeps_data`], a way to open the
//! same one again), writes only its own store ids, and panics with a message naming the
//! broken rule. Backend errors that the check did not expect come back as `Err`.
//!
//! [`run_all`] runs every check that needs only the state on one state.

use std::future::Future;

use chrono::{DateTime, Duration, TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, Order, OrderRef, ReasonCode, Rejection, RejectionReason, ShipmentKind,
    ShipmentScope, ShipmentUpdate, TimeWindow,
};

use crate::error::StateError;
use crate::event::{DeliveryMark, NewEvent};
use crate::platform::PlatformMark;
use crate::read::StateRead;
use crate::state::{
    Lease, LeaseGrant, OrderLookup, OrderWrite, PageCommit, PlatformWrite, QuarantineWrite,
    ShipOrder, ShipmentRecord, SliceDone, State, WalkRecord,
};

const CHANNEL: &str = "suite";
const TTL_SECS: i64 = 60;

/// A fixed instant to count from, with nanoseconds (a backend must keep them).
pub fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000, 123_456_789)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn ttl() -> Duration {
    Duration::seconds(TTL_SECS)
}

/// A canonical order of `store` with the given status and modification time.
pub fn order(store: &str, id: &str, status: CanonicalStatus, modified: DateTime<Utc>) -> Order {
    Order {
        channel: CHANNEL.into(),
        store_id: store.into(),
        store_name: format!("Store {store}"),
        external_id: id.into(),
        order_number: format!("#{id}"),
        status,
        raw_status: status.as_str().into(),
        ordered_at: modified,
        modified_at: modified,
        paid_at: None,
        customer: Default::default(),
        bill_to: None,
        ship_to: None,
        items: vec![],
        discounts: vec![],
        currency: None,
        order_total: Default::default(),
        tax_amount: None,
        shipping_amount: None,
        requested_shipping_service: None,
        payment_method: None,
        gift: Default::default(),
        customer_notes: None,
        internal_notes: None,
        total_weight: None,
        custom_fields: Default::default(),
        source: None,
        requested_warehouse: None,
    }
}

/// The write of `order` (its JSON and a hash of it).
pub fn write(order: Order) -> OrderWrite {
    let json = serde_json::to_string(&order).unwrap_or_default();
    let content_hash =
        crate::settings::hex(&<sha2::Sha256 as sha2::Digest>::digest(json.as_bytes()));
    OrderWrite {
        order: Box::new(order),
        json,
        content_hash,
        platform: None,
        replaces: None,
    }
}

/// A complete label shipment of `order`, created at `at`.
pub fn label(order: OrderRef, at: DateTime<Utc>) -> ShipmentUpdate {
    ShipmentUpdate {
        order,
        carrier: "USPS".into(),
        service: Some("Priority".into()),
        tracking_number: "9400".into(),
        ship_date: at.date_naive(),
        label_created_at: Some(at),
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(vec![]),
        kind: ShipmentKind::Label,
    }
}

/// The event of `order` reaching its status from `from`.
pub fn event(order: &Order, from: Option<CanonicalStatus>) -> NewEvent {
    NewEvent::change(order, from, order.status, order.modified_at, false)
}

/// A page storing `orders`, each with its event as a new order.
pub fn page_of(orders: &[Order]) -> PageCommit {
    PageCommit {
        orders: orders.iter().cloned().map(write).collect(),
        events: orders.iter().map(|o| event(o, None)).collect(),
        ..PageCommit::default()
    }
}

/// A rejection of order `id` of `store` (a missing ship-to).
pub fn rejection(store: &str, id: &str) -> Rejection {
    Rejection {
        store_id: store.into(),
        external_id: Some(id.into()),
        order_number: Some(format!("#{id}")),
        reasons: vec![RejectionReason::new(
            "ship_to",
            ReasonCode::Missing,
            "no address",
        )],
    }
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeWindow {
    match TimeWindow::new(from, to) {
        Ok(w) => w,
        Err(e) => panic!("suite window {from}..{to}: {e}"),
    }
}

/// Takes `store`'s lease for `owner` at `now`, which must be granted.
pub async fn lease(
    state: &dyn State,
    store: &str,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Lease, StateError> {
    match state.acquire_lease(store, owner, ttl(), now).await? {
        LeaseGrant::Granted(lease) => Ok(lease),
        LeaseGrant::Held {
            owner: holder,
            until,
        } => {
            panic!("{store}: a free lease was refused to {owner} (held by {holder} until {until})")
        }
    }
}

fn lookups(orders: &[&Order]) -> Vec<OrderLookup> {
    orders
        .iter()
        .map(|o| OrderLookup {
            external_id: o.external_id.clone(),
            order_number: o.order_number.clone(),
        })
        .collect()
}

/// Whether each of `orders` of `store` is stored, by [`State::lookup`].
async fn stored(
    state: &dyn State,
    store: &str,
    orders: &[&Order],
) -> Result<Vec<bool>, StateError> {
    let known = state.lookup(CHANNEL, store, &lookups(orders)).await?;
    Ok(known.iter().map(|k| k.stored.is_some()).collect())
}

/// `update` of `store` recorded at `at`, shipping no order.
fn recorded<'a>(
    store: &'a str,
    update: &'a ShipmentUpdate,
    at: DateTime<Utc>,
) -> ShipmentRecord<'a> {
    ShipmentRecord {
        store_id: store,
        update,
        at,
        ship: None,
        coverage: None,
    }
}

/// Runs every check that needs only a fresh state, on one state (they use distinct stores).
pub async fn run_all(state: &dyn State) -> Result<(), StateError> {
    atomicity(state).await?;
    fencing(state).await?;
    lease_expiry_and_takeover(state).await?;
    outbox_order(state).await?;
    delivery_bookkeeping(state).await?;
    refetch_windows(state).await?;
    walks(state).await?;
    quarantine(state).await?;
    shipments(state).await?;
    split_labels(state).await?;
    platform_marks(state).await?;
    cursor_never_moves_back(state).await?;
    repeated_order(state).await?;
    blank_stores(state).await?;
    concurrent_pages(state).await?;
    Ok(())
}

/// A page that fails part-way leaves nothing behind: not its orders (written before the
/// failing event), nor its events, quarantine, re-fetches, walk or cursor move; a page with a
/// stale token writes nothing either.
pub async fn atomicity(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-atomicity";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    let b = order(store, "b", CanonicalStatus::AwaitingShipment, t);
    let ghost = order(store, "ghost", CanonicalStatus::Shipped, t);
    let mut page = page_of(&[a.clone(), b.clone()]);
    // An event for an order neither stored nor in the page: the page is refused whole.
    page.events.push(event(&ghost, None));
    page.quarantine.push(QuarantineWrite {
        rejection: rejection(store, "q"),
        window: window(t - Duration::hours(1), t),
        fingerprint: "f1".into(),
    });
    page.refetch
        .push((window(t - Duration::hours(2), t), "quarantine".into()));
    page.done = Some(SliceDone::Advance(t));
    page.backfill_until = Some(t);
    page.walk = Some(WalkRecord {
        window: window(t - Duration::hours(1), t),
        started_at: t,
        finished_at: t,
    });
    let failed = state.commit_page(&lease, page.clone()).await;
    assert!(
        matches!(&failed, Err(e) if e.to_string().contains("ghost")),
        "{store}: a page with an event for an order not stored must fail, naming the order, got {failed:?}"
    );
    // The same page assuming a blank store (the store is one): refused the same way.
    if state.is_blank(store).await? {
        let blank = PageCommit {
            assumes_blank: true,
            ..page.clone()
        };
        let failed = state.commit_page(&lease, blank).await;
        assert!(
            matches!(&failed, Err(e) if e.to_string().contains("ghost")),
            "{store}: a page assuming a blank store with an event for an order not stored must fail, naming the order, got {failed:?}"
        );
    }
    let nothing = |what: &str| format!("{store}: a failed page left {what} behind");
    assert_eq!(
        stored(state, store, &[&a, &b]).await?,
        [false, false],
        "{}",
        nothing("orders")
    );
    assert!(
        state
            .pending_events("suite-sink", Some(store), 0, 100)
            .await?
            .is_empty(),
        "{}",
        nothing("events")
    );
    assert!(
        state.refetches(store).await?.is_empty(),
        "{}",
        nothing("re-fetches")
    );
    assert!(
        state.walks(store, t - Duration::days(1)).await?.is_empty(),
        "{}",
        nothing("a walk")
    );
    assert_eq!(
        state.cursor(store).await?.watermark,
        None,
        "{}",
        nothing("a cursor move")
    );
    assert_eq!(
        state.requeue_quarantine(&lease, "f2").await?,
        0,
        "{}",
        nothing("quarantine")
    );

    // Stale token: another worker took the lease over; nothing of the old holder's page lands.
    let later = t + ttl() + Duration::seconds(1);
    let _taken = self::lease(state, store, "w2", later).await?;
    page.events.pop();
    let stale = state.commit_page(&lease, page).await;
    assert!(
        matches!(stale, Err(StateError::LeaseLost { .. })),
        "{store}: a page with a stale token must fail with LeaseLost, got {stale:?}"
    );
    assert_eq!(
        stored(state, store, &[&a, &b]).await?,
        [false, false],
        "{}",
        nothing("orders (stale token)")
    );
    assert_eq!(
        state.cursor(store).await?.watermark,
        None,
        "{}",
        nothing("a cursor move (stale token)")
    );
    Ok(())
}

/// Writes with a token that is no longer the store's fail with `LeaseLost` (commit, renew,
/// requeue); the old holder's release does not free the new holder's lease.
pub async fn fencing(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-fencing";
    let t = t0();
    let old = lease(state, store, "w1", t).await?;
    let later = t + ttl() + Duration::seconds(1);
    let new = lease(state, store, "w2", later).await?;
    assert!(
        new.token > old.token,
        "{store}: the new holder's token must be larger"
    );
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    fn lost<T>(r: &Result<T, StateError>) -> bool {
        matches!(r, Err(StateError::LeaseLost { .. }))
    }
    let commit = state
        .commit_page(&old, page_of(std::slice::from_ref(&a)))
        .await;
    assert!(
        lost(&commit),
        "{store}: commit with a stale token: {commit:?}"
    );
    let renew = state.renew_lease(&old, ttl(), later).await;
    assert!(lost(&renew), "{store}: renew with a stale token: {renew:?}");
    let requeue = state.requeue_quarantine(&old, "f").await;
    assert!(
        lost(&requeue),
        "{store}: requeue with a stale token: {requeue:?}"
    );
    state.release_lease(&old).await?;
    // The same owner name with an old token is stale too.
    let same_owner_old = Lease {
        owner: "w2".into(),
        token: old.token,
        ..new.clone()
    };
    let commit = state
        .commit_page(&same_owner_old, page_of(std::slice::from_ref(&a)))
        .await;
    assert!(
        lost(&commit),
        "{store}: commit with the owner's older token: {commit:?}"
    );
    // The new holder still holds it and writes.
    let held = state.acquire_lease(store, "w3", ttl(), later).await?;
    assert!(
        matches!(held, LeaseGrant::Held { ref owner, .. } if owner == "w2"),
        "{store}: the old holder's release freed the new holder's lease: {held:?}"
    );
    state
        .commit_page(&new, page_of(std::slice::from_ref(&a)))
        .await?;
    let known = state.lookup(CHANNEL, store, &lookups(&[&a])).await?;
    assert!(
        known[0].stored.is_some(),
        "{store}: the holder's page was not stored"
    );
    Ok(())
}

/// A lease is exclusive until it expires; then another worker takes it with a larger token.
/// Renewing extends it; re-taking one's own lease and taking a released one raise the token.
pub async fn lease_expiry_and_takeover(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-leases";
    let t = t0();
    let first = lease(state, store, "w1", t).await?;
    assert_eq!(first.expires_at, t + ttl(), "{store}: expiry is now + ttl");
    match state
        .acquire_lease(store, "w2", ttl(), t + Duration::seconds(30))
        .await?
    {
        LeaseGrant::Held { owner, until } => {
            assert_eq!(owner, "w1", "{store}: Held names the holder");
            assert_eq!(until, first.expires_at, "{store}: Held says until when");
        }
        g => panic!("{store}: an unexpired lease was granted to another worker: {g:?}"),
    }
    let renewed = state
        .renew_lease(&first, ttl(), t + Duration::seconds(50))
        .await?;
    assert_eq!(
        renewed.token, first.token,
        "{store}: renewing keeps the token"
    );
    assert_eq!(renewed.expires_at, t + Duration::seconds(50) + ttl());
    let after_first_expiry = t + ttl() + Duration::seconds(1);
    assert!(
        matches!(
            state
                .acquire_lease(store, "w2", ttl(), after_first_expiry)
                .await?,
            LeaseGrant::Held { .. }
        ),
        "{store}: a renewed lease was taken at its old expiry"
    );
    let own = lease(state, store, "w1", after_first_expiry).await?;
    assert!(
        own.token > first.token,
        "{store}: re-taking one's own lease raises the token"
    );
    let takeover_at = own.expires_at + Duration::nanoseconds(1);
    let second = lease(state, store, "w2", takeover_at).await?;
    assert!(
        second.token > own.token,
        "{store}: a takeover raises the token"
    );
    state.release_lease(&second).await?;
    let third = lease(state, store, "w3", takeover_at).await?;
    assert!(
        third.token > second.token,
        "{store}: taking a released lease raises the token"
    );
    Ok(())
}

/// Events come out in commit order, paged by id, with their order as stored; the backfill flag
/// is kept; an event already in the outbox (same order, status and time) is not added twice.
pub async fn outbox_order(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-outbox";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let mut all = Vec::new();
    for (i, id) in ["c", "a", "b", "e", "d"].iter().enumerate() {
        let o = order(
            store,
            id,
            CanonicalStatus::AwaitingShipment,
            t + Duration::seconds(i as i64),
        );
        let mut page = page_of(std::slice::from_ref(&o));
        page.backfill = i < 2;
        state.commit_page(&lease, page).await?;
        all.push(o);
    }
    // The same event again, and a status change of "c".
    state
        .commit_page(&lease, page_of(&[all[0].clone()]))
        .await?;
    let mut shipped = all[0].clone();
    shipped.status = CanonicalStatus::Shipped;
    shipped.raw_status = "shipped".into();
    shipped.modified_at = t + Duration::minutes(10);
    let mut page = page_of(std::slice::from_ref(&shipped));
    page.events = vec![event(&shipped, Some(CanonicalStatus::AwaitingShipment))];
    state.commit_page(&lease, page).await?;

    let events = state
        .pending_events("suite-sink", Some(store), 0, 100)
        .await?;
    let seen: Vec<(&str, CanonicalStatus)> = events
        .iter()
        .map(|e| (e.event.key.external_id.as_str(), e.event.to))
        .collect();
    use CanonicalStatus::{AwaitingShipment as A, Shipped as S};
    assert_eq!(
        seen,
        [("c", A), ("a", A), ("b", A), ("e", A), ("d", A), ("c", S)],
        "{store}: events in commit order, each once"
    );
    assert!(
        events.windows(2).all(|w| w[0].id() < w[1].id()),
        "{store}: ids grow in commit order"
    );
    let flags: Vec<bool> = events.iter().map(|e| e.event.backfill).collect();
    assert_eq!(
        flags,
        [true, true, false, false, false, false],
        "{store}: backfill kept"
    );
    let first = &events[0];
    assert_eq!(
        first.event.at, all[0].modified_at,
        "{store}: event time kept exactly"
    );
    assert_eq!(first.event.from, None);
    assert_eq!(first.event.order_number, "#c");
    assert_eq!(first.event.store_name, all[0].store_name);
    assert_eq!(
        first.order.status,
        CanonicalStatus::Shipped,
        "{store}: the order as stored now"
    );
    assert_eq!(events[5].event.from, Some(A));
    // Paging: `after` and `limit`.
    let page1 = state
        .pending_events("suite-sink", Some(store), 0, 2)
        .await?;
    let page2 = state
        .pending_events("suite-sink", Some(store), page1[1].id(), 2)
        .await?;
    let ids: Vec<i64> = page1.iter().chain(&page2).map(|e| e.id()).collect();
    let want: Vec<i64> = events.iter().take(4).map(|e| e.id()).collect();
    assert_eq!(ids, want, "{store}: keyset paging");
    // Other stores' events are not listed for this store.
    assert!(
        state
            .pending_events("suite-sink", Some("suite-nobody"), 0, 100)
            .await?
            .is_empty(),
        "{store}: the store filter"
    );
    Ok(())
}

/// A sink's verdicts (delivered, skipped, refused) take events out of its pending list, not
/// out of another sink's; the first verdict recorded wins (see [`read_model`] for reading it
/// back).
pub async fn delivery_bookkeeping(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-deliveries";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let orders: Vec<Order> = (0..4)
        .map(|i| {
            order(
                store,
                &format!("o{i}"),
                CanonicalStatus::AwaitingShipment,
                t,
            )
        })
        .collect();
    state.commit_page(&lease, page_of(&orders)).await?;
    let ids: Vec<i64> = state
        .pending_events("sink-a", Some(store), 0, 100)
        .await?
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(ids.len(), 4);
    state
        .record_deliveries(
            "sink-a",
            &[
                DeliveryMark::Delivered(ids[0]),
                DeliveryMark::Skipped {
                    id: ids[1],
                    reason: "not_a_label".into(),
                },
                DeliveryMark::Refused {
                    id: ids[2],
                    reason: "400: bad".into(),
                },
            ],
        )
        .await?;
    // A second verdict for the same event is ignored, not an error.
    state
        .record_deliveries(
            "sink-a",
            &[DeliveryMark::Refused {
                id: ids[0],
                reason: "late".into(),
            }],
        )
        .await?;
    state.record_deliveries("sink-a", &[]).await?;
    let pending_a: Vec<i64> = state
        .pending_events("sink-a", Some(store), 0, 100)
        .await?
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(
        pending_a,
        [ids[3]],
        "{store}: verdicts take events out of pending"
    );
    let pending_b = state.pending_events("sink-b", Some(store), 0, 100).await?;
    assert_eq!(
        pending_b.len(),
        4,
        "{store}: another sink's verdicts do not count"
    );
    Ok(())
}

/// Re-fetch windows are listed oldest first; a finished slice moves a window's start, the last
/// one deletes it; another store's are not listed.
pub async fn refetch_windows(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-refetch";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let first = window(t - Duration::hours(3), t - Duration::hours(1));
    let second = window(t - Duration::days(2), t - Duration::days(1));
    state
        .commit_page(
            &lease,
            PageCommit {
                refetch: vec![
                    (first, "quarantine".into()),
                    (second, "shifted-walk".into()),
                ],
                ..PageCommit::default()
            },
        )
        .await?;
    let listed = state.refetches(store).await?;
    assert_eq!(listed.len(), 2, "{store}: both windows listed");
    assert_eq!(
        (listed[0].window, listed[0].reason.as_str()),
        (first, "quarantine")
    );
    assert_eq!(
        (listed[1].window, listed[1].reason.as_str()),
        (second, "shifted-walk")
    );
    assert!(listed[0].id < listed[1].id, "{store}: oldest first");
    let mid = t - Duration::hours(2);
    state
        .commit_page(
            &lease,
            PageCommit {
                done: Some(SliceDone::Refetch {
                    id: listed[0].id,
                    end: mid,
                }),
                ..PageCommit::default()
            },
        )
        .await?;
    let listed2 = state.refetches(store).await?;
    assert_eq!(
        listed2[0].window,
        window(mid, first.to()),
        "{store}: a finished slice moves the window's start"
    );
    state
        .commit_page(
            &lease,
            PageCommit {
                done: Some(SliceDone::Refetch {
                    id: listed[0].id,
                    end: first.to(),
                }),
                ..PageCommit::default()
            },
        )
        .await?;
    let left: Vec<i64> = state.refetches(store).await?.iter().map(|r| r.id).collect();
    assert_eq!(
        left,
        [listed[1].id],
        "{store}: a window done to its end is deleted"
    );
    assert!(state.refetches("suite-nobody").await?.is_empty());
    Ok(())
}

/// Walks are kept exactly (to the nanosecond) and listed from `since` on (finished at or
/// after it), oldest first.
pub async fn walks(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-walks";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let walk = |h: i64| WalkRecord {
        window: window(t - Duration::hours(h + 1), t - Duration::hours(h)),
        started_at: t + Duration::minutes(h) + Duration::nanoseconds(7),
        finished_at: t + Duration::minutes(h) + Duration::nanoseconds(9),
    };
    for h in [1, 2, 3] {
        state
            .commit_page(
                &lease,
                PageCommit {
                    walk: Some(walk(h)),
                    ..PageCommit::default()
                },
            )
            .await?;
    }
    let all = state.walks(store, t).await?;
    assert_eq!(
        all,
        [walk(1), walk(2), walk(3)],
        "{store}: walks kept exactly, in order"
    );
    let since = walk(2).finished_at;
    assert_eq!(
        state.walks(store, since).await?,
        [walk(2), walk(3)],
        "{store}: since is inclusive"
    );
    assert!(state.walks("suite-nobody", t).await?.is_empty());
    Ok(())
}

/// Quarantined orders are re-queued once per configuration change (their windows become
/// re-fetches), and an accepted order released from quarantine is not re-queued. A state that
/// says a store's quarantine is empty ([`State::quarantine_is_empty`]) says so only while
/// nothing of the store is quarantined.
pub async fn quarantine(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-quarantine";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    // A state may keep the trait's default (`false`); one that says `true` must be right.
    let says_empty = state.quarantine_is_empty(store).await?;
    let w = window(t - Duration::hours(1), t);
    let rejected = |id: &str| QuarantineWrite {
        rejection: rejection(store, id),
        window: w,
        fingerprint: "f1".into(),
    };
    state
        .commit_page(
            &lease,
            PageCommit {
                quarantine: vec![rejected("q1"), rejected("q2")],
                ..PageCommit::default()
            },
        )
        .await?;
    assert!(
        !state.quarantine_is_empty(store).await?,
        "{store}: a store with orders quarantined must not say its quarantine is empty"
    );
    // q2 is accepted later: released.
    let q2 = order(store, "q2", CanonicalStatus::AwaitingShipment, t);
    let mut page = page_of(std::slice::from_ref(&q2));
    page.release = lookups(&[&q2]);
    state.commit_page(&lease, page).await?;
    assert!(
        !state.quarantine_is_empty(store).await?,
        "{store}: one order is still quarantined"
    );
    if says_empty {
        // q1 too: nothing is quarantined any more.
        let q1 = order(store, "q1", CanonicalStatus::AwaitingShipment, t);
        let mut page = page_of(std::slice::from_ref(&q1));
        page.release = lookups(&[&q1]);
        state.commit_page(&lease, page).await?;
        assert!(
            state.quarantine_is_empty(store).await?,
            "{store}: every order released, the quarantine is empty again"
        );
        state
            .commit_page(
                &lease,
                PageCommit {
                    quarantine: vec![rejected("q1")],
                    ..PageCommit::default()
                },
            )
            .await?;
    }
    assert_eq!(
        state.requeue_quarantine(&lease, "f1").await?,
        0,
        "{store}: same fingerprint"
    );
    assert_eq!(
        state.requeue_quarantine(&lease, "f2").await?,
        1,
        "{store}: one order still quarantined is re-queued"
    );
    let refetches = state.refetches(store).await?;
    assert_eq!(refetches.len(), 1, "{store}: its window is queued once");
    assert_eq!(
        (refetches[0].window, refetches[0].reason.as_str()),
        (w, "quarantine")
    );
    assert_eq!(
        state.requeue_quarantine(&lease, "f2").await?,
        0,
        "{store}: re-queued once"
    );
    Ok(())
}

/// A label ships a stored order (status and event in one transaction); a label decided on a
/// status that changed since fails with `Conflict` and records nothing; lookups see label
/// shipments by external id or by number; `find_order` finds the order either way.
pub async fn shipments(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-shipments";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    let b = order(store, "b", CanonicalStatus::OnHold, t);
    state
        .commit_page(&lease, page_of(&[a.clone(), b.clone()]))
        .await?;
    let by_id = OrderRef {
        external_id: Some("a".into()),
        order_number: "#a".into(),
    };
    let by_number = OrderRef {
        external_id: None,
        order_number: "#b".into(),
    };
    let found = state.find_order(store, &by_id).await?;
    assert_eq!(
        found.as_ref().map(|o| o.key()),
        Some(a.key()),
        "{store}: find by id"
    );
    let found = state.find_order(store, &by_number).await?;
    assert_eq!(
        found.map(|o| o.status),
        Some(CanonicalStatus::OnHold),
        "{store}: find by number"
    );
    assert_eq!(
        state
            .find_order(
                store,
                &OrderRef {
                    external_id: None,
                    order_number: "#zz".into()
                }
            )
            .await?,
        None
    );

    let ship = |o: &Order, expect: CanonicalStatus| {
        let mut shipped = o.clone();
        shipped.status = CanonicalStatus::Shipped;
        shipped.modified_at = t + Duration::minutes(1);
        ShipOrder {
            key: o.key(),
            expect,
            event: NewEvent {
                label: true,
                ..event(&shipped, Some(expect))
            },
        }
    };
    let update_a = label(by_id.clone(), t);
    let id = state
        .record_shipment(ShipmentRecord {
            store_id: store,
            update: &update_a,
            at: t,
            ship: Some(ship(&a, CanonicalStatus::AwaitingShipment)),
            coverage: None,
        })
        .await?;
    assert!(id.is_some(), "{store}: the label's event is appended");
    let stored = state.find_order(store, &by_id).await?;
    assert_eq!(
        stored.map(|o| o.status),
        Some(CanonicalStatus::Shipped),
        "{store}: the order is shipped"
    );
    let events = state
        .pending_events("suite-sink", Some(store), 0, 100)
        .await?;
    let shipped = events.iter().find(|e| Some(e.id()) == id);
    assert!(
        shipped.is_some_and(|e| e.event.label && e.shipment.as_ref() == Some(&update_a)),
        "{store}: the shipped event carries the label and its shipment: {shipped:?}"
    );
    // b is on hold, not awaiting shipment as the caller decided: Conflict, nothing written.
    let update_b = label(by_number.clone(), t);
    let conflict = state
        .record_shipment(ShipmentRecord {
            store_id: store,
            update: &update_b,
            at: t,
            ship: Some(ship(&b, CanonicalStatus::AwaitingShipment)),
            coverage: None,
        })
        .await;
    assert!(
        matches!(conflict, Err(StateError::Conflict { .. })),
        "{store}: a label on a changed order is a Conflict: {conflict:?}"
    );
    let known = state.lookup(CHANNEL, store, &lookups(&[&a, &b])).await?;
    assert!(
        known[0].label_shipment,
        "{store}: a's label is seen by lookup"
    );
    assert!(
        !known[1].label_shipment,
        "{store}: the conflicting shipment was not recorded"
    );
    assert_eq!(
        known[1].stored.as_ref().map(|s| s.status),
        Some(CanonicalStatus::OnHold),
        "{store}: the conflicting order was not changed"
    );
    // A shipment without an order to ship is recorded by number.
    let id = state.record_shipment(recorded(store, &update_b, t)).await?;
    assert_eq!(id, None);
    let known = state.lookup(CHANNEL, store, &lookups(&[&b])).await?;
    assert!(
        known[0].label_shipment,
        "{store}: a label recorded by number is seen"
    );
    Ok(())
}

/// Split labels: labels for part of an order are listed by [`State::label_shipments`] (with
/// those recorded by number alone, without marked-only shipments) and do not make
/// [`crate::Known::label_shipment`] true; the part that completes the order does. A write whose
/// count of labels is stale is a `Conflict` that writes nothing.
pub async fn split_labels(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-split";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    state
        .commit_page(&lease, page_of(std::slice::from_ref(&a)))
        .await?;
    let stored = OrderRef {
        external_id: Some("a".into()),
        order_number: "#a".into(),
    };
    let part = |tracking: &str, order: OrderRef, kind: ShipmentKind| ShipmentUpdate {
        tracking_number: tracking.into(),
        scope: ShipmentScope::Partial(vec![orderport_core::ShippedItem {
            line_id: None,
            sku: "MUG".into(),
            name: None,
            quantity: 1,
        }]),
        kind,
        ..label(order, t)
    };
    let coverage = |labels_before: usize, completes: bool| crate::state::LabelCoverage {
        key: a.key(),
        order_number: "#a".into(),
        labels_before,
        completes,
    };
    assert!(
        state.label_shipments(store, &stored).await?.is_empty(),
        "{store}: no labels yet"
    );
    // A first part, recorded by id; a second by number alone; a marked-only one.
    let first = part("P1", stored.clone(), ShipmentKind::Label);
    let by_number = OrderRef {
        external_id: None,
        order_number: "#a".into(),
    };
    let second = part("P2", by_number, ShipmentKind::Label);
    let marked = part("M1", stored.clone(), ShipmentKind::MarkedShipped);
    for (update, coverage) in [
        (&first, Some(coverage(0, false))),
        (&marked, None),
        (&second, Some(coverage(1, false))),
    ] {
        let id = state
            .record_shipment(ShipmentRecord {
                store_id: store,
                update,
                at: t,
                ship: None,
                coverage,
            })
            .await?;
        assert_eq!(id, None, "{store}: a part ships nothing");
    }
    assert_eq!(
        state.label_shipments(store, &stored).await?,
        vec![first.clone(), second.clone()],
        "{store}: both parts, oldest first, without the marked-only shipment"
    );
    let known = state.lookup(CHANNEL, store, &lookups(&[&a])).await?;
    assert!(
        !known[0].label_shipment,
        "{store}: parts that leave units unlabelled do not count as a label shipment"
    );
    // A stale count (the engine saw one label, two are recorded): Conflict, nothing written.
    let third = part("P3", stored.clone(), ShipmentKind::Label);
    let stale = state
        .record_shipment(ShipmentRecord {
            store_id: store,
            update: &third,
            at: t,
            ship: None,
            coverage: Some(coverage(1, true)),
        })
        .await;
    assert!(
        matches!(stale, Err(StateError::Conflict { .. })),
        "{store}: a label counted against a stale set of labels is a Conflict: {stale:?}"
    );
    assert_eq!(state.label_shipments(store, &stored).await?.len(), 2);
    // The part that completes the order ships it.
    let mut shipped = a.clone();
    shipped.status = CanonicalStatus::Shipped;
    let id = state
        .record_shipment(ShipmentRecord {
            store_id: store,
            update: &third,
            at: t,
            ship: Some(ShipOrder {
                key: a.key(),
                expect: CanonicalStatus::AwaitingShipment,
                event: NewEvent {
                    label: true,
                    ..event(&shipped, Some(CanonicalStatus::AwaitingShipment))
                },
            }),
            coverage: Some(coverage(2, true)),
        })
        .await?;
    assert!(id.is_some(), "{store}: the completing part's event");
    let known = state.lookup(CHANNEL, store, &lookups(&[&a])).await?;
    assert!(
        known[0].label_shipment,
        "{store}: the completing part counts as the label shipment"
    );
    assert_eq!(state.label_shipments(store, &stored).await?.len(), 3);
    Ok(())
}

/// The watermark only moves forward; the first run's bound is kept once set; lookups return
/// exactly what was stored, in the order asked.
pub async fn cursor_never_moves_back(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-cursor";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let advance = |end: DateTime<Utc>, until: Option<DateTime<Utc>>| PageCommit {
        done: Some(SliceDone::Advance(end)),
        backfill_until: until,
        ..PageCommit::default()
    };
    state.commit_page(&lease, advance(t, Some(t))).await?;
    state
        .commit_page(
            &lease,
            advance(t - Duration::hours(1), Some(t + Duration::days(1))),
        )
        .await?;
    let cursor = state.cursor(store).await?;
    assert_eq!(
        cursor.watermark,
        Some(t),
        "{store}: the watermark never moves back"
    );
    assert_eq!(
        cursor.backfill_until,
        Some(t),
        "{store}: the first bound is kept"
    );
    state
        .commit_page(&lease, advance(t + Duration::nanoseconds(1), None))
        .await?;
    assert_eq!(
        state.cursor(store).await?.watermark,
        Some(t + Duration::nanoseconds(1))
    );
    assert_eq!(state.cursor("suite-nobody").await?, Default::default());

    let x = order(
        store,
        "x",
        CanonicalStatus::OnHold,
        t + Duration::nanoseconds(5),
    );
    let w = write(x.clone());
    state
        .commit_page(&lease, page_of(std::slice::from_ref(&x)))
        .await?;
    let missing = order(store, "missing", CanonicalStatus::OnHold, t);
    let known = state
        .lookup(CHANNEL, store, &lookups(&[&missing, &x]))
        .await?;
    assert_eq!(known.len(), 2);
    assert!(
        known[0].stored.is_none(),
        "{store}: answers in the order asked"
    );
    let meta = known[1].stored.as_ref();
    assert_eq!(meta.map(|m| m.status), Some(CanonicalStatus::OnHold));
    assert_eq!(
        meta.map(|m| m.modified_at),
        Some(x.modified_at),
        "{store}: exact time"
    );
    assert_eq!(
        meta.map(|m| m.content_hash.as_str()),
        Some(w.content_hash.as_str())
    );
    Ok(())
}

/// A page that writes one order twice keeps its last write (as two pages would), stores the
/// order once, and keeps the events of both writes, in the page's order; an event the page
/// repeats is stored once; the page's other orders are stored too. The same again for a page
/// assuming a blank store ([`PageCommit::assumes_blank`]), when the state says one is.
pub async fn repeated_order(state: &dyn State) -> Result<(), StateError> {
    repeated_order_in(state, "suite-repeated", false).await?;
    if state.is_blank("suite-repeated-blank").await? {
        repeated_order_in(state, "suite-repeated-blank", true).await?;
    }
    Ok(())
}

/// [`repeated_order`] on `store`, its page assuming a blank store or not.
async fn repeated_order_in(
    state: &dyn State,
    store: &str,
    assumes_blank: bool,
) -> Result<(), StateError> {
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let first = order(store, "a", CanonicalStatus::AwaitingPayment, t);
    let other = order(store, "b", CanonicalStatus::OnHold, t);
    let last = order(
        store,
        "a",
        CanonicalStatus::AwaitingShipment,
        t + Duration::minutes(1),
    );
    let mut page = page_of(&[first.clone(), other.clone(), last.clone()]);
    page.events = vec![
        event(&first, None),
        event(&other, None),
        event(&last, Some(first.status)),
        event(&other, None),
    ];
    page.assumes_blank = assumes_blank;
    state.commit_page(&lease, page).await?;
    let known = state
        .lookup(CHANNEL, store, &lookups(&[&last, &other]))
        .await?;
    let meta = known.first().and_then(|k| k.stored.as_ref());
    assert_eq!(
        meta.map(|m| (m.status, m.modified_at)),
        Some((last.status, last.modified_at)),
        "{store}: the order's last write in the page wins"
    );
    assert_eq!(
        known
            .get(1)
            .and_then(|k| k.stored.as_ref())
            .map(|m| m.status),
        Some(other.status),
        "{store}: the page's other order is stored"
    );
    let stored = state
        .find_order(
            store,
            &OrderRef {
                external_id: Some("a".into()),
                order_number: last.order_number.clone(),
            },
        )
        .await?;
    assert_eq!(
        stored.map(|o| (o.status, o.modified_at)),
        Some((last.status, last.modified_at)),
        "{store}: the stored content is the last write's"
    );
    let events = state
        .pending_events("suite-sink", Some(store), 0, 100)
        .await?;
    let stored_events: Vec<_> = events
        .iter()
        .map(|e| (e.event.key.external_id.as_str(), e.event.from, e.event.to))
        .collect();
    assert_eq!(
        stored_events,
        vec![
            ("a", None, first.status),
            ("b", None, other.status),
            ("a", Some(first.status), last.status)
        ],
        "{store}: both of the order's events and the other's once, in the page's order"
    );
    Ok(())
}

/// What was written survives closing and opening the state again (its schema is found and
/// kept, not re-created): `open` opens the same state each time.
pub async fn reopen_keeps_data<F, Fut, S>(open: F) -> Result<(), StateError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, StateError>>,
    S: State,
{
    let store = "suite-reopen";
    let t = t0();
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    let token = {
        let state = open().await?;
        let lease = lease(&state, store, "w1", t).await?;
        let mut page = page_of(std::slice::from_ref(&a));
        page.done = Some(SliceDone::Advance(t));
        state.commit_page(&lease, page).await?;
        lease.token
    };
    let state = open().await?;
    assert_eq!(
        state.cursor(store).await?.watermark,
        Some(t),
        "{store}: cursor kept"
    );
    let known = state.lookup(CHANNEL, store, &lookups(&[&a])).await?;
    assert!(known[0].stored.is_some(), "{store}: order kept");
    assert_eq!(
        state
            .pending_events("suite-sink", Some(store), 0, 10)
            .await?
            .len(),
        1
    );
    let next = lease(&state, store, "w2", t + ttl() + Duration::seconds(1)).await?;
    assert!(
        next.token > token,
        "{store}: tokens keep growing across reopening"
    );
    Ok(())
}

/// The read model ([`StateRead`]) lists what the state holds: orders, events with every sink's
/// verdict (the first one recorded), quarantine, delivery verdicts and cursors, paged.
pub async fn read_model<S: State + StateRead>(state: &S) -> Result<(), StateError> {
    let store = "suite-read";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let orders: Vec<Order> = (0..3)
        .map(|i| {
            order(
                store,
                &format!("r{i}"),
                CanonicalStatus::AwaitingShipment,
                t,
            )
        })
        .collect();
    let mut page = page_of(&orders);
    page.done = Some(SliceDone::Advance(t));
    page.quarantine.push(QuarantineWrite {
        rejection: Rejection {
            external_id: None,
            ..rejection(store, "bad")
        },
        window: window(t - Duration::hours(1), t),
        fingerprint: "f1".into(),
    });
    state.commit_page(&lease, page).await?;
    let listed = state.orders_page(Some(store), 0, 2).await?;
    assert_eq!(listed.len(), 2, "{store}: limit");
    let rest = state.orders_page(Some(store), listed[1].seq, 10).await?;
    let ids: Vec<&str> = listed
        .iter()
        .chain(&rest)
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["r0", "r1", "r2"],
        "{store}: orders in insertion order, paged"
    );
    assert_eq!(
        listed[0].order["external_id"], "r0",
        "{store}: the order's JSON"
    );
    assert_eq!(
        listed[0].modified_at,
        crate::codec::ts(t),
        "{store}: times as RFC 3339"
    );
    let events = state.events_page(Some(store), 0, 10).await?;
    assert_eq!(events.len(), 3);
    state
        .record_deliveries("sink-b", &[DeliveryMark::Delivered(events[0].event.id)])
        .await?;
    state
        .record_deliveries(
            "sink-a",
            &[DeliveryMark::Skipped {
                id: events[0].event.id,
                reason: "not_a_label".into(),
            }],
        )
        .await?;
    state
        .record_deliveries("sink-a", &[DeliveryMark::Delivered(events[0].event.id)])
        .await?;
    let events = state.events_page(Some(store), 0, 10).await?;
    let verdicts: Vec<(&str, &str, Option<&str>)> = events[0]
        .deliveries
        .iter()
        .map(|d| (d.sink.as_str(), d.state.as_str(), d.reason.as_deref()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("sink-a", "skipped", Some("not_a_label")),
            ("sink-b", "delivered", None)
        ],
        "{store}: every sink's verdict, by sink; the first verdict wins"
    );
    assert!(events[1].deliveries.is_empty(), "{store}: no verdict yet");
    let deliveries = state.deliveries_page(Some(store), 0, 10).await?;
    assert_eq!(deliveries.len(), 2, "{store}: delivery rows");
    let quarantined = state.quarantine_page(Some(store), 0, 10).await?;
    assert_eq!(quarantined.len(), 1, "{store}: quarantine listed");
    assert_eq!(quarantined[0].order_number.as_deref(), Some("#bad"));
    let cursors = state.cursors().await?;
    let ours = cursors.iter().find(|c| c.store_id == store);
    assert_eq!(
        ours.and_then(|c| c.watermark.clone()),
        Some(crate::codec::ts(t)),
        "{store}: cursor listed"
    );
    Ok(())
}

/// Throwaway PostgreSQL databases for tests (features `state-suite` and `postgres`).
#[cfg(feature = "postgres")]
pub mod pg {
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio_postgres::NoTls;

    /// The environment variable naming the admin URL (a database the tests may connect to and
    /// a user that may create databases).
    pub const ADMIN_ENV: &str = "ORDERPORT_TEST_PG";

    /// The admin URL when [`ADMIN_ENV`] is not set: this project's machines.
    pub const DEFAULT_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// A database created for one test, dropped (with its connections) when this is dropped.
    #[derive(Debug)]
    pub struct TestDatabase {
        admin: String,
        name: String,
        url: String,
    }

    fn admin_url() -> String {
        std::env::var(ADMIN_ENV).unwrap_or_else(|_| DEFAULT_ADMIN.to_owned())
    }

    /// `admin` with its database replaced by `name`.
    fn with_database(admin: &str, name: &str) -> String {
        let (base, query) = match admin.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin, String::new()),
        };
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        let base = match base[authority_start..].find('/') {
            Some(slash) => &base[..authority_start + slash],
            None => base,
        };
        format!("{base}/{name}{query}")
    }

    async fn admin_client(admin: &str) -> Result<tokio_postgres::Client, String> {
        let (client, connection) = tokio_postgres::connect(admin, NoTls).await.map_err(|e| {
            format!(
                "PostgreSQL does not answer at {} ({e}); these tests need it: start it (`.ci/run` does) or point {ADMIN_ENV} at one",
                crate::postgres::redact_url(admin)
            )
        })?;
        tokio::spawn(connection);
        Ok(client)
    }

    impl TestDatabase {
        /// Creates an empty database with a unique name. Fails, with a message saying so, when
        /// the server does not answer: these tests never skip.
        pub async fn create(prefix: &str) -> Result<Self, String> {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let admin = admin_url();
            let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
            let name = format!(
                "orderport_{}_{}_{}_{}",
                prefix.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                nanos.rem_euclid(1_000_000_000)
            )
            .to_ascii_lowercase();
            let client = admin_client(&admin).await?;
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .map_err(|e| format!("creating database {name}: {e}"))?;
            let url = with_database(&admin, &name);
            Ok(Self { admin, name, url })
        }

        /// Its URL.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// Its name.
        pub fn name(&self) -> &str {
            &self.name
        }

        /// A client of its own on it (its connection driven by a task on the current
        /// runtime), for what a test reads or changes behind the state's back.
        pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
            let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
                .await
                .map_err(|e| format!("connecting to test database {}: {e}", self.name))?;
            tokio::spawn(connection);
            Ok(client)
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            let (admin, name) = (self.admin.clone(), self.name.clone());
            // Dropped inside or outside a runtime: a thread of its own with its own runtime.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let client = admin_client(&admin).await?;
                    client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .join();
            if let Ok(Err(e)) = dropped {
                eprintln!("could not drop test database {}: {e}", self.name);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::with_database;

        #[test]
        fn the_database_of_a_url_is_replaced() {
            assert_eq!(
                with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
                "postgres://postgres@127.0.0.1:5432/t1"
            );
            assert_eq!(
                with_database("postgres://u:p@h?sslmode=disable", "t1"),
                "postgres://u:p@h/t1?sslmode=disable"
            );
        }
    }
}

/// Platform marks: an action's status, mark and event land together; a write whose expected
/// status or mark is stale (a hold's end by a nanosecond) is refused with nothing written (the
/// action's, and a page's that replaces the order: the whole page; so is a page replacing an
/// order no longer stored, naming it); lapsed holds are listed by their end (to the
/// nanosecond); the stored JSON says the stored status; a label clears the mark.
pub async fn platform_marks(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-platform";
    let t = t0();
    let lease = lease(state, store, "w1", t).await?;
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    let b = order(store, "b", CanonicalStatus::AwaitingShipment, t);
    state
        .commit_page(&lease, page_of(&[a.clone(), b.clone()]))
        .await?;
    let by_id = |id: &str| OrderRef {
        external_id: Some(id.into()),
        order_number: format!("#{id}"),
    };
    let found = state.find_marked(store, &by_id("a")).await?;
    assert_eq!(
        found.as_ref().map(|m| (m.order.status, m.platform)),
        Some((CanonicalStatus::AwaitingShipment, None)),
        "{store}: a stored order has no mark"
    );
    let until = t + Duration::days(2) + Duration::nanoseconds(7);
    let hold = Some(PlatformMark::Hold { until });
    let held = NewEvent::change(
        &a,
        Some(CanonicalStatus::AwaitingShipment),
        CanonicalStatus::OnHold,
        t,
        false,
    );
    let write = |expect, status, platform, event| PlatformWrite {
        store_id: store.into(),
        key: a.key(),
        expect,
        status,
        platform,
        event,
        at: t,
    };
    let id = state
        .record_platform(write(
            (CanonicalStatus::AwaitingShipment, None),
            CanonicalStatus::OnHold,
            hold,
            Some(held.clone()),
        ))
        .await?;
    assert!(id.is_some(), "{store}: the hold's event is appended");
    let found = state.find_marked(store, &by_id("a")).await?;
    assert_eq!(
        found.as_ref().map(|m| (m.order.status, m.platform)),
        Some((CanonicalStatus::OnHold, hold)),
        "{store}: the hold and its end (to the nanosecond) are stored"
    );
    assert_eq!(
        state
            .find_order(store, &by_id("a"))
            .await?
            .map(|o| o.status),
        Some(CanonicalStatus::OnHold),
        "{store}: the stored order says the stored status"
    );
    let known = state
        .lookup(
            CHANNEL,
            store,
            &[OrderLookup {
                external_id: "a".into(),
                order_number: "#a".into(),
            }],
        )
        .await?;
    assert_eq!(known[0].platform, hold, "{store}: lookup reports the mark");

    // A stale expectation: refused, nothing written.
    let events_before = state
        .pending_events("suite-sink", Some(store), 0, 100)
        .await?
        .len();
    let stale = state
        .record_platform(write(
            (CanonicalStatus::AwaitingShipment, None),
            CanonicalStatus::Cancelled,
            Some(PlatformMark::Cancelled),
            Some(NewEvent::change(
                &a,
                Some(CanonicalStatus::AwaitingShipment),
                CanonicalStatus::Cancelled,
                t + Duration::seconds(1),
                false,
            )),
        ))
        .await;
    assert!(
        matches!(stale, Err(StateError::Conflict { .. })),
        "{store}: a stale platform write is a conflict: {stale:?}"
    );
    // A page that replaces the order from a stale read: refused whole (b is not written).
    let mut a2 = a.clone();
    a2.modified_at = t + Duration::minutes(5);
    let mut b2 = b.clone();
    b2.modified_at = t + Duration::minutes(5);
    b2.status = CanonicalStatus::Cancelled;
    let mut page = page_of(&[a2, b2.clone()]);
    page.events.clear();
    page.orders[0].replaces = Some((CanonicalStatus::AwaitingShipment, None));
    let refused = state.commit_page(&lease, page).await;
    assert!(
        matches!(refused, Err(StateError::Conflict { .. })),
        "{store}: a page from a stale read is a conflict: {refused:?}"
    );
    assert_eq!(
        state
            .find_marked(store, &by_id("b"))
            .await?
            .map(|m| m.order.status),
        Some(CanonicalStatus::AwaitingShipment),
        "{store}: nothing of the refused page is written"
    );
    assert_eq!(
        state
            .find_marked(store, &by_id("a"))
            .await?
            .map(|m| (m.order.status, m.platform)),
        Some((CanonicalStatus::OnHold, hold)),
        "{store}: the refused writes left the hold"
    );
    assert_eq!(
        state
            .pending_events("suite-sink", Some(store), 0, 100)
            .await?
            .len(),
        events_before,
        "{store}: no event from refused writes"
    );
    // The same hold read with another end (by a nanosecond): stale too, the page refused.
    let mut a_held = a.clone();
    a_held.modified_at = t + Duration::minutes(6);
    a_held.status = CanonicalStatus::OnHold;
    let mut page = page_of(&[a_held]);
    page.events.clear();
    let other_end = until + Duration::nanoseconds(1);
    page.orders[0].replaces = Some((
        CanonicalStatus::OnHold,
        Some(PlatformMark::Hold { until: other_end }),
    ));
    let refused = state.commit_page(&lease, page).await;
    assert!(
        matches!(refused, Err(StateError::Conflict { .. })),
        "{store}: a page read with another end of the hold is a conflict: {refused:?}"
    );
    // A page that replaces an order no longer stored: refused, naming it, nothing written.
    let gone = order(store, "gone-order", CanonicalStatus::AwaitingShipment, t);
    let mut page = page_of(&[gone]);
    page.events.clear();
    page.orders[0].replaces = Some((CanonicalStatus::AwaitingShipment, None));
    let refused = state.commit_page(&lease, page).await;
    assert!(
        matches!(&refused, Err(e @ StateError::Conflict { .. }) if e.to_string().contains("gone-order")),
        "{store}: a page replacing an order no longer stored is a conflict naming it: {refused:?}"
    );
    assert!(
        state
            .find_marked(store, &by_id("gone-order"))
            .await?
            .is_none(),
        "{store}: the refused page did not store the order"
    );
    // A page from a current read keeps the mark it is given.
    let mut a3 = a.clone();
    a3.modified_at = t + Duration::minutes(6);
    a3.status = CanonicalStatus::OnHold;
    let mut page = page_of(&[a3]);
    page.events.clear();
    page.orders[0].replaces = Some((CanonicalStatus::OnHold, hold));
    page.orders[0].platform = hold;
    state.commit_page(&lease, page).await?;
    assert_eq!(
        state
            .find_marked(store, &by_id("a"))
            .await?
            .map(|m| m.platform),
        Some(hold),
        "{store}: a page keeps the mark the engine gives it"
    );

    // Lapsed holds, by their end.
    assert!(
        state
            .lapsed_holds(store, until - Duration::nanoseconds(1))
            .await?
            .is_empty(),
        "{store}: a hold is not lapsed before its end"
    );
    let lapsed = state.lapsed_holds(store, until).await?;
    assert_eq!(
        lapsed.iter().map(|m| m.order.key()).collect::<Vec<_>>(),
        [a.key()],
        "{store}: a hold lapses at its end"
    );

    // A label clears the mark.
    let update = label(by_id("a"), t);
    state
        .record_shipment(ShipmentRecord {
            store_id: store,
            update: &update,
            at: t + Duration::minutes(7),
            ship: Some(ShipOrder {
                key: a.key(),
                expect: CanonicalStatus::OnHold,
                event: NewEvent::change(
                    &a,
                    Some(CanonicalStatus::OnHold),
                    CanonicalStatus::Shipped,
                    t + Duration::minutes(7),
                    true,
                ),
            }),
            coverage: None,
        })
        .await?;
    assert_eq!(
        state
            .find_marked(store, &by_id("a"))
            .await?
            .map(|m| (m.order.status, m.platform)),
        Some((CanonicalStatus::Shipped, None)),
        "{store}: a label ships the order and clears its hold"
    );
    assert!(
        state.lapsed_holds(store, until).await?.is_empty(),
        "{store}: a cleared hold does not lapse"
    );
    Ok(())
}

/// [`State::is_blank`] and pages committed as [`PageCommit::assumes_blank`], for a state that
/// can say a store is blank (one that keeps the trait's default `false` passes at once: the
/// engine never sends it such a page).
///
/// A store with nothing stored is blank; one with an order, or with only a shipment, is not.
/// A page that assumes the store blank lands when it is; it is refused with
/// [`StateError::Conflict`], writing nothing, when the store has a shipment, or when one of
/// the page's orders is stored.
pub async fn blank_stores(state: &dyn State) -> Result<(), StateError> {
    let store = "suite-blank";
    let t = t0();
    if !state.is_blank(store).await? {
        return Ok(());
    }
    let lease = lease(state, store, "w1", t).await?;
    let a = order(store, "a", CanonicalStatus::AwaitingShipment, t);
    let b = order(store, "b", CanonicalStatus::Shipped, t);
    let assuming = |orders: &[Order]| PageCommit {
        assumes_blank: true,
        ..page_of(orders)
    };
    state
        .commit_page(&lease, assuming(std::slice::from_ref(&a)))
        .await?;
    assert!(
        !state.is_blank(store).await?,
        "{store}: a store with an order stored is not blank"
    );
    assert_eq!(
        stored(state, store, &[&a]).await?,
        [true],
        "{store}: a page assuming a blank store must land when the store is blank"
    );

    // One of the page's orders is stored: refused whole.
    let refused = state
        .commit_page(&lease, assuming(&[b.clone(), a.clone()]))
        .await;
    assert!(
        matches!(&refused, Err(StateError::Conflict { detail, .. }) if detail.contains("order a")),
        "{store}: a page assuming a blank store with an order of it stored must be refused with Conflict naming the order, got {refused:?}"
    );
    assert_eq!(
        stored(state, store, &[&b]).await?,
        [false],
        "{store}: a refused page (an order stored) left its orders behind"
    );

    // Events of orders not in the page: one stored before is found (its event written once
    // however often the pages repeat it), one neither stored nor in the page refuses the page.
    let mut shipped_a = a.clone();
    shipped_a.status = CanonicalStatus::Shipped;
    shipped_a.modified_at = t + Duration::minutes(5);
    let a_ships = event(&shipped_a, Some(a.status));
    for id in ["x", "y"] {
        let new = order(store, id, CanonicalStatus::AwaitingShipment, t);
        let page = PageCommit {
            events: vec![event(&new, None), a_ships.clone()],
            ..assuming(std::slice::from_ref(&new))
        };
        state.commit_page(&lease, page).await?;
    }
    let events: Vec<(String, Option<CanonicalStatus>)> = state
        .pending_events("suite-sink", Some(store), 0, 100)
        .await?
        .into_iter()
        .map(|e| (e.event.key.external_id, e.event.from))
        .collect();
    let want = |id: &str, from: Option<CanonicalStatus>| (id.to_owned(), from);
    assert_eq!(
        events,
        [
            want("a", None),
            want("x", None),
            want("a", Some(a.status)),
            want("y", None)
        ],
        "{store}: pages assuming a blank store write their events, one of an order stored before once"
    );
    let z = order(store, "z", CanonicalStatus::AwaitingShipment, t);
    let ghost = order(store, "ghost", CanonicalStatus::AwaitingShipment, t);
    let page = PageCommit {
        events: vec![event(&z, None), event(&ghost, None)],
        ..assuming(std::slice::from_ref(&z))
    };
    let refused = state.commit_page(&lease, page).await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("ghost")),
        "{store}: a page assuming a blank store with an event of an order neither stored nor in it must be refused naming the order, got {refused:?}"
    );
    assert_eq!(
        stored(state, store, &[&z]).await?,
        [false],
        "{store}: a refused page (an event without its order) left its orders behind"
    );

    // Only a shipment, recorded for an order not stored yet: not blank, and refused.
    let shipped = "suite-blank-shipped";
    let c = order(shipped, "c", CanonicalStatus::Shipped, t);
    let update = label(
        OrderRef {
            external_id: Some("c".into()),
            order_number: "#c".into(),
        },
        t,
    );
    let lease = self::lease(state, shipped, "w1", t).await?;
    state.record_shipment(recorded(shipped, &update, t)).await?;
    assert!(
        !state.is_blank(shipped).await?,
        "{shipped}: a store with a shipment recorded is not blank (a lookup finds its label)"
    );
    let refused = state
        .commit_page(&lease, assuming(std::slice::from_ref(&c)))
        .await;
    assert!(
        matches!(&refused, Err(StateError::Conflict { detail, .. }) if detail.contains("shipment")),
        "{shipped}: a page assuming a blank store with a shipment recorded must be refused with Conflict naming the shipment, got {refused:?}"
    );
    assert_eq!(
        stored(state, shipped, &[&c]).await?,
        [false],
        "{shipped}: a refused page (a shipment) left its orders behind"
    );
    assert!(
        state
            .pending_events("suite-sink", Some(shipped), 0, 100)
            .await?
            .is_empty(),
        "{shipped}: a refused page (a shipment) left its events behind"
    );
    // Without the assumption the same page lands (the engine looked it up).
    state.commit_page(&lease, page_of(&[c])).await?;
    Ok(())
}

/// What [`concurrent_pages`] commits for one store, and what must come of it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// A valid page: its orders, events and cursor land.
    Lands,
    /// Written with a token an expiry and a takeover made stale: [`StateError::LeaseLost`].
    StaleLease,
    /// Assumes a blank store that has an order: [`StateError::Conflict`].
    NotBlank,
    /// An event whose order is neither stored nor in the page: an error.
    UnstoredEvent,
}

/// Pages of many stores committed at once (as a worker's runs commit theirs) each land or
/// fail for their own reason, whatever else is committed beside them: a stale lease, a store
/// no longer blank or an event without its order fails that page alone, leaving nothing of
/// it, and every other page lands whole (orders, events with their backfill flag, cursor). A
/// state that commits concurrent pages together (PostgreSQL's group commit) must not let one
/// page's refusal take the others with it.
pub async fn concurrent_pages(state: &dyn State) -> Result<(), StateError> {
    const STORES: usize = 24;
    let t = t0();
    let end = t + Duration::hours(1);
    let fate = |i: usize| match i % 6 {
        1 => Fate::StaleLease,
        3 => Fate::NotBlank,
        5 => Fate::UnstoredEvent,
        _ => Fate::Lands,
    };
    let mut commits = Vec::with_capacity(STORES);
    for i in 0..STORES {
        let store = format!("suite-concurrent-{i:02}");
        let lease = lease(state, &store, "w1", t).await?;
        let orders: Vec<Order> = (0..3)
            .map(|k| {
                order(
                    &store,
                    &format!("o{k}"),
                    CanonicalStatus::AwaitingShipment,
                    t,
                )
            })
            .collect();
        let rejected = |fingerprint: &str| QuarantineWrite {
            rejection: rejection(&store, "bad"),
            window: window(t, end),
            fingerprint: fingerprint.into(),
        };
        let mut page = PageCommit {
            // The same order rejected twice in the page: the last write counts.
            quarantine: vec![rejected("f-first"), rejected("f-last")],
            done: Some(SliceDone::Advance(end)),
            walk: Some(WalkRecord {
                window: window(t, end),
                started_at: t,
                finished_at: end,
            }),
            backfill: true,
            backfill_until: Some(end),
            ..page_of(&orders)
        };
        match fate(i) {
            Fate::Lands => {}
            Fate::StaleLease => {
                let later = t + ttl() + Duration::seconds(1);
                self::lease(state, &store, "w2", later).await?;
            }
            Fate::NotBlank => {
                let earlier = order(&store, "earlier", CanonicalStatus::AwaitingShipment, t);
                state.commit_page(&lease, page_of(&[earlier])).await?;
                page.assumes_blank = true;
                page.orders.push(write(order(
                    &store,
                    "earlier",
                    CanonicalStatus::AwaitingShipment,
                    t,
                )));
            }
            Fate::UnstoredEvent => {
                let ghost = order(&store, "ghost", CanonicalStatus::AwaitingShipment, t);
                page.events.push(event(&ghost, None));
            }
        }
        commits.push((store, lease, page, orders));
    }
    let outcomes = futures::future::join_all(
        commits
            .iter()
            .map(|(_, lease, page, _)| state.commit_page(lease, page.clone())),
    )
    .await;
    for (i, ((store, lease, _, orders), outcome)) in commits.iter().zip(outcomes).enumerate() {
        let fate = fate(i);
        let ok = match (fate, &outcome) {
            (Fate::Lands, Ok(())) => true,
            (Fate::StaleLease, Err(StateError::LeaseLost { store: lost })) => lost == store,
            (Fate::NotBlank, Err(StateError::Conflict { .. })) => true,
            (Fate::UnstoredEvent, Err(e)) => e.to_string().contains("ghost"),
            _ => false,
        };
        assert!(
            ok,
            "{store}: committed beside {} other pages, a page that {fate:?} came out {outcome:?}",
            STORES - 1
        );
        let refs: Vec<&Order> = orders.iter().collect();
        let lands = fate == Fate::Lands;
        assert_eq!(
            stored(state, store, &refs).await?,
            vec![lands; refs.len()],
            "{store}: a page that {fate:?}, committed beside others: its orders stored?"
        );
        let events = state
            .pending_events("suite-sink", Some(store), 0, 100)
            .await?;
        let expected = match fate {
            Fate::Lands => 3,
            // The order committed before, alone, with its event.
            Fate::NotBlank => 1,
            Fate::StaleLease | Fate::UnstoredEvent => 0,
        };
        assert_eq!(
            events.len(),
            expected,
            "{store}: a page that {fate:?}, committed beside others: events in the outbox"
        );
        assert!(
            events
                .iter()
                .all(|e| e.event.backfill == (fate == Fate::Lands)),
            "{store}: each event keeps its own page's backfill flag: {events:?}"
        );
        let cursor = state.cursor(store).await?;
        assert_eq!(
            cursor.watermark,
            lands.then_some(end),
            "{store}: a page that {fate:?}, committed beside others: its cursor"
        );
        assert_eq!(
            state.walks(store, t - Duration::days(1)).await?.len(),
            usize::from(lands),
            "{store}: a page that {fate:?}, committed beside others: its walk"
        );
        if fate != Fate::StaleLease {
            assert_eq!(
                state.requeue_quarantine(lease, "f-last").await?,
                0,
                "{store}: the page's last quarantine write must count"
            );
            assert_eq!(
                state.requeue_quarantine(lease, "f-other").await?,
                usize::from(lands),
                "{store}: a page that {fate:?}, committed beside others: one rejected order \
                 quarantined once?"
            );
        }
    }
    Ok(())
}

/// CPU time, for benchmarks that compare the state's cost side by side (Unix: `getrusage`; the
/// server's from /proc, so Linux only: zero elsewhere).
#[cfg(unix)]
pub mod cpu {
    use std::time::Duration;

    /// This process's user + system time (every thread's).
    pub fn process() -> Duration {
        // SAFETY: `rusage` is plain data that getrusage fills.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a `rusage` this function owns.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return Duration::ZERO;
        }
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        time(usage.ru_utime) + time(usage.ru_stime)
    }

    /// The user + system time of every process named `postgres` on this machine (the server
    /// and its connections' processes) and of the children they reaped, from /proc. The
    /// postmaster reaps every process it starts (a connection's, an autovacuum worker's), so
    /// the time of one that exits between two readings moves into its reaped children's and
    /// stays counted.
    pub fn postgres_server() -> Duration {
        // SAFETY: sysconf only reads a constant of the system.
        let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
            .unwrap_or(100)
            .max(1);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Duration::ZERO;
        };
        let total: u64 = entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter_map(|stat| {
                // `pid (comm) state ppid …`: the name may hold spaces, so split after its `)`.
                let (head, rest) = stat.rsplit_once(')')?;
                if !head.ends_with("(postgres") {
                    return None;
                }
                let fields: Vec<&str> = rest.split_whitespace().collect();
                // utime, stime, cutime and cstime are the stat's 14th to 17th fields, the 12th
                // to 15th after `)`.
                let ticks: Option<Vec<u64>> = (11..15)
                    .map(|i| fields.get(i).and_then(|f| f.parse().ok()))
                    .collect();
                Some(ticks?.iter().sum::<u64>())
            })
            .sum();
        Duration::from_millis(total * 1000 / ticks)
    }
}
