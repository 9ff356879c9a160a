//! The text of one value, gathered from every text and CDATA piece inside its element.
//!
//! Bytes are read as UTF-8 whatever the XML declaration says (invalid sequences become U+FFFD).
//! Character references and entities in plain text are decoded with the HTML5 table, which
//! covers the five XML entities, numeric references and names such as `&pound;` or `&nbsp;`.
//! CDATA is taken as it is. Nothing declared in a DTD is ever substituted: an unknown name stays
//! as written.

/// A reusable buffer for the text of the value being read.
#[derive(Debug, Default)]
pub(crate) struct TextBuffer {
    text: String,
}

impl TextBuffer {
    /// Forgets the previous value, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
    }

    /// Appends a piece of plain text, decoding its entities.
    pub(crate) fn push_escaped(&mut self, raw: &[u8]) {
        let decoded = utf8(raw);
        if decoded.contains('&') {
            html_escape::decode_html_entities_to_string(&*decoded, &mut self.text);
        } else {
            self.text.push_str(&decoded);
        }
    }

    /// Appends the content of a CDATA section verbatim.
    pub(crate) fn push_verbatim(&mut self, raw: &[u8]) {
        self.text.push_str(&utf8(raw));
    }

    /// The value without surrounding whitespace (pretty-printing around CDATA, `&nbsp;`).
    pub(crate) fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

fn utf8(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> String {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(raw.as_bytes());
        buffer.trimmed().to_owned()
    }

    #[test]
    fn xml_html_and_numeric_entities_decode() {
        assert_eq!(decode("Fish &amp; Chips"), "Fish & Chips");
        assert_eq!(decode("&lt;b&gt; &quot;x&quot; &apos;y&apos;"), "<b> \"x\" 'y'");
        assert_eq!(decode("&pound;5 caf&eacute;"), "£5 café");
        assert_eq!(decode("&#233;&#xE9;"), "éé");
        assert_eq!(decode("&nbsp;Bob&nbsp;"), "Bob");
        // One pass only: an escaped entity is not decoded twice.
        assert_eq!(decode("&amp;lt;"), "&lt;");
        // Unknown names, such as DTD entities, are never substituted.
        assert_eq!(decode("&lol9;"), "&lol9;");
    }

    #[test]
    fn cdata_is_verbatim_and_pieces_concatenate() {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(b"\n  ");
        buffer.push_verbatim(b"a &amp; b");
        buffer.push_escaped(b" &amp; c\n");
        assert_eq!(buffer.trimmed(), "a &amp; b & c");
        buffer.clear();
        assert_eq!(buffer.trimmed(), "");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut buffer = TextBuffer::default();
        buffer.push_verbatim(b"caf\xe9");
        assert_eq!(buffer.trimmed(), "caf\u{FFFD}");
    }
}
