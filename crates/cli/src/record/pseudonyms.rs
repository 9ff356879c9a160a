//! The personal data of a recording, replaced by the test kit's stable pseudonyms
//! ([`orderport_testkit::pseudonym`]): names, e-mail addresses, phone numbers, street lines and
//! customer codes, the same value getting the same pseudonym in every body, header and query of
//! the recording, so that the same customer on two pages stays one (pseudonymous) customer and
//! a request built from a reply (a detail fetch) still matches it.
//!
//! Every body is learned first, then every one is rewritten and checked by the kit: a value
//! left in a spelling the rewrite does not know fails the recording. Values that carry a
//! credential ([`super::exchange::Field::credential`]) are left alone: they are the fixture's
//! credentials already.

use std::collections::BTreeMap;

use orderport_testkit::pseudonym::{
    BodyFormat, PersonalKind, PseudonymError, Pseudonymizer, Pseudonyms,
};

use super::exchange::{Exchange, Field};

/// Replaces the personal data of every exchange, in place, with pseudonyms salted with `salt`;
/// returns how many distinct values of each kind were replaced.
pub fn pseudonymize(
    exchanges: &mut [Exchange],
    salt: &[u8],
) -> Result<BTreeMap<PersonalKind, usize>, PseudonymError> {
    let mut learning = Pseudonymizer::new(salt);
    for exchange in exchanges.iter() {
        learning.learn_text(&exchange.path);
        for field in plain(&exchange.query)
            .chain(plain(&exchange.headers))
            .chain(plain(&exchange.reply_headers))
        {
            learning.learn_text(&field.value);
        }
        if let Some(body) = &exchange.body {
            learning.learn(body, request_format(exchange, body));
        }
        learning.learn(&exchange.reply_body, reply_format(exchange));
    }
    let pseudonyms = learning.finish()?;
    for exchange in exchanges.iter_mut() {
        exchange.path = pseudonyms.rewrite_text(&exchange.path)?;
        for fields in [
            &mut exchange.query,
            &mut exchange.headers,
            &mut exchange.reply_headers,
        ] {
            rewrite_fields(fields, &pseudonyms)?;
        }
        if let Some(body) = &exchange.body {
            let format = request_format(exchange, body);
            exchange.body = Some(pseudonyms.rewrite(body, format)?);
        }
        let format = reply_format(exchange);
        exchange.reply_body = pseudonyms.rewrite(&exchange.reply_body, format)?;
    }
    Ok(pseudonyms.counts().clone())
}

fn plain(fields: &[Field]) -> impl Iterator<Item = &Field> {
    fields.iter().filter(|f| !f.credential)
}

fn rewrite_fields(fields: &mut [Field], pseudonyms: &Pseudonyms) -> Result<(), PseudonymError> {
    for field in fields.iter_mut().filter(|f| !f.credential) {
        field.value = pseudonyms.rewrite_text(&field.value)?;
    }
    Ok(())
}

/// How a request body is read: by its `Content-Type`, else by its first bytes.
pub fn request_format(exchange: &Exchange, body: &[u8]) -> BodyFormat {
    BodyFormat::detect(exchange.header("content-type"), body)
}

/// How the reply body is read.
pub fn reply_format(exchange: &Exchange) -> BodyFormat {
    BodyFormat::detect(exchange.reply_header("content-type"), &exchange.reply_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: &str, credential: bool) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            credential,
        }
    }

    fn exchange(query: Vec<Field>, reply: &str) -> Exchange {
        Exchange {
            operation: "list".into(),
            attempt: 1,
            method: "GET".into(),
            path: "/api/list".into(),
            query,
            headers: vec![field("email", "fixture-user@example.com", true)],
            body: None,
            status: 200,
            reply_headers: vec![field("content-type", "application/json", false)],
            reply_body: reply.as_bytes().to_vec(),
            complete: true,
        }
    }

    #[test]
    fn the_same_value_gets_the_same_pseudonym_in_bodies_and_requests() {
        let mut exchanges = vec![
            exchange(
                vec![],
                r#"[{"DocNo": 7, "ShipAddress": {"Contact": "Ada Lovelace", "Email": "ada@mail.test"}}]"#,
            ),
            // A detail fetch built from the first reply, and the same person again.
            exchange(
                vec![field("contact", "Ada Lovelace", false)],
                r#"{"DocNo": 7, "ShipAddress": {"Contact": "Ada Lovelace", "Email": "ada@mail.test"}}"#,
            ),
        ];
        let counts = pseudonymize(&mut exchanges, b"salt").unwrap();
        assert_eq!(counts[&PersonalKind::Name], 1);
        assert_eq!(counts[&PersonalKind::Email], 1);
        let first: serde_json::Value = serde_json::from_slice(&exchanges[0].reply_body).unwrap();
        let second: serde_json::Value = serde_json::from_slice(&exchanges[1].reply_body).unwrap();
        let name = first[0]["ShipAddress"]["Contact"].as_str().unwrap();
        assert!(name.starts_with("Person "), "{name}");
        assert_eq!(second["ShipAddress"]["Contact"], name);
        assert_eq!(exchanges[1].query[0].value, name);
        assert_eq!(
            first[0]["ShipAddress"]["Email"],
            second["ShipAddress"]["Email"]
        );
        // The credential header is left as the fixture's.
        assert_eq!(exchanges[0].headers[0].value, "fixture-user@example.com");
        for e in &exchanges {
            let text = String::from_utf8_lossy(&e.reply_body);
            assert!(
                !text.contains("Lovelace") && !text.contains("mail.test"),
                "{text}"
            );
        }
    }
}
