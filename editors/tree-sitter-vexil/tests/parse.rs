//! Every Vexil source of the repository parses with no ERROR or MISSING node,
//! and a few constructs parse to the expected shape.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use tree_sitter::{Node, Parser, Tree};

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_vexil::LANGUAGE.into())
        .unwrap();
    parser.parse(source, None).unwrap()
}

/// The first ERROR or MISSING node in document order, if any.
fn first_problem(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<_> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_problem)
}

/// Panics with the position (1-based line and column), the kind and the
/// line's text of the first ERROR or MISSING node.
fn assert_clean(name: &str, source: &str) {
    assert_clean_at(name, 1, source);
}

/// As [`assert_clean`], for a source that starts on line `first_line` of the
/// file `name`.
fn assert_clean_at(name: &str, first_line: usize, source: &str) {
    let tree = parse(source);
    if let Some(node) = first_problem(tree.root_node()) {
        let at = node.start_position();
        let line = source.lines().nth(at.row).unwrap_or("");
        let what = if node.is_missing() {
            format!("MISSING {}", node.kind())
        } else {
            "ERROR".to_string()
        };
        panic!(
            "{name}:{}:{}: {what} (node {})\n  | {line}\n  | {:>width$}^",
            at.row + first_line,
            at.column + 1,
            node.to_sexp(),
            "",
            width = at.column,
        );
    }
    assert_eq!(tree.root_node().kind(), "source_file");
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn flag_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join(dir).canonicalize().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "flag"))
        .collect();
    files.sort();
    files
}

fn assert_files_clean(dir: &str, at_least: usize) {
    let files = flag_files(dir);
    assert!(
        files.len() >= at_least,
        "expected at least {at_least} .flag files in {dir}, found {}",
        files.len()
    );
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        assert_clean(&path.display().to_string(), &source);
    }
}

#[test]
fn shop_example_parses_cleanly() {
    assert_files_clean("examples/shop", 7);
}

#[test]
fn bench_workload_parses_cleanly() {
    assert_files_clean("bench/workload", 2);
}

/// Every `.flag` under `dir`, subdirectories included.
fn flag_files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            flag_files_under(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "flag") {
            found.push(path);
        }
    }
}

#[test]
fn formatter_and_diagnostic_tests_parse_cleanly() {
    // Every source the pest grammar accepts: all but the syntax errors
    // (E0001) and the files that are not UTF-8 text (E0002, a folder case).
    // The tree-sitter grammar is laxer in places (`flag split: bool`, a bad
    // escape), so those are not required to fail here.
    let mut files = Vec::new();
    for dir in ["fmt/tests/format", "tests/diagnostics"] {
        flag_files_under(&repo_root().join(dir).canonicalize().unwrap(), &mut files);
    }
    files.retain(|path| {
        !path.components().any(|part| {
            let part = part.as_os_str().to_string_lossy();
            part.starts_with("E0001") || part.starts_with("E0002")
        })
    });
    files.sort();
    assert!(files.len() >= 50, "found {} files", files.len());
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        assert_clean(&path.display().to_string(), &source);
    }
}

/// The ```vexil blocks of LANGUAGE.md, with the line each starts on.
fn language_md_blocks() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(repo_root().join("LANGUAGE.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim() == "```vexil" => current = Some((number + 2, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "an unclosed ```vexil block in LANGUAGE.md"
    );
    blocks
}

#[test]
fn language_tour_blocks_parse_cleanly() {
    let blocks = language_md_blocks();
    assert!(blocks.len() >= 5, "found {} vexil blocks", blocks.len());
    for (line, block) in &blocks {
        assert_clean_at("LANGUAGE.md", *line, block);
    }
    // Together they are one project, so one file of all of them parses too.
    let all: String = blocks.iter().map(|(_, block)| block.as_str()).collect();
    assert_clean("LANGUAGE.md, all blocks", &all);
}

/// Parses `source` cleanly and returns its S-expression.
fn sexp(source: &str) -> String {
    assert_clean("sample", source);
    parse(source).root_node().to_sexp()
}

