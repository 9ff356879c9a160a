//! The normalized output of a fetch, as an insta JSON snapshot stored in the scenario directory.
//!
//! One entry per outcome, in the order the pages returned them: an accepted order in canonical
//! JSON, or a rejection with every reason.
//!
//! Review new snapshots by hand: run with `INSTA_UPDATE=always` to write `<name>.snap` in place,
//! or read the `<name>.snap.new` file insta leaves next to it and rename it once it is right.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use orderport_core::{FetchOutcome, Order, Page, Rejection};
use serde::Serialize;

/// One outcome in a snapshot.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SnapshotEntry<'a> {
    /// An accepted order.
    Accepted {
        /// The page it came on, from 1.
        page: usize,
        /// The canonical order.
        order: &'a Order,
    },
    /// A rejected order.
    Rejected {
        /// The page it came on, from 1.
        page: usize,
        /// The rejection and its reasons.
        rejection: &'a Rejection,
    },
}

/// The snapshot entries of a walk, page by page.
pub fn entries(pages: &[Page]) -> Vec<SnapshotEntry<'_>> {
    pages
        .iter()
        .enumerate()
        .flat_map(|(i, page)| {
            page.outcomes.iter().map(move |outcome| match outcome {
                FetchOutcome::Accepted(order) => SnapshotEntry::Accepted { page: i + 1, order },
                FetchOutcome::Rejected(rejection) => SnapshotEntry::Rejected {
                    page: i + 1,
                    rejection,
                },
            })
        })
        .collect()
}

/// Compares a walk's outcomes with `dir/<name>.snap`, and returns insta's report when they
/// differ (or when the snapshot is new) instead of panicking.
pub fn check_outcomes(
    dir: &Path,
    name: &str,
    description: &str,
    pages: &[Page],
) -> Result<(), String> {
    let value = entries(pages);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_json_snapshot!(name, value));
    }));
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "snapshot assertion failed".to_owned());
        format!(
            "snapshot {}/{name}.snap does not match: {message}; review {name}.snap.new (or run \
             with INSTA_UPDATE=always) and read every value before accepting it",
            dir.display()
        )
    })
}
