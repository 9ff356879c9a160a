//! [`Redactor`]: the one place where secrets are removed from text that came back from the
//! network (error bodies, excerpts of unreadable replies, transport error chains).
//!
//! A hostile or broken server can echo what it received in any spelling, so each secret is
//! registered with every form it can take on the wire or in an echo:
//!
//! - raw;
//! - URL-encoded: form (`+` for space) and percent (`%20`), with upper- and lower-case hex;
//! - JSON-escaped and HTML-escaped, as an error page or a JSON error would quote it;
//! - base64 (standard and URL-safe, padded or not) of the secret alone and, for HTTP Basic, of
//!   `user:password`, which is what an echoed `Authorization` header carries;
//! - the whole value of every credential header sent (such as `Klaviyo-API-Key pk_…`).
//!
//! Every occurrence of every spelling is found, overlapping ones included, and each stretch of
//! text they cover is replaced by one [`REDACTED`]: an echo that runs one spelling into another
//! (a base64 value whose padding `=` is also a secret's first character) cannot hide either. An excerpt cut to a
//! length also loses a trailing piece that is the start of a spelling, so that a secret cut in
//! half by the limit does not leak its first half.
//!
//! A piece shorter than [`SHORT_PIECE`] characters (a one-letter password, or the first letter
//! of any secret at the end of a text) counts only where it stands alone, with no letter or
//! digit right before or after it: `password=p` loses its `p`, but `tcp connect error` keeps
//! its own. Such a piece inside a word cannot be told from the word, and hiding it there
//! would mangle every message (`tc[REDACTED] connect error`).

use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret wherever it shows up in text.
pub const REDACTED: &str = "[REDACTED]";

/// Pieces of a secret shorter than this many characters are hidden only where they stand
/// alone (see the module documentation).
pub const SHORT_PIECE: usize = 4;

/// Whether the text from `start` to `end` is a piece to hide: long enough to hide anywhere,
/// or standing alone, with no letter or digit right before or after it.
fn hides(text: &str, start: usize, end: usize) -> bool {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text[start..end].chars().nth(SHORT_PIECE - 1).is_some()
        || (!word(text[..start].chars().next_back()) && !word(text[end..].chars().next()))
}

/// Removes a store's secrets, in every spelling, from text. Cheap to clone; Debug shows only how
/// many spellings it holds.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// Every spelling, longest first.
    spellings: Vec<SecretString>,
    /// One automaton over every spelling; `None` only past its size limits, where each
    /// spelling is replaced in turn instead.
    matcher: Option<AhoCorasick>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field(
                "spellings",
                &self.inner.as_ref().map_or(0, |i| i.spellings.len()),
            )
            .finish()
    }
}

/// Collects secrets and builds a [`Redactor`].
#[derive(Default)]
pub struct RedactorBuilder {
    spellings: Vec<String>,
}

impl fmt::Debug for RedactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactorBuilder")
            .field("spellings", &self.spellings.len())
            .finish()
    }
}

impl RedactorBuilder {
    /// Registers a secret in every spelling: raw, URL-encoded, JSON- and HTML-escaped, base64.
    pub fn secret(mut self, secret: &SecretString) -> Self {
        let raw = secret.expose_secret();
        if raw.is_empty() {
            return self;
        }
        self.add_text_forms(raw);
        self.add_base64(raw.as_bytes());
        self
    }

    /// Registers HTTP Basic credentials: the password as [`secret`](Self::secret) does, and the
    /// base64 of `user:password` that the `Authorization` header carries.
    pub fn basic(self, user: &str, password: &SecretString) -> Self {
        let mut this = self.secret(password);
        if !password.expose_secret().is_empty() {
            let pair = format!("{user}:{}", password.expose_secret());
            this.add_base64(pair.as_bytes());
        }
        this
    }

    /// Registers the exact value of a credential header sent, such as
    /// `Klaviyo-API-Key pk_…`, in every spelling.
    pub fn header_value(self, value: &SecretString) -> Self {
        self.secret(value)
    }

    fn add_text_forms(&mut self, raw: &str) {
        let [raw_form, form, percent, lower] = url_spellings(raw);
        let json = serde_json::to_string(raw).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw)
            .to_owned();
        let json_slash = json.replace('/', "\\/");
        let html = html_escape::encode_double_quoted_attribute(raw).into_owned();
        let html_text = html_escape::encode_text(raw).into_owned();
        for form in [
            raw_form,
            lower_hex(&form),
            form,
            lower,
            percent,
            json,
            json_slash,
            html,
            html_text,
        ] {
            self.spellings.push(form);
        }
    }

    fn add_base64(&mut self, bytes: &[u8]) {
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            self.spellings.push(engine.encode(bytes));
        }
    }

    /// The redactor.
    pub fn build(self) -> Redactor {
        let mut spellings = self.spellings;
        spellings.retain(|s| !s.is_empty());
        spellings.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        spellings.dedup();
        if spellings.is_empty() {
            return Redactor::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&spellings)
            .ok();
        Redactor {
            inner: Some(Arc::new(Inner {
                spellings: spellings.into_iter().map(SecretString::from).collect(),
                matcher,
            })),
        }
    }
}

