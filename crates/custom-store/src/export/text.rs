//! The text of one value, gathered from every text, reference and CDATA piece inside its element.
//!
//! The page is UTF-8 text by the time it is read (see [`super::scan`]). Character references and
//! entities in plain text are decoded with the HTML5 table, which covers the five XML entities,
//! numeric references and names such as `&pound;` or `&nbsp;`. CDATA is taken as it is. Nothing
//! declared in a DTD is ever substituted: an unknown name stays as written.
//!
//! A value made of one piece that needs no decoding (the usual case) is borrowed from the page;
//! only values in several pieces or with references are copied into the reused buffer.

use std::borrow::Cow;

/// A reusable buffer for the text of the value being read; `'a` is the page's text.
#[derive(Debug, Default)]
pub(crate) struct TextBuffer<'a> {
    /// The value, when it is a single piece of the page that needed no decoding.
    borrowed: Option<&'a str>,
    /// The value otherwise; empty while `borrowed` is in use.
    owned: String,
    /// A reference being decoded, `&name;` (reused).
    reference: String,
}

impl<'a> TextBuffer<'a> {
    /// Forgets the previous value, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.borrowed = None;
        self.owned.clear();
    }

    /// Appends a piece of plain text, decoding any entities left in it (the reader reports
    /// complete references apart, as [`push_reference`](Self::push_reference)).
    pub(crate) fn push_escaped(&mut self, raw: Cow<'a, str>) {
        if raw.contains('&') {
            html_escape::decode_html_entities_to_string(&*raw, self.owned_mut());
            return;
        }
        self.push_verbatim(raw);
    }

    /// Appends a reference, `name` being what stands between `&` and `;` (`amp`, `#233`).
    pub(crate) fn push_reference(&mut self, name: &str) {
        let mut reference = std::mem::take(&mut self.reference);
        reference.clear();
        reference.push('&');
        reference.push_str(name);
        reference.push(';');
        html_escape::decode_html_entities_to_string(&reference, self.owned_mut());
        self.reference = reference;
    }

    /// Appends the content of a CDATA section verbatim.
    pub(crate) fn push_verbatim(&mut self, raw: Cow<'a, str>) {
        match raw {
            Cow::Borrowed(piece) if self.borrowed.is_none() && self.owned.is_empty() => {
                self.borrowed = Some(piece);
            }
            piece => self.owned_mut().push_str(&piece),
        }
    }

    /// The value without surrounding whitespace (pretty-printing around CDATA, `&nbsp;`).
    pub(crate) fn trimmed(&self) -> &str {
        self.borrowed.unwrap_or(self.owned.as_str()).trim()
    }

    /// The owned buffer, holding whatever was borrowed so far.
    fn owned_mut(&mut self) -> &mut String {
        if let Some(borrowed) = self.borrowed.take() {
            self.owned.push_str(borrowed);
        }
        &mut self.owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> String {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(Cow::Borrowed(raw));
        buffer.trimmed().to_owned()
    }

    fn reference(name: &str) -> String {
        let mut buffer = TextBuffer::default();
        buffer.push_reference(name);
        buffer.trimmed().to_owned()
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
        // A lone ampersand is text.
        assert_eq!(decode("Fish & Chips"), "Fish & Chips");
    }

    #[test]
    fn references_decode_alone() {
        assert_eq!(reference("amp"), "&");
        assert_eq!(reference("pound"), "£");
        assert_eq!(reference("#233"), "é");
        assert_eq!(reference("#xE9"), "é");
        assert_eq!(reference("lol9"), "&lol9;");
        // The reused reference buffer never leaks one reference into the next.
        let mut buffer = TextBuffer::default();
        buffer.push_reference("eacute");
        buffer.push_reference("lt");
        buffer.push_verbatim(Cow::Borrowed("3"));
        assert_eq!(buffer.trimmed(), "é<3");
    }

    #[test]
    fn cdata_is_verbatim_and_pieces_concatenate_in_order() {
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(Cow::Borrowed("\n  "));
        buffer.push_verbatim(Cow::Borrowed("a &amp; b"));
        buffer.push_escaped(Cow::Borrowed(" "));
        buffer.push_reference("amp");
        buffer.push_escaped(Cow::Borrowed(" c"));
        buffer.push_verbatim(Cow::Owned(" d\n".to_owned()));
        assert_eq!(buffer.trimmed(), "a &amp; b & c d");
        buffer.clear();
        assert_eq!(buffer.trimmed(), "");
        // A borrowed first piece is kept when a reference follows it.
        buffer.push_verbatim(Cow::Borrowed("x"));
        buffer.push_reference("amp");
        buffer.push_escaped(Cow::Borrowed("y"));
        assert_eq!(buffer.trimmed(), "x&y");
    }

    #[test]
    fn a_single_piece_is_borrowed_not_copied() {
        let page = String::from("<a>café</a>");
        let mut buffer = TextBuffer::default();
        buffer.push_escaped(Cow::Borrowed(&page[3..8]));
        assert_eq!(buffer.borrowed.map(str::as_ptr), Some(page[3..].as_ptr()));
        assert!(buffer.owned.is_empty());
        assert_eq!(buffer.trimmed(), "café");
        // A second piece moves the value into the owned buffer.
        buffer.push_verbatim(Cow::Borrowed("!"));
        assert_eq!(buffer.borrowed, None);
        assert_eq!(buffer.trimmed(), "café!");
    }
}
