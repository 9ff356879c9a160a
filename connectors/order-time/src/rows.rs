//! The rows of a `POST /list` reply: a JSON array, split into one byte slice per row without
//! parsing the rows, so that
//!
//! - one row Order Time sent broken (a number such as `1e400` that does not fit a float, a byte
//!   that is not UTF-8, a stray control character) is read, and rejected, on its own instead of
//!   failing its page and stopping the store;
//! - a reply with more rows than the page asked for fails before any row is built, so memory is
//!   bounded by `page_size` rows, whatever the server sends.
//!
//! Only the array's structure is checked here: strings (with escapes), nesting, commas and the
//! closing bracket. A reply cut off, or anything but one array, is a protocol error.

/// Why a list reply cannot be split into rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowsError {
    /// Not a JSON array.
    #[error("the reply is not a JSON array of ship docs")]
    NotAnArray,
    /// The array is broken or cut off.
    #[error(
        "the JSON array is broken near byte {at} (cut off, or a missing value between commas)"
    )]
    Malformed {
        /// Where.
        at: usize,
    },
    /// More rows than asked for.
    #[error("the reply holds more than the {limit} rows asked for (page_size); the server ignores the page size")]
    TooMany {
        /// The page size asked for.
        limit: usize,
    },
}

/// The rows of `body`, at most `limit`, each with its surrounding whitespace trimmed.
pub fn split(body: &[u8], limit: usize) -> Result<Vec<&[u8]>, RowsError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut at = skip_space(body, 0);
    if body.get(at) != Some(&b'[') {
        return Err(RowsError::NotAnArray);
    }
    at += 1;
    let mut rows = Vec::new();
    let first = skip_space(body, at);
    if body.get(first) == Some(&b']') {
        return end(body, first + 1, rows);
    }
    loop {
        let (row_end, closing) = scan_value(body, at)?;
        let row = trim(&body[at..row_end]);
        if row.is_empty() {
            return Err(RowsError::Malformed { at });
        }
        if rows.len() == limit {
            return Err(RowsError::TooMany { limit });
        }
        rows.push(row);
        at = row_end + 1;
        if closing {
            return end(body, at, rows);
        }
    }
}

/// Only whitespace may follow the array.
fn end<'a>(body: &[u8], at: usize, rows: Vec<&'a [u8]>) -> Result<Vec<&'a [u8]>, RowsError> {
    let rest = skip_space(body, at);
    if rest == body.len() {
        Ok(rows)
    } else {
        Err(RowsError::Malformed { at: rest })
    }
}

/// Scans one array element from `start`: the index of the `,` or `]` that ends it, and
/// whether that was the closing `]`.
fn scan_value(body: &[u8], start: usize) -> Result<(usize, bool), RowsError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in body.iter().enumerate().skip(start) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b']' => return Ok((i, true)),
            b'}' => return Err(RowsError::Malformed { at: i }),
            b',' if depth == 0 => return Ok((i, false)),
            _ => {}
        }
    }
    Err(RowsError::Malformed { at: body.len() })
}

fn skip_space(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

fn trim(row: &[u8]) -> &[u8] {
    let start = row
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(row.len());
    let end = row
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &row[start..end]
}

/// The `DocNo` of a row that cannot be parsed, where its text shows one: a number or a string
/// right after `"DocNo":`. Used only to name the rejected row.
pub fn doc_no_hint(row: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"DocNo\"";
    let at = row.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let at = skip_space(row, at);
    if row.get(at) != Some(&b':') {
        return None;
    }
    let at = skip_space(row, at + 1);
    let value: Vec<u8> = if row.get(at) == Some(&b'"') {
        row[at + 1..]
            .iter()
            .take_while(|b| **b != b'"')
            .take(40)
            .copied()
            .collect()
    } else {
        row[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .take(40)
            .copied()
            .collect()
    };
    let text = String::from_utf8_lossy(&value).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn rows_are_split_whatever_they_hold() {
        let body = br#" [ {"DocNo": 1, "Memo": "a, b ] } \" c"}, [1,[2]] ,"x", 1e400,
            {"DocNo": "7", "Bad": "\xff"} ] "#;
        let rows = split(body, 10).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0], br#"{"DocNo": 1, "Memo": "a, b ] } \" c"}"#);
        assert_eq!(rows[3], b"1e400");
        assert_eq!(doc_no_hint(rows[4]).as_deref(), Some("7"));
        assert_eq!(doc_no_hint(rows[0]).as_deref(), Some("1"));
        assert_eq!(split(b"[]", 0).unwrap().len(), 0);
        assert_eq!(split(b"\xEF\xBB\xBF [ ]\n", 5).unwrap().len(), 0);
    }

    #[test]
    fn broken_arrays_and_too_many_rows_are_errors() {
        assert_eq!(split(b"{}", 5), Err(RowsError::NotAnArray));
        assert_eq!(split(b"", 5), Err(RowsError::NotAnArray));
        for broken in [
            &b"[1,2"[..],
            b"[1,,2]",
            b"[1,]",
            b"[{]",
            b"[1] x",
            b"[\"open]",
        ] {
            assert!(
                matches!(split(broken, 5), Err(RowsError::Malformed { .. })),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
        assert_eq!(split(b"[1,2,3]", 2), Err(RowsError::TooMany { limit: 2 }));
        assert_eq!(split(b"[1,2]", 2).unwrap().len(), 2);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z\\[\\]{},:\"\\\\ é]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[A-Za-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any JSON array splits into exactly its elements, each of which parses back to itself.
        #[test]
        fn any_array_splits_into_its_elements(values in proptest::collection::vec(json_value(), 0..8), pretty: bool) {
            let array = Value::Array(values.clone());
            let text = if pretty { serde_json::to_vec_pretty(&array) } else { serde_json::to_vec(&array) }.unwrap();
            let rows = split(&text, values.len()).unwrap();
            prop_assert_eq!(rows.len(), values.len());
            for (row, value) in rows.iter().zip(&values) {
                prop_assert_eq!(&serde_json::from_slice::<Value>(row).unwrap(), value);
            }
        }

        /// Arbitrary bytes never panic the splitter.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = split(&bytes, 10);
            let _ = doc_no_hint(&bytes);
        }
    }
}
