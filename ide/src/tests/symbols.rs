//! Outline, workspace symbols, highlighting and quick fixes.

use super::{show_spans, Fixture};
use crate::{self as ide, Symbol};

fn outline(symbols: &[Symbol], depth: usize, out: &mut String) {
    for s in symbols {
        out.push_str(&format!(
            "{}{:?} {}{}\n",
            "  ".repeat(depth),
            s.kind,
            s.name,
            s.detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
        outline(&s.children, depth + 1, out);
    }
}

#[test]
fn document_outline() {
    let f = Fixture::shop("");
    let mut out = String::new();
    for path in ["schema.flag", "flags.flag"] {
        outline(&ide::document_symbols(&f.db, f.file(path)), 0, &mut out);
    }
    insta::assert_snapshot!(out);
}

#[test]
fn workspace_symbols_rank_exact_then_prefix_then_fuzzy() {
    let f = Fixture::shop("");
    let names: Vec<String> = ide::workspace_symbols(&f.db, f.ws, "che", 10)
        .into_iter()
        .map(|(_, s)| s.name)
        .collect();
    assert_eq!(
        names,
        [
            "checkout-layout",
            "new-checkout",
            "staff see the new checkout"
        ]
    );
    let names: Vec<String> = ide::workspace_symbols(&f.db, f.ws, "pv2", 10)
        .into_iter()
        .map(|(_, s)| s.name)
        .collect();
    assert_eq!(names, ["payments-v2"]);
    let all = ide::workspace_symbols(&f.db, f.ws, "", 100);
    // Two contexts, two segments, three flags, an experiment and a test.
    assert_eq!(all.len(), 9);
}

#[test]
fn highlights_tell_segments_from_enum_values() {
    let f = Fixture::shop("/// doc\nsegment s {\n  staff and user.plan == pro and not user.email ends_with \"x\"\n}\n");
    let file = f.file("edit.flag");
    let text = f.text(file);
    let mut out = String::new();
    for h in ide::highlights(&f.db, f.ws, file) {
        out.push_str(&format!(
            "{:?}{}{} `{}`\n",
            h.kind,
            if h.definition { " (definition)" } else { "" },
            if h.doc { " (doc)" } else { "" },
            &text[h.span.range()]
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn fixes_from_did_you_mean() {
    let f = Fixture::shop("segment s {\n  user.contry == \"FR\" and staf\n}\n");
    let file = f.file("edit.flag");
    let text = f.text(file);
    let all = vexil_grammar::Span::new(0, text.len());
    let fixes = ide::fixes(&f.db, f.ws, file, all);
    let mut out = String::new();
    for (d, fix) in &fixes {
        out.push_str(&format!("{} {}: {}\n", d.code, fix.title, fix.replacement));
        out.push_str(&show_spans(text, &[fix.span]));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn diagnostics_cover_every_file() {
    let f = Fixture::shop("segment s {\n  user.contry == \"FR\"\n}\n");
    let all = ide::diagnostics(&f.db, f.ws);
    assert_eq!(all.len(), 4);
    assert_eq!(all["edit.flag"].len(), 1);
    assert!(all["schema.flag"].is_empty());
}

#[test]
fn fix_adds_the_missing_control_variant() {
    let f = Fixture::shop(
        "experiment e: string {\n  unit user\n  variants {\n    old = \"o\" 50%\n    new = \"n\" 50%\n  }\n}\n",
    );
    let file = f.file("edit.flag");
    let text = f.text(file);
    // The cursor on the experiment's name, where the error is.
    let at = text.find("e:").unwrap();
    let fixes = ide::fixes(&f.db, f.ws, file, vexil_grammar::Span::new(at, at));
    let [(d, fix)] = fixes.as_slice() else {
        panic!("one fix: {fixes:?}");
    };
    assert_eq!(d.code, vexil_compiler::Code::MissingControl);
    assert_eq!(fix.title, "Add `control old`");
    let mut fixed = text.to_string();
    fixed.replace_range(fix.span.range(), &fix.replacement);
    insta::assert_snapshot!(fixed);
}
