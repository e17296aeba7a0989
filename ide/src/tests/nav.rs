//! Go to definition and find references, across files.

use super::{show_spans, Fixture};
use crate as ide;

/// For each file with a hit: its path and the lines with the hits marked.
fn show(f: &Fixture, hits: &[(vexil_compiler::db::SourceFile, vexil_grammar::Span)]) -> String {
    let mut out = String::new();
    for &file in &f.files {
        let spans: Vec<_> = hits
            .iter()
            .filter(|(hf, _)| *hf == file)
            .map(|(_, s)| *s)
            .collect();
        if !spans.is_empty() {
            out.push_str(&format!("----- {}\n", file.path(&f.db)));
            out.push_str(&show_spans(f.text(file), &spans));
        }
    }
    out
}

fn definition(source: &str) -> String {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    let defs: Vec<_> = ide::definition(&f.db, f.ws, file, at)
        .into_iter()
        .map(|l| (l.file, l.span))
        .collect();
    format!("{}{}", f.show_cursor(), show(&f, &defs))
}

fn references(source: &str) -> String {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    let refs: Vec<_> = ide::references(&f.db, f.ws, file, at, true)
        .into_iter()
        .map(|r| (r.location.file, r.location.span))
        .collect();
    format!("{}{}", f.show_cursor(), show(&f, &refs))
}

#[test]
fn definition_of_a_field() {
    insta::assert_snapshot!(definition("segment s {\n  user.pl$0an == pro\n}\n"));
}

#[test]
fn definition_of_an_enum_value() {
    insta::assert_snapshot!(definition("segment s {\n  user.plan == p$0ro\n}\n"));
}

#[test]
fn definition_of_a_variant_in_a_prerequisite() {
    insta::assert_snapshot!(definition(
        "flag f: bool {\n  kind release\n  default false\n  requires theme == d$0ark\n}\n"
    ));
}

#[test]
fn definition_of_a_name_declared_twice_lists_both() {
    insta::assert_snapshot!(definition(
        "segment staff {\n  user.email ends_with \"@x\"\n}\nsegment s {\n  st$0aff\n}\n"
    ));
}

#[test]
fn references_of_a_flag_include_prerequisites_and_tests() {
    insta::assert_snapshot!(references(
        "flag f: bool {\n  kind release\n  default false\n  requires new-check$0out\n}\n"
    ));
}

#[test]
fn references_of_a_segment() {
    insta::assert_snapshot!(references("segment s {\n  $0staff or paying\n}\n"));
}

#[test]
fn references_of_a_field_include_units_and_test_values() {
    insta::assert_snapshot!(references(
        "test \"t\" {\n  context {\n    user { i$0d: \"u-2\" }\n  }\n  expect theme == \"dark\"\n}\n"
    ));
}

#[test]
fn references_of_an_enum_value() {
    insta::assert_snapshot!(references("segment s {\n  user.plan in [free, p$0ro]\n}\n"));
}

#[test]
fn references_of_a_variant() {
    insta::assert_snapshot!(references("test \"t\" {\n  expect theme == da$0rk\n}\n"));
}

#[test]
fn references_of_an_experiment_variant_include_control() {
    insta::assert_snapshot!(references(
        "test \"t\" {\n  expect checkout-layout variant multi$0-page\n}\n"
    ));
}

#[test]
fn references_of_a_context() {
    insta::assert_snapshot!(references("segment s {\n  e$0nv.name == staging\n}\n"));
}

#[test]
fn references_without_declarations() {
    let f = Fixture::shop("segment s {\n  $0staff\n}\n");
    let (file, at) = f.at();
    let refs = ide::references(&f.db, f.ws, file, at, false);
    assert!(refs.iter().all(|r| !r.is_definition));
    assert_eq!(refs.len(), 2, "{refs:?}");
}

#[test]
fn nothing_on_keywords_and_literals() {
    for source in [
        "segment s {\n  user.plan =$0= pro\n}\n",
        "segment s {\n  n$0ot staff\n}\n",
    ] {
        let f = Fixture::shop(source);
        let (file, at) = f.at();
        assert!(
            ide::definition(&f.db, f.ws, file, at).is_empty(),
            "{source}"
        );
    }
}
