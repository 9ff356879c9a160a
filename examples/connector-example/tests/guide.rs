//! `docs/connector-guide.md` cannot rot: every code block it marks as a snippet must be the
//! current text of the file (or region) it names, and every Rust block must be marked.
//!
//! A marker is an HTML comment on the line before a fenced block, relative to the workspace root:
//!
//! - `<!-- snippet: path -->`: the block is the whole file;
//! - `<!-- snippet: path#name -->`: the block is the region between `// ANCHOR: name` and
//!   `// ANCHOR_END: name` in the file (the anchor lines themselves excluded);
//! - `<!-- snippet-lines: path -->`: every line of the block is a line of the file, in the same
//!   order (an excerpt); lines that are only `...`, `# ...` or `// ...` stand for elided text.
//!
//! After changing a quoted file, refresh the guide with
//! `UPDATE_GUIDE=1 cargo test -p orderport-connector-example --test guide` and read the diff;
//! `snippet-lines` excerpts are never rewritten and must be fixed by hand.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const GUIDE: &str = "docs/connector-guide.md";
const EXAMPLE: &str = "examples/connector-example/src/lib.rs";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Whole,
    Region(String),
    Lines,
}

#[derive(Debug)]
struct Snippet {
    /// The guide's line number of the marker, from 1.
    line: usize,
    path: String,
    kind: Kind,
    /// The block's lines, without the fences.
    body: std::ops::Range<usize>,
}

/// Every marked block, and every Rust block without a marker (by line number).
fn parse(lines: &[&str]) -> Result<(Vec<Snippet>, Vec<usize>), String> {
    let mut snippets = Vec::new();
    let mut unmarked = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let marker = line
            .strip_prefix("<!-- snippet")
            .and_then(|rest| rest.strip_suffix("-->"));
        if let Some(rest) = marker {
            let (lines_mode, target) = match rest.strip_prefix("-lines:") {
                Some(target) => (true, target),
                None => (
                    false,
                    rest.strip_prefix(':')
                        .ok_or_else(|| format!("line {}: bad marker {line}", i + 1))?,
                ),
            };
            let target = target.trim();
            let (path, kind) = match (lines_mode, target.split_once('#')) {
                (true, _) => (target.to_owned(), Kind::Lines),
                (false, Some((path, name))) => (path.to_owned(), Kind::Region(name.to_owned())),
                (false, None) => (target.to_owned(), Kind::Whole),
            };
            let open = i + 1;
            if !lines.get(open).is_some_and(|l| l.starts_with("```")) {
                return Err(format!(
                    "line {}: a snippet marker must be followed by a fenced block",
                    i + 1
                ));
            }
            let close = (open + 1..lines.len())
                .find(|&j| lines[j].trim() == "```")
                .ok_or_else(|| format!("line {}: unclosed block", open + 1))?;
            snippets.push(Snippet {
                line: i + 1,
                path,
                kind,
                body: open + 1..close,
            });
            i = close + 1;
            continue;
        }
        if line.starts_with("```") {
            if line.starts_with("```rust") {
                unmarked.push(i + 1);
            }
            let close = (i + 1..lines.len())
                .find(|&j| lines[j].trim() == "```")
                .ok_or_else(|| format!("line {}: unclosed block", i + 1))?;
            i = close + 1;
            continue;
        }
        i += 1;
    }
    Ok((snippets, unmarked))
}

/// The text a `Whole` or `Region` snippet must have.
fn expected(snippet: &Snippet) -> Result<String, String> {
    let file = fs::read_to_string(root().join(&snippet.path))
        .map_err(|e| format!("{}: {e}", snippet.path))?;
    match &snippet.kind {
        Kind::Whole => Ok(file.trim_end_matches('\n').to_owned()),
        Kind::Region(name) => {
            region(&file, name).ok_or_else(|| format!("{} has no region {name}", snippet.path))
        }
        Kind::Lines => Err("an excerpt has no single expected text".to_owned()),
    }
}

fn region(file: &str, name: &str) -> Option<String> {
    let start = format!("// ANCHOR: {name}");
    let end = format!("// ANCHOR_END: {name}");
    let mut inside = false;
    let mut out: Vec<&str> = Vec::new();
    for line in file.lines() {
        let trimmed = line.trim();
        if trimmed == start {
            inside = true;
        } else if trimmed == end {
            return inside.then(|| out.join("\n"));
        } else if inside && !trimmed.starts_with("// ANCHOR") {
            out.push(line);
        }
    }
    None
}

