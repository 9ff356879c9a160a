//! The example stays small: at most [`LIMIT`] lines of non-test code in `src/`, counting every
//! line that is neither blank nor a comment (`//`, `///`, `//!`, `/* … */`), and leaving out
//! `#[cfg(test)]` modules. Everything a connector needs and that is not about its channel
//! belongs in `orderport-core` or `orderport-http`, not here.

use std::path::Path;

const LIMIT: usize = 200;

/// The lines of code in `text`, by the rule above.
fn code_lines(text: &str) -> usize {
    let mut count = 0;
    let mut in_block_comment = false;
    let mut test_module_depth: Option<i64> = None;
    let mut depth: i64 = 0;
    let mut cfg_test_pending = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if in_block_comment {
            in_block_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.starts_with("/*") {
            in_block_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let opens = i64::try_from(line.matches('{').count()).unwrap();
        let closes = i64::try_from(line.matches('}').count()).unwrap();
        if trimmed == "#[cfg(test)]" {
            cfg_test_pending = true;
            continue;
        }
        if cfg_test_pending && trimmed.starts_with("mod ") {
            cfg_test_pending = false;
            test_module_depth = Some(depth);
        }
        depth += opens - closes;
        match test_module_depth {
            Some(start) if depth <= start => test_module_depth = None,
            Some(_) => {}
            None => count += 1,
        }
    }
    count
}

#[test]
fn the_example_connector_is_at_most_200_lines_of_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut total = 0;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let lines = code_lines(&std::fs::read_to_string(&path).unwrap());
            files.push(format!("{}: {lines}", path.display()));
            total += lines;
        }
    }
    eprintln!("{total} lines of code ({})", files.join(", "));
    assert!(
        total <= LIMIT,
        "the example has {total} lines of code, more than {LIMIT}: {files:?}"
    );
}

#[test]
fn the_count_leaves_out_blanks_comments_and_test_modules() {
    let text = [
        "//! doc",
        "",
        "/// item doc",
        "fn a() {",
        "    // note",
        "    let x = 1; /* inline */",
        "}",
        "/* block",
        "   comment */",
        "#[cfg(test)]",
        "mod tests {",
        "    fn t() {",
        "        {}",
        "    }",
        "}",
        "fn b() {}",
    ]
    .join("\n");
    // fn a() {, let x, }, fn b() {}
    assert_eq!(code_lines(&text), 4);
}
