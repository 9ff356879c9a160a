//! The API user's credentials and the headers that carry them.
//!
//! Order Time's REST API takes the headers `apiKey` and `email` on every call, plus `password`,
//! or `DevKey` instead of the password (help.ordertime.com, "Order Time REST API"). Its Custom
//! Store endpoint takes HTTP Basic with the e-mail and the API key. The secrets live in
//! [`SecretString`]s, so Debug output shows `[REDACTED]`, and every header carrying one is marked
//! sensitive.

use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{ConfigError, StoreConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::RequestBuilder;

/// What the API user signs in with besides the API key.
#[derive(Debug, Clone)]
pub enum Login {
    /// The user's password, sent as the `password` header.
    Password(SecretString),
    /// A developer key Order Time issued, sent as the `DevKey` header instead of the password.
    DevKey(SecretString),
}

/// The API user's e-mail and secrets.
#[derive(Debug, Clone)]
pub struct Credentials {
    email: String,
    api_key: SecretString,
    login: Login,
    /// Every secret the store configured, sent or not, to scrub from quoted text.
    configured: Vec<SecretString>,
}

impl Credentials {
    /// Reads `username` (the e-mail), `api_key`, and `dev_key` or `password`. A configured
    /// `dev_key` is sent instead of the password.
    pub fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        let email = config
            .required_username(
                "set it to the Order Time API user's e-mail (the master admin's for the ShipStation integration)",
            )?
            .to_owned();
        if !email.contains('@') {
            return Err(ConfigError::store(
                &config.id,
                "username",
                "Order Time signs in with an e-mail; set username to the API user's e-mail",
            ));
        }
        let api_key = present(&config.secrets.api_key).ok_or_else(|| {
            ConfigError::store(
                &config.id,
                "api_key",
                "set api_key (or api_key_env) to the key Order Time generated when the integration was enabled",
            )
        })?;
        let login = match (present(&config.secrets.dev_key), present(&config.secrets.password)) {
            (Some(dev_key), _) => Login::DevKey(dev_key),
            (None, Some(password)) => Login::Password(password),
            (None, None) => {
                return Err(ConfigError::store(
                    &config.id,
                    "password",
                    "set password (or password_env), or dev_key (or dev_key_env) to send a developer key instead",
                ))
            }
        };
        let secrets = &config.secrets;
        let configured = [&secrets.api_key, &secrets.password, &secrets.dev_key]
            .into_iter()
            .filter_map(present)
            .collect();
        Ok(Self {
            email,
            api_key,
            login,
            configured,
        })
    }

    /// The headers of a REST call: `apiKey`, `email`, and `password` or `DevKey`.
    pub fn rest_headers(&self) -> HeaderMap {
        let (login_name, login_secret) = match &self.login {
            Login::Password(secret) => ("password", secret),
            Login::DevKey(secret) => ("DevKey", secret),
        };
        let mut headers = HeaderMap::new();
        for (name, value, sensitive) in [
            ("apiKey", self.api_key.expose_secret(), true),
            ("email", self.email.as_str(), false),
            (login_name, login_secret.expose_secret(), true),
        ] {
            if let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                value.set_sensitive(sensitive);
                headers.insert(name, value);
            }
        }
        headers
    }

    /// Adds HTTP Basic auth with the e-mail and the API key, as Order Time's Custom Store
    /// endpoint expects.
    pub fn basic_auth(&self, request: RequestBuilder) -> RequestBuilder {
        request.basic_auth(&self.email, Some(self.api_key.expose_secret()))
    }

    /// `text` with every secret replaced by `[REDACTED]`, for error details that quote a reply.
    pub fn redact(&self, text: &str) -> String {
        self.configured
            .iter()
            .map(ExposeSecret::expose_secret)
            .fold(text.to_owned(), |acc, secret| {
                acc.replace(secret, "[REDACTED]")
            })
    }
}

fn present(secret: &Option<SecretString>) -> Option<SecretString> {
    secret
        .as_ref()
        .filter(|s| !s.expose_secret().trim().is_empty())
        .cloned()
}
