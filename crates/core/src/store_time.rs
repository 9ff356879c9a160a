//! Store wall clocks: reading the lenient date formats channels send, and converting a store's
//! wall-clock times to and from UTC with chrono-tz.
//!
//! # The DST rule
//!
//! A wall-clock time is resolved in the store's IANA zone:
//! - **Unique** times convert directly.
//! - **Ambiguous** times (the repeated hour when clocks go back) resolve to the *earlier* instant,
//!   the first time the wall clock showed that value. [`WallResolution::kind`] reports the
//!   ambiguity and the later alternative, so nothing is decided silently.
//! - **Gap** times (the skipped hour when clocks go forward) are read with the offset in force
//!   *before* the gap, which lands them as far after the gap's start as the wall clock said:
//!   02:30 in New York on a spring-forward day becomes 03:30 EDT (07:30 UTC).
//!
//! Query windows sent to a server in its wall clock use [`StoreZone::wall_window`], which widens
//! the window so that every interpretation of its bounds covers the UTC window asked for.

use std::fmt;

use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// A store server's IANA time zone. The default is UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreZone(Tz);

impl Default for StoreZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl fmt::Display for StoreZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// A zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IANA time zone; use a name such as \"America/Chicago\" or \"UTC\"")]
pub struct UnknownZone(pub String);

/// A text in none of the date formats channels are known to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date in a known format (MM/dd/yyyy HH:mm[:ss] [AM|PM], yyyy-MM-dd HH:mm:ss, ISO 8601)")]
pub struct TimeParseError(pub String);

/// What a timestamp text said: a wall-clock time in some zone, or an instant with its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedTime {
    /// No offset was given: a wall-clock time, to be read in the store's zone.
    Wall(NaiveDateTime),
    /// An offset or `Z` was given, and is honoured.
    Instant(DateTime<FixedOffset>),
}

/// How a wall-clock time mapped to an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallKind {
    /// Exactly one instant had this wall-clock time.
    Unique,
    /// Two instants had it; the earlier was chosen and this is the later.
    Ambiguous {
        /// The instant not chosen.
        later: DateTime<Utc>,
    },
    /// No instant had it (clocks skipped it); the offset before the gap was used.
    Gap,
}

/// A wall-clock time resolved to an instant, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallResolution {
    /// The chosen instant.
    pub instant: DateTime<Utc>,
    /// Whether the choice was unique.
    pub kind: WallKind,
}

/// A window in a store's wall clock, as sent to a server that reads its bounds in that clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallWindow {
    /// The first wall-clock time, floored to the precision.
    pub start: NaiveDateTime,
    /// The last wall-clock time, ceiled to the precision.
    pub end: NaiveDateTime,
}

impl StoreZone {
    /// UTC.
    pub const UTC: StoreZone = StoreZone(Tz::UTC);

