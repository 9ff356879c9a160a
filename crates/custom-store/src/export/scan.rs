//! The event loop: walks quick-xml events over the page's bytes, tracks where it stands, and
//! hands each finished order to the page. One order is held at a time.

use std::borrow::Cow;

use chrono::Duration;
use orderport_core::{finish, FetchOutcome, Order, RejectionReason};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use super::draft::{OrderDraft, StatusCache};
use super::text::TextBuffer;
use super::vocabulary::Scope;
use super::{ExportError, ParseContext, ParsedPage};

/// The precision of Custom Store modification times: `MM/dd/yyyy HH:mm`.
const MINUTE: Duration = Duration::minutes(1);

/// The longest element name quoted in an error.
const NAME_LIMIT: usize = 60;

/// Reads a whole page.
///
/// The bytes are read as UTF-8 whatever the XML declaration says. quick-xml refuses invalid
/// sequences, so a page that is not valid UTF-8 (checked once) is read from a copy in which
/// each invalid sequence is U+FFFD; a valid page is read in place.
pub(crate) fn scan(bytes: &[u8], ctx: &ParseContext<'_>) -> Result<ParsedPage, ExportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ExportError::Empty);
    }
    // `from_utf8` is the fast check; `from_utf8_lossy` walks the bytes much more slowly.
    match std::str::from_utf8(bytes) {
        Ok(page) => scan_text(page, ctx),
        Err(_) => scan_text(&String::from_utf8_lossy(bytes), ctx),
    }
}

