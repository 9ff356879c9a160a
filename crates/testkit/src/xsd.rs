//! XML Schema (XSD 1.0) validation with the system libxml2.
//!
//! # Why a hand-written FFI module
//!
//! The `libxml` crate would be the natural choice, but its build script always regenerates its
//! bindings with bindgen, which needs libclang at build time; the project's machines have
//! libxml2 (Debian's `libxml2-dev` 2.9.14) but no libclang. The five calls schema validation
//! needs have had the same C signatures since libxml2 2.5, so this module declares them by hand,
//! links `xml2` directly, and wraps them in a safe API: every pointer is owned by exactly one
//! Rust value that frees it on drop, and libxml2's diagnostics are collected into `String`s
//! through its structured-error callbacks instead of being printed to stderr.

use std::ffi::{c_int, c_void, CStr};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;

/// Why a schema or a document could not be used, or why a document is not valid.
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
    /// The schema itself is not a valid XSD.
    #[error("the schema does not parse: {}", .0.join("; "))]
    Schema(Vec<String>),
    /// The document is not well-formed XML.
    #[error("the document is not well-formed XML: {}", .0.join("; "))]
    NotWellFormed(Vec<String>),
    /// The document is well-formed but breaks the schema.
    #[error("the document does not follow the schema: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The input is larger than libxml2's `int` sizes allow.
    #[error("the input is too large for libxml2 ({0} bytes)")]
    TooLarge(usize),
}

/// A parsed XSD, ready to validate documents.
///
/// ```
/// use orderport_testkit::xsd::XsdSchema;
///
/// let schema = XsdSchema::parse(br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
///   <xs:element name="Orders" type="xs:string"/></xs:schema>"#)?;
/// assert!(schema.validate(b"<Orders>ok</Orders>").is_ok());
/// assert!(schema.validate(b"<Order/>").is_err());
/// # Ok::<(), orderport_testkit::xsd::XsdError>(())
/// ```
pub struct XsdSchema {
    schema: NonNull<ffi::XmlSchema>,
}

impl std::fmt::Debug for XsdSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XsdSchema").finish_non_exhaustive()
    }
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

    /// Parses a schema from its text.
    pub fn parse(xsd: &[u8]) -> Result<Self, XsdError> {
        init();
        let size = c_int::try_from(xsd.len()).map_err(|_| XsdError::TooLarge(xsd.len()))?;
        let mut messages: Vec<String> = Vec::new();
        // SAFETY: `xsd` outlives the parser context, which only reads `size` bytes of it; the
        // context is freed before returning; `messages` outlives every callback, which libxml2
        // only makes during `xmlSchemaParse`.
        unsafe {
            let ctxt = ffi::xmlSchemaNewMemParserCtxt(xsd.as_ptr().cast(), size);
            let Some(ctxt) = NonNull::new(ctxt) else {
                return Err(XsdError::Schema(vec![
                    "libxml2 could not create a schema parser".into(),
                ]));
            };
            ffi::xmlSchemaSetParserStructuredErrors(
                ctxt.as_ptr(),
                collect_error,
                (&mut messages as *mut Vec<String>).cast(),
            );
            let schema = ffi::xmlSchemaParse(ctxt.as_ptr());
            ffi::xmlSchemaFreeParserCtxt(ctxt.as_ptr());
            match NonNull::new(schema) {
                Some(schema) => Ok(Self { schema }),
                None => {
                    if messages.is_empty() {
                        messages.push("libxml2 rejected the schema without a message".into());
                    }
                    Err(XsdError::Schema(messages))
                }
            }
        }
    }

    /// Checks that `xml` is well-formed and valid against the schema, and returns every
    /// diagnostic libxml2 gave when it is not.
    pub fn validate(&self, xml: &[u8]) -> Result<(), XsdError> {
        let doc = Document::parse(xml)?;
        let mut messages: Vec<String> = Vec::new();
        // SAFETY: the schema and the document are alive for the whole call; the validation
        // context is created and freed here; `messages` outlives every callback, which libxml2
        // only makes during `xmlSchemaValidateDoc`.
        let result = unsafe {
            let ctxt = ffi::xmlSchemaNewValidCtxt(self.schema.as_ptr());
            let Some(ctxt) = NonNull::new(ctxt) else {
                return Err(XsdError::Invalid(vec![
                    "libxml2 could not create a validation context".into(),
                ]));
            };
            ffi::xmlSchemaSetValidStructuredErrors(
                ctxt.as_ptr(),
                collect_error,
                (&mut messages as *mut Vec<String>).cast(),
            );
            let result = ffi::xmlSchemaValidateDoc(ctxt.as_ptr(), doc.doc.as_ptr());
            ffi::xmlSchemaFreeValidCtxt(ctxt.as_ptr());
            result
        };
        match result {
            0 => Ok(()),
            code => {
                if messages.is_empty() {
                    messages.push(format!("libxml2 returned {code} without a message"));
                }
                Err(XsdError::Invalid(messages))
            }
        }
    }
}

