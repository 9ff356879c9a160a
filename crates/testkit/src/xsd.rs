//! XML Schema (XSD 1.0) validation in pure Rust, with the `xmlschema` crate and the `oxml`
//! parser it validates documents from.
//!
//! # Why not libxml2
//!
//! The kit used to call the system libxml2 through hand-written FFI, so `cargo test` failed on a
//! machine without `libxml2-dev`, and libxml2's internal failures (`-1`, a context it could not
//! create) were reported as "invalid". `xmlschema` needs nothing but a Rust toolchain.
//!
//! # What is checked, and what is refused
//!
//! `xmlschema` implements a subset of XSD 1.0 and, left to itself, *skips* a construct it does
//! not enforce (a substitution group, `@mixed`, a pattern its engine cannot compile) instead of
//! rejecting the schema; a skipped constraint accepts every document, which would quietly turn
//! a lenient fixture into a valid one. [`XsdSchema::parse`] therefore audits the schema with
//! `xmlschema::support::unsupported` and refuses it ([`XsdError::Unsupported`]) if anything
//! would be skipped: a schema this module accepts is enforced in full.
//!
//! # Verdicts and internal errors
//!
//! [`XsdSchema::validate`] gives a verdict only when it could check the document:
//! [`XsdError::Invalid`] (it breaks the schema) or [`XsdError::NotWellFormed`] (it is not XML).
//! Everything else says the check did not happen and is never a verdict: a schema that does not
//! compile ([`XsdError::Schema`]) or uses what the validator skips ([`XsdError::Unsupported`]), a
//! file that cannot be read ([`XsdError::Io`]), a document past a parser bound or in an encoding
//! the parser cannot decode ([`XsdError::Unchecked`]). [`XsdError::is_verdict`] tells them apart.

use std::path::Path;

use oxml::ErrorKind;

/// The XML Schema namespace.
const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// Why a schema or a document could not be used, or why a document is not valid.
///
/// Only [`Invalid`](Self::Invalid) and [`NotWellFormed`](Self::NotWellFormed) are verdicts on
/// the document ([`is_verdict`](Self::is_verdict)); the other variants mean it was not checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XsdError {
    /// The schema file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// The schema itself is not a valid XSD (or not XML).
    #[error("the schema does not parse: {}", .0.join("; "))]
    Schema(Vec<String>),
    /// The schema uses constructs the validator would skip rather than enforce, so a document
    /// it accepted might still break the schema.
    #[error("the schema uses what the validator does not enforce: {}", .0.join("; "))]
    Unsupported(Vec<String>),
    /// The document could not be checked: it exceeds a parser bound, or it is in an encoding the
    /// parser cannot decode. Not a verdict on the document.
    #[error("the document could not be checked: {}", .0.join("; "))]
    Unchecked(Vec<String>),
    /// The document is not well-formed XML.
    #[error("the document is not well-formed XML: {}", .0.join("; "))]
    NotWellFormed(Vec<String>),
    /// The document is well-formed but breaks the schema.
    #[error("the document does not follow the schema: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl XsdError {
    /// Whether this is a verdict on the document ([`Invalid`](Self::Invalid) or
    /// [`NotWellFormed`](Self::NotWellFormed)) rather than a failure to check it.
    pub fn is_verdict(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::NotWellFormed(_))
    }
}

/// A parsed XSD, ready to validate documents.
///
/// ```
/// use orderport_testkit::xsd::{XsdError, XsdSchema};
///
/// let schema = XsdSchema::parse(br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
///   <xs:element name="Orders" type="xs:string"/></xs:schema>"#)?;
/// assert!(schema.validate(b"<Orders>ok</Orders>").is_ok());
/// assert!(matches!(schema.validate(b"<Order/>"), Err(XsdError::Invalid(_))));
/// assert!(matches!(schema.validate(b"<Orders>"), Err(XsdError::NotWellFormed(_))));
/// # Ok::<(), orderport_testkit::xsd::XsdError>(())
/// ```
#[derive(Debug)]
pub struct XsdSchema {
    schema: xmlschema::Schema,
}

impl XsdSchema {
    /// Reads and parses a schema file.
    pub fn load(path: &Path) -> Result<Self, XsdError> {
        let bytes = std::fs::read(path).map_err(|e| XsdError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&bytes)
    }