/// A value's spellings in a URL, always in this order: raw, form-encoded (`+` for a space),
/// percent-encoded with upper-case hex, and with lower-case hex. The redactor hides each; a tool
/// that swaps a value for another (`orderport record`) pairs the two values' spellings by
/// position.
pub fn url_spellings(value: &str) -> [String; 4] {
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let lower = lower_hex(&percent);
    [value.to_owned(), form, percent, lower]
}

/// `%2F` → `%2f`: servers may echo percent-encoding in either case.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

impl Redactor {
    /// A redactor for these secrets, each in every spelling.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// Whether it holds no secret.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// `text` with every spelling of every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let Some(inner) = &self.inner else {
            return text.to_owned();
        };
        // Every occurrence, overlapping ones too.
        let mut found: Vec<(usize, usize)> = match &inner.matcher {
            Some(matcher) => matcher
                .find_overlapping_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect(),
            None => inner
                .spellings
                .iter()
                .flat_map(|s| {
                    let s = s.expose_secret();
                    text.match_indices(s).map(move |(at, _)| (at, at + s.len()))
                })
                .collect(),
        };
        found.retain(|&(start, end)| hides(text, start, end));
        if found.is_empty() {
            return text.to_owned();
        }
        // Merged into covered stretches, in the order they start (the automaton reports them in
        // the order they end).
        found.sort_unstable();
        let mut covered: Vec<(usize, usize)> = Vec::new();
        for (start, end) in found {
            match covered.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => covered.push((start, end)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in covered {
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The start of `body` as text for an error message: lossily decoded, redacted, cut to at
    /// most `limit` bytes on a character boundary (with `…` when cut), and without a trailing
    /// piece that starts a secret's spelling.
    pub fn excerpt(&self, body: &[u8], limit: usize) -> String {
        // A read limit may have cut the last character: drop its bytes rather than decode them
        // as U+FFFD, which would hide a secret's cut start from the trim below.
        let body = match std::str::from_utf8(body) {
            Err(e) if e.error_len().is_none() => &body[..e.valid_up_to()],
            _ => body,
        };
        let text = String::from_utf8_lossy(body);
        let clean = self.redact(&text);
        let mut cut = limit.min(clean.len());
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        // Never cut a marker in half: "[RED…" would read as a broken reply.
        if let Some(start) = clean[..cut].rfind(REDACTED.as_bytes()[0] as char) {
            if start + REDACTED.len() > cut && clean[start..].starts_with(REDACTED) {
                cut = start;
            }
        }
        let mut out = clean[..cut].to_owned();
        // A secret may also have been cut by the caller's read limit: trim either way.
        self.trim_partial_tail(&mut out);
        if cut < clean.len() {
            out.push('…');
        }
        out
    }

    /// Removes the longest suffix of `text` that is a proper prefix of a spelling (one shorter
    /// than [`SHORT_PIECE`] characters only where it stands alone).
    fn trim_partial_tail(&self, text: &mut String) {
        let Some(inner) = &self.inner else {
            return;
        };
        let mut longest = 0;
        for spelling in &inner.spellings {
            let s = spelling.expose_secret();
            let most = s.len().saturating_sub(1).min(text.len());
            for len in (longest + 1..=most).rev() {
                if !s.is_char_boundary(len) || !text.is_char_boundary(text.len() - len) {
                    continue;
                }
                if text.ends_with(&s[..len]) && hides(text, text.len() - len, text.len()) {
                    longest = len;
                    break;
                }
            }
        }
        text.truncate(text.len() - longest);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    /// Every form a hostile server could echo `secret` (and `user:secret`) in.
    fn echoes(user: &str, secret: &str) -> Vec<String> {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap();
        let pair = format!("{user}:{secret}");
        vec![
            secret.to_owned(),
            form.clone(),
            lower_hex(&form),
            percent.clone(),
            lower_hex(&percent),
            json[1..json.len() - 1].to_owned(),
            html_escape::encode_text(secret).into_owned(),
            STANDARD.encode(secret),
            STANDARD.encode(&pair),
            URL_SAFE_NO_PAD.encode(&pair),
            STANDARD_NO_PAD.encode(secret),
        ]
    }

    #[test]
    fn every_form_is_redacted() {
        let r = Redactor::builder()
            .basic("vendor", &secret("p@ss w/rd&1=\"é"))
            .build();
        for echo in echoes("vendor", "p@ss w/rd&1=\"é") {
            let text = format!("before {echo} after");
            let clean = r.redact(&text);
            assert_eq!(clean, format!("before {REDACTED} after"), "{echo}");
        }
        assert!(!format!("{r:?}").contains("p@ss"));
    }

    #[test]
    fn a_secret_cut_by_the_limit_leaves_no_piece() {
        let r = Redactor::builder().secret(&secret("ABCDEFGHIJ")).build();
        let body = b"error: key ABCDEFGHIJ was wrong";
        // The limit falls inside the key: its first half must not survive.
        let excerpt = r.excerpt(body, 16);
        assert_eq!(excerpt, "error: key …");
        assert_eq!(r.excerpt(b"short", 100), "short");
    }

    #[test]
    fn a_short_secret_is_hidden_where_it_stands_alone_only() {
        let r = Redactor::builder().secret(&secret("p")).build();
        assert_eq!(
            r.redact("tcp connect error: password=p, user p."),
            format!("tcp connect error: password={REDACTED}, user {REDACTED}.")
        );
        assert_eq!(r.redact("p"), REDACTED);
        let r = Redactor::builder().secret(&secret("xy1")).build();
        assert_eq!(
            r.redact("key xy1 refused; xy12 is another"),
            format!("key {REDACTED} refused; xy12 is another")
        );
    }

    #[test]
    fn a_word_ending_like_a_secret_begins_is_kept() {
        let r = Redactor::builder().secret(&secret("secret-key")).build();
        // "s" and "sec" start the secret, but inside a word they are the word's.
        assert_eq!(
            r.excerpt(b"invalid credentials", 100),
            "invalid credentials"
        );
        assert_eq!(r.excerpt(b"see the spec", 100), "see the spec");
        // Standing alone, or four characters on, they may be a secret cut by a read limit.
        assert_eq!(r.excerpt(b"key: sec", 100), "key: ");
        assert_eq!(r.excerpt(b"key:secr", 100), "key:");
        assert_eq!(r.excerpt(b"wrongsecr", 100), "wrong");
    }

    #[test]
    fn overlapping_spellings_are_covered_from_the_earliest_start() {
        // "bcde" is found first (it ends first) but "abcdef" starts first: the stretch must
        // begin at its "a".
        let r = Redactor::builder()
            .secret(&secret("bcde"))
            .secret(&secret("abcdef"))
            .build();
        assert_eq!(r.redact("x abcdef y"), format!("x {REDACTED} y"));
    }

    #[test]
    fn no_secret_means_no_change() {
        let r = Redactor::builder().secret(&secret("")).build();
        assert!(r.is_empty());
        assert_eq!(r.redact("anything"), "anything");
    }

    /// Text that never contains a piece of a secret drawn from the alphabet below, whatever
    /// the encoding: none of these characters appear in raw, escaped, URL-encoded or base64
    /// forms.
    const FILLER: &str = "#!*(),.";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Random secrets echoed in every form at random places, also across the excerpt and
        /// read limits, never survive redaction, not even as a 4-character piece.
        #[test]
        fn hostile_echoes_never_leak(
            user in "[a-z]{1,12}",
            key in "[A-Za-z0-9 /+=&%@\"<>é-]{8,40}",
            filler in proptest::collection::vec(proptest::sample::select(FILLER.chars().collect::<Vec<_>>()), 0..400),
            picks in proptest::collection::vec((0usize..12, 0usize..400), 1..6),
            limit in 16usize..600,
        ) {
            let r = Redactor::builder().basic(&user, &secret(&key)).build();
            let forms = echoes(&user, &key);
            // Echoes land between filler characters, never inside one another.
            let mut picks = picks;
            picks.sort_by_key(|(_, at)| *at);
            let mut body = String::new();
            let mut taken = 0;
            for (form, at) in picks {
                let at = at.min(filler.len()).max(taken);
                body.extend(&filler[taken..at]);
                body.push_str(&forms[form % forms.len()]);
                taken = at;
            }
            body.extend(&filler[taken..]);
            let redacted = r.redact(&body);
            let excerpt = r.excerpt(body.as_bytes(), limit);
            for out in [&redacted, &excerpt] {
                for form in &forms {
                    prop_assert!(!out.contains(form.as_str()), "{form:?} in {out:?}");
                    let chars: Vec<char> = form.chars().collect();
                    for piece in chars.windows(4) {
                        let piece: String = piece.iter().collect();
                        prop_assert!(!out.contains(&piece), "piece {piece:?} of {form:?} in {out:?}");
                    }
                }
            }
        }
    }
}
