//! Stable pseudonyms for the personal data in recorded bodies, so that traffic captured from a
//! real store can become a fixture ([`crate::hygiene`]) and still mean something: the same
//! customer across orders stays the same (pseudonymous) customer.
//!
//! Two passes over every body of a recording:
//!
//! 1. [`Pseudonymizer::learn`] finds the personal values: the personal fields of each body, by
//!    [`FieldRule`] (a Custom Store `<ShipTo><Name>`, an Order Time `"Contact"`; see
//!    [`default_rules`]), and every e-mail address and phone number written anywhere in its text.
//! 2. [`Pseudonymizer::finish`] gives each value its pseudonym, and [`Pseudonyms::rewrite`]
//!    rewrites each body: every personal field holds its pseudonym, and every other occurrence
//!    of a known value inside text (a name quoted in a note, an e-mail in a comment), in any of
//!    the spellings XML or JSON may give it, is replaced too. Markup (element names, JSON keys)
//!    and the rest of the bytes are left exactly as they were.
//!
//! | kind | pseudonym |
//! |---|---|
//! | [`PersonalKind::Name`] | `Person K7M2QD` |
//! | [`PersonalKind::Company`] | `Company K7M2QD` |
//! | [`PersonalKind::Email`] | `person-k7m2qd@example.com` |
//! | [`PersonalKind::Phone`] | `312-555-0142` (a fictional `555-01xx` number) |
//! | [`PersonalKind::Street`] | `4821 Sample Avenue` |
//! | [`PersonalKind::CustomerCode`] | `CUST-K7M2QD` |
//!
//! A pseudonym is derived from a SHA-256 of the salt, the kind and the value (case and spacing
//! ignored; a phone number by its digits), so the same value always gets the same pseudonym
//! within a recording, and across recordings made with the same salt. Two values never share a
//! pseudonym, and no pseudonym is a value of the recording. Use a random salt kept secret (or
//! none kept at all): with a known salt, anyone could test whether a given name is in a
//! recording. A value found in fields of two kinds takes the stronger kind, in the order e-mail,
//! phone, name, company, street, customer code (Spark Shipping's customer code is the buyer's
//! e-mail, so both become the same pseudonymous address).
//!
//! After rewriting, each body is checked: a personal field that does not hold a pseudonym, or
//! a known value still in the text (spelled in a way the rewrite does not know, such as an
//! entity inside a name), fails with [`PseudonymError::Survived`] rather than being written.
//!
//! ```
//! use orderport_testkit::pseudonym::{BodyFormat, Pseudonymizer};
//!
//! let page = br#"<Orders><Order><Customer><CustomerCode>ada@mail.test</CustomerCode>
//!   <ShipTo><Name>Ada Lovelace</Name><Phone>(312) 867-5309</Phone></ShipTo></Customer>
//!   <InternalNotes>Ada Lovelace asked to call 312.867.5309</InternalNotes></Order></Orders>"#;
//! let mut learning = Pseudonymizer::new(b"a secret salt");
//! learning.learn(page, BodyFormat::Xml);
//! let pseudonyms = learning.finish()?;
//! let out = String::from_utf8(pseudonyms.rewrite(page, BodyFormat::Xml)?)?;
//! let name = pseudonyms.pseudonym("Ada Lovelace").unwrap();
//! assert!(name.starts_with("Person "));
//! assert!(out.contains(&format!("<Name>{name}</Name>")));
//! assert!(out.contains(&format!("{name} asked to call")));
//! assert!(!out.contains("Lovelace") && !out.contains("867") && !out.contains("mail.test"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod scan;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use sha2::{Digest, Sha256};

use crate::hygiene::{email_re, phone_text_re};
use scan::{scan, Scanned};

/// What a personal value is. The order is the precedence: a value seen as two kinds takes the
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PersonalKind {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A person's name.
    Name,
    /// A company name.
    Company,
    /// A street line (the first, second or third line of an address).
    Street,
    /// A customer code or customer record name.
    CustomerCode,
}

impl PersonalKind {
    /// Every kind, in precedence order.
    pub const ALL: [PersonalKind; 6] = [
        PersonalKind::Email,
        PersonalKind::Phone,
        PersonalKind::Name,
        PersonalKind::Company,
        PersonalKind::Street,
        PersonalKind::CustomerCode,
    ];

    fn tag(self) -> u8 {
        match self {
            Self::Email => 1,
            Self::Phone => 2,
            Self::Name => 3,
            Self::Company => 4,
            Self::Street => 5,
            Self::CustomerCode => 6,
        }
    }
}