    /// Parses a schema from its text, and refuses it if the validator would skip any of it.
    pub fn parse(xsd: &[u8]) -> Result<Self, XsdError> {
        let doc = oxml::parse_bytes(xsd).map_err(|e| {
            XsdError::Schema(vec![format!(
                "the schema is not XML: {}",
                describe(xsd, &e)
            )])
        })?;
        // xmlschema reads any root element as a schema (an empty one for `<not-a-schema/>`).
        let root = doc.root_element().and_then(|r| doc.element_name(r));
        if !root.is_some_and(|n| n.local == "schema" && n.namespace.as_deref() == Some(XS)) {
            return Err(XsdError::Schema(vec![format!(
                "the root element is not {{{XS}}}schema"
            )]));
        }
        let skipped = xmlschema::support::unsupported(&doc);
        if !skipped.is_empty() {
            return Err(XsdError::Unsupported(
                skipped
                    .into_iter()
                    .map(|u| format!("{}: {}", u.construct, u.effect))
                    .collect(),
            ));
        }
        let text =
            oxml::encoding::decode(xsd).map_err(|e| XsdError::Schema(vec![describe(xsd, &e)]))?;
        let schema =
            xmlschema::parse_schema(&text).map_err(|e| XsdError::Schema(vec![e.message]))?;
        Ok(Self { schema })
    }

    /// Checks that `xml` is well-formed and valid against the schema, and returns every
    /// diagnostic when it is not.
    pub fn validate(&self, xml: &[u8]) -> Result<(), XsdError> {
        let doc = oxml::parse_bytes(xml).map_err(|e| {
            let message = vec![describe(xml, &e)];
            if checks_the_document(&e.kind) {
                XsdError::NotWellFormed(message)
            } else {
                XsdError::Unchecked(message)
            }
        })?;
        let report = xmlschema::validate(&doc, &self.schema);
        let mut violations: Vec<String> = report
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.path, v.message))
            .collect();
        closed_content::check(&doc, &self.schema, &mut violations);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(XsdError::Invalid(violations))
        }
    }
}

/// What XSD 1.0 requires and `xmlschema` 0.0.14 does not check, found by running it against
/// libxml2 on mutated Custom Store exports:
///
/// - an attribute the element's type does not declare, without an `xs:anyAttribute`, is
///   accepted (Complex Type Locally Valid, clause 3);
/// - character content other than whitespace in element-only content is accepted (clause 2.3;
///   schemas with `@mixed` are refused by [`XsdSchema::parse`], so all complex content here is
///   element-only);
/// - elements are matched by local name only, so a document in another namespace passes. In a
///   schema without a `targetNamespace` every declared element must be in no namespace; with
///   one, the root must be in it (locals then depend on `elementFormDefault`, not checked here).
///
/// This walks the document along the declarations `xmlschema` built and adds those violations.
/// Elements the validator already rejects (unknown names, wildcards) are not descended into.
mod closed_content {
    use oxml::{Document, NodeId, NodeKind};
    use xmlschema::{Content, Particle, Schema};

    const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

    pub(super) fn check(doc: &Document, schema: &Schema, out: &mut Vec<String>) {
        let Some(root) = doc.root_element() else {
            return;
        };
        let Some(name) = doc.element_name(root) else {
            return;
        };
        let Some(decl) = schema.element(&name.local) else {
            return; // xmlschema reports an undeclared root
        };
        let path = format!("/{}", name.local);
        if name.namespace != schema.target_namespace {
            out.push(format!(
                "{path}: the element is in namespace {}, the schema declares it in {}",
                describe_namespace(name.namespace.as_deref()),
                describe_namespace(schema.target_namespace.as_deref()),
            ));
        }
        element(doc, schema, root, decl, &path, out);
    }

