//! What identifies the store in its traffic, and what a fixture says instead: the user name
//! (`fixture-user`, or `fixture-user@example.com` for an e-mail), each secret
//! (`fixture-<name>`: `fixture-password`, `fixture-api-key`, `fixture-consumer-key`) and the
//! host of the store's URL (`store.example.com`; an IP address or `localhost` is left alone).
//!
//! The secrets and the host are replaced wherever they show up (path, query, headers, bodies),
//! in one pass, longest first, raw and in their URL-encoded spellings. The user name is replaced
//! where a whole value is it (a query parameter, a header, a path segment, the user of an
//! `Authorization: Basic` header, which is decoded and encoded again so that it decodes to the
//! fixture's `user:secret` as the kit's hygiene rules require), and inside bodies only when it
//! is an e-mail address: a plain login such as `admin` would also hit ordinary words.
//! [`StoreIdentity::survivors`] then looks for any spelling of any original secret left
//! (raw, URL-encoded, JSON- and HTML-escaped, base64 alone or as `user:secret`) with the HTTP
//! layer's own [`Redactor`], so that a credential spelled some other way fails the recording
//! instead of being written.

use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use orderport::http::redact::url_spellings;
use orderport::http::Redactor;
use orderport::secrecy::{ExposeSecret, SecretString};
use orderport::StoreConfig;

/// The host a fixture names instead of the store's.
pub const FIXTURE_HOST: &str = "store.example.com";

/// The store's identifying values and their fixture replacements. Its `Debug` shows counts only.
pub struct StoreIdentity {
    username: Option<(String, String)>,
    /// Each secret's name, value and fixture value.
    secrets: Vec<(String, String, String)>,
    /// The secrets and the host.
    anywhere: Replacer,
    /// The same, and an e-mail user name.
    in_bodies: Replacer,
    /// Every spelling of every original secret.
    originals: Redactor,
    /// Every spelling of every fixture credential: masked before looking for originals, so that
    /// a store whose secrets already are fixture ones does not count as a leak.
    fixtures: Redactor,
}