impl fmt::Display for PersonalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Email => "e-mail address",
            Self::Phone => "phone number",
            Self::Name => "name",
            Self::Company => "company",
            Self::Street => "street line",
            Self::CustomerCode => "customer code",
        })
    }
}

/// How a body is read: its personal fields are found by element (XML) or key (JSON); a text
/// body has no fields, only text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// XML (Custom Store exports).
    Xml,
    /// JSON (Order Time's REST API).
    Json,
    /// Anything else (an HTML error page, plain text).
    Text,
}

impl BodyFormat {
    /// The format by the `Content-Type`, else by the first bytes (`<` but not HTML: XML; `{` or
    /// `[`: JSON).
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Self {
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        if content_type.contains("json") {
            return Self::Json;
        }
        if content_type.contains("xml") {
            return Self::Xml;
        }
        let start = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
        let start = start.trim_start_matches('\u{feff}').trim_start();
        if content_type.contains("html")
            || start.starts_with("<!doctype html")
            || start.starts_with("<html")
        {
            Self::Text
        } else if start.starts_with('<') {
            Self::Xml
        } else if start.starts_with('{') || start.starts_with('[') {
            Self::Json
        } else {
            Self::Text
        }
    }
}

/// Which field holds a personal value: an XML element or a JSON key named `field`, optionally
/// only directly inside an element or object named one of `within` (names compare without
/// regard to case; XML namespace prefixes are ignored; an array's elements sit under the
/// array's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    field: String,
    within: Vec<String>,
    kind: PersonalKind,
}

impl FieldRule {
    /// Every field named `field` holds a `kind`.
    pub fn new(field: &str, kind: PersonalKind) -> Self {
        Self {
            field: field.to_owned(),
            within: Vec::new(),
            kind,
        }
    }

    /// Only where the field sits directly inside one of `parents`.
    pub fn within(mut self, parents: &[&str]) -> Self {
        self.within = parents.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    fn matches(&self, field: &str, parent: &str) -> bool {
        self.field.eq_ignore_ascii_case(field)
            && (self.within.is_empty()
                || self.within.iter().any(|p| p.eq_ignore_ascii_case(parent)))
    }
}

/// The personal fields of the channels orderport ships: the Custom Store export (Spark
/// Shipping, Listing Mirror, Order Time's Custom Store endpoint) and Order Time's REST ship docs.
///
/// | field | where | kind |
/// |---|---|---|
/// | `Name` | in `BillTo`, `ShipTo` | name |
/// | `Contact`, `FirstName`, `LastName` | anywhere | name |
/// | `Company` | anywhere | company |
/// | `Email` | anywhere | e-mail |
/// | `Phone` | anywhere | phone |
/// | `Address1`–`Address3`, `Addr1`–`Addr4`, `Street1`, `Street2` | anywhere | street line |
/// | `CustomerCode` | anywhere | customer code |
/// | `Name` | in `CustomerRef` | customer code |
pub fn default_rules() -> Vec<FieldRule> {
    use PersonalKind::*;
    let mut rules = vec![
        FieldRule::new("Name", Name).within(&["BillTo", "ShipTo"]),
        FieldRule::new("Name", CustomerCode).within(&["CustomerRef"]),
        FieldRule::new("CustomerCode", CustomerCode),
        FieldRule::new("Company", Company),
        FieldRule::new("Email", Email),
        FieldRule::new("Phone", Phone),
    ];
    for name in ["Contact", "FirstName", "LastName"] {
        rules.push(FieldRule::new(name, Name));
    }
    for street in [
        "Address1", "Address2", "Address3", "Addr1", "Addr2", "Addr3", "Addr4", "Street1",
        "Street2",
    ] {
        rules.push(FieldRule::new(street, Street));
    }
    rules
}

/// Why a recording cannot be pseudonymized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PseudonymError {
    /// No pseudonym could be found that is free and holds no recorded value (a recording with
    /// tens of thousands of phone numbers, or a value such as "Person" that every name
    /// pseudonym would contain).
    #[error("no free {kind} pseudonym is left (tried {tried}); record a shorter window, or check for a recorded value that every {kind} pseudonym contains")]
    Exhausted {
        /// The kind.
        kind: PersonalKind,
        /// The candidates tried for the last value.
        tried: u32,
    },
    /// A personal value survived the rewrite of a body. The value itself is never quoted.
    #[error("a {kind} survived pseudonymization {place}: it is spelled in a way the rewrite does not know (an entity or an escape inside it); edit the recorded reply by hand or leave it out")]
    Survived {
        /// The kind.
        kind: PersonalKind,
        /// Where: the field, or the byte offset of the text that holds it.
        place: String,
    },
    /// A body that was not learned before [`Pseudonymizer::finish`] holds a personal field.
    #[error("the {kind} in field {field} was not learned: learn every body before finishing")]
    NotLearned {
        /// The kind.
        kind: PersonalKind,
        /// The field.
        field: String,
    },
}