    fn element(
        doc: &Document,
        schema: &Schema,
        node: NodeId,
        decl: &Particle,
        path: &str,
        out: &mut Vec<String>,
    ) {
        if decl.any_attribute.is_none() {
            for attribute in doc.attributes(node) {
                let Some(name) = doc.name(attribute.name) else {
                    continue;
                };
                if name.namespace.as_deref() == Some(XSI) {
                    continue;
                }
                let declared = name.namespace.is_none()
                    && decl.attributes.iter().any(|a| a.name == name.local);
                if !declared {
                    out.push(format!(
                        "{path}: attribute `{}` is not declared for this element",
                        name.local
                    ));
                }
            }
        }
        let particles = match &*decl.content {
            Content::Sequence(p) | Content::Choice(p) | Content::All(p) => p,
            Content::Simple(_) | Content::Any | Content::Empty => return,
        };
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for &child in doc.children(node) {
            match doc.kind(child) {
                Some(NodeKind::Text(text)) if !is_xml_whitespace(text) => out.push(format!(
                    "{path}: text `{}` in element-only content",
                    text.trim()
                )),
                Some(NodeKind::Element { .. }) => {
                    let Some(name) = doc.element_name(child) else {
                        continue;
                    };
                    let Some(particle) = particles
                        .iter()
                        .find(|p| p.wildcard.is_none() && p.name == name.local)
                    else {
                        continue; // a wildcard's, or one xmlschema reports as not permitted
                    };
                    let n = match seen.iter_mut().find(|(l, _)| *l == name.local) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            seen.push((&name.local, 1));
                            1
                        }
                    };
                    let child_path = format!("{path}/{}[{n}]", name.local);
                    if schema.target_namespace.is_none() && name.namespace.is_some() {
                        out.push(format!(
                            "{child_path}: the element is in namespace {}, the schema declares \
                             it in no namespace",
                            describe_namespace(name.namespace.as_deref()),
                        ));
                    }
                    element(doc, schema, child, particle, &child_path, out);
                }
                _ => {}
            }
        }
    }

    fn is_xml_whitespace(text: &str) -> bool {
        text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
    }

    fn describe_namespace(namespace: Option<&str>) -> String {
        namespace.map_or_else(|| "no namespace".to_owned(), |ns| format!("`{ns}`"))
    }
}

/// Whether a parse error says the document is not XML, as opposed to "the parser could not
/// read it": a resource bound, an encoding it cannot decode, or a kind newer than this list
/// (`ErrorKind` is non-exhaustive; an unknown kind is never taken for a verdict).
fn checks_the_document(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::UnexpectedEof
            | ErrorKind::MismatchedEndTag { .. }
            | ErrorKind::UnexpectedEndTag(_)
            | ErrorKind::InvalidName
            | ErrorKind::UnquotedAttributeValue
            | ErrorKind::DuplicateAttribute(_)
            | ErrorKind::UnknownEntity(_)
            | ErrorKind::ForbiddenEntityReference(_)
            | ErrorKind::UnboundPrefix(_)
            | ErrorKind::TrailingContent
            | ErrorKind::NoRootElement
            | ErrorKind::Unterminated(_)
            | ErrorKind::IllegalCdataEnd
            | ErrorKind::ReservedNamespace
            | ErrorKind::MalformedComment
            | ErrorKind::MalformedDeclaration
            | ErrorKind::ReservedPiTarget
            | ErrorKind::UnsupportedVersion
            | ErrorKind::IllegalCharacter(_)
            | ErrorKind::MalformedEncoding
            | ErrorKind::MalformedDtd(_)
    )
}

