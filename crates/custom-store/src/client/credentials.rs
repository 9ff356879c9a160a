//! The store's user name and password, and how they are sent.

use std::fmt;

use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{ConfigError, StoreConfig};
use orderport_http::Auth;

/// A Custom Store login. Debug output never shows the password.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &orderport_http::REDACTED)
            .finish()
    }
}

impl Credentials {
    /// A login from a user name and a password.
    pub fn new(username: impl Into<String>, password: SecretString) -> Self {
        Self {
            username: username.into(),
            password,
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

    /// How ShipStation sends them: HTTP Basic, and `SS-UserName`/`SS-Password` at the end of
    /// the query string.
    pub fn auth(&self) -> Auth {
        Auth::basic(self.username.clone(), self.password.clone())
            .with_plain_query("SS-UserName", self.username.clone())
            .with_query("SS-Password", self.password.clone())
    }
}
