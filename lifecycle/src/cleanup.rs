//! Clean-up, `vexil cleanup FLAG --keep VALUE`: the flag's declaration
//! removed from the sources, every prerequisite on it resolved with the
//! kept value, the tests that only test it or expect it to serve another
//! value removed (a case that can no longer happen), its `expect` lines
//! removed from the others, each changed file written back in canonical
//! format.
//!
//! A prerequisite (`requires F`, `requires F == V`, `requires F != V`) that
//! the kept value satisfies always holds, so it goes. One it never
//! satisfies would leave the dependant serving its default to everyone,
//! with rules and tests describing cases that can no longer happen: the
//! clean-up refuses, naming the dependants, to be cleaned up first.

use std::ops::Range;

use vexil_compiler::syntax::{self as ast, ExpectKind, Item, PropertyKind, RequireOp, TestMember};
use vexil_ir::Bundle;

use crate::diff::Source;

/// What a clean-up changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleanup {
    /// The files that change, with their new text (canonical format).
    pub files: Vec<Source>,
    /// What was done beyond removing the declaration, one line each.
    pub notes: Vec<String>,
    /// The kept value as a `.flag` file writes it.
    pub kept: String,
}

/// The kept value: its text as written and its variant's name, if any.
struct Kept {
    literal: String,
    variant: Option<String>,
}

impl Kept {
    /// Whether a value written in a requirement is the kept one.
    fn is(&self, written: &str) -> bool {
        written == self.literal || self.variant.as_deref() == Some(written)
    }
}