/// The first pass: collects the personal values of every body. See the
/// [module documentation](self).
pub struct Pseudonymizer {
    salt: Vec<u8>,
    rules: Vec<FieldRule>,
    /// Each value (trimmed) and its strongest kind.
    values: BTreeMap<String, PersonalKind>,
    /// Spellings of values as the bodies wrote them (entities, escapes), with the value.
    spellings: BTreeMap<String, String>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("rules", &self.rules.len())
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with [`default_rules`] and this salt.
    pub fn new(salt: &[u8]) -> Self {
        Self {
            salt: salt.to_vec(),
            rules: default_rules(),
            values: BTreeMap::new(),
            spellings: BTreeMap::new(),
        }
    }

    /// Adds a rule for a connector's own personal field.
    pub fn with_rule(mut self, rule: FieldRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Learns the personal values of one body: its personal fields, and the e-mail addresses
    /// and phone numbers anywhere in its text.
    pub fn learn(&mut self, body: &[u8], format: BodyFormat) {
        let scanned = scan(body, format, &self.rules);
        self.learn_scanned(&scanned);
    }

    /// Learns the e-mail addresses and phone numbers in a text, such as a header value.
    pub fn learn_text(&mut self, text: &str) {
        self.learn(text.as_bytes(), BodyFormat::Text);
    }

    /// Learns one value of a kind, found some other way.
    pub fn learn_value(&mut self, kind: PersonalKind, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let kind = if looks_like(email_re(), value) {
            PersonalKind::Email
        } else if looks_like(phone_text_re(), value) {
            kind.min(PersonalKind::Phone)
        } else {
            kind
        };
        self.values
            .entry(value.to_owned())
            .and_modify(|k| *k = (*k).min(kind))
            .or_insert(kind);
    }

    fn learn_scanned(&mut self, scanned: &Scanned) {
        for field in &scanned.fields {
            let value = field.value();
            if value.is_empty() {
                continue;
            }
            self.learn_value(field.kind, &value);
            let written: String = field.pieces.iter().map(|p| p.raw.as_str()).collect();
            let written = written.trim();
            if written != value && !written.is_empty() {
                self.spellings.insert(written.to_owned(), value.clone());
            }
        }
        for piece in &scanned.content {
            for m in email_re().find_iter(&piece.decoded) {
                self.learn_value(PersonalKind::Email, m.as_str());
            }
            for m in phone_text_re().find_iter(&piece.decoded) {
                self.learn_value(PersonalKind::Phone, m.as_str());
            }
        }
    }

    /// Gives every learned value its pseudonym.
    pub fn finish(self) -> Result<Pseudonyms, PseudonymError> {
        let mut groups: BTreeMap<(PersonalKind, String), Vec<String>> = BTreeMap::new();
        for (value, kind) in &self.values {
            groups
                .entry((*kind, normalize(*kind, value)))
                .or_default()
                .push(value.clone());
        }
        // Recorded values a pseudonym must not equal or contain.
        let taken_keys: HashSet<(PersonalKind, String)> = groups.keys().cloned().collect();
        let lowered: HashSet<String> = self.values.keys().map(|v| v.to_lowercase()).collect();
        let embedded: Vec<(&str, PersonalKind)> = self
            .values
            .iter()
            .filter(|(v, k)| embeddable(**k, v))
            .map(|(v, k)| (v.as_str(), *k))
            .collect();
        let finder = Finder::new(&embedded.iter().map(|(v, _)| *v).collect::<Vec<_>>());
        let mut used: HashSet<String> = HashSet::new();
        let mut pseudonyms: Vec<String> = Vec::new();
        let mut by_value: BTreeMap<String, (PersonalKind, usize)> = BTreeMap::new();
        for ((kind, key), values) in &groups {
            let mut chosen = None;
            for counter in 0..MAX_PROBES {
                let candidate = pseudonym(*kind, &self.salt, key, counter);
                let free = !used.contains(&candidate)
                    && !taken_keys.contains(&(*kind, normalize(*kind, &candidate)))
                    && !lowered.contains(&candidate.to_lowercase())
                    && !finder.occurs_in(candidate.as_bytes());
                if free {
                    chosen = Some(candidate);
                    break;
                }
            }
            let chosen = chosen.ok_or(PseudonymError::Exhausted {
                kind: *kind,
                tried: MAX_PROBES,
            })?;
            used.insert(chosen.clone());
            pseudonyms.push(chosen);
            for value in values {
                by_value.insert(value.clone(), (*kind, pseudonyms.len() - 1));
            }
        }
        // Every spelling of every value that is replaced wherever it shows up in text.
        let mut patterns: Vec<(String, usize)> = Vec::new();
        for (value, (kind, index)) in &by_value {
            if embeddable(*kind, value) {
                for spelling in spellings(value) {
                    patterns.push((spelling, *index));
                }
            }
        }
        for (written, value) in &self.spellings {
            if let Some((kind, index)) = by_value.get(value) {
                if embeddable(*kind, value) {
                    patterns.push((written.clone(), *index));
                }
            }
        }
        patterns.sort();
        patterns.dedup_by(|a, b| a.0 == b.0);
        let rewriter = Finder::new(&patterns.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>());
        let counts = by_value
            .values()
            .fold(BTreeMap::new(), |mut counts, (k, i)| {
                counts.entry(*k).or_insert_with(BTreeSet::new).insert(*i);
                counts
            });
        Ok(Pseudonyms {
            rules: self.rules,
            values: by_value,
            pseudonyms,
            targets: patterns.into_iter().map(|(_, i)| i).collect(),
            rewriter,
            finder,
            originals: embedded.iter().map(|(_, k)| *k).collect(),
            keys: taken_keys,
            counts: counts.into_iter().map(|(k, set)| (k, set.len())).collect(),
        })
    }
}

/// How many candidates are tried for one value.
const MAX_PROBES: u32 = 1000;

/// Whether `value` is replaced wherever it shows up in text, not only in its field: e-mail
/// addresses, phone numbers of seven digits or more, and other values of three characters or
/// more with a letter. Shorter or letterless values (a numeric customer code) would also hit
/// order numbers and amounts, so they are replaced in their fields only.
fn embeddable(kind: PersonalKind, value: &str) -> bool {
    match kind {
        PersonalKind::Email => true,
        PersonalKind::Phone => value.chars().filter(char::is_ascii_digit).count() >= 7,
        _ => value.chars().count() >= 3 && value.chars().any(char::is_alphabetic),
    }
}

fn looks_like(re: &regex::Regex, value: &str) -> bool {
    re.find(value)
        .is_some_and(|m| m.start() == 0 && m.end() == value.len())
}

/// What two spellings of one value share: e-mail addresses without case, phone numbers by
/// their national digits, other values without case and with single spaces.
fn normalize(kind: PersonalKind, value: &str) -> String {
    match kind {
        PersonalKind::Email => value.trim().to_lowercase(),
        PersonalKind::Phone => {
            let digits: String = value.chars().filter(char::is_ascii_digit).collect();
            match digits.len() {
                11 if digits.starts_with('1') => digits[1..].to_owned(),
                n if n >= 7 => digits,
                _ => format!("text:{}", value.trim().to_lowercase()),
            }
        }
        _ => value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    }
}

/// Crockford's base 32: no I, L, O or U.
const TAG_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const STREETS: [&str; 8] = [
    "Example Street",
    "Sample Avenue",
    "Fixture Road",
    "Placeholder Lane",
    "Specimen Way",
    "Mockup Drive",
    "Template Court",
    "Dummy Boulevard",
];

/// The `counter`-th candidate pseudonym of a value of `kind` whose normalized form is `key`.
fn pseudonym(kind: PersonalKind, salt: &[u8], key: &str, counter: u32) -> String {
    let digest = Sha256::new()
        .chain_update((salt.len() as u64).to_le_bytes())
        .chain_update(salt)
        .chain_update([kind.tag()])
        .chain_update(key.as_bytes())
        .chain_update(counter.to_le_bytes())
        .finalize();
    let number = u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    let tag: String = (0..6)
        .map(|i| TAG_ALPHABET[((number >> (5 * i)) & 31) as usize] as char)
        .collect();
    match kind {
        PersonalKind::Name => format!("Person {tag}"),
        PersonalKind::Company => format!("Company {tag}"),
        PersonalKind::CustomerCode => format!("CUST-{tag}"),
        PersonalKind::Email => format!("person-{}@example.com", tag.to_lowercase()),
        PersonalKind::Phone => {
            let area = 200 + (number >> 32) % 800;
            let line = (number >> 48) % 100;
            format!("{area}-555-01{line:02}")
        }
        PersonalKind::Street => {
            let house = 1 + (number >> 32) % 9999;
            let street = STREETS[((number >> 48) % 8) as usize];
            format!("{house} {street}")
        }
    }
}

/// Every spelling XML text, XML attributes and JSON strings may give `value`.
fn spellings(value: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(value.to_owned());
    let xml = |text: &str, quote: &str, apos: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', quote)
            .replace('\'', apos)
    };
    out.insert(xml(value, "\"", "'"));
    out.insert(xml(value, "&quot;", "&apos;"));
    out.insert(xml(value, "&#34;", "&#39;"));
    for ascii in [false, true] {
        for html in [false, true] {
            for upper in [false, true] {
                for slash in [false, true] {
                    out.insert(json_escape(value, ascii, html, upper, slash));
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// `value` as the inside of a JSON string: `ascii` escapes every non-ASCII character, `html`
/// also `<`, `>`, `&`, `'` and `+` (as .NET's default encoder does), `upper` writes upper-case
/// hex, `slash` escapes `/`.
fn json_escape(value: &str, ascii: bool, html: bool, upper: bool, slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let hex = |out: &mut String, unit: u16| {
        if upper {
            out.push_str(&format!("\\u{unit:04X}"));
        } else {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    };
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '/' if slash => out.push_str("\\/"),
            '<' | '>' | '&' | '\'' | '+' if html => hex(&mut out, c as u16),
            c if (c as u32) < 0x20 => hex(&mut out, c as u16),
            c if ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    hex(&mut out, *unit);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Finds whole-word occurrences of patterns (no letter or digit right before or after), without
/// regard to ASCII case.
struct Finder {
    matcher: Option<AhoCorasick>,
}

impl Finder {
    fn new(patterns: &[&str]) -> Self {
        let patterns: Vec<&str> = patterns.iter().copied().filter(|p| !p.is_empty()).collect();
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(&patterns)
                .ok()
        };
        Self { matcher }
    }

    /// Every whole-word match in `text[range]`, overlapping ones resolved leftmost-longest:
    /// `(range, pattern index)`.
    fn matches(&self, text: &[u8], range: Range<usize>) -> Vec<(Range<usize>, usize)> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let mut found: Vec<(Range<usize>, usize)> = matcher
            .find_overlapping_iter(&text[range.clone()])
            .map(|m| {
                (
                    range.start + m.start()..range.start + m.end(),
                    m.pattern().as_usize(),
                )
            })
            .filter(|(at, _)| whole_word(text, at))
            .collect();
        found.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut chosen: Vec<(Range<usize>, usize)> = Vec::new();
        for (at, pattern) in found {
            if chosen.last().is_none_or(|(last, _)| at.start >= last.end) {
                chosen.push((at, pattern));
            }
        }
        chosen
    }

    fn first(&self, text: &[u8]) -> Option<(Range<usize>, usize)> {
        self.matches(text, 0..text.len()).into_iter().next()
    }

    /// Whether any pattern occurs in `text`, even inside a longer word: a pseudonym must not
    /// hold a recorded value at all ("764 Example Street" holds "64 Example Street").
    fn occurs_in(&self, text: &[u8]) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|matcher| matcher.find(text).is_some())
    }
}

/// No letter or digit right before `at` nor right after it.
fn whole_word(text: &[u8], at: &Range<usize>) -> bool {
    let before = char_before(text, at.start);
    let after = char_after(text, at.end);
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

fn char_before(text: &[u8], at: usize) -> Option<char> {
    (1..=4.min(at)).find_map(|n| {
        std::str::from_utf8(&text[at - n..at])
            .ok()
            .and_then(|s| s.chars().next_back())
    })
}

fn char_after(text: &[u8], at: usize) -> Option<char> {
    (1..=4.min(text.len().saturating_sub(at))).find_map(|n| {
        std::str::from_utf8(&text[at..at + n])
            .ok()
            .and_then(|s| s.chars().next())
    })
}

/// The second pass: each learned value's pseudonym, and the rewrite of bodies. Its `Debug`
/// shows counts, never a value.
pub struct Pseudonyms {
    rules: Vec<FieldRule>,
    /// Each learned value, its kind and its pseudonym's index.
    values: BTreeMap<String, (PersonalKind, usize)>,
    pseudonyms: Vec<String>,
    /// The pseudonym each pattern of `rewriter` is replaced with.
    targets: Vec<usize>,
    rewriter: Finder,
    /// The learned values that are replaced in text, to check that none survived.
    finder: Finder,
    /// The kind of each pattern of `finder`.
    originals: Vec<PersonalKind>,
    /// The normalized form of every learned value, by kind.
    keys: HashSet<(PersonalKind, String)>,
    counts: BTreeMap<PersonalKind, usize>,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl Pseudonyms {
    /// The pseudonym of a learned value (trimmed), or `None` for a value that was not learned.
    pub fn pseudonym(&self, value: &str) -> Option<&str> {
        self.values
            .get(value.trim())
            .map(|(_, i)| self.pseudonyms[*i].as_str())
    }

    /// How many distinct people, addresses, numbers… of each kind were pseudonymized.
    pub fn counts(&self) -> &BTreeMap<PersonalKind, usize> {
        &self.counts
    }

    /// Whether `text` is one of the pseudonyms given.
    pub fn is_pseudonym(&self, text: &str) -> bool {
        self.pseudonyms.iter().any(|p| p == text)
    }

    /// `body` with every personal field holding its pseudonym and every known value replaced in
    /// its text; checked afterwards (see the [module documentation](self)).
    pub fn rewrite(&self, body: &[u8], format: BodyFormat) -> Result<Vec<u8>, PseudonymError> {
        let scanned = scan(body, format, &self.rules);
        let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
        let mut in_fields: HashSet<Range<usize>> = HashSet::new();
        for field in &scanned.fields {
            let value = field.value();
            if value.is_empty() {
                continue;
            }
            let Some(pseudonym) = self.pseudonym(&value) else {
                return Err(PseudonymError::NotLearned {
                    kind: field.kind,
                    field: field.path.clone(),
                });
            };
            let mut first = true;
            for piece in field.pieces.iter().filter(|p| !p.decoded.trim().is_empty()) {
                edits.push((piece.span.clone(), if first { pseudonym } else { "" }));
                in_fields.insert(piece.span.clone());
                first = false;
            }
        }
        for piece in &scanned.content {
            if in_fields.contains(&piece.span) {
                continue;
            }
            for (at, pattern) in self.rewriter.matches(body, piece.span.clone()) {
                edits.push((at, &self.pseudonyms[self.targets[pattern]]));
            }
        }
        edits.sort_by_key(|(at, _)| at.start);
        let mut out = Vec::with_capacity(body.len());
        let mut from = 0;
        for (at, text) in edits {
            if at.start < from {
                continue;
            }
            out.extend_from_slice(&body[from..at.start]);
            out.extend_from_slice(text.as_bytes());
            from = at.end;
        }
        out.extend_from_slice(&body[from..]);
        self.verify(&out, format)?;
        Ok(out)
    }

    /// A text (a header value) with every known value replaced, checked.
    pub fn rewrite_text(&self, text: &str) -> Result<String, PseudonymError> {
        let out = self.rewrite(text.as_bytes(), BodyFormat::Text)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Fails when a personal field does not hold a pseudonym, or a learned value is left in the
    /// text, as it was learned or spelled otherwise (an e-mail address in other case, a phone
    /// number with other separators).
    fn verify(&self, body: &[u8], format: BodyFormat) -> Result<(), PseudonymError> {
        let scanned = scan(body, format, &self.rules);
        for field in &scanned.fields {
            let value = field.value();
            if !value.is_empty() && !self.is_pseudonym(&value) {
                return Err(PseudonymError::Survived {
                    kind: field.kind,
                    place: format!("in field {}", field.path),
                });
            }
        }
        for piece in &scanned.content {
            let place = || format!("in the text at byte {}", piece.span.start);
            if let Some((_, pattern)) = self.finder.first(piece.decoded.as_bytes()) {
                return Err(PseudonymError::Survived {
                    kind: self.originals[pattern],
                    place: place(),
                });
            }
            for (re, kind) in [
                (email_re(), PersonalKind::Email),
                (phone_text_re(), PersonalKind::Phone),
            ] {
                let learned = |text: &str| {
                    !self.is_pseudonym(text) && self.keys.contains(&(kind, normalize(kind, text)))
                };
                if re.find_iter(&piece.decoded).any(|m| learned(m.as_str())) {
                    return Err(PseudonymError::Survived {
                        kind,
                        place: place(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
