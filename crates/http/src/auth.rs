//! [`Auth`]: how a request carries its credentials, built from secret values. Each way of
//! sending a secret registers every spelling of it with the [`Redactor`], so that a reply
//! echoing the request never puts a secret into an error.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::redact::{Redactor, RedactorBuilder};

/// A credential that cannot be sent as asked: a header name or value HTTP cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the credential for {name} cannot be sent as an HTTP header ({why}); check it for a pasted newline or stray characters")]
pub struct InvalidCredential {
    /// The header concerned.
    pub name: String,
    /// What is wrong, without the value.
    pub why: &'static str,
}

#[derive(Clone)]
enum Part {
    Basic {
        user: String,
        password: SecretString,
    },
    Header {
        name: HeaderName,
        value: HeaderValue,
    },
    Query {
        name: String,
        value: SecretString,
    },
    PlainQuery {
        name: String,
        value: String,
    },
    PlainHeader {
        name: HeaderName,
        value: HeaderValue,
    },
}

/// The credentials every request of a service carries: HTTP Basic, credential headers and
/// query parameters, in any combination. Debug output names the parts, never a value.
#[derive(Clone, Default)]
pub struct Auth {
    parts: Vec<Part>,
    redactor: RedactorParts,
}

/// The secrets registered so far, kept to build the redactor.
#[derive(Clone, Default)]
struct RedactorParts {
    secrets: Vec<SecretString>,
    headers: Vec<SecretString>,
    basics: Vec<(String, SecretString)>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Basic { user, .. } => format!("basic({user}, [REDACTED])"),
                Part::Header { name, .. } => format!("header({name}: [REDACTED])"),
                Part::Query { name, .. } => format!("query({name}=[REDACTED])"),
                Part::PlainQuery { name, value } => format!("query({name}={value})"),
                Part::PlainHeader { name, value } => {
                    format!(
                        "header({name}: {})",
                        String::from_utf8_lossy(value.as_bytes())
                    )
                }
            })
            .collect();
        f.debug_tuple("Auth").field(&parts).finish()
    }
}

impl Auth {
    /// No credentials.
    pub fn none() -> Self {
        Self::default()
    }

    /// HTTP Basic with `user` and `password`.
    pub fn basic(user: impl Into<String>, password: SecretString) -> Self {
        Self::none().with_basic(user, password)
    }

    /// Adds HTTP Basic with `user` and `password`.
    pub fn with_basic(mut self, user: impl Into<String>, password: SecretString) -> Self {
        let user = user.into();
        self.redactor.basics.push((user.clone(), password.clone()));
        self.parts.push(Part::Basic { user, password });
        self
    }

    /// Adds a header whose whole value is the secret, such as `apiKey: …`.
    pub fn with_header(self, name: &str, secret: SecretString) -> Result<Self, InvalidCredential> {
        self.with_prefixed_header(name, "", secret)
    }

    /// Adds a header whose value is `prefix` followed by the secret, such as
    /// `Authorization: Klaviyo-API-Key …`.
    pub fn with_prefixed_header(
        mut self,
        name: &str,
        prefix: &str,
        secret: SecretString,
    ) -> Result<Self, InvalidCredential> {
        let invalid = |why| InvalidCredential {
            name: name.to_owned(),
            why,
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("bad name"))?;
        let whole = SecretString::from(format!("{prefix}{}", secret.expose_secret()));
        let mut value = HeaderValue::from_str(whole.expose_secret())
            .map_err(|_| invalid("a character a header value cannot hold"))?;
        value.set_sensitive(true);
        self.redactor.secrets.push(secret);
        self.redactor.headers.push(whole);
        self.parts.push(Part::Header {
            name: header,
            value,
        });
        Ok(self)
    }

    /// Adds a secret query parameter, such as `SS-Password=…`. The URL then holds a secret: it
    /// is never logged nor put into an error.
    pub fn with_query(mut self, name: impl Into<String>, secret: SecretString) -> Self {
        self.redactor.secrets.push(secret.clone());
        self.parts.push(Part::Query {
            name: name.into(),
            value: secret,
        });
        self
    }