/// The clean-up of `flag` keeping `keep` (a value as written in a `.flag`
/// file, or a variant's name), over `sources`, whose linked bundle is
/// `bundle`. Refuses an unknown flag, an experiment, a value the flag does
/// not serve, and a value a dependant's prerequisite excludes.
pub fn cleanup(
    sources: &[Source],
    bundle: &Bundle,
    flag: &str,
    keep: &str,
) -> Result<Cleanup, String> {
    let Some(ir) = bundle.flags.iter().find(|f| f.name == flag) else {
        if bundle.experiments.iter().any(|e| e.name == flag) {
            return Err(format!(
                "`{flag}` is an experiment: `vexil cleanup` removes flags (decide the winner with `vexil analyze`, then delete the experiment)"
            ));
        }
        let help = vexil_words::did_you_mean(flag, bundle.flags.iter().map(|f| f.name.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!("no flag named `{flag}`{help}"));
    };
    let unquoted = |s: &str| s.trim_matches('"').to_string();
    let found = ir.values.iter().find(|v| {
        let literal = v.value.to_string();
        v.variant.as_deref() == Some(keep) || literal == keep || unquoted(&literal) == keep
    });
    let Some(value) = found else {
        let served: Vec<String> = ir
            .values
            .iter()
            .map(|v| v.variant.clone().unwrap_or_else(|| v.value.to_string()))
            .collect();
        return Err(format!(
            "`{flag}` does not serve `{keep}`: it serves {}",
            served
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let kept = Kept {
        literal: value.value.to_string(),
        variant: value.variant.clone(),
    };
    let mut out = Cleanup {
        files: Vec::new(),
        notes: Vec::new(),
        kept: kept.variant.clone().unwrap_or_else(|| kept.literal.clone()),
    };
    let mut never = Vec::new();
    let mut edits = Vec::new();
    for (path, text) in sources {
        let cuts = cuts(text, flag, &kept, &mut out.notes, &mut never);
        edits.push((path, text, cuts));
    }
    if !never.is_empty() {
        let names: Vec<String> = never.iter().map(|n| format!("`{n}`")).collect();
        let one = never.len() == 1;
        return Err(format!(
            "cannot remove `{flag}` keeping `{keep}`: the prerequisite of {} on it would never hold, so {} would always serve {} default; clean {} up first (`vexil cleanup {} --keep ...`)",
            names.join(", "),
            if one { "it" } else { "they" },
            if one { "its" } else { "their" },
            if one { "it" } else { "them" },
            never[0]
        ));
    }
    for (path, text, cuts) in edits {
        if cuts.is_empty() {
            continue;
        }
        let edited = apply(text, cuts);
        let formatted = vexil_fmt::format_source(&edited)
            .map_err(|e| format!("`{path}` would not parse after the clean-up: {e}"))?;
        out.files.push((path.clone(), formatted));
    }
    Ok(out)
}

/// The byte ranges to remove from one file.
fn cuts(
    text: &str,
    flag: &str,
    kept: &Kept,
    notes: &mut Vec<String>,
    never: &mut Vec<String>,
) -> Vec<Range<usize>> {
    let tree = ast::parse(text);
    let mut cuts = Vec::new();
    for item in &tree.items {
        match item {
            Item::Flag(d) if d.name.name == flag => cuts.push(lines(text, d.span)),
            Item::Flag(d) => {
                for p in &d.properties {
                    let PropertyKind::Requires(req) = &p.kind else {
                        continue;
                    };
                    if req.flag.name != flag {
                        continue;
                    }
                    let holds = match &req.expected {
                        None => kept.literal == "true",
                        Some((op, v)) => {
                            let written = &text[v.span.start as usize..v.span.end as usize];
                            kept.is(written) == (*op == RequireOp::Eq)
                        }
                    };
                    if holds {
                        cuts.push(lines(text, p.span));
                        notes.push(format!(
                            "`{}`: its prerequisite on `{flag}` always holds: removed",
                            d.name.name
                        ));
                    } else {
                        never.push(d.name.name.clone());
                    }
                }
            }
            Item::Test(t) => {
                let expects: Vec<&ast::Expectation> = t
                    .members
                    .iter()
                    .filter_map(|m| match m {
                        TestMember::Expect(e) => Some(e),
                        _ => None,
                    })
                    .collect();
                let mine: Vec<&&ast::Expectation> =
                    expects.iter().filter(|e| e.flag.name == flag).collect();
                if mine.is_empty() {
                    continue;
                }
                // A test expecting another value than the kept one is a
                // case that can no longer happen.
                let other = mine.iter().find_map(|e| {
                    let written = match &e.kind {
                        ExpectKind::Value(v) => &text[v.span.start as usize..v.span.end as usize],
                        ExpectKind::Variant(id) => id.name.as_str(),
                        _ => return None,
                    };
                    (!kept.is(written)).then_some(written)
                });
                if let Some(other) = other {
                    cuts.push(lines(text, t.span));
                    notes.push(format!(
                        "test {:?} expected `{flag}` to serve `{other}`, which can no longer happen: removed",
                        t.name.value
                    ));
                } else if mine.len() == expects.len() {
                    cuts.push(lines(text, t.span));
                    notes.push(format!(
                        "test {:?} tested only `{flag}`: removed",
                        t.name.value
                    ));
                } else {
                    cuts.extend(mine.iter().map(|e| lines(text, e.span)));
                }
            }
            _ => {}
        }
    }
    cuts
}

/// `span` widened to whole lines when nothing else is on them, with the
/// doc comment (`///` lines) just above.
fn lines(text: &str, span: ast::Span) -> Range<usize> {
    let (mut start, mut end) = (span.start as usize, span.end as usize);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if text[line_start..start].trim().is_empty() {
        start = line_start;
        // The doc comment above belongs to what is removed.
        while start > 0 {
            let prev = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
            if text[prev..start].trim_start().starts_with("///") {
                start = prev;
            } else {
                break;
            }
        }
    }
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    if text[end..line_end].trim().is_empty() {
        end = line_end;
    }
    start..end
}

/// `text` without the ranges `cuts` (they may overlap).
fn apply(text: &str, mut cuts: Vec<Range<usize>>) -> String {
    cuts.sort_by_key(|c| c.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for cut in cuts {
        if cut.start > at {
            out.push_str(&text[at..cut.start]);
        }
        at = at.max(cut.end);
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}