impl fmt::Debug for StoreIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreIdentity")
            .field("username", &self.username.is_some())
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl StoreIdentity {
    /// The identity of a store, from its configuration.
    pub fn of(config: &StoreConfig) -> Self {
        let username = config
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|user| {
                let fixture = if user.contains('@') {
                    "fixture-user@example.com"
                } else {
                    "fixture-user"
                };
                (user.to_owned(), fixture.to_owned())
            });
        let secrets: Vec<(String, String, String)> = config
            .secrets
            .iter()
            .map(|(name, value)| {
                (
                    name.to_owned(),
                    value.expose_secret().to_owned(),
                    format!("fixture-{}", name.replace('_', "-")),
                )
            })
            .filter(|(_, value, _)| !value.is_empty())
            .collect();
        let host = url::Url::parse(&config.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .filter(|h| h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('['))
            .filter(|h| !h.eq_ignore_ascii_case("localhost"));
        let mut pairs: Vec<(String, String)> = Vec::new();
        pairs.extend(secrets.iter().map(|(_, v, f)| (v.clone(), f.clone())));
        pairs.extend(host.map(|h| (h, FIXTURE_HOST.to_owned())));
        let in_bodies = Replacer::new(
            pairs
                .iter()
                .cloned()
                .chain(username.iter().filter(|(u, _)| u.contains('@')).cloned()),
        );
        let anywhere = Replacer::new(pairs.into_iter());
        let user = username.as_ref().map(|(o, _)| o.as_str()).unwrap_or("");
        let fixture_user = username.as_ref().map(|(_, f)| f.as_str()).unwrap_or("");
        let mut originals = Redactor::builder();
        let mut fixtures = Redactor::builder();
        for (_, value, fixture) in &secrets {
            originals = originals.basic(user, &SecretString::from(value.clone()));
            fixtures = fixtures.basic(fixture_user, &SecretString::from(fixture.clone()));
        }
        Self {
            username,
            secrets,
            anywhere,
            in_bodies,
            originals: originals.build(),
            fixtures: fixtures.build(),
        }
    }

    /// The user name a fixture's store has, where the store has one.
    pub fn fixture_username(&self) -> Option<&str> {
        self.username.as_ref().map(|(_, f)| f.as_str())
    }

    /// Each secret's name and its fixture value.
    pub fn fixture_secrets(&self) -> impl Iterator<Item = (&str, &str)> {
        self.secrets
            .iter()
            .map(|(n, _, f)| (n.as_str(), f.as_str()))
    }

    /// A query parameter's value (decoded) with the identifying values replaced.
    pub fn value(&self, value: &str) -> String {
        match &self.username {
            Some((user, fixture)) if value.trim() == user => fixture.clone(),
            _ => self.anywhere.apply_str(value),
        }
    }

    /// A path (percent-encoded) with the identifying values replaced, a segment that is the
    /// user name included.
    pub fn path(&self, path: &str) -> String {
        path.split('/')
            .map(|segment| match &self.username {
                Some((user, fixture)) if url_spellings(user).iter().any(|u| u == segment) => {
                    url::form_urlencoded::byte_serialize(fixture.as_bytes()).collect()
                }
                _ => self.anywhere.apply_str(segment),
            })
            .collect::<Vec<String>>()
            .join("/")
    }

    /// A body with the secrets, the host and an e-mail user name replaced.
    pub fn body(&self, bytes: &[u8]) -> Vec<u8> {
        self.in_bodies.apply(bytes)
    }

    /// A header's value with the identifying values replaced: `Authorization: Basic` is
    /// decoded, replaced and encoded again.
    pub fn header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") {
            if let Some((scheme, encoded)) = value.trim().split_once(' ') {
                if scheme.eq_ignore_ascii_case("basic") {
                    let pair = STANDARD
                        .decode(encoded.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    if let Some((user, secret)) = pair.as_deref().and_then(|p| p.split_once(':')) {
                        let pair = format!("{}:{}", self.value(user), self.value(secret));
                        return format!("{scheme} {}", STANDARD.encode(pair));
                    }
                }
            }
        }
        self.value(value)
    }

    /// Whether any spelling of an original secret is left in `text`, after the fixture
    /// credentials are masked. `also` are the redactors of the services that sent the
    /// requests: they know the whole value of every credential header, a token derived from a
    /// secret included.
    pub fn survivors(&self, text: &str, also: &[Redactor]) -> bool {
        let masked = self.fixtures.redact(text);
        std::iter::once(&self.originals)
            .chain(also)
            .any(|redactor| redactor.redact(&masked) != masked)
    }
}

/// Replaces values in one pass, longest first, in each of their [`encodings`].
struct Replacer {
    /// Every spelling of every original value, and what replaces it.
    spellings: Vec<(String, String)>,
    matcher: Option<AhoCorasick>,
}