fn is_elision(line: &str) -> bool {
    matches!(
        line.trim(),
        "..." | "# ..." | "// ..." | "…" | "# …" | "// …"
    )
}

/// Every line of the excerpt is a line of the file, in order.
fn check_excerpt(snippet: &Snippet, block: &[&str]) -> Result<(), String> {
    let file = fs::read_to_string(root().join(&snippet.path))
        .map_err(|e| format!("{}: {e}", snippet.path))?;
    let file_lines: Vec<&str> = file.lines().map(str::trim_end).collect();
    let mut from = 0;
    for line in block.iter().map(|l| l.trim_end()) {
        if line.is_empty() || is_elision(line) {
            continue;
        }
        match file_lines[from..].iter().position(|l| *l == line) {
            Some(at) => from += at + 1,
            None => {
                return Err(format!(
                    "{:?} is not a line of {} (after line {from})",
                    line, snippet.path
                ))
            }
        }
    }
    Ok(())
}

#[test]
fn the_guide_quotes_the_current_code() {
    let guide_path = root().join(GUIDE);
    let guide = fs::read_to_string(&guide_path).unwrap();
    let lines: Vec<&str> = guide.lines().collect();
    let (snippets, unmarked) = parse(&lines).unwrap();
    assert!(!snippets.is_empty(), "the guide quotes nothing");

    let mut problems = Vec::new();
    for line in unmarked {
        problems.push(format!(
            "line {line}: a Rust block without a snippet marker is not checked; quote a file instead"
        ));
    }
    let update = std::env::var_os("UPDATE_GUIDE").is_some();
    let mut rewritten: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for snippet in &snippets {
        let block = &lines[snippet.body.clone()];
        if snippet.kind == Kind::Lines {
            if let Err(e) = check_excerpt(snippet, block) {
                problems.push(format!("line {}: {e}", snippet.line));
            }
            continue;
        }
        match expected(snippet) {
            Ok(want) if want == block.join("\n") => {}
            Ok(want) if update => rewritten.push((snippet.body.clone(), want)),
            Ok(want) => {
                let got = block.join("\n");
                let at = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
                problems.push(format!(
                    "line {}: the block differs from {}{} from its line {} on (run with UPDATE_GUIDE=1 to refresh it)",
                    snippet.line,
                    snippet.path,
                    match &snippet.kind {
                        Kind::Region(name) => format!("#{name}"),
                        _ => String::new(),
                    },
                    at + 1
                ));
            }
            Err(e) => problems.push(format!("line {}: {e}", snippet.line)),
        }
    }

    // The guide quotes the whole example, region by region.
    let example = fs::read_to_string(root().join(EXAMPLE)).unwrap();
    for name in example
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// ANCHOR: "))
    {
        let quoted = snippets
            .iter()
            .any(|s| s.path == EXAMPLE && s.kind == Kind::Region(name.to_owned()));
        if !quoted {
            problems.push(format!("the guide does not quote {EXAMPLE}#{name}"));
        }
    }

    if update && !rewritten.is_empty() {
        let mut out = String::new();
        let mut next = 0;
        for (range, text) in &rewritten {
            for line in &lines[next..range.start] {
                let _ = writeln!(out, "{line}");
            }
            let _ = writeln!(out, "{text}");
            next = range.end;
        }
        for line in &lines[next..] {
            let _ = writeln!(out, "{line}");
        }
        fs::write(&guide_path, out).unwrap();
        eprintln!(
            "rewrote {} snippet(s) in {GUIDE}; read the diff",
            rewritten.len()
        );
    }
    assert!(
        problems.is_empty(),
        "{GUIDE} is out of date:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_snippet_parser_catches_drift() {
    let file = "a\n// ANCHOR: x\nfn x() {}\n// ANCHOR_END: x\nb\n";
    assert_eq!(region(file, "x").as_deref(), Some("fn x() {}"));
    assert_eq!(region(file, "y"), None);
    let guide = [
        "<!-- snippet: a.rs#x -->",
        "```rust",
        "fn x() {}",
        "```",
        "```rust",
        "unchecked();",
        "```",
        "```toml",
        "fine = true",
        "```",
    ];
    let (snippets, unmarked) = parse(&guide).unwrap();
    assert_eq!(snippets.len(), 1);
    assert_eq!(snippets[0].kind, Kind::Region("x".into()));
    assert_eq!(snippets[0].body, 2..3);
    assert_eq!(unmarked, [5]);
    assert!(parse(&["<!-- snippet: a.rs -->", "no block"]).is_err());
    assert!(is_elision("    # ...") && !is_elision("x"));
}
