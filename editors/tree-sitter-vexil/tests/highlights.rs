//! The highlights query compiles against the language and colours a sample
//! as intended.

#![allow(clippy::unwrap_used, clippy::panic)]

use tree_sitter::{Parser, Query, QueryCursor, StreamingIterator};

const SAMPLE: &str = r#"/// The new checkout.
flag new-checkout: bool {
  kind release // a comment
  owner "team-checkout"
  default false
  rule staff: when user.app_version >= 2.4.1 and not (user.plan == free) => true
  rule when internal or beta => dark
  rule => 25% by user.id
  rule recent: when user.created_at > now - 30d => true
  rule office: when user.ip in ["10.0.0.0/8"] => true
}

context user {
  key id: string
  plan: enum { free, pro }
  ip: ip
}
"#;

/// Every (capture name, captured text) of the query over `source`.
fn captures(source: &str) -> Vec<(String, String)> {
    let language = tree_sitter::Language::new(tree_sitter_vexil::LANGUAGE);
    let mut parser = Parser::new();
    parser.set_language(&language).unwrap();
    let tree = parser.parse(source, None).unwrap();
    assert!(
        !tree.root_node().has_error(),
        "{}",
        tree.root_node().to_sexp()
    );
    let query = Query::new(&language, tree_sitter_vexil::HIGHLIGHTS_QUERY).unwrap();
    let mut cursor = QueryCursor::new();
    let mut found = Vec::new();
    let mut matches = cursor.captures(&query, tree.root_node(), source.as_bytes());
    while let Some((found_match, index)) = matches.next() {
        let capture = found_match.captures()[*index];
        let name = query.capture_names()[capture.index as usize].to_string();
        let text = capture
            .node
            .utf8_text(source.as_bytes())
            .unwrap()
            .to_string();
        found.push((name, text));
    }
    found
}

#[test]
fn query_compiles() {
    let language = tree_sitter::Language::new(tree_sitter_vexil::LANGUAGE);
    let query = Query::new(&language, tree_sitter_vexil::HIGHLIGHTS_QUERY).unwrap();
    assert!(query.pattern_count() > 20);
}

#[test]
fn sample_is_coloured() {
    let found = captures(SAMPLE);
    for (name, text) in [
        ("keyword.storage.type", "flag"),
        ("keyword.storage.type", "context"),
        ("constant", "new-checkout"),
        ("type.builtin", "bool"),
        ("type.builtin", "ip"),
        ("variable.other.member", "ip"),
        ("keyword", "kind"),
        ("keyword", "rule"),
        ("keyword.control", "when"),
        ("keyword.operator", "and"),
        ("keyword.operator", "not"),
        ("keyword.storage.modifier", "key"),
        ("string", "\"team-checkout\""),
        ("comment", "// a comment"),
        ("comment.block.documentation", "/// The new checkout."),
        ("constant.numeric", "2.4.1"),
        ("constant.numeric", "25%"),
        ("constant.builtin.boolean", "false"),
        ("label", "staff"),
        ("variable", "user"),
        ("variable.other.member", "app_version"),
        ("variable.other.member", "plan"),
        ("type", "user"),
        ("type.enum.variant", "pro"),
        ("type.enum.variant", "free"),
        ("type.enum.variant", "dark"),
        ("function", "internal"),
        ("function", "beta"),
        ("operator", ">="),
        ("operator", "=>"),
        ("operator", "-"),
        ("variable.builtin", "now"),
        ("constant.numeric", "30d"),
    ] {
        assert!(
            found.iter().any(|(n, t)| n == name && t == text),
            "no @{name} on {text:?}; captures: {found:?}"
        );
    }
}

#[test]
fn each_node_has_at_most_one_capture() {
    // Helix lets the first matching pattern win and Neovim the last, so the
    // query must not give one node two captures.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sources = vec![SAMPLE.to_string()];
    for dir in ["examples/shop", "bench/workload"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "flag") {
                sources.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    assert!(sources.len() >= 10, "{} sources", sources.len());
    for source in &sources {
        let language = tree_sitter::Language::new(tree_sitter_vexil::LANGUAGE);
        let mut parser = Parser::new();
        parser.set_language(&language).unwrap();
        let tree = parser.parse(source, None).unwrap();
        let query = Query::new(&language, tree_sitter_vexil::HIGHLIGHTS_QUERY).unwrap();
        let mut cursor = QueryCursor::new();
        let mut seen = std::collections::HashMap::new();
        let mut matches = cursor.captures(&query, tree.root_node(), source.as_bytes());
        while let Some((found_match, index)) = matches.next() {
            let capture = found_match.captures()[*index];
            let name = query.capture_names()[capture.index as usize];
            if let Some(other) = seen.insert(capture.node.id(), name) {
                assert_eq!(
                    other,
                    name,
                    "{:?} ({}) captured as @{other} and @{name}",
                    capture.node.utf8_text(source.as_bytes()).unwrap(),
                    capture.node.kind()
                );
            }
        }
    }
}