/// The parser's message with a line and column when the input decodes as UTF-8.
fn describe(input: &[u8], error: &oxml::Error) -> String {
    match std::str::from_utf8(input) {
        Ok(text) => {
            let (line, column) = error.line_column(text);
            format!("line {line}, column {column}: {}", error.kind)
        }
        Err(_) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[u8] = br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:element name="Orders"><xs:complexType><xs:sequence>
        <xs:element name="Order" type="xs:int" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence><xs:attribute name="pages" type="xs:short"/></xs:complexType></xs:element>
    </xs:schema>"#;

    #[test]
    fn valid_documents_pass_and_invalid_ones_list_the_problem() {
        let schema = XsdSchema::parse(SCHEMA).unwrap();
        schema
            .validate(br#"<Orders pages="1"><Order>1</Order><Order><![CDATA[2]]></Order></Orders>"#)
            .unwrap();
        let err = schema
            .validate(br#"<Orders pages="70000"><Order>x</Order><Extra/></Orders>"#)
            .unwrap_err();
        match err {
            XsdError::Invalid(messages) => {
                assert!(messages.iter().any(|m| m.contains("Order")), "{messages:?}");
                assert!(messages.iter().any(|m| m.contains("pages")), "{messages:?}");
                assert!(messages.iter().any(|m| m.contains("Extra")), "{messages:?}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn malformed_documents_and_schemas_are_reported() {
        let schema = XsdSchema::parse(SCHEMA).unwrap();
        for body in [
            &b"<Orders><Order>1</Orders>"[..],
            b"",
            b"<Orders>&eacute;</Orders>",
            b"<?xml version=\"1.0\" encoding=\"utf-16\"?><Orders/>",
        ] {
            let err = schema.validate(body).unwrap_err();
            assert!(
                matches!(&err, XsdError::NotWellFormed(m) if !m.is_empty()),
                "{body:?}: {err:?}"
            );
            assert!(err.is_verdict());
        }
        assert!(matches!(
            XsdSchema::parse(b"<not-a-schema/>"),
            Err(XsdError::Schema(m)) if !m.is_empty()
        ));
        assert!(matches!(
            XsdSchema::parse(b"<xs:schema"),
            Err(XsdError::Schema(m)) if !m.is_empty()
        ));
    }

    /// Internal errors are never reported as "invalid" (nor as any other verdict).
    #[test]
    fn a_failure_to_check_is_not_a_verdict() {
        // A pattern the engine cannot compile would constrain nothing (xmlschema drops it), so
        // every document would pass: the schema is refused instead.
        let err = XsdSchema::parse(
            br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
              <xs:element name="A"><xs:simpleType><xs:restriction base="xs:string">
                <xs:pattern value="[a-"/>
              </xs:restriction></xs:simpleType></xs:element></xs:schema>"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, XsdError::Unsupported(m) if m.iter().any(|m| m.contains("pattern")))
        );
        assert!(!err.is_verdict());

        // A construct the validator skips: refused, not silently unenforced.
        let err = XsdSchema::parse(
            br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
              <xs:element name="A" type="xs:string" substitutionGroup="B"/>
              <xs:element name="B" type="xs:string"/></xs:schema>"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, XsdError::Unsupported(m) if m.iter().any(|m| m.contains("substitutionGroup"))),
            "{err:?}"
        );

        // A document past the parser's depth bound is well-formed; it was not checked.
        let schema = XsdSchema::parse(SCHEMA).unwrap();
        let deep = format!("{}{}", "<a>".repeat(400), "</a>".repeat(400));
        let err = schema.validate(deep.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, XsdError::Unchecked(m) if !m.is_empty()),
            "{err:?}"
        );
        assert!(!err.is_verdict());

        // A schema file that is not there.
        let err = XsdSchema::load(Path::new("/nonexistent/orders.xsd")).unwrap_err();
        assert!(matches!(err, XsdError::Io { .. }));
        assert!(!err.is_verdict());
    }

    fn custom_store() -> XsdSchema {
        XsdSchema::load(&crate::workspace_fixtures().join("custom-store/schema/orders.xsd"))
            .unwrap()
    }

    /// A strict export with every kind of field, the base for the edits below.
    fn strict_export() -> String {
        std::fs::read_to_string(
            crate::workspace_fixtures().join("spark-shipping/multi-page/page-1.xml"),
        )
        .unwrap()
    }

    /// The Custom Store schema is enforced in full: what docs/testing.md lists as making a body
    /// lenient is rejected, each on its own, and what it lists as not mattering passes.
    #[test]
    fn the_custom_store_schema_rejects_each_lenient_trait_alone() {
        let schema = custom_store();
        let base = strict_export();
        schema.validate(base.as_bytes()).unwrap();
        let edit = |from: &str, to: &str| {
            assert!(base.contains(from), "{from}");
            base.replacen(from, to, 1)
        };
        for ok in [
            edit("03/01/2026 08:00", "03/07/2026 21:56 PM"),
            edit("03/01/2026 08:00", "3/1/26 8:00:00 AM"),
            edit("<OrderTotal>24.00", "<OrderTotal><![CDATA[24.00]]>"),
            edit("<Quantity>2", "<Quantity> 2 "), // xs:int collapses whitespace
            edit("<WeightUnits>oz", "<WeightUnits>"),
            edit(
                r#"pages="3""#,
                r#"pages="3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#,
            ),
            edit(
                "<Order>\n    <OrderID>",
                "<Order>\n  <!-- note -->  <OrderID>",
            ),
        ] {
            if let Err(e) = schema.validate(ok.as_bytes()) {
                panic!("{e}\n{ok}");
            }
        }
        let invalid = [
            (
                "yyyy-MM-dd date",
                edit("03/01/2026 08:00", "2026-03-01 08:00:00"),
                "OrderDate",
            ),
            (
                "CurrencyCode",
                edit(
                    "<OrderTotal>",
                    "<CurrencyCode>USD</CurrencyCode><OrderTotal>",
                ),
                "CurrencyCode",
            ),
            (
                "PaymentDate",
                edit(
                    "<OrderTotal>",
                    "<PaymentDate>03/01/2026 08:00</PaymentDate><OrderTotal>",
                ),
                "PaymentDate",
            ),
            (
                "StoreCode",
                edit("<OrderTotal>", "<StoreCode>default</StoreCode><OrderTotal>"),
                "StoreCode",
            ),
            (
                "no ShipTo",
                {
                    let start = base.find("<ShipTo>").unwrap();
                    let end = base.find("</ShipTo>").unwrap() + "</ShipTo>".len();
                    format!("{}{}", &base[..start], &base[end..])
                },
                "ShipTo",
            ),
            (
                "no OrderTotal",
                edit("<OrderTotal>24.00</OrderTotal>", ""),
                "OrderTotal",
            ),
            (
                "a float",
                edit("<OrderTotal>24.00", "<OrderTotal>$24.00"),
                "24.00",
            ),
            ("an int", edit("<Quantity>2", "<Quantity>2.5"), "2.5"),
            ("a short", edit(r#"pages="3""#, r#"pages="32768""#), "pages"),
            (
                "a boolean",
                edit("<CustomerNotes>", "<Gift>yes</Gift><CustomerNotes>"),
                "yes",
            ),
            (
                "maxLength",
                edit(
                    "<CustomerNotes>",
                    &format!("<Source>{}</Source><CustomerNotes>", "x".repeat(51)),
                ),
                "Source",
            ),
            (
                "WeightUnits",
                edit("<WeightUnits>oz", "<WeightUnits>kg"),
                "kg",
            ),
            (
                "a repeated xs:all member",
                edit("<OrderTotal>", "<OrderNumber>9</OrderNumber><OrderTotal>"),
                "OrderNumber",
            ),
            // What xmlschema misses on its own (closed_content).
            (
                "an undeclared attribute",
                edit("<Order>", r#"<Order id="1">"#),
                "`id`",
            ),
            (
                "an undeclared root attribute",
                edit(r#"pages="3""#, r#"pages="3" count="2""#),
                "`count`",
            ),
            (
                "text in element-only content",
                edit("<Items>", "<Items>loose"),
                "loose",
            ),
            (
                "CDATA in element-only content",
                edit("<Customer>", "<Customer><![CDATA[x]]>"),
                "`x`",
            ),
            (
                "a root in a namespace",
                edit(r#"pages="3""#, r#"pages="3" xmlns="urn:orders""#),
                "urn:orders",
            ),
            (
                "a child in a namespace",
                edit("<OrderTotal>", r#"<OrderTotal xmlns="urn:x">"#),
                "urn:x",
            ),
        ];
        for (what, body, mentions) in invalid {
            match schema.validate(body.as_bytes()) {
                Err(XsdError::Invalid(m)) => {
                    assert!(m.iter().any(|m| m.contains(mentions)), "{what}: {m:?}")
                }
                other => panic!("{what}: expected Invalid, got {other:?}"),
            }
        }
        for (what, body) in [
            ("an empty body", String::new()),
            (
                "an HTML entity",
                edit(
                    "<CustomerNotes>",
                    "<Source>Caf&eacute;</Source><CustomerNotes>",
                ),
            ),
            (
                "utf-16 declared on UTF-8 bytes",
                edit(r#"encoding="utf-8""#, r#"encoding="utf-16""#),
            ),
        ] {
            let result = schema.validate(body.as_bytes());
            assert!(
                matches!(result, Err(XsdError::NotWellFormed(_))),
                "{what}: {result:?}"
            );
        }
    }

    #[test]
    fn validation_works_from_many_threads() {
        let schema = std::sync::Arc::new(XsdSchema::parse(SCHEMA).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let schema = schema.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        schema
                            .validate(b"<Orders><Order>1</Order></Orders>")
                            .unwrap();
                        schema
                            .validate(b"<Orders><Order>y</Order></Orders>")
                            .unwrap_err();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }
}
