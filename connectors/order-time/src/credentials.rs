//! The API user's credentials and the headers that carry them.
//!
//! Order Time's REST API takes the headers `apiKey` and `email` on every call, plus `password`,
//! or `DevKey` instead of the password (help.ordertime.com, "Order Time REST API"). Its Custom
//! Store endpoint takes HTTP Basic with the e-mail and the API key. The secrets live in
//! [`SecretString`]s, so Debug output shows `[REDACTED]`; they are sent through
//! [`orderport_http::Auth`], which marks every header carrying one sensitive.

use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{ConfigError, StoreConfig};
use orderport_http::{Auth, InvalidCredential, Redactor};

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
                    "the REST transport (transport = \"rest\") also signs in with password (or password_env), or dev_key (or dev_key_env) to send a developer key instead; set one, or remove transport = \"rest\" to use the Custom Store endpoint with username and api_key alone",
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

    /// How a REST call authenticates: the headers `apiKey`, `email`, and `password` or
    /// `DevKey`.
    pub fn rest_auth(&self) -> Result<Auth, InvalidCredential> {
        let (login_name, login_secret) = match &self.login {
            Login::Password(secret) => ("password", secret),
            Login::DevKey(secret) => ("DevKey", secret),
        };
        Auth::none()
            .with_header("apiKey", self.api_key.clone())?
            .with_plain_header("email", &self.email)?
            .with_header(login_name, login_secret.clone())
    }

    /// How the Custom Store endpoint Order Time hosts authenticates: HTTP Basic with the e-mail
    /// and the API key.
    pub fn basic_auth(&self) -> Auth {
        Auth::basic(self.email.clone(), self.api_key.clone())
    }

    /// A redactor for every secret the store configured, sent or not, in every spelling.
    pub fn redactor(&self) -> Redactor {
        let mut builder = Redactor::builder().basic(&self.email, &self.api_key);
        for secret in &self.configured {
            builder = builder.secret(secret);
        }
        builder.build()
    }
}

fn present(secret: &Option<SecretString>) -> Option<SecretString> {
    secret
        .as_ref()
        .filter(|s| !s.expose_secret().trim().is_empty())
        .cloned()
}
