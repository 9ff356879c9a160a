//! How values are written to and read from PostgreSQL columns, and how driver errors become
//! [`StateError`]s. The encodings shared with SQLite are in [`crate::codec`].

use chrono::{DateTime, Utc};

use crate::error::StateError;

/// An instant as stored: nanoseconds since 1970, saturated at the ends of `i64` (years 1677
/// and 2262).
pub(super) fn ns(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A stored instant, read back.
pub(super) fn at(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// The error as text: the server's message for a database error (with its detail), else
/// the driver's and its causes.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.code().code(), db.message()),
            None => format!("{}: {}", db.code().code(), db.message()),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The SQLSTATE of a statement refused by the server's own check: `orderport_refuse` (schema
/// version 4) raises it, naming what it refused in the error's detail (a store, an order's
/// external id).
pub(super) const REFUSED: &str = "OR001";

/// Driver errors as [`StateError`]s, naming the store and what was being done.
pub(super) trait Ctx<T> {
    /// A [`StateError::Backend`] for `operation` on `store`.
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError>;

    /// As [`Ctx::ctx`], except that a statement the server refused ([`REFUSED`]) fails with
    /// `refusal` of the subject it named.
    fn ctx_refused(
        self,
        store: &str,
        operation: &'static str,
        refusal: impl FnOnce(&str) -> StateError,
    ) -> Result<T, StateError>;
}

impl<T> Ctx<T> for Result<T, tokio_postgres::Error> {
    fn ctx(self, store: &str, operation: &'static str) -> Result<T, StateError> {
        self.map_err(|e| StateError::Backend {
            store: store.to_owned(),
            operation,
            detail: describe(&e),
        })
    }

    fn ctx_refused(
        self,
        store: &str,
        operation: &'static str,
        refusal: impl FnOnce(&str) -> StateError,
    ) -> Result<T, StateError> {
        match self {
            Err(e) => match e.as_db_error().filter(|db| db.code().code() == REFUSED) {
                Some(db) => Err(refusal(db.detail().unwrap_or_default())),
                None => Err(e).ctx(store, operation),
            },
            ok => ok.ctx(store, operation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_round_trip_to_the_nanosecond_and_saturate_past_2262() {
        let t = Utc.timestamp_opt(1_780_000_000, 123_456_789).single();
        assert_eq!(t.map(|t| at(ns(t))), t);
        let far = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single();
        assert_eq!(far.map(ns), Some(i64::MAX));
    }
}