impl Drop for XsdSchema {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `xmlSchemaParse` and is freed exactly once.
        unsafe { ffi::xmlSchemaFree(self.schema.as_ptr()) }
    }
}

/// A parsed document, freed on drop.
struct Document {
    doc: NonNull<ffi::XmlDoc>,
}

impl Document {
    fn parse(xml: &[u8]) -> Result<Self, XsdError> {
        init();
        let size = c_int::try_from(xml.len()).map_err(|_| XsdError::TooLarge(xml.len()))?;
        // No network access, no entity expansion from outside, and no printing to stderr: the
        // errors are read back with xmlGetLastError (thread-local in a threaded libxml2).
        let options = ffi::XML_PARSE_NONET | ffi::XML_PARSE_NOERROR | ffi::XML_PARSE_NOWARNING;
        // SAFETY: `xml` outlives the call, which reads `size` bytes of it; the URL and encoding
        // may be null; the returned document is owned by `Document` and freed on drop.
        unsafe {
            ffi::xmlResetLastError();
            let doc = ffi::xmlReadMemory(
                xml.as_ptr().cast(),
                size,
                c"body.xml".as_ptr(),
                std::ptr::null(),
                options,
            );
            match NonNull::new(doc) {
                Some(doc) => Ok(Self { doc }),
                None => {
                    let last = ffi::xmlGetLastError();
                    let message = if last.is_null() {
                        "libxml2 could not parse the document".to_owned()
                    } else {
                        describe(&*last)
                    };
                    Err(XsdError::NotWellFormed(vec![message]))
                }
            }
        }
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `xmlReadMemory` and is freed exactly once.
        unsafe { ffi::xmlFreeDoc(self.doc.as_ptr()) }
    }
}

fn init() {
    static INIT: Once = Once::new();
    // SAFETY: xmlInitParser is idempotent and must run before libxml2 is used from threads.
    INIT.call_once(|| unsafe { ffi::xmlInitParser() });
}

/// libxml2's structured-error callback: appends the message to the `Vec<String>` behind `data`.
extern "C" fn collect_error(data: *mut c_void, error: *mut ffi::XmlError) {
    if data.is_null() || error.is_null() {
        return;
    }
    // Never unwind into C.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `data` is the `&mut Vec<String>` registered with the context, alive for the
        // call that triggers this callback; `error` points to libxml2's error for this call.
        let (messages, error) = unsafe { (&mut *data.cast::<Vec<String>>(), &*error) };
        messages.push(describe(error));
    }));
}

fn describe(error: &ffi::XmlError) -> String {
    let message = if error.message.is_null() {
        format!("libxml2 error {}", error.code)
    } else {
        // SAFETY: libxml2 sets `message` to a NUL-terminated string or null.
        unsafe { CStr::from_ptr(error.message) }
            .to_string_lossy()
            .trim()
            .to_owned()
    };
    if error.line > 0 {
        format!("line {}: {message}", error.line)
    } else {
        message
    }
}

