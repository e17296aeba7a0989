//! Rename across files, and the renames that are refused.

use super::{show_spans, Fixture};
use crate as ide;

/// The changed lines of each file after the rename, underlined.
fn rename(source: &str, new_name: &str) -> String {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    let mut out = f.show_cursor();
    match ide::rename(&f.db, f.ws, file, at, new_name) {
        Ok(r) => {
            for &file in &f.files {
                let edits: Vec<_> = r.edits.iter().filter(|e| e.file == file).collect();
                if edits.is_empty() {
                    continue;
                }
                // Apply in order, tracking where each replacement lands.
                let old = f.text(file);
                let mut text = String::new();
                let mut spans = Vec::new();
                let mut at = 0;
                for e in &edits {
                    text.push_str(&old[at..e.span.start as usize]);
                    let start = text.len();
                    text.push_str(&e.text);
                    spans.push(vexil_grammar::Span::new(start, text.len()));
                    at = e.span.end as usize;
                }
                text.push_str(&old[at..]);
                out.push_str(&format!("----- {}\n", file.path(&f.db)));
                out.push_str(&show_spans(&text, &spans));
            }
            for note in &r.notes {
                out.push_str(&format!("----- NOTE\n{note}\n"));
            }
        }
        Err(e) => out.push_str(&format!("----- REFUSED\n{e}\n")),
    }
    out
}

#[test]
fn a_flag_keeps_its_salt() {
    // `new-checkout` has a rollout hashed with its name: the rename adds the
    // old name as the salt, so nobody changes bucket.
    insta::assert_snapshot!(rename(
        "flag f: bool {\n  kind release\n  default false\n  requires new-check$0out\n}\n",
        "checkout-v2"
    ));
}

#[test]
fn a_flag_without_rollouts_needs_no_salt() {
    let f = Fixture::shop(
        "flag f: bool {\n  kind release\n  default false\n  requires pay$0ments-v2\n}\n",
    );
    let (file, at) = f.at();
    let r = ide::rename(&f.db, f.ws, file, at, "payments").expect("renamed");
    assert!(
        r.edits.iter().all(|e| e.text == "payments"),
        "{:?}",
        r.edits
    );
    assert_eq!(r.edits.len(), 3);
}

#[test]
fn a_field() {
    insta::assert_snapshot!(rename(
        "segment s {\n  user.coun$0try == \"FR\"\n}\n",
        "country_code"
    ));
}

#[test]
fn a_variant() {
    insta::assert_snapshot!(rename(
        "test \"t\" {\n  expect theme variant li$0ght\n}\n",
        "bright"
    ));
}

#[test]
fn an_enum_value() {
    let f = Fixture::shop("segment s {\n  user.plan == p$0ro\n}\n");
    let (file, at) = f.at();
    let r = ide::rename(&f.db, f.ws, file, at, "premium").expect("renamed");
    // The declaration, `paying`, the test's context and this segment.
    assert_eq!(r.edits.len(), 4, "{:?}", r.edits);
}

#[test]
fn refused_when_the_name_is_taken() {
    insta::assert_snapshot!(rename("segment s {\n  st$0aff\n}\n", "paying"));
}

#[test]
fn refused_for_a_reserved_word_or_a_bad_name() {
    insta::assert_snapshot!(rename("segment s {\n  st$0aff\n}\n", "split"));
    insta::assert_snapshot!(rename("segment s {\n  st$0aff\n}\n", "9lives"));
}

#[test]
fn a_field_may_be_named_with_a_reserved_word() {
    let f = Fixture::shop("segment s {\n  user.coun$0try == \"FR\"\n}\n");
    let (file, at) = f.at();
    assert!(ide::rename(&f.db, f.ws, file, at, "from").is_ok());
}

#[test]
fn refused_when_an_experiment_would_move_in_its_layer() {
    let layered = "experiment alpha: bool {\n  unit user\n  layer home\n  traffic 10%\n  variants {\n    a = false\n    b = true\n  }\n  control a\n}\n\
                   experiment beta: bool {\n  unit user\n  layer home\n  traffic 10%\n  variants {\n    a = false\n    b = true\n  }\n  control a\n}\n";
    let f = Fixture::new(&[
        ("schema.flag", super::SCHEMA),
        ("exp.flag", &layered.replacen("alpha", "al$0pha", 1)),
    ]);
    let (file, at) = f.at();
    let refused = ide::rename(&f.db, f.ws, file, at, "gamma").expect_err("refused");
    assert!(refused.0.contains("layer `home`"), "{refused}");
    // Staying first in the layer is fine; the salt keeps its buckets.
    let r = ide::rename(&f.db, f.ws, file, at, "aardvark").expect("renamed");
    assert!(
        r.edits.iter().any(|e| e.text.contains("salt \"alpha\"")),
        "{:?}",
        r.edits
    );
}

#[test]
fn prepare_rename_needs_a_declared_name() {
    let f = Fixture::shop("segment s {\n  nob$0ody\n}\n");
    let (file, at) = f.at();
    let e = ide::prepare_rename(&f.db, f.ws, file, at).expect_err("undeclared");
    assert_eq!(
        e.0,
        "`nobody` is not declared, so there is nothing to rename"
    );
}
