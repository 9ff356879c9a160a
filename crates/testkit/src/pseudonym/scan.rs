//! Where a body's text is: the byte ranges of every piece of content (XML text, CDATA and
//! attribute values; JSON string values; a whole text body), each with its decoded text, and the
//! personal fields among them by the [`FieldRule`]s.
//!
//! Markup is never content: an element or a JSON key that happens to spell a personal value is
//! left alone. A document that stops parsing part way keeps what was found before the error,
//! and the rest of its bytes count as one text piece.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{BodyFormat, FieldRule, PersonalKind};

/// The most nested JSON containers read before the body is taken as plain text.
const MAX_JSON_DEPTH: usize = 256;

/// A piece of content: its bytes in the body and its decoded text.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub span: Range<usize>,
    pub decoded: String,
    /// The bytes as written (entities and escapes not decoded), lossily as text.
    pub raw: String,
}

/// One personal field: its kind, where it is (for messages), its pieces and its value.
#[derive(Debug, Clone)]
pub(crate) struct FieldHit {
    pub kind: PersonalKind,
    pub path: String,
    pub pieces: Vec<Piece>,
}

impl FieldHit {
    /// The field's value: its pieces decoded, joined, trimmed.
    pub fn value(&self) -> String {
        self.pieces
            .iter()
            .map(|p| p.decoded.as_str())
            .collect::<String>()
            .trim()
            .to_owned()
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    /// Every piece of content, in body order (field pieces included).
    pub content: Vec<Piece>,
    /// The personal fields.
    pub fields: Vec<FieldHit>,
}

impl Scanned {
    fn text(body: &[u8], from: usize) -> Piece {
        let text = String::from_utf8_lossy(&body[from..]).into_owned();
        Piece {
            span: from..body.len(),
            decoded: text.clone(),
            raw: text,
        }
    }
}

/// Scans `body` as `format`.
pub(crate) fn scan(body: &[u8], format: BodyFormat, rules: &[FieldRule]) -> Scanned {
    match format {
        BodyFormat::Xml => scan_xml(body, rules),
        BodyFormat::Json => scan_json(body, rules).unwrap_or_else(|| Scanned {
            content: vec![Scanned::text(body, 0)],
            fields: Vec::new(),
        }),
        BodyFormat::Text => Scanned {
            content: if body.is_empty() {
                Vec::new()
            } else {
                vec![Scanned::text(body, 0)]
            },
            fields: Vec::new(),
        },
    }
}

fn rule_for<'r>(rules: &'r [FieldRule], field: &str, parent: &str) -> Option<&'r FieldRule> {
    rules.iter().find(|rule| rule.matches(field, parent))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes entities as the Custom Store reader does (the HTML5 table, numeric references).
fn xml_decode(raw: &str) -> String {
    if raw.contains('&') {
        html_escape::decode_html_entities(raw).into_owned()
    } else {
        raw.to_owned()
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_owned(),
        None => name.to_owned(),
    }
}

/// The offset of `part` in `body`, when `part` is a slice of it.
fn offset_in(body: &[u8], part: &[u8]) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    (start + part.len() <= body.len()).then_some(start)
}