#[test]
fn not_binds_tighter_than_and_tighter_than_or() {
    let tree = sexp("segment s {\n  not a and (b or not c == 1) or d\n}\n");
    let expected = "(segment_declaration name: (identifier) condition: (or_expression \
         left: (and_expression \
           left: (not_expression operand: (identifier)) \
           right: (parenthesized_expression (or_expression \
             left: (identifier) \
             right: (not_expression operand: (comparison left: (identifier) right: (number)))))) \
         right: (identifier)))";
    assert_eq!(tree, format!("(source_file {})", squash(expected)));
}

#[test]
fn predicates() {
    let tree = sexp(
        "segment s {\n  user.email iends_with \"@x\" and user.plan not in [free, pro] \
         and user.company is not set and now >= 2026-12-01T09:00:00Z and \"a\" in user.roles\n}\n",
    );
    for part in [
        "(comparison left: (path context: (identifier) field: (identifier)) right: (string (string_content)))",
        "(membership left: (path context: (identifier) field: (identifier)) right: (list (identifier) (identifier)))",
        "(presence operand: (path context: (identifier) field: (identifier)))",
        "(comparison left: (now) right: (timestamp))",
        "(membership left: (string (string_content)) right: (path context: (identifier) field: (identifier)))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn time_relative_to_now() {
    let tree =
        sexp("segment s {\n  user.created_at > now - 30d and now + 1h < user.created_at\n}\n");
    for part in [
        "(comparison left: (path context: (identifier) field: (identifier)) right: (relative_time (now) amount: (duration)))",
        "(comparison left: (relative_time (now) amount: (duration)) right: (path context: (identifier) field: (identifier)))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn contains_any_and_all() {
    let tree = sexp("segment s {\n  user.roles contains any [\"a\", \"b\"] or user.tiers contains all [gold]\n}\n");
    for part in [
        "(list_comparison left: (path context: (identifier) field: (identifier)) right: (list (string (string_content)) (string (string_content))))",
        "(list_comparison left: (path context: (identifier) field: (identifier)) right: (list (identifier)))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn case_insensitive_equality_and_membership() {
    let tree = sexp(
        "segment s {\n  user.email iequals \"A@B.example\" and user.country not iin [\"us\", \"ca\"]\n}\n",
    );
    for part in [
        "(comparison left: (path context: (identifier) field: (identifier)) right: (string (string_content)))",
        "(membership left: (path context: (identifier) field: (identifier)) right: (list (string (string_content)) (string (string_content))))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let source = "\u{FEFF}segment s {\n  user.beta\n}\n";
    assert_clean("bom.flag", source);
    assert!(sexp(source).starts_with("(source_file (segment_declaration"));
}

#[test]
fn json_values() {
    let tree = sexp(
        "flag limits: json {\n  kind operational\n  default { \"max\": [1, 2.5, null], \"on\": true, \"o\": {} }\n  \
         rule when beta => []\n}\n",
    );
    assert!(
        tree.contains(
            "(default_property value: (json_object \
             (json_pair key: (string (string_content)) value: (json_array (number) (number) (null))) \
             (json_pair key: (string (string_content)) value: (boolean)) \
             (json_pair key: (string (string_content)) value: (json_object))))"
        ),
        "{tree}"
    );
    assert!(tree.contains("result: (json_array)"), "{tree}");
}

#[test]
fn rollouts_and_splits() {
    let tree = sexp(
        "flag theme: string {\n  kind experiment\n  default \"light\"\n  salt \"s\"\n  \
         rule a: from 2026-12-01 until \"2027-01-01\" when beta => dark for 25% by user.id salt \"x\"\n  \
         rule => split by user { light 50%, dark 50%, }\n  \
         rule => 10.5% by user.id\n  salt \"t\"\n}\n",
    );
    for part in [
        "(rule_property name: (identifier) from: (date) until: (string (string_content)) condition: (identifier) \
         result: (rollout value: (identifier) share: (percentage) unit: (unit context: (identifier) field: (identifier)) \
         (salt_clause salt: (string (string_content)))))",
        "(rule_property result: (split unit: (unit context: (identifier)) \
         (split_arm value: (identifier) weight: (percentage)) (split_arm value: (identifier) weight: (percentage))))",
        // A `salt` right after a rollout is the rollout's, as in the pest
        // grammar (which takes the optional clause greedily).
        "(rule_property result: (rollout share: (percentage) unit: (unit context: (identifier) field: (identifier)) \
         (salt_clause salt: (string (string_content)))))))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn stages_last_for_a_duration_or_until_a_time() {
    let tree = sexp(
        "flag f: bool {\n  kind release\n  default false\n  \
         rule ramp: from 2026-12-10T09:00:00Z => 1% for 1h, 5% until 2026-12-14T09:00:00Z, 100% by user.id\n}\n",
    );
    let part = "(stages (stage share: (percentage) duration: (duration)) \
                (stage share: (percentage) until: (timestamp)) (stage share: (percentage)))";
    assert!(tree.contains(part), "{part}\nnot in\n{tree}");
}

#[test]
fn test_blocks() {
    let tree = sexp(
        "test \"t\" {\n  context {\n    user { id: \"u-1\", plan: pro, app_version: 2.4.1, roles: [\"a\"], age: -3 }\n    env { }\n  }\n  \
         now 2026-12-05\n  expect f == { \"a\": 1 }\n  expect f variant dark\n  expect f reason SPLIT\n  \
         expect f rule 2\n  expect f error TYPE_MISMATCH\n}\n",
    );
    for part in [
        "(field_value field: (identifier) value: (semver))",
        "(field_value field: (identifier) value: (list (string (string_content))))",
        "(field_value field: (identifier) value: (number))",
        "(context_value context: (identifier))",
        "(test_now time: (date))",
        "(test_expect flag: (identifier) value: (json_object",
        "(test_expect flag: (identifier) rule: (number))",
    ] {
        assert!(tree.contains(part), "{part}\nnot in\n{tree}");
    }
}

#[test]
fn contexts_and_keywords_as_names() {
    let tree = sexp(
        "context user {\n  key id: string,\n  key: int?\n  from: timestamp\n  tags: list<enum { a, b }>?\n}\n\
         segment s { message.from == user.key }\n",
    );
    let expected = "(source_file (context_declaration name: (identifier) \
         (field_declaration key: (key_marker) name: (identifier) type: (type (primitive_type))) \
         (field_declaration name: (identifier) type: (type (primitive_type) optional: (optional_marker))) \
         (field_declaration name: (identifier) type: (type (primitive_type))) \
         (field_declaration name: (identifier) type: (type (list_type element: (type (enum_type member: (identifier) member: (identifier)))) optional: (optional_marker)))) \
         (segment_declaration name: (identifier) condition: (comparison \
           left: (path context: (identifier) field: (identifier)) \
           right: (path context: (identifier) field: (identifier)))))";
    assert_eq!(tree, squash(expected));
}

#[test]
fn comments_and_doc_comments() {
    let tree = sexp("/// doc\n// plain\n//// also plain\nflag f: bool { // here\n  default \"// not a comment\"\n}\n");
    assert_eq!(
        tree,
        "(source_file (doc_comment) (comment) (comment) (flag_declaration name: (identifier) type: (value_type) \
         (property_block (comment) (default_property value: (string (string_content))))))"
    );
}

#[test]
fn broken_sources_are_reported() {
    // The checks above would catch a grammar that accepted nothing.
    for broken in [
        "flag f: bool {\n  default\n}\n",
        "segment s { a and }\n",
        "flag f: bool { rule => split by user { a 50% b 50% } }\n",
        "context c { x: list<int }\n",
    ] {
        assert!(
            first_problem(parse(broken).root_node()).is_some(),
            "parsed without an error: {broken}"
        );
    }
}

/// Collapses runs of whitespace, so that expected trees can be wrapped.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