impl Replacer {
    fn new(pairs: impl Iterator<Item = (String, String)>) -> Self {
        let mut spellings: Vec<(String, String)> = Vec::new();
        for (original, fixture) in pairs.filter(|(o, f)| o != f) {
            spellings.extend(
                url_spellings(&original)
                    .into_iter()
                    .zip(url_spellings(&fixture)),
            );
        }
        spellings.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        spellings.dedup_by(|a, b| a.0 == b.0);
        let matcher = if spellings.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(spellings.iter().map(|(o, _)| o.as_str()))
                .ok()
        };
        Self { spellings, matcher }
    }

    fn apply_str(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.apply(text.as_bytes())).into_owned()
    }

    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let Some(matcher) = &self.matcher else {
            return bytes.to_vec();
        };
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for m in matcher.find_iter(bytes) {
            out.extend_from_slice(&bytes[at..m.start()]);
            out.extend_from_slice(self.spellings[m.pattern().as_usize()].1.as_bytes());
            at = m.end();
        }
        out.extend_from_slice(&bytes[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(toml: &str) -> StoreConfig {
        let file = orderport::StoresFile::parse(
            &format!("[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\n{toml}"),
            &|_| None,
        )
        .unwrap();
        file.stores[0].clone()
    }

    #[test]
    fn every_identifying_value_is_replaced_in_every_url_spelling() {
        let identity = StoreIdentity::of(&store(
            "url = \"https://shop.acme.test/ss\"\nusername = \"ops@acme.test\"\npassword = \"p@ss word\"\n[store.secrets]\nconsumer_key = \"ck_1\"\n",
        ));
        assert_eq!(
            identity.fixture_username(),
            Some("fixture-user@example.com")
        );
        let secrets: Vec<(&str, &str)> = identity.fixture_secrets().collect();
        assert_eq!(
            secrets,
            [
                ("password", "fixture-password"),
                ("consumer_key", "fixture-consumer-key")
            ]
        );
        assert_eq!(identity.value("ops@acme.test"), "fixture-user@example.com");
        assert_eq!(identity.value("p@ss word"), "fixture-password");
        assert_eq!(
            identity.path("/v/ops%40acme.test/p%40ss%20word/ck_1"),
            "/v/fixture-user%40example.com/fixture-password/fixture-consumer-key"
        );
        // Secrets and the host inside other text, in each URL spelling, in one pass.
        assert_eq!(
            identity.value("p%40ss+word|p%40ss%20word|p%40ss%20word|ck_1 at https://shop.acme.test/x"),
            "fixture-password|fixture-password|fixture-password|fixture-consumer-key at https://store.example.com/x"
        );
        // Basic is decoded, replaced, encoded again.
        let basic = format!("Basic {}", STANDARD.encode("ops@acme.test:p@ss word"));
        assert_eq!(
            identity.header("Authorization", &basic),
            format!(
                "Basic {}",
                STANDARD.encode("fixture-user@example.com:fixture-password")
            )
        );
        // In bodies too, the e-mail user name included.
        assert_eq!(
            identity.body(b"by ops@acme.test with ck_1"),
            b"by fixture-user@example.com with fixture-consumer-key"
        );
        assert!(!format!("{identity:?}").contains("ck_1"));
    }

    #[test]
    fn replacing_is_one_pass() {
        // Sequential replacements would replace "pass" inside "fixture-password".
        let identity = StoreIdentity::of(&store(
            "url = \"http://127.0.0.1:9/ss\"\npassword = \"word\"\napi_key = \"pass\"\n",
        ));
        assert_eq!(
            identity.value("word pass"),
            "fixture-password fixture-api-key"
        );
    }

    #[test]
    fn survivors_are_found_in_any_spelling_but_fixture_credentials_are_not_survivors() {
        let identity = StoreIdentity::of(&store(
            "url = \"http://127.0.0.1:9/ss\"\nusername = \"u\"\npassword = \"hunter2!\"\n",
        ));
        for leak in [
            "hunter2!",
            "hunter2%21",
            &STANDARD.encode("u:hunter2!"),
            "\"pw\": \"hunter2!\"",
        ] {
            assert!(identity.survivors(leak, &[]), "{leak}");
        }
        assert!(!identity.survivors("fixture-password, 127.0.0.1", &[]));
        // A plain login is replaced where it is a whole value, never inside words.
        assert_eq!(identity.value("u"), "fixture-user");
        assert_eq!(identity.value("um"), "um");
        assert_eq!(identity.path("/u/um"), "/fixture-user/um");
        assert_eq!(identity.body(b"u, um"), b"u, um");
        // A token the connector derived from a secret is known to the service's redactor.
        let service = Redactor::builder()
            .header_value(&SecretString::from("Token abc123".to_owned()))
            .build();
        assert!(identity.survivors("Token abc123", std::slice::from_ref(&service)));
        // Secrets that already are fixture ones are no leak.
        let fixture = StoreIdentity::of(&store(
            "url = \"http://127.0.0.1:9/ss\"\nusername = \"fixture-user\"\npassword = \"fixture-password\"\n",
        ));
        assert!(!fixture.survivors(
            &format!(
                "fixture-password {}",
                STANDARD.encode("fixture-user:fixture-password")
            ),
            &[]
        ));
    }
}
