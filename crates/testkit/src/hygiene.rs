//! Fixture hygiene: recorded traffic must never carry real credentials or personal data.
//!
//! The rules, applied to every file under a fixture tree:
//!
//! 1. **Store secrets.** In a `scenario.toml`, `[store]` `password`, `api_key` and `dev_key`, and
//!    every named secret of `[store.secrets]`, start with `fixture-`; `*_env` secrets are not
//!    allowed (fixtures are self-contained).
//! 2. **Authorization headers.** A recorded request's `Authorization` header decodes to fixture
//!    credentials: `Basic` to `user:secret` where `secret` is one of the store's secrets (so it
//!    starts with `fixture-`), `Bearer` (or any other scheme) to a token starting with `fixture-`.
//! 3. **Credential parameters.** A recorded query parameter whose name contains `password`,
//!    `secret`, `token` or `key` has a value starting with `fixture-`.
//! 4. **E-mail addresses.** Every e-mail address in any file is at `example.com`, `example.org` or
//!    `example.net` (or a subdomain of them), the domains reserved for documentation (RFC 2606).
//! 5. **Phone numbers.** Every phone number is a fictional North American number, `555-0100`
//!    to `555-0199` after any area code (`+1 312-555-0142`, `(773) 555-0199`, `3125550123`).
//!    Checked are the values of phone fields (XML `<Phone>`, JSON `"phone"`, TOML `phone =`),
//!    which may also be empty, and any text formatted like a phone number
//!    (`312-555-0142`, `(312) 555-0142`, `312.555.0142`, `+1 312 555 0142`).
//!
//! Personal names and street addresses cannot be told apart from fiction by a program; use
//! obviously made-up ones ("Ada Fixture", "100 Example Street").

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use regex::Regex;

/// The prefix every fixture secret starts with.
pub const SECRET_PREFIX: &str = "fixture-";

/// Domains e-mail addresses in fixtures may use, with their subdomains.
pub const EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];

/// Which rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HygieneRule {
    /// A store secret that does not start with `fixture-`, or a `*_env` secret.
    StoreSecret,
    /// An Authorization header that does not decode to fixture credentials.
    Authorization,
    /// A credential-like query parameter whose value does not start with `fixture-`.
    CredentialParameter,
    /// An e-mail address outside the reserved domains.
    Email,
    /// A phone number outside 555-0100..555-0199.
    Phone,
    /// A file that could not be read or parsed.
    Unreadable,
}

impl fmt::Display for HygieneRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StoreSecret => "store secret",
            Self::Authorization => "authorization header",
            Self::CredentialParameter => "credential parameter",
            Self::Email => "e-mail address",
            Self::Phone => "phone number",
            Self::Unreadable => "unreadable file",
        })
    }
}

/// One breach of a hygiene rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HygieneViolation {
    /// The file.
    pub file: PathBuf,
    /// The line, from 1, where known.
    pub line: Option<usize>,
    /// The rule broken.
    pub rule: HygieneRule,
    /// What was found and what to do.
    pub detail: String,
}

impl fmt::Display for HygieneViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}: {}", self.rule, self.detail)
    }
}

/// Checks every file under `root` and returns every violation found.
pub fn check_tree(root: &Path) -> Vec<HygieneViolation> {
    let mut files = Vec::new();
    let mut violations = Vec::new();
    collect_files(root, &mut files, &mut violations);
    files.sort();
    for file in files {
        violations.extend(check_file(&file));
    }
    violations
}

/// Checks one file: the text rules for every file, and the scenario rules for `scenario.toml`.
pub fn check_file(path: &Path) -> Vec<HygieneViolation> {
    match std::fs::read(path) {
        Ok(bytes) => check_contents(path, &bytes),
        Err(e) => vec![violation(
            path,
            None,
            HygieneRule::Unreadable,
            e.to_string(),
        )],
    }
}

/// Checks a file's bytes before they are written, as [`check_file`] would check the file at
/// `path` holding them: a tool that makes fixtures (`orderport record`) refuses to write what
/// fails.
pub fn check_contents(path: &Path, bytes: &[u8]) -> Vec<HygieneViolation> {
    let text = String::from_utf8_lossy(bytes);
    let mut violations = check_text(path, &text);
    if path
        .file_name()
        .is_some_and(|n| n == crate::scenario::SCENARIO_FILE)
    {
        violations.extend(check_scenario_text(path, &text));
    }
    violations
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>, violations: &mut Vec<HygieneViolation>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            violations.push(violation(dir, None, HygieneRule::Unreadable, e.to_string()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && is_vendored_schema(&path) {
            continue;
        } else if path.is_dir() {
            collect_files(&path, files, violations);
        } else {
            files.push(path);
        }
    }
}

/// A `schema/` directory that holds a `LICENSE` is a third-party specification copied verbatim
/// (the Custom Store XSD, Klaviyo's OpenAPI operations). Its examples are the publisher's, not
/// recorded data, and it must not be edited, so the hygiene rules do not apply to it.
fn is_vendored_schema(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "schema") && dir.join("LICENSE").is_file()
}

