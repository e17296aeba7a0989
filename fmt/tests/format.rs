//! The formatter against a corpus of messy `.flag` files (`tests/format/`)
//! and random sources: a snapshot of each corpus file's formatting, and for
//! every input the invariants that make a formatter safe to run on save —
//! it is idempotent, the tree it gives back is the same (positions aside),
//! and every comment survives.

// The helpers below run only inside tests, where a panic is the report.
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "format/props.rs"]
mod props;

use std::fs;
use std::path::{Path, PathBuf};

use vexil_fmt::{format_file, format_range, format_source, RangeEdit, WIDTH};
use vexil_grammar::{parse, Item, SourceFile};

/// The tree without positions: `Span`'s Debug prints `@start..end`.
fn shape(items: &[Item]) -> String {
    let spans = regex::Regex::new(r"@\d+\.\.\d+").unwrap();
    spans.replace_all(&format!("{items:#?}"), "").into_owned()
}

fn comment_texts(file: &SourceFile) -> Vec<(bool, String)> {
    file.comments
        .iter()
        .map(|c| (c.is_doc, c.text.clone()))
        .collect()
}

/// Formats `source` and checks the invariants; returns the formatted text.
pub fn check_invariants(name: &str, source: &str) -> String {
    let before = parse(source);
    assert!(
        before.errors.is_empty(),
        "{name}: input does not parse: {:?}",
        before.errors
    );
    let once = format_source(source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let after = parse(&once);
    assert!(
        after.errors.is_empty(),
        "{name}: output does not parse: {:?}\n{once}",
        after.errors
    );
    assert_eq!(
        shape(&before.items),
        shape(&after.items),
        "{name}: the tree changed\n{once}"
    );
    assert_eq!(
        comment_texts(&before),
        comment_texts(&after),
        "{name}: comments changed\n{once}"
    );
    let twice = format_source(&once).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(once, twice, "{name}: not idempotent");
    if !once.is_empty() {
        assert!(
            once.ends_with('\n') && !once.ends_with("\n\n"),
            "{name}: must end with one newline"
        );
    }
    for line in once.lines() {
        assert_eq!(
            line,
            line.trim_end(),
            "{name}: trailing whitespace in {line:?}"
        );
    }
    once
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/format");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flag"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// `examples/**/*.flag` of the workspace, if there are any.
fn examples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "flag") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn format_corpus_snapshots() {
    insta::glob!("format/*.flag", |path| {
        let source = fs::read_to_string(path).unwrap();
        let formatted = format_source(&source).unwrap();
        insta::with_settings!({
            snapshot_path => "format/snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(formatted);
        });
    });
}

#[test]
fn format_corpus_and_examples_keep_their_tree_and_are_idempotent() {
    for path in corpus().into_iter().chain(examples()) {
        let source = fs::read_to_string(&path).unwrap();
        check_invariants(&path.display().to_string(), &source);
    }
}

/// The repositories we ship as examples are in the canonical layout, as a
/// team running `vexil fmt --check` in CI would keep theirs. The broken copy
/// is left as written: the README quotes its diagnostics by line.
#[test]
fn format_shipped_flag_repositories_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shipped = examples()
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "shop-broken"))
        .chain(
            ["tests.flag", "workload.flag"]
                .iter()
                .map(|f| root.join("bench/workload").join(f)),
        );
    let mut checked = 0;
    for path in shipped {
        let source = fs::read_to_string(&path).unwrap();
        let formatted = format_source(&source).unwrap();
        assert!(
            formatted == source,
            "{} is not formatted: run `vexil fmt` on it",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} files found");
}

#[test]
fn format_every_comment_text_survives_in_order() {
    for path in corpus() {
        let source = fs::read_to_string(&path).unwrap();
        let formatted = format_source(&source).unwrap();
        let mut rest = formatted.as_str();
        for comment in parse(&source).comments {
            let slashes = if comment.is_doc { "///" } else { "//" };
            let text = format!("{slashes}{}", comment.text);
            let at = rest
                .find(&text)
                .unwrap_or_else(|| panic!("{}: lost {text:?}", path.display()));
            rest = &rest[at + text.len()..];
        }
    }
}

