//! The text of one value, gathered from every text and CDATA piece inside its element.
//!
//! Bytes are read as UTF-8 whatever the XML declaration says (invalid sequences become U+FFFD).
//! Character references and entities in plain text are decoded with the HTML5 table, which
//! covers the five XML entities, numeric references and names such as `&pound;` or `&nbsp;`.
//! CDATA is taken as it is. Nothing declared in a DTD is ever substituted: an unknown name stays
//! as written.
//!
//! A value made of one piece that needs no decoding (the usual case) is borrowed from the page's
//! bytes; only values in several pieces or with entities are copied into the reused buffer. When
//! the whole page is valid UTF-8 (checked once), a piece is taken as the matching range of the
//! page's text instead of being validated again: every piece starts and ends at an ASCII
//! delimiter (`<`, `>`, `[`), so the range is on character boundaries.

use std::borrow::Cow;

/// A reusable buffer for the text of the value being read; `'a` is the page's bytes.
#[derive(Debug, Default)]
pub(crate) struct TextBuffer<'a> {
    /// The whole page, when it is valid UTF-8.
    page: Option<&'a str>,
    /// The value, when it is a single piece of the page that needed no decoding.
    borrowed: Option<&'a str>,
    /// The value otherwise; empty while `borrowed` is in use.
    owned: String,
}

impl<'a> TextBuffer<'a> {
    /// A buffer for values of `page`.
    pub(crate) fn new(page: &'a [u8]) -> Self {
        Self {
            page: std::str::from_utf8(page).ok(),
            ..Self::default()
        }
    }

    /// Forgets the previous value, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.borrowed = None;
        self.owned.clear();
    }

    /// Appends a piece of plain text, decoding its entities.
    pub(crate) fn push_escaped(&mut self, raw: Cow<'a, [u8]>) {
        self.push(raw, true);
    }

    /// Appends the content of a CDATA section verbatim.
    pub(crate) fn push_verbatim(&mut self, raw: Cow<'a, [u8]>) {
        self.push(raw, false);
    }

    /// The value without surrounding whitespace (pretty-printing around CDATA, `&nbsp;`).
    pub(crate) fn trimmed(&self) -> &str {
        self.borrowed.unwrap_or(self.owned.as_str()).trim()
    }

    fn push(&mut self, raw: Cow<'a, [u8]>, escaped: bool) {
        let text: Cow<'a, str> = match raw {
            Cow::Borrowed(bytes) => self
                .page_range(bytes)
                .map_or_else(|| utf8(bytes), Cow::Borrowed),
            Cow::Owned(bytes) => Cow::Owned(utf8(&bytes).into_owned()),
        };
        if escaped && text.contains('&') {
            html_escape::decode_html_entities_to_string(&*text, self.owned_mut());
            return;
        }
        match text {
            Cow::Borrowed(piece) if self.borrowed.is_none() && self.owned.is_empty() => {
                self.borrowed = Some(piece);
            }
            piece => self.owned_mut().push_str(&piece),
        }
    }

    /// `piece` as the same range of the page's text, when the page is valid UTF-8 and holds it.
    fn page_range(&self, piece: &[u8]) -> Option<&'a str> {
        let page = self.page?;
        let start = (piece.as_ptr() as usize).checked_sub(page.as_ptr() as usize)?;
        page.get(start..start.checked_add(piece.len())?)
    }

    /// The owned buffer, holding whatever was borrowed so far.
    fn owned_mut(&mut self) -> &mut String {
        if let Some(borrowed) = self.borrowed.take() {
            self.owned.push_str(borrowed);
        }
        &mut self.owned
    }
}

/// UTF-8 whatever the declaration says; invalid sequences become U+FFFD.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> String {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(Cow::Borrowed(raw.as_bytes()));
        let without_page = buffer.trimmed().to_owned();
        let mut buffer = TextBuffer::new(raw.as_bytes());
        buffer.push_escaped(Cow::Borrowed(raw.as_bytes()));
        assert_eq!(buffer.trimmed(), without_page);
        without_page
    }

    #[test]
    fn xml_html_and_numeric_entities_decode() {
        assert_eq!(decode("Fish &amp; Chips"), "Fish & Chips");
        assert_eq!(
            decode("&lt;b&gt; &quot;x&quot; &apos;y&apos;"),
            "<b> \"x\" 'y'"
        );
        assert_eq!(decode("&pound;5 caf&eacute;"), "£5 café");
        assert_eq!(decode("&#233;&#xE9;"), "éé");
        assert_eq!(decode("&nbsp;Bob&nbsp;"), "Bob");
        // One pass only: an escaped entity is not decoded twice.
        assert_eq!(decode("&amp;lt;"), "&lt;");
        // Unknown names, such as DTD entities, are never substituted.
        assert_eq!(decode("&lol9;"), "&lol9;");
    }

    #[test]
    fn cdata_is_verbatim_and_pieces_concatenate_in_order() {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(Cow::Borrowed(b"\n  "));
        buffer.push_verbatim(Cow::Borrowed(b"a &amp; b"));
        buffer.push_escaped(Cow::Borrowed(b" &amp; c"));
        buffer.push_verbatim(Cow::Owned(b" d\n".to_vec()));
        assert_eq!(buffer.trimmed(), "a &amp; b & c d");
        buffer.clear();
        assert_eq!(buffer.trimmed(), "");
        // A borrowed first piece is kept when an entity follows it.
        buffer.push_verbatim(Cow::Borrowed(b"x"));
        buffer.push_escaped(Cow::Borrowed(b"&amp;y"));
        assert_eq!(buffer.trimmed(), "x&y");
    }

    #[test]
    fn pieces_of_a_valid_page_are_its_ranges() {
        let page = "<a>café</a><b><![CDATA[x]]></b>";
        let mut buffer = TextBuffer::new(page.as_bytes());
        assert_eq!(buffer.page_range(&page.as_bytes()[3..8]), Some("café"));
        // A range that cuts a character is not text; neither is memory outside the page.
        assert_eq!(buffer.page_range(&page.as_bytes()[3..7]), None);
        assert_eq!(buffer.page_range(b"elsewhere"), None);
        buffer.push_verbatim(Cow::Borrowed(&page.as_bytes()[3..8]));
        assert_eq!(buffer.trimmed(), "café");
        // A page that is not valid UTF-8 falls back to reading each piece.
        let bad = b"<a>caf\xe9</a>";
        let mut buffer = TextBuffer::new(bad);
        buffer.push_verbatim(Cow::Borrowed(&bad[3..7]));
        assert_eq!(buffer.trimmed(), "caf\u{FFFD}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut buffer = TextBuffer::default();
        buffer.push_verbatim(Cow::Borrowed(b"caf\xe9"));
        assert_eq!(buffer.trimmed(), "caf\u{FFFD}");
    }
}