fn violation(
    file: &Path,
    line: Option<usize>,
    rule: HygieneRule,
    detail: String,
) -> HygieneViolation {
    HygieneViolation {
        file: file.to_owned(),
        line,
        rule,
        detail,
    }
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| match Regex::new(pattern) {
        Ok(re) => re,
        // The patterns are constants of this module; a typo is a bug in the kit.
        Err(e) => panic!("orderport-testkit: bad built-in pattern {pattern:?}: {e}"),
    })
}

pub(crate) fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(
        &RE,
        r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)",
    )
}

fn phone_field_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(
        &RE,
        r#"(?i)<phone>\s*(?:<!\[CDATA\[)?([^<\]]*)|"phone"\s*:\s*"([^"]*)"|(?m:^\s*phone\s*=\s*"([^"]*)")"#,
    )
}

pub(crate) fn phone_text_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(
        &RE,
        r"(?:\+1[\s.\-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.\-])\d{3}[\s.\-]\d{4}\b",
    )
}

/// True for an address at a reserved documentation domain.
pub fn is_reserved_email_domain(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    EMAIL_DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

/// True for a fictional North American number: ten digits (after an optional leading country
/// code 1) whose exchange and line start `555-01`.
pub fn is_fictional_phone(value: &str) -> bool {
    let digits = digits(value);
    let national = match digits.len() {
        11 if digits.starts_with('1') => &digits[1..],
        10 => digits.as_str(),
        _ => return false,
    };
    &national[3..8] == "55501"
}

fn digits(value: &str) -> String {
    value.chars().filter(char::is_ascii_digit).collect()
}

fn check_text(path: &Path, text: &str) -> Vec<HygieneViolation> {
    let mut violations = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = Some(n + 1);
        for caps in email_re().captures_iter(line) {
            let domain = caps.get(1).map_or("", |m| m.as_str());
            if !is_reserved_email_domain(domain) {
                violations.push(violation(
                    path,
                    line_no,
                    HygieneRule::Email,
                    format!(
                        "{:?} is not at example.com, example.org or example.net; use e.g. ada@example.com",
                        &caps[0]
                    ),
                ));
            }
        }
        // A number caught as a phone field is not reported again by the text rule.
        let mut flagged: Vec<String> = Vec::new();
        for caps in phone_field_re().captures_iter(line) {
            let value = (1..=3)
                .find_map(|i| caps.get(i))
                .map_or("", |m| m.as_str())
                .trim();
            if !value.is_empty() && !is_fictional_phone(value) {
                flagged.push(digits(value));
                violations.push(violation(
                    path,
                    line_no,
                    HygieneRule::Phone,
                    format!(
                        "phone {value:?} is not a fictional 555-01xx number; use e.g. 312-555-0142"
                    ),
                ));
            }
        }
        for m in phone_text_re().find_iter(line) {
            if !is_fictional_phone(m.as_str()) && !flagged.contains(&digits(m.as_str())) {
                violations.push(violation(
                    path,
                    line_no,
                    HygieneRule::Phone,
                    format!(
                        "{:?} looks like a phone number and is not a fictional 555-01xx one",
                        m.as_str()
                    ),
                ));
            }
        }
    }
    violations
}

fn check_scenario_text(path: &Path, text: &str) -> Vec<HygieneViolation> {
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            return vec![violation(
                path,
                None,
                HygieneRule::Unreadable,
                format!("not TOML: {e}"),
            )]
        }
    };
    let mut violations = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    if let Some(store) = table.get("store").and_then(toml::Value::as_table) {
        // Each secret's table, its label in messages, and its name.
        let mut places: Vec<(&toml::Table, &str, String)> = orderport_core::config::SECRET_NAMES
            .iter()
            .map(|name| (store, "[store]", (*name).to_owned()))
            .collect();
        if let Some(named) = store
            .get(orderport_core::config::NAMED_SECRETS_TABLE)
            .and_then(toml::Value::as_table)
        {
            let mut names: Vec<String> = named
                .keys()
                .map(|key| key.trim_end_matches("_env").to_owned())
                .collect();
            names.sort();
            names.dedup();
            places.extend(
                names
                    .into_iter()
                    .map(|name| (named, "[store.secrets]", name)),
            );
        }
        for (place, label, name) in places {
            if let Some(value) = place.get(&name) {
                let value = value.as_str().unwrap_or_default();
                if !value.starts_with(SECRET_PREFIX) {
                    violations.push(violation(
                        path,
                        None,
                        HygieneRule::StoreSecret,
                        format!("{label} {name} must start with {SECRET_PREFIX:?}"),
                    ));
                }
                secrets.push(value.to_owned());
            }
            if place.contains_key(&format!("{name}_env")) {
                violations.push(violation(
                    path,
                    None,
                    HygieneRule::StoreSecret,
                    format!("{label} {name}_env: fixtures carry an inline {SECRET_PREFIX}… {name}"),
                ));
            }
        }
    }
    let exchanges = table
        .get("exchange")
        .and_then(toml::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, exchange) in exchanges.iter().enumerate() {
        let Some(request) = exchange.get("request").and_then(toml::Value::as_table) else {
            continue;
        };
        let at = format!("exchange #{}", i + 1);
        if let Some(headers) = request.get("headers").and_then(toml::Value::as_table) {
            for (name, value) in headers {
                if name.eq_ignore_ascii_case("authorization") {
                    if let Err(detail) =
                        check_authorization(value.as_str().unwrap_or_default(), &secrets)
                    {
                        violations.push(violation(
                            path,
                            None,
                            HygieneRule::Authorization,
                            format!("{at}: {detail}"),
                        ));
                    }
                }
            }
        }
        if let Some(query) = request.get("query").and_then(toml::Value::as_table) {
            for (name, value) in query {
                let lower = name.to_ascii_lowercase();
                let credential = ["password", "secret", "token", "key"]
                    .iter()
                    .any(|w| lower.contains(w));
                let value = value.as_str().unwrap_or_default();
                if credential && !value.starts_with(SECRET_PREFIX) {
                    violations.push(violation(
                        path,
                        None,
                        HygieneRule::CredentialParameter,
                        format!("{at}: query parameter {name} must start with {SECRET_PREFIX:?}"),
                    ));
                }
            }
        }
    }
    violations
}