/// Issue 12: a file that starts with a UTF-8 byte-order mark parses, and
/// formatting keeps the mark and lays out the rest as usual.
#[test]
fn format_a_byte_order_mark_is_kept() {
    let source = "\u{FEFF}// flags\nflag a:bool{kind release\ndefault false}\n";
    let once = check_invariants("bom", source);
    assert_eq!(
        once,
        "\u{FEFF}// flags\nflag a: bool {\n  kind release\n  default false\n}\n"
    );
    let without = check_invariants("no bom", source.trim_start_matches('\u{FEFF}'));
    assert_eq!(format!("\u{FEFF}{without}"), once);
}

#[test]
fn format_files_with_syntax_errors_are_refused() {
    let source = "flag a: bool {\n  kind release\n  default\n}\n";
    let err = format_source(source).unwrap_err();
    assert!(!err.errors.is_empty());
    assert!(err
        .to_string()
        .starts_with("cannot format a file with 1 syntax error"));
    assert!(format_range(source, 0..5).is_err());
}

#[test]
fn format_broken_items_are_copied_verbatim_by_format_file() {
    let source = "flag a:bool{kind release}\n// about b\nflag b: bool {\n  kind   ??\n}\n";
    let file = parse(source);
    assert_eq!(file.errors.len(), 1);
    let out = format_file(&file, source);
    assert_eq!(
        out,
        "flag a: bool {\n  kind release\n}\n\n// about b\nflag b: bool {\n  kind   ??\n}\n"
    );
}

#[test]
fn format_empty_input_gives_empty_output() {
    assert_eq!(format_source("").unwrap(), "");
    assert_eq!(format_source(" \n\n\t\n").unwrap(), "");
}

#[test]
fn format_long_lists_fill_lines_up_to_the_width() {
    let codes: Vec<String> = (0..20_000).map(|i| format!("\"c{i}\"")).collect();
    let source = format!("segment big {{ user.id in [{}] }}\n", codes.join(","));
    let out = check_invariants("big list", &source);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.len() <= WIDTH), "a line is too long");
    // Filled: each line of items holds as many as fit.
    let item_lines = &lines[2..lines.len() - 3];
    assert!(item_lines.iter().all(|l| l.len() > WIDTH - 10));
}

#[test]
fn format_long_chains_break_before_every_operator() {
    let operands: Vec<String> = (0..3_000).map(|i| format!("user.n == {i}")).collect();
    let source = format!("segment s {{ {} }}\n", operands.join(" or "));
    let out = check_invariants("long chain", &source);
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("    or user.n == "))
            .count(),
        2_999
    );
}

#[test]
fn format_conditions_break_before_or_then_and_and_keep_parentheses() {
    let source = "segment s { (user.country == \"US\" or user.country == \"CA\") and user.plan >= pro and user.age >= 21 or staff and user.beta and user.company is set }\n";
    let expected = "\
segment s {
  (user.country == \"US\" or user.country == \"CA\") and user.plan >= pro and user.age >= 21
    or staff and user.beta and user.company is set
}
";
    assert_eq!(check_invariants("chain", source), expected);
}

// ---------------------------------------------------------------- range formatting

fn apply(source: &str, edit: &RangeEdit) -> String {
    format!(
        "{}{}{}",
        &source[..edit.range.start],
        edit.text,
        &source[edit.range.end..]
    )
}

const THREE_ITEMS: &str = "flag a:bool{kind release default true}\n\n\n  // about b\nflag b:bool{kind release // b\n default true}\nflag c:bool{kind release default true}\n";

#[test]
fn format_range_touches_only_the_items_in_range() {
    let b = THREE_ITEMS.find("default true}\nflag c").unwrap();
    let edit = format_range(THREE_ITEMS, b..b + 3).unwrap().unwrap();
    assert_eq!(
        apply(THREE_ITEMS, &edit),
        "flag a:bool{kind release default true}\n\n\n// about b\nflag b: bool {\n  kind release // b\n  default true\n}\nflag c:bool{kind release default true}\n"
    );
}

#[test]
fn format_range_of_everything_formats_every_item() {
    let edit = format_range(THREE_ITEMS, 0..THREE_ITEMS.len())
        .unwrap()
        .unwrap();
    assert_eq!(
        apply(THREE_ITEMS, &edit),
        format_source(THREE_ITEMS).unwrap()
    );
}

#[test]
fn format_range_outside_any_item_does_nothing() {
    let source = "flag a: bool {}\n\n\n\nflag b: bool {}\n";
    assert_eq!(format_range(source, 17..18).unwrap(), None);
}