/// Reads a whole page of text.
fn scan_text<'a>(page: &'a str, ctx: &ParseContext<'_>) -> Result<ParsedPage, ExportError> {
    let mut reader = Reader::from_str(page);
    // A lone `&` (`Fish & Chips`) is text, as real endpoints send it.
    reader.config_mut().allow_dangling_amp = true;
    let mut scanner: Scanner<'_, 'a> = Scanner::new(ctx);
    loop {
        let event = reader.read_event().map_err(|e| ExportError::Malformed {
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        if scanner.feed(event)? == Flow::Done {
            return Ok(scanner.page);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Done,
}

/// The reader's state; `'a` is the page's bytes, which values are borrowed from.
struct Scanner<'c, 'a> {
    ctx: &'c ParseContext<'c>,
    stack: Vec<Scope>,
    text: TextBuffer<'a>,
    order: OrderDraft,
    statuses: StatusCache,
    page: ParsedPage,
}

impl<'c, 'a> Scanner<'c, 'a> {
    fn new(ctx: &'c ParseContext<'c>) -> Self {
        Self {
            ctx,
            stack: Vec::with_capacity(16),
            text: TextBuffer::default(),
            order: OrderDraft::default(),
            statuses: StatusCache::default(),
            page: ParsedPage::default(),
        }
    }

    fn top(&self) -> Scope {
        self.stack.last().copied().unwrap_or(Scope::Root)
    }

    fn feed(&mut self, event: Event<'a>) -> Result<Flow, ExportError> {
        match event {
            Event::Start(start) => self.open(&start).map(|()| Flow::Continue),
            Event::Empty(start) => {
                self.open(&start)?;
                self.close()
            }
            Event::End(_) => self.close(),
            Event::Text(text) => self.text(text.into_inner()).map(|()| Flow::Continue),
            Event::GeneralRef(reference) => self.reference(&reference).map(|()| Flow::Continue),
            Event::CData(cdata) => {
                if matches!(self.top(), Scope::Leaf(_)) {
                    self.text.push_verbatim(cdata.into_inner());
                }
                Ok(Flow::Continue)
            }
            Event::DocType(doctype) => doctype_check(&doctype).map(|()| Flow::Continue),
            Event::Eof if self.stack.is_empty() => Err(ExportError::NotXml),
            Event::Eof => Err(ExportError::Truncated),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ok(Flow::Continue),
        }
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<(), ExportError> {
        let name = start.name().into_inner().as_bytes();
        let scope = match self.top() {
            Scope::Root => {
                self.page.total_pages = root(local_name(name), start)?;
                Scope::Orders
            }
            top => match top.child(name) {
                // Prefixed names are rare: strip the prefix only when the full name is unknown.
                Scope::Ignored if name.contains(&b':') => top.child(local_name(name)),
                scope => scope,
            },
        };
        if scope == Scope::Order && self.page.orders_read >= self.ctx.max_orders {
            return Err(ExportError::TooManyOrders {
                limit: self.ctx.max_orders,
            });
        }
        // The order draft needs no reset: finishing an order leaves a fresh one.
        if let Scope::Leaf(_) = scope {
            self.text.clear();
        }
        self.stack.push(scope);
        Ok(())
    }

    fn close(&mut self) -> Result<Flow, ExportError> {
        let Some(scope) = self.stack.pop() else {
            return Err(ExportError::NotXml);
        };
        match scope {
            Scope::Leaf(leaf) => self.order.apply(leaf, self.text.trimmed(), self.ctx),
            Scope::Option => self.order.end_option(),
            Scope::Item => self.order.end_item(self.ctx),
            Scope::Order => {
                let (order, reasons) =
                    std::mem::take(&mut self.order).finish(self.ctx, &mut self.statuses);
                self.push(order, reasons);
            }
            Scope::Orders => return Ok(Flow::Done),
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn text(&mut self, raw: Cow<'a, str>) -> Result<(), ExportError> {
        match self.top() {
            Scope::Leaf(_) => self.text.push_escaped(raw),
            Scope::Root if !raw.bytes().all(|b| b.is_ascii_whitespace()) => {
                return Err(ExportError::NotXml)
            }
            _ => {}
        }
        Ok(())
    }

    /// A character or entity reference (`&amp;`, `&#233;`, `&pound;`), part of the text.
    fn reference(&mut self, reference: &BytesRef<'_>) -> Result<(), ExportError> {
        match self.top() {
            Scope::Leaf(_) => self.text.push_reference(reference),
            Scope::Root => return Err(ExportError::NotXml),
            _ => {}
        }
        Ok(())
    }

    /// Applies the channel's requirements and the window filter: an accepted order whose
    /// modification time cannot fall in the window is left out; rejected orders are kept.
    fn push(&mut self, order: Order, reasons: Vec<RejectionReason>) {
        self.page.orders_read += 1;
        let outcome = finish(order, reasons, self.ctx.spec);
        if let (FetchOutcome::Accepted(order), Some(window)) = (&outcome, &self.ctx.window) {
            if !window.may_contain(order.modified_at, MINUTE) {
                self.page.outside_window += 1;
                return;
            }
        }
        self.page.outcomes.push(outcome);
    }
}

/// The name without its namespace prefix, if any (`ss:Order` is `Order`).
fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// Checks the root element and reads its `pages` attribute (absent means 1).
fn root(name: &[u8], start: &BytesStart<'_>) -> Result<u32, ExportError> {
    if name.eq_ignore_ascii_case(b"html") {
        return Err(ExportError::Html);
    }
    if name != b"Orders" {
        let mut shown = String::from_utf8_lossy(name).into_owned();
        shown.truncate(
            shown
                .char_indices()
                .nth(NAME_LIMIT)
                .map_or(shown.len(), |(i, _)| i),
        );
        return Err(ExportError::WrongRoot(shown));
    }
    let attribute = start
        .try_get_attribute("pages")
        .map_err(|e| ExportError::Malformed {
            position: 0,
            message: e.to_string(),
        })?;
    let Some(attribute) = attribute else {
        return Ok(1);
    };
    let text = attribute.value.trim();
    if text.is_empty() {
        return Ok(1);
    }
    text.parse::<i64>()
        .map(|pages| u32::try_from(pages.max(0)).unwrap_or(u32::MAX))
        .map_err(|_| ExportError::BadPages(text.chars().take(NAME_LIMIT).collect()))
}

/// An HTML doctype is an error page; a DTD that declares entities is refused, since its entities
/// would never be expanded anyway. Other doctypes are ignored.
fn doctype_check(content: &str) -> Result<(), ExportError> {
    let text = content.trim_start();
    if text
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case("html"))
    {
        return Err(ExportError::Html);
    }
    if text.contains("<!ENTITY") {
        return Err(ExportError::DtdEntities);
    }
    Ok(())
}