/// The libxml2 declarations this module uses, as in `libxml/xmlschemas.h`, `parser.h` and
/// `xmlerror.h` (2.9.x; unchanged in layout through 2.13).
#[allow(non_snake_case)]
mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    /// `xmlSchema`, opaque.
    #[repr(C)]
    pub struct XmlSchema {
        _private: [u8; 0],
    }
    /// `xmlSchemaParserCtxt`, opaque.
    #[repr(C)]
    pub struct XmlSchemaParserCtxt {
        _private: [u8; 0],
    }
    /// `xmlSchemaValidCtxt`, opaque.
    #[repr(C)]
    pub struct XmlSchemaValidCtxt {
        _private: [u8; 0],
    }
    /// `xmlDoc`, opaque here.
    #[repr(C)]
    pub struct XmlDoc {
        _private: [u8; 0],
    }

    /// `struct _xmlError`.
    #[repr(C)]
    pub struct XmlError {
        pub domain: c_int,
        pub code: c_int,
        pub message: *mut c_char,
        pub level: c_int,
        pub file: *mut c_char,
        pub line: c_int,
        pub str1: *mut c_char,
        pub str2: *mut c_char,
        pub str3: *mut c_char,
        pub int1: c_int,
        pub int2: c_int,
        pub ctxt: *mut c_void,
        pub node: *mut c_void,
    }

    pub type StructuredErrorFunc = extern "C" fn(*mut c_void, *mut XmlError);

    pub const XML_PARSE_NOERROR: c_int = 1 << 5;
    pub const XML_PARSE_NOWARNING: c_int = 1 << 6;
    pub const XML_PARSE_NONET: c_int = 1 << 11;

    #[link(name = "xml2")]
    extern "C" {
        pub fn xmlInitParser();
        pub fn xmlSchemaNewMemParserCtxt(
            buffer: *const c_char,
            size: c_int,
        ) -> *mut XmlSchemaParserCtxt;
        pub fn xmlSchemaSetParserStructuredErrors(
            ctxt: *mut XmlSchemaParserCtxt,
            serror: StructuredErrorFunc,
            ctx: *mut c_void,
        );
        pub fn xmlSchemaParse(ctxt: *mut XmlSchemaParserCtxt) -> *mut XmlSchema;
        pub fn xmlSchemaFreeParserCtxt(ctxt: *mut XmlSchemaParserCtxt);
        pub fn xmlSchemaFree(schema: *mut XmlSchema);
        pub fn xmlSchemaNewValidCtxt(schema: *mut XmlSchema) -> *mut XmlSchemaValidCtxt;
        pub fn xmlSchemaSetValidStructuredErrors(
            ctxt: *mut XmlSchemaValidCtxt,
            serror: StructuredErrorFunc,
            ctx: *mut c_void,
        );
        pub fn xmlSchemaValidateDoc(ctxt: *mut XmlSchemaValidCtxt, doc: *mut XmlDoc) -> c_int;
        pub fn xmlSchemaFreeValidCtxt(ctxt: *mut XmlSchemaValidCtxt);
        pub fn xmlReadMemory(
            buffer: *const c_char,
            size: c_int,
            url: *const c_char,
            encoding: *const c_char,
            options: c_int,
        ) -> *mut XmlDoc;
        pub fn xmlFreeDoc(doc: *mut XmlDoc);
        pub fn xmlResetLastError();
        pub fn xmlGetLastError() -> *mut XmlError;
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
            .validate(br#"<Orders><Order>x</Order></Orders>"#)
            .unwrap_err();
        match err {
            XsdError::Invalid(messages) => {
                assert!(messages.iter().any(|m| m.contains("Order")), "{messages:?}")
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn malformed_documents_and_schemas_are_reported() {
        let schema = XsdSchema::parse(SCHEMA).unwrap();
        assert!(matches!(
            schema.validate(b"<Orders><Order>1</Orders>"),
            Err(XsdError::NotWellFormed(m)) if !m.is_empty()
        ));
        assert!(matches!(
            XsdSchema::parse(b"<not-a-schema/>"),
            Err(XsdError::Schema(m)) if !m.is_empty()
        ));
    }

    #[test]
    fn validation_works_from_many_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let schema = XsdSchema::parse(SCHEMA).unwrap();
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