/// Checks one Authorization header value against the store's secrets.
pub fn check_authorization(value: &str, secrets: &[String]) -> Result<(), String> {
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| "Basic credentials are not base64 of user:secret".to_owned())?;
        let secret = decoded.split_once(':').map_or("", |(_, s)| s);
        if !secret.starts_with(SECRET_PREFIX) {
            return Err(format!(
                "Basic credentials decode to a secret not starting with {SECRET_PREFIX:?}"
            ));
        }
        if !secrets.iter().any(|s| s == secret) {
            return Err(
                "Basic credentials decode to a secret that is not one of [store]'s".to_owned(),
            );
        }
        Ok(())
    } else if credentials.starts_with(SECRET_PREFIX) {
        Ok(())
    } else {
        Err(format!(
            "{scheme} credentials must start with {SECRET_PREFIX:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fictional_phones() {
        for ok in [
            "312-555-0142",
            "+1 (773) 555-0199",
            "3125550100",
            "1-312-555-0123",
        ] {
            assert!(is_fictional_phone(ok), "{ok}");
        }
        for bad in [
            "312-555-0200",
            "312-867-5309",
            "555-0142",
            "+44 20 7946 0958",
        ] {
            assert!(!is_fictional_phone(bad), "{bad}");
        }
    }

    #[test]
    fn reserved_domains() {
        assert!(is_reserved_email_domain("example.com"));
        assert!(is_reserved_email_domain("Shop.Example.ORG"));
        assert!(!is_reserved_email_domain("gmail.com"));
        assert!(!is_reserved_email_domain("example.co"));
        assert!(!is_reserved_email_domain("notexample.com"));
    }

    #[test]
    fn text_rules_find_emails_and_phones() {
        let found = check_text(
            Path::new("x.xml"),
            "<Email>ada@example.com</Email>\n<Email>bob@gmail.com</Email>\n\
             <Phone><![CDATA[312-867-5309]]></Phone>\n<Phone>312-555-0142</Phone>\n\
             <Notes>call (212) 736-5000 after 5</Notes>\n<Date>03/07/2026 21:56</Date>\n\
             <Tracking>9400 1000 0000 0000 0000 00</Tracking>",
        );
        let rules: Vec<_> = found.iter().map(|v| (v.rule, v.line)).collect();
        assert_eq!(
            rules,
            vec![
                (HygieneRule::Email, Some(2)),
                (HygieneRule::Phone, Some(3)),
                (HygieneRule::Phone, Some(5)),
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn contents_are_checked_as_the_file_they_would_be() {
        let scenario = "description = \"x\"\n[store]\nid = \"s\"\npassword = \"hunter2\"\n\
                        # call 312-867-5309\n";
        let rules = |name: &str| -> Vec<HygieneRule> {
            check_contents(Path::new(name), scenario.as_bytes())
                .iter()
                .map(|v| v.rule)
                .collect()
        };
        // As scenario.toml: the store rules too; under another name, the text rules only.
        assert_eq!(
            rules("out/scenario.toml"),
            vec![HygieneRule::Phone, HygieneRule::StoreSecret]
        );
        assert_eq!(rules("out/notes.md"), vec![HygieneRule::Phone]);
        // Nothing is read from disk: the path does not exist.
        assert!(!Path::new("out/scenario.toml").exists());
    }

    #[test]
    fn authorization_must_decode_to_a_store_secret() {
        let secrets = vec!["fixture-password".to_owned()];
        // fixture-user:fixture-password
        assert!(
            check_authorization("Basic Zml4dHVyZS11c2VyOmZpeHR1cmUtcGFzc3dvcmQ=", &secrets).is_ok()
        );
        // someone:hunter2
        assert!(check_authorization("Basic c29tZW9uZTpodW50ZXIy", &secrets).is_err());
        assert!(check_authorization("Basic !!!", &secrets).is_err());
        assert!(check_authorization("Bearer fixture-token", &secrets).is_ok());
        assert!(check_authorization("Bearer sk_live_abc", &secrets).is_err());
    }
}
