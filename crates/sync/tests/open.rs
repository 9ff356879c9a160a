//! Opening the SQLite state: several processes (here threads with their own connections)
//! opening the same file at the same instant, and read-only opening.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};

use orderport_sync::SqliteState;

/// Threads that open the same new database at the same instant all succeed: the first creates
/// the schema, the others wait for it (busy timeout, `BEGIN IMMEDIATE`) instead of failing with
/// "database is locked" or a half-created schema. Repeated, since the race is timing-dependent.
#[test]
fn simultaneous_opens_of_a_new_database_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..40 {
        let path = dir.path().join(format!("race-{round}.db"));
        let barrier = Arc::new(Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteState::open(&path).map(|_| ())
                })
            })
            .collect();
        for t in threads {
            let result = t.join().unwrap();
            assert!(result.is_ok(), "round {round}: {result:?}");
        }
    }
}