fn scan_xml(body: &[u8], rules: &[FieldRule]) -> Scanned {
    let mut out = Scanned::default();
    let mut reader = Reader::from_reader(body);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.trim_text(false);
    // The open elements, and for each whether it is a personal field (an index in out.fields).
    let mut stack: Vec<(String, Option<usize>)> = Vec::new();
    // The text read so far and not yet taken as a piece: the reader reports a character or
    // entity reference (`&amp;`, `&#39;`) as an event of its own between two texts, but the
    // run of texts and references is one piece, as written.
    let mut text: Option<Range<usize>> = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(body.len());
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(_) => {
                let from = text.take().map_or(before, |pending| pending.start);
                if from < body.len() {
                    out.content.push(Scanned::text(body, from));
                }
                return out;
            }
        };
        let after = usize::try_from(reader.buffer_position())
            .unwrap_or(body.len())
            .min(body.len());
        if let Event::Text(_) | Event::GeneralRef(_) = &event {
            if after > before {
                text = Some(text.map_or(before..after, |pending| pending.start..after));
            }
            continue;
        }
        if let Some(span) = text.take() {
            let raw = lossy(&body[span.clone()]);
            let piece = Piece {
                span,
                decoded: xml_decode(&raw),
                raw,
            };
            push_piece(&mut out, &stack, piece);
        }
        match &event {
            Event::Start(start) | Event::Empty(start) => {
                attributes(body, start, &mut out);
                if let Event::Start(start) = &event {
                    let name = local(start.name().as_ref());
                    let parent = stack.last().map_or("", |(n, _)| n.as_str());
                    let field = rule_for(rules, &name, parent).map(|rule| {
                        out.fields.push(FieldHit {
                            kind: rule.kind,
                            path: if parent.is_empty() {
                                name.clone()
                            } else {
                                format!("{parent}/{name}")
                            },
                            pieces: Vec::new(),
                        });
                        out.fields.len() - 1
                    });
                    stack.push((name, field));
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            // `<![CDATA[` … `]]>`: the content only.
            Event::CData(_) if after >= before + 12 => {
                let span = before + 9..after - 3;
                let raw = lossy(&body[span.clone()]);
                let piece = Piece {
                    span,
                    decoded: raw.clone(),
                    raw,
                };
                push_piece(&mut out, &stack, piece);
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// A piece of content, and of the personal field it sits directly in, if any.
fn push_piece(out: &mut Scanned, stack: &[(String, Option<usize>)], piece: Piece) {
    if let Some((_, Some(field))) = stack.last() {
        if let Some(hit) = out.fields.get_mut(*field) {
            hit.pieces.push(piece.clone());
        }
    }
    out.content.push(piece);
}

/// An element's attribute values, as content.
fn attributes(body: &[u8], start: &quick_xml::events::BytesStart<'_>, out: &mut Scanned) {
    for attribute in start.attributes().with_checks(false).flatten() {
        let Cow::Borrowed(value) = attribute.value else {
            continue;
        };
        if let Some(at) = offset_in(body, value.as_bytes()) {
            let raw = value.to_owned();
            out.content.push(Piece {
                span: at..at + value.len(),
                decoded: xml_decode(&raw),
                raw,
            });
        }
    }
}

fn scan_json(body: &[u8], rules: &[FieldRule]) -> Option<Scanned> {
    let mut scan = JsonScan {
        body,
        at: 0,
        rules,
        stack: Vec::new(),
        out: Scanned::default(),
    };
    scan.value(None, 0)?;
    scan.skip_space();
    (scan.at == body.len()).then_some(scan.out)
}

struct JsonScan<'a> {
    body: &'a [u8],
    at: usize,
    rules: &'a [FieldRule],
    /// The key each open container sits under (an array's elements inherit its key).
    stack: Vec<String>,
    out: Scanned,
}

impl JsonScan<'_> {
    fn skip_space(&mut self) {
        while self
            .body
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.body.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    fn value(&mut self, key: Option<&str>, depth: usize) -> Option<()> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        self.skip_space();
        match self.body.get(self.at)? {
            b'{' => {
                self.at += 1;
                self.open(key);
                self.skip_space();
                if self.body.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.skip_space();
                        let (_, name) = self.string()?;
                        self.eat(b':')?;
                        self.value(Some(&name), depth + 1)?;
                        self.skip_space();
                        match self.body.get(self.at)? {
                            b',' => self.at += 1,
                            b'}' => {
                                self.at += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.stack.pop();
            }
            b'[' => {
                self.at += 1;
                self.open(key);
                self.skip_space();
                if self.body.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        self.value(None, depth + 1)?;
                        self.skip_space();
                        match self.body.get(self.at)? {
                            b',' => self.at += 1,
                            b']' => {
                                self.at += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.stack.pop();
            }
            b'"' => {
                let (span, decoded) = self.string()?;
                let piece = Piece {
                    raw: lossy(&self.body[span.clone()]),
                    span,
                    decoded,
                };
                if let Some(field) = key {
                    let parent = self.stack.last().map_or("", String::as_str);
                    if let Some(rule) = rule_for(self.rules, field, parent) {
                        self.out.fields.push(FieldHit {
                            kind: rule.kind,
                            path: if parent.is_empty() {
                                field.to_owned()
                            } else {
                                format!("{parent}.{field}")
                            },
                            pieces: vec![piece.clone()],
                        });
                    }
                }
                self.out.content.push(piece);
            }
            _ => {
                // A number or a literal.
                let start = self.at;
                while self
                    .body
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
                {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
            }
        }
        Some(())
    }

    fn open(&mut self, key: Option<&str>) {
        let name = key
            .map(str::to_owned)
            .or_else(|| self.stack.last().cloned())
            .unwrap_or_default();
        self.stack.push(name);
    }

    /// A string token at the cursor: the range of its content (inside the quotes) and its
    /// decoded text.
    fn string(&mut self) -> Option<(Range<usize>, String)> {
        self.skip_space();
        if self.body.get(self.at) != Some(&b'"') {
            return None;
        }
        let open = self.at;
        let mut at = open + 1;
        loop {
            match self.body.get(at)? {
                b'\\' => at += 2,
                b'"' => break,
                _ => at += 1,
            }
        }
        self.at = at + 1;
        let decoded: String = serde_json::from_slice(&self.body[open..=at]).ok()?;
        Some((open + 1..at, decoded))
    }
}
