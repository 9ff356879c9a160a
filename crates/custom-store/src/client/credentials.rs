//! The store's user name and password, and the scrubbing that keeps the password out of every
//! message.

use std::fmt;

use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{ConfigError, StoreConfig};
use url::form_urlencoded;

/// What replaces the password wherever it shows up in text.
pub const REDACTED: &str = "[REDACTED]";

/// A Custom Store login. Debug output never shows the password.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: SecretString,
    /// The spellings of the password that could appear in text: raw, form-encoded,
    /// percent-encoded. Longest first.
    spellings: Vec<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

impl Credentials {
    /// A login from a user name and a password.
    pub fn new(username: impl Into<String>, password: SecretString) -> Self {
        let raw = password.expose_secret();
        let form: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let mut spellings: Vec<String> = vec![raw.to_owned(), form, percent];
        spellings.retain(|s| !s.is_empty());
        spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
        spellings.dedup();
        Self {
            username: username.into(),
            password,
            spellings: spellings.into_iter().map(SecretString::from).collect(),
        }
    }

    /// The store's `username` and `password`, both required.
    pub fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        let username = config.required_username(
            "the Custom Store user name is missing; copy it from the channel's ShipStation settings",
        )?;
        let password = config
            .secrets
            .password
            .clone()
            .filter(|p| !p.expose_secret().is_empty())
            .ok_or_else(|| {
                ConfigError::store(
                    &config.id,
                    "password",
                    "the Custom Store password is missing; set password_env to the variable that holds it",
                )
            })?;
        Ok(Self::new(username, password))
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, for the request only.
    pub(crate) fn password(&self) -> &str {
        self.password.expose_secret()
    }

    /// `text` with every spelling of the password replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for spelling in &self.spellings {
            let spelling = spelling.expose_secret();
            if text.contains(spelling) {
                text = text.replace(spelling, REDACTED);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_password_is_redacted() {
        let credentials = Credentials::new("vendor", SecretString::from("p@ss w/rd&1"));
        let text = "raw p@ss w/rd&1, form p%40ss+w%2Frd%261, percent p%40ss%20w%2Frd%261";
        let clean = credentials.redact(text);
        assert!(!clean.contains("p@ss"), "{clean}");
        assert!(!clean.contains("p%40ss"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 3, "{clean}");
        assert!(!format!("{credentials:?}").contains("p@ss"));
    }
}