    /// Adds a query parameter that is not secret, such as `SS-UserName=…`, sent in its place
    /// among the credentials.
    pub fn with_plain_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part::PlainQuery {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a header that is not secret but belongs with the credentials, such as
    /// `email: …` beside an API key.
    pub fn with_plain_header(mut self, name: &str, value: &str) -> Result<Self, InvalidCredential> {
        let invalid = |why| InvalidCredential {
            name: name.to_owned(),
            why,
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("bad name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid("a character a header value cannot hold"))?;
        self.parts.push(Part::PlainHeader {
            name: header,
            value,
        });
        Ok(self)
    }

    /// A redactor builder holding every secret these credentials send; add secrets that are
    /// configured but not sent with [`RedactorBuilder::secret`].
    pub fn redactor_builder(&self) -> RedactorBuilder {
        let mut builder = Redactor::builder();
        for secret in &self.redactor.secrets {
            builder = builder.secret(secret);
        }
        for value in &self.redactor.headers {
            builder = builder.header_value(value);
        }
        for (user, password) in &self.redactor.basics {
            builder = builder.basic(user, password);
        }
        builder
    }

    /// Adds the query parameters to `url`.
    pub(crate) fn apply_to_url(&self, url: &mut Url) {
        let mut wanted = self
            .parts
            .iter()
            .filter(|p| matches!(p, Part::Query { .. } | Part::PlainQuery { .. }))
            .peekable();
        if wanted.peek().is_none() {
            return;
        }
        let mut pairs = url.query_pairs_mut();
        for part in wanted {
            match part {
                Part::Query { name, value } => {
                    pairs.append_pair(name, value.expose_secret());
                }
                Part::PlainQuery { name, value } => {
                    pairs.append_pair(name, value);
                }
                Part::Basic { .. } | Part::Header { .. } | Part::PlainHeader { .. } => {}
            }
        }
    }

    /// Adds Basic and the credential headers to a request.
    pub(crate) fn apply_to_request(&self, mut request: RequestBuilder) -> RequestBuilder {
        let mut headers = HeaderMap::new();
        for part in &self.parts {
            match part {
                Part::Basic { user, password } => {
                    request = request.basic_auth(user, Some(password.expose_secret()));
                }
                Part::Header { name, value } | Part::PlainHeader { name, value } => {
                    headers.insert(name.clone(), value.clone());
                }
                Part::Query { .. } | Part::PlainQuery { .. } => {}
            }
        }
        if headers.is_empty() {
            request
        } else {
            request.headers(headers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_not_values() {
        let auth = Auth::basic("vendor", SecretString::from("pw-1"))
            .with_header("apiKey", SecretString::from("key-2"))
            .unwrap()
            .with_query("SS-Password", SecretString::from("pw-3"))
            .with_plain_query("SS-UserName", "vendor");
        let text = format!("{auth:?}");
        for secret in ["pw-1", "key-2", "pw-3"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("apikey") && text.contains("SS-UserName=vendor"));
    }

    #[test]
    fn a_header_with_a_newline_is_refused_without_its_value() {
        let err = Auth::none()
            .with_header("apiKey", SecretString::from("abc\ndef"))
            .unwrap_err();
        assert_eq!(err.name, "apiKey");
        assert!(!err.to_string().contains("abc"));
    }

    #[test]
    fn the_redactor_knows_every_secret_sent() {
        let auth = Auth::basic("vendor", SecretString::from("pw-one"))
            .with_prefixed_header(
                "Authorization",
                "Klaviyo-API-Key ",
                SecretString::from("pk_two"),
            )
            .unwrap()
            .with_query("SS-Password", SecretString::from("pw three"));
        let r = auth.redactor_builder().build();
        let text = r.redact("pw-one pk_two pw+three dmVuZG9yOnB3LW9uZQ==");
        assert_eq!(text.matches("[REDACTED]").count(), 4, "{text}");
    }
}
