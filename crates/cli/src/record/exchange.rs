//! One exchange as a fixture holds it: a captured [`Attempt`] with the store's identifying
//! values replaced ([`StoreIdentity`]), the reply headers a replay has no use for left out, and
//! each request value marked when it carries a credential (the pseudonyms leave those alone).

use super::capture::Attempt;
use super::identity::StoreIdentity;

/// Reply headers a fixture leaves out: the transport's own (a replay sets its own length and
/// framing), the date and the server, and cookies (a session cookie is a credential).
pub const DROPPED_REPLY_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
    "date",
    "server",
    "set-cookie",
];

/// A name and its value (a query parameter, a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name (a header's, lower-case).
    pub name: String,
    /// The value, with the identifying values replaced.
    pub value: String,
    /// Whether the value is a credential (`Authorization`, or a value that held a secret or the
    /// user name).
    pub credential: bool,
}

/// One exchange of the recording.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The call's name, such as `export`.
    pub operation: String,
    /// The attempt of the call, from 1.
    pub attempt: u32,
    /// The method, upper-case.
    pub method: String,
    /// The path, percent-encoded.
    pub path: String,
    /// The query parameters, decoded.
    pub query: Vec<Field>,
    /// The request's headers.
    pub headers: Vec<Field>,
    /// The request's body.
    pub body: Option<Vec<u8>>,
    /// The reply's status.
    pub status: u16,
    /// The reply's headers, those in [`DROPPED_REPLY_HEADERS`] left out.
    pub reply_headers: Vec<Field>,
    /// The reply's body as the client read it.
    pub reply_body: Vec<u8>,
    /// Whether `reply_body` is the whole body.
    pub complete: bool,
}

impl Exchange {
    /// The attempt with the store's identifying values replaced, or `None` for an attempt that
    /// got no reply (a fixture can only replay replies).
    pub fn cleared(attempt: &Attempt, identity: &StoreIdentity) -> Option<Self> {
        let reply = attempt.reply.as_ref()?;
        let secret = |value: &str| attempt.redactor.redact(value) != value;
        let query = attempt
            .query
            .iter()
            .map(|(name, value)| {
                let cleared = identity.value(value);
                Field {
                    name: name.clone(),
                    credential: secret(value) || cleared != *value,
                    value: cleared,
                }
            })
            .collect();
        let headers = attempt
            .headers
            .iter()
            .map(|(name, value)| {
                let cleared = identity.header(name, value);
                Field {
                    name: name.clone(),
                    credential: name == "authorization" || secret(value) || cleared != *value,
                    value: cleared,
                }
            })
            .collect();
        let reply_headers = reply
            .headers
            .iter()
            .filter(|(name, _)| !DROPPED_REPLY_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| Field {
                name: name.clone(),
                value: identity.header(name, value),
                credential: false,
            })
            .collect();
        Some(Self {
            operation: attempt.operation.clone(),
            attempt: attempt.attempt,
            method: attempt.method.clone(),
            path: identity.path(&attempt.path),
            query,
            headers,
            body: attempt.body.as_deref().map(|b| identity.body(b)),
            status: reply.status,
            reply_headers,
            reply_body: identity.body(&reply.body),
            complete: reply.complete,
        })
    }

    /// The value of a request header.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The value of a reply header.
    pub fn reply_header(&self, name: &str) -> Option<&str> {
        find(&self.reply_headers, name)
    }
}

fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
}

#[cfg(test)]
mod tests {
    use orderport::http::Redactor;
    use orderport::secrecy::SecretString;

    use super::super::capture::Reply;
    use super::*;

    #[test]
    fn credentials_are_replaced_and_marked_and_transport_headers_dropped() {
        let file = orderport::StoresFile::parse(
            "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\nurl = \"https://shop.acme.test/ss\"\nusername = \"vendor\"\npassword = \"s3cret-pw\"\n",
            &|_| None,
        )
        .unwrap();
        let identity = StoreIdentity::of(&file.stores[0]);
        let attempt = Attempt {
            operation: "export".into(),
            attempt: 2,
            method: "GET".into(),
            path: "/ss".into(),
            query: vec![
                ("action".into(), "export".into()),
                ("SS-UserName".into(), "vendor".into()),
                ("SS-Password".into(), "s3cret-pw".into()),
            ],
            headers: vec![("x-token".into(), "derived-token".into())],
            body: None,
            reply: Some(Reply {
                status: 200,
                headers: vec![
                    ("content-type".into(), "application/xml".into()),
                    ("content-length".into(), "12".into()),
                    ("set-cookie".into(), "session=abc".into()),
                    ("x-shop".into(), "shop.acme.test".into()),
                ],
                body: b"<Orders>s3cret-pw at shop.acme.test</Orders>".to_vec(),
                complete: true,
            }),
            redactor: Redactor::builder()
                .header_value(&SecretString::from("derived-token".to_owned()))
                .build(),
        };
        let exchange = Exchange::cleared(&attempt, &identity).unwrap();
        let query: Vec<(&str, &str, bool)> = exchange
            .query
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str(), f.credential))
            .collect();
        assert_eq!(
            query,
            [
                ("action", "export", false),
                ("SS-UserName", "fixture-user", true),
                ("SS-Password", "fixture-password", true)
            ]
        );
        // A header the service knows as a credential is marked, though nothing replaced it.
        assert!(exchange.headers[0].credential);
        let names: Vec<&str> = exchange
            .reply_headers
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["content-type", "x-shop"]);
        assert_eq!(exchange.reply_header("X-Shop"), Some("store.example.com"));
        assert_eq!(
            exchange.reply_body,
            b"<Orders>fixture-password at store.example.com</Orders>"
        );
        // No reply, nothing to replay.
        let lost = Attempt {
            reply: None,
            ..attempt
        };
        assert!(Exchange::cleared(&lost, &identity).is_none());
    }
}