    /// Looks a zone up by its IANA name.
    pub fn parse(name: &str) -> Result<Self, UnknownZone> {
        name.trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| UnknownZone(name.to_owned()))
    }

    /// The chrono-tz zone.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The store's wall-clock time at an instant.
    pub fn to_wall(self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.0).naive_local()
    }

    /// Resolves a wall-clock time to an instant by the module's DST rule.
    pub fn resolve(self, wall: NaiveDateTime) -> WallResolution {
        match self.0.from_local_datetime(&wall) {
            LocalResult::Single(t) => WallResolution {
                instant: t.with_timezone(&Utc),
                kind: WallKind::Unique,
            },
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                WallResolution {
                    instant: a.min(b),
                    kind: WallKind::Ambiguous { later: a.max(b) },
                }
            }
            LocalResult::None => WallResolution {
                instant: wall.and_utc() - self.offset_before_gap(wall),
                kind: WallKind::Gap,
            },
        }
    }

    /// Converts a wall-clock time to UTC by the module's DST rule.
    pub fn to_utc(self, wall: NaiveDateTime) -> DateTime<Utc> {
        self.resolve(wall).instant
    }

    /// Parses a timestamp and resolves it: offset-less values in this zone, others by their offset.
    pub fn read(self, text: &str) -> Result<DateTime<Utc>, TimeParseError> {
        Ok(match parse_timestamp(text)? {
            ParsedTime::Wall(wall) => self.to_utc(wall),
            ParsedTime::Instant(t) => t.with_timezone(&Utc),
        })
    }

    /// The earliest and latest instant a server could mean by this wall-clock time, whichever DST
    /// rule it follows.
    pub fn interpretations(self, wall: NaiveDateTime) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.0.from_local_datetime(&wall) {
            LocalResult::Single(t) => (t.with_timezone(&Utc), t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                (a.min(b), a.max(b))
            }
            LocalResult::None => {
                let before = wall.and_utc() - self.offset_before_gap(wall);
                let after = wall.and_utc() - self.offset_after_gap(wall);
                (before.min(after), before.max(after))
            }
        }
    }

    /// The wall-clock window to send a server so that it returns every order modified in the UTC
    /// window `[from, to]`, whether the server compares wall-clock strings or converts the bounds
    /// to instants by any DST rule.
    ///
    /// Guarantees, for `from <= to`:
    /// - every instant `u` in `[from, to]` has `start <= to_wall(u) <= end`;
    /// - every interpretation of `start` is at or before `from`, and of `end` at or after `to`;
    /// - `start` and `end` are multiples of `precision` (one minute for `MM/dd/yyyy HH:mm`).
    pub fn wall_window(
        self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        precision: Duration,
    ) -> WallWindow {
        let (from, to) = (from.min(to), from.max(to));
        let (mut lo, mut hi) = (self.to_wall(from), self.to_wall(to));
        for change in self.offset_changes(from, to) {
            lo = lo.min(self.to_wall(change));
            hi = hi.max(self.to_wall(change - Duration::seconds(1)));
        }
        let mut start = floor_to(lo, precision);
        let mut end = ceil_to(hi, precision);
        // Widen until no interpretation of a bound falls inside the window.
        for _ in 0..8 {
            let (_, latest) = self.interpretations(start);
            if latest <= from {
                break;
            }
            start = floor_to(start - (latest - from), precision);
        }
        for _ in 0..8 {
            let (earliest, _) = self.interpretations(end);
            if earliest >= to {
                break;
            }
            end = ceil_to(end + (to - earliest), precision);
        }
        WallWindow { start, end }
    }

    /// The instants in `(from, to]` at which the zone's UTC offset changes.
    fn offset_changes(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let step = Duration::hours(1);
        let mut changes = Vec::new();
        let mut t = from;
        let mut offset = self.offset_at(from);
        while t < to {
            let next = (t + step).min(to);
            let next_offset = self.offset_at(next);
            if next_offset != offset {
                changes.push(self.first_with_offset(t, next, next_offset));
            }
            t = next;
            offset = next_offset;
        }
        changes
    }

    /// Binary search for the first second in `(lo, hi]` whose offset is `target`.
    fn first_with_offset(
        self,
        mut lo: DateTime<Utc>,
        mut hi: DateTime<Utc>,
        target: FixedOffset,
    ) -> DateTime<Utc> {
        while hi - lo > Duration::seconds(1) {
            let mid = lo + (hi - lo) / 2;
            if self.offset_at(mid) == target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    fn offset_at(self, instant: DateTime<Utc>) -> FixedOffset {
        self.0.offset_from_utc_datetime(&instant.naive_utc()).fix()
    }

    /// The offset in force shortly before a skipped wall-clock time. Transitions are months apart,
    /// so a day earlier is safely before this one and after the previous one.
    fn offset_before_gap(self, wall: NaiveDateTime) -> Duration {
        offset_duration(self.offset_at(wall.and_utc() - Duration::hours(26)))
    }

    fn offset_after_gap(self, wall: NaiveDateTime) -> Duration {
        offset_duration(self.offset_at(wall.and_utc() + Duration::hours(26)))
    }
}

fn offset_duration(offset: FixedOffset) -> Duration {
    Duration::seconds(i64::from(offset.local_minus_utc()))
}

pub(crate) fn floor_to(t: NaiveDateTime, precision: Duration) -> NaiveDateTime {
    let step = precision.num_seconds().max(1);
    let secs = t.and_utc().timestamp();
    let floored = secs - secs.rem_euclid(step);
    DateTime::from_timestamp(floored, 0).map_or(t, |d| d.naive_utc())
}

pub(crate) fn ceil_to(t: NaiveDateTime, precision: Duration) -> NaiveDateTime {
    let floored = floor_to(t, precision);
    if floored == t {
        t
    } else {
        floored + Duration::seconds(precision.num_seconds().max(1))
    }
}

/// Parses the timestamp formats real endpoints send:
/// - `MM/dd/yyyy HH:mm[:ss]`, one- or two-digit month, day and hour, two- or four-digit year, in
///   24-hour or 12-hour notation with `AM`/`PM` (an hour above 12 with `PM`, as in `21:56 PM`, is
///   read as 24-hour), or a date alone (midnight);
/// - `yyyy-MM-dd HH:mm[:ss[.fffffff]]` and ISO 8601 with `T`, with or without an offset or `Z`,
///   with fractions up to nanoseconds (so .NET's seven digits), or a date alone.
pub fn parse_timestamp(text: &str) -> Result<ParsedTime, TimeParseError> {
    let trimmed = text.trim();
    let err = || TimeParseError(text.to_owned());
    if trimmed.contains('/') {
        return parse_slashed(trimmed).map(ParsedTime::Wall).ok_or_else(err);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(ParsedTime::Instant(t));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(trimmed, format) {
            return Ok(ParsedTime::Instant(t));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, format) {
            return Ok(ParsedTime::Wall(t));
        }
    }
    NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        .map(|d| ParsedTime::Wall(d.and_time(NaiveTime::MIN)))
        .map_err(|_| err())
}

/// `M/d/yy[yy][ H:mm[:ss[.f]][ ][AM|PM]]`.
fn parse_slashed(text: &str) -> Option<NaiveDateTime> {
    let (date_part, rest) = match text.split_once(char::is_whitespace) {
        Some((d, r)) => (d, r.trim()),
        None => (text, ""),
    };
    let mut fields = date_part.split('/');
    let month: u32 = fields.next()?.parse().ok()?;
    let day: u32 = fields.next()?.parse().ok()?;
    let year_text = fields.next()?;
    if fields.next().is_some() || !(2..=4).contains(&year_text.len()) {
        return None;
    }
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() == 2 {
        year += 2000;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if rest.is_empty() {
        return Some(date.and_time(NaiveTime::MIN));
    }
    Some(date.and_time(parse_clock(rest)?))
}

/// `H:mm[:ss[.f]][ ][AM|PM]`.
fn parse_clock(text: &str) -> Option<NaiveTime> {
    let upper = text.to_ascii_uppercase();
    let (clock, meridiem) = if let Some(c) = upper.strip_suffix("PM") {
        (c.trim(), Some(true))
    } else if let Some(c) = upper.strip_suffix("AM") {
        (c.trim(), Some(false))
    } else {
        (upper.trim(), None)
    };
    let mut parts = clock.split(':');
    let mut hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => parse_seconds(sec)?,
    };
    if parts.next().is_some() {
        return None;
    }
    match meridiem {
        Some(true) if (1..12).contains(&hour) => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        Some(_) if hour == 0 || hour > 23 => return None,
        _ => {}
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

fn parse_seconds(text: &str) -> Option<(u32, u32)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let second = whole.parse().ok()?;
    if fraction.is_empty() {
        return Some((second, 0));
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = format!("{fraction:0<9}").parse().ok()?;
    Some((second, nanos))
}

/// Formats a wall-clock time as the Custom Store protocol writes it: `MM/dd/yyyy HH:mm`.
pub fn format_custom_store(wall: NaiveDateTime) -> String {
    wall.format("%m/%d/%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests;
