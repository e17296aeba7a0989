//! Clean-up, `vexil cleanup FLAG --keep VALUE`: the flag's declaration
//! removed from the sources, every prerequisite on it resolved with the
//! kept value, the tests that only test it or expect it to serve another
//! value removed (a case that can no longer happen), its `expect` lines
//! removed from the others, each changed file written back in canonical
//! format.
//!
//! A prerequisite (`requires F`, `requires F == V`, `requires F != V`) that
//! the kept value satisfies always holds, so it goes. One it never
//! satisfies makes its flag (the dependant) serve its default to everyone,
//! exactly as before for every context: evaluation checks the switch, then
//! the prerequisites in order, and the first that fails serves the
//! default. So the dependant is rewritten to do that without the removed
//! flag: its rules go (none can be reached), and so do that prerequisite
//! and those after it (never evaluated); those before it stay, so that an
//! error or a failure they give is the same (reason `DEFAULT`; with none
//! left the reason becomes `STATIC`). Its tests follow: one expecting it to
//! serve another value than its default, a rule or a reason a rule gives
//! is a case that can no longer happen and goes; `reason DEFAULT` becomes
//! `STATIC` when no prerequisite is left; `stage` lines (its staged rule is
//! gone) go. Whether a test expecting it to fail with an error still holds
//! cannot be told from the text (the error may have come from the removed
//! flag), so such tests are run, before and after the rewrite, by the
//! caller's test runner: one that still passes stays, one that passed and
//! no longer does expects what can no longer happen and goes, and one that
//! already failed makes the clean-up refuse, naming it. The dependant is
//! then constant: the notes say so and suggest cleaning it up next.

use std::collections::{BTreeMap, BTreeSet};
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

/// Runs the `test` blocks of a set of sources; the names of those that pass.
pub type TestRunner<'a> = dyn Fn(&[Source]) -> Result<BTreeSet<String>, String> + 'a;

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
///
/// `passing` runs the `test` blocks of a set of sources and names those
/// that pass; it is called (before and after the rewrite) only when a test
/// expects a silenced dependant to fail with an error.
pub fn cleanup(
    sources: &[Source],
    bundle: &Bundle,
    flag: &str,
    keep: &str,
    passing: &TestRunner<'_>,
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
    let mut silenced = Vec::new();
    for (_, text) in sources {
        silenced.extend(silenced_in(text, flag, &kept, bundle));
    }
    let kept_text = kept.variant.clone().unwrap_or_else(|| kept.literal.clone());
    let mut errors = ErrorTests::default();
    let (mut files, mut notes) = rewrite(sources, flag, &kept, &silenced, &mut errors)?;
    if !errors.undecided.is_empty() {
        let after: Vec<Source> = sources
            .iter()
            .map(|(name, text)| {
                let new = files.iter().find(|(n, _)| n == name).map(|(_, t)| t);
                (name.clone(), new.unwrap_or(text).clone())
            })
            .collect();
        let before = passing(sources)?;
        let after = passing(&after)
            .map_err(|e| format!("cannot remove `{flag}`: the rewritten flags: {e}"))?;
        let mut still = Vec::new();
        for (test, dependant) in std::mem::take(&mut errors.undecided) {
            if !before.contains(&test) {
                return Err(format!(
                    "cannot remove `{flag}` keeping `{kept_text}`: test {test:?}, which expects `{dependant}` to fail with an error, fails already; fix it first (`vexil test`)"
                ));
            }
            if after.contains(&test) {
                still.push(format!(
                    "test {test:?} expects `{dependant}` to fail with an error, which it still does (the test passes on the rewritten flags): kept"
                ));
            } else {
                errors.gone.insert(test, dependant);
            }
        }
        if !errors.gone.is_empty() {
            (files, notes) = rewrite(sources, flag, &kept, &silenced, &mut errors)?;
        }
        notes.extend(still);
    }
    Ok(Cleanup {
        files,
        notes,
        kept: kept_text,
    })
}

/// The tests that expect a silenced dependant to fail with an error.
#[derive(Default)]
struct ErrorTests {
    /// Not decided yet (test, dependant): the caller's runner decides.
    undecided: Vec<(String, String)>,
    /// Decided: the error no longer happens, so the test goes (test →
    /// dependant).
    gone: BTreeMap<String, String>,
}

/// The files the clean-up changes, each in canonical format, and its notes.
fn rewrite(
    sources: &[Source],
    flag: &str,
    kept: &Kept,
    silenced: &[Silenced],
    errors: &mut ErrorTests,
) -> Result<(Vec<Source>, Vec<String>), String> {
    let mut notes = Vec::new();
    let mut files = Vec::new();
    for (path, text) in sources {
        let edit = edits_of(text, flag, kept, silenced, errors, &mut notes)?;
        if edit.is_empty() {
            continue;
        }
        let edited = apply(text, edit);
        let formatted = vexil_fmt::format_source(&edited)
            .map_err(|e| format!("`{path}` would not parse after the clean-up: {e}"))?;
        files.push((path.clone(), formatted));
    }
    Ok((files, notes))
}

/// A dependant whose prerequisite on the removed flag never holds with the
/// kept value: it serves its default to everyone.
struct Silenced {
    name: String,
    /// Its default, as [`Kept`] compares values.
    default: Kept,
    /// Whether a prerequisite written before that one stays, so that its
    /// reason stays `DEFAULT` (else it becomes `STATIC`).
    keeps_prerequisite: bool,
}

/// Whether the prerequisite `req` on the removed flag holds with the kept
/// value (always or never: the flag serves nothing else).
fn holds(req: &ast::Requirement, text: &str, kept: &Kept) -> bool {
    match &req.expected {
        None => kept.literal == "true",
        Some((op, v)) => {
            let written = &text[v.span.start as usize..v.span.end as usize];
            kept.is(written) == (*op == RequireOp::Eq)
        }
    }
}

/// The dependants declared in `text` that the kept value silences.
fn silenced_in(text: &str, flag: &str, kept: &Kept, bundle: &Bundle) -> Vec<Silenced> {
    let tree = ast::parse(text);
    let mut out = Vec::new();
    for item in &tree.items {
        let Item::Flag(d) = item else { continue };
        if d.name.name == flag {
            continue;
        }
        let mut before = false;
        for p in &d.properties {
            let PropertyKind::Requires(req) = &p.kind else {
                continue;
            };
            if req.flag.name != flag {
                before = true;
                continue;
            }
            if holds(req, text, kept) {
                continue;
            }
            let default = bundle
                .flags
                .iter()
                .find(|f| f.name == d.name.name)
                .and_then(|f| f.values.get(f.default as usize));
            if let Some(v) = default {
                out.push(Silenced {
                    name: d.name.name.clone(),
                    default: Kept {
                        literal: v.value.to_string(),
                        variant: v.variant.clone(),
                    },
                    keeps_prerequisite: before,
                });
            }
            break;
        }
    }
    out
}

/// What changes in one file: byte ranges replaced (by nothing, for a cut).
type Edits = Vec<(Range<usize>, &'static str)>;

/// The edits of one file.
fn edits_of(
    text: &str,
    flag: &str,
    kept: &Kept,
    silenced: &[Silenced],
    errors: &mut ErrorTests,
    notes: &mut Vec<String>,
) -> Result<Edits, String> {
    let tree = ast::parse(text);
    let mut edits: Edits = Vec::new();
    for item in &tree.items {
        match item {
            Item::Flag(d) if d.name.name == flag => edits.push((lines(text, d.span), "")),
            Item::Flag(d) => {
                let silent = silenced.iter().find(|s| s.name == d.name.name);
                // Past the first prerequisite that never holds, nothing is
                // evaluated.
                let mut past = false;
                let mut rules = 0;
                for p in &d.properties {
                    match &p.kind {
                        PropertyKind::Requires(req) if req.flag.name == flag => {
                            edits.push((lines(text, p.span), ""));
                            if holds(req, text, kept) {
                                notes.push(format!(
                                    "`{}`: its prerequisite on `{flag}` always holds: removed",
                                    d.name.name
                                ));
                            } else if silent.is_none() {
                                // Every dependant is in the bundle compiled
                                // from these sources; were one not, its
                                // rules would stay behind a cut prerequisite.
                                return Err(format!(
                                    "cannot remove `{flag}`: `{}` requires it but is not among the compiled flags",
                                    d.name.name
                                ));
                            } else {
                                past = true;
                            }
                        }
                        PropertyKind::Requires(_) if past => edits.push((lines(text, p.span), "")),
                        PropertyKind::Rule(_) | PropertyKind::Planning(_) if silent.is_some() => {
                            rules += usize::from(matches!(p.kind, PropertyKind::Rule(_)));
                            edits.push((lines(text, p.span), ""));
                        }
                        _ => {}
                    }
                }
                if let Some(s) = silent {
                    let default = s.default.variant.as_deref().unwrap_or(&s.default.literal);
                    notes.push(format!(
                        "`{name}`: its prerequisite on `{flag}` would never hold with `{kept}`, so it serves its default `{default}` to everyone: removed {rules} and {after}; it is constant now: clean it up next (`vexil cleanup {name} --keep {default}`)",
                        name = d.name.name,
                        kept = kept.variant.as_deref().unwrap_or(&kept.literal),
                        rules = vexil_words::count(rules, "rule"),
                        after = if s.keeps_prerequisite {
                            "the prerequisites from that one on"
                        } else {
                            "its prerequisites"
                        },
                    ));
                }
            }
            Item::Test(t) => test_edits(text, t, flag, kept, silenced, errors, notes, &mut edits),
            _ => {}
        }
    }
    Ok(edits)
}

/// What becomes of one test: removed when it expects what can no longer
/// happen or tests only the removed flag; else its lines on the removed
/// flag cut, and those on silenced dependants adjusted. A kept test that
/// expects a silenced dependant to fail with an error is left for the
/// test runner to decide (`errors`).
#[allow(clippy::too_many_arguments)]
fn test_edits(
    text: &str,
    t: &ast::TestDecl,
    flag: &str,
    kept: &Kept,
    silenced: &[Silenced],
    errors: &mut ErrorTests,
    notes: &mut Vec<String>,
    edits: &mut Edits,
) {
    let expects: Vec<&ast::Expectation> = t
        .members
        .iter()
        .filter_map(|m| match m {
            TestMember::Expect(e) => Some(e),
            _ => None,
        })
        .collect();
    let written = |e: &ast::Expectation| -> Option<String> {
        match &e.kind {
            ExpectKind::Value(v) => {
                Some(text[v.span.start as usize..v.span.end as usize].to_string())
            }
            ExpectKind::Variant(id) => Some(id.name.clone()),
            _ => None,
        }
    };
    // The first expectation that can no longer happen, described.
    let mut impossible: Option<String> = None;
    let mut own = Vec::new();
    let mut adjusted: Edits = Vec::new();
    let mut undecided = Vec::new();
    let test = &t.name.value;
    for e in &expects {
        if e.flag.name == flag {
            own.push(lines(text, e.span));
            if let Some(w) = written(e).filter(|w| !kept.is(w)) {
                impossible.get_or_insert(format!("expected `{flag}` to serve `{w}`"));
            }
            continue;
        }
        let Some(s) = silenced.iter().find(|s| s.name == e.flag.name) else {
            continue;
        };
        let name = &s.name;
        match &e.kind {
            ExpectKind::Value(_) | ExpectKind::Variant(_) => {
                if let Some(w) = written(e).filter(|w| !s.default.is(w)) {
                    impossible.get_or_insert(format!("expected `{name}` to serve `{w}`"));
                }
            }
            ExpectKind::Rule(r) => {
                impossible.get_or_insert(format!("expected `{name}` to match rule `{}`", r.name));
            }
            ExpectKind::Reason(r) => match r.name.as_str() {
                "DEFAULT" if !s.keeps_prerequisite => {
                    let at = r.span.start as usize..r.span.end as usize;
                    adjusted.push((at, "STATIC"));
                }
                "DEFAULT" | "DISABLED" => {}
                "ERROR" => expects_error(errors, test, name, &mut impossible, &mut undecided),
                other => {
                    impossible.get_or_insert(format!("expected `{name}` to give reason `{other}`"));
                }
            },
            ExpectKind::Error(_) => {
                expects_error(errors, test, name, &mut impossible, &mut undecided)
            }
            ExpectKind::Stage(_) => adjusted.push((lines(text, e.span), "")),
        }
    }
    if let Some(what) = impossible {
        edits.push((lines(text, t.span), ""));
        notes.push(format!(
            "test {:?} {what}, which can no longer happen: removed",
            t.name.value
        ));
    } else if !own.is_empty() && own.len() == expects.len() {
        edits.push((lines(text, t.span), ""));
        notes.push(format!(
            "test {:?} tested only `{flag}`: removed",
            t.name.value
        ));
    } else {
        errors.undecided.extend(undecided);
        edits.extend(own.into_iter().map(|r| (r, "")));
        if !adjusted.is_empty() {
            notes.push(format!(
                "test {:?}: its expectations on flags now serving their default adjusted (`reason STATIC`, no `stage`)",
                t.name.value
            ));
        }
        edits.extend(adjusted);
    }
}

/// `test` expects the silenced `dependant` to fail with an error: decided
/// already (the error no longer happens: the test can no longer pass), or
/// left to decide.
fn expects_error(
    errors: &ErrorTests,
    test: &str,
    dependant: &str,
    impossible: &mut Option<String>,
    undecided: &mut Vec<(String, String)>,
) {
    if errors.gone.contains_key(test) {
        impossible.get_or_insert(format!(
            "expected `{dependant}` to fail with an error (run on the rewritten flags, the test fails)"
        ));
    } else if !undecided.iter().any(|(_, d)| d == dependant) {
        undecided.push((test.to_string(), dependant.to_string()));
    }
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

/// `text` with the edits made: ranges replaced, cuts (empty replacements)
/// may overlap each other.
fn apply(text: &str, mut edits: Edits) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, with) in edits {
        if range.start < at {
            // Inside a range already cut.
            at = at.max(range.end);
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(with);
        at = range.end;
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &str = r#"context user {
  key id: string
  country: string
}

flag gate: bool {
  kind release
  default false
  rule when user.country == "US" => true
}

flag region-ok: bool {
  kind operational
  default true
}

/// Needs the gate, after the region check.
flag late: string {
  kind release
  variants {
    old = "old"
    new = "new"
  }
  default old
  requires region-ok
  requires gate
  requires region-ok != false
  rule us: when user.country == "US" => new
  rule ramp: from 2026-12-01 => new for 1% for 1d, 100% by user.id
}

/// Needs the gate first.
flag early: bool {
  kind release
  default false
  requires gate
  rule => true
}

test "late in the US" {
  context {
    user { id: "u1", country: "US" }
  }
  expect late == new
  expect late rule us
}

test "late elsewhere" {
  context {
    user { id: "u2", country: "FR" }
  }
  now 2026-11-01T00:00:00Z
  expect late == old
  expect late reason DEFAULT
  expect late stage 0
  expect early == false
  expect early reason DEFAULT
  expect region-ok == true
}
"#;

    /// The tests of `sources` that pass, run as `vexil test` does; counts
    /// its calls in `RUNS`.
    fn passing(sources: &[Source]) -> Result<BTreeSet<String>, String> {
        RUNS.with(|r| r.set(r.get() + 1));
        let mut project = vexil_compiler::Project::new();
        for (name, text) in sources {
            project.set_source(name, text.clone());
        }
        let bundle = project
            .bundle(true)
            .map_err(|d| project.render(&d, false))?;
        let tests = bundle.tests.clone();
        let snapshot = vexil_runtime::Snapshot::new(
            bundle,
            vexil_runtime::BackendChoice::Interpreter,
            None,
            1,
        )
        .map_err(|e| e.to_string())?;
        Ok(vexil_runtime::testing::run_tests(&snapshot, &tests, 0)
            .into_iter()
            .filter(|r| r.passed())
            .map(|r| r.name)
            .collect())
    }

    thread_local! {
        static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn run(text: &str, flag: &str, keep: &str) -> Result<Cleanup, String> {
        let mut project = vexil_compiler::Project::new();
        project.set_source("flags.flag", text.to_string());
        let bundle = project.bundle(false).expect("compiles");
        cleanup(
            &[("flags.flag".into(), text.into())],
            &bundle,
            flag,
            keep,
            &passing,
        )
    }

    #[test]
    fn a_prerequisite_that_never_holds_leaves_its_flag_serving_its_default() {
        let done = run(FLAGS, "gate", "false").expect("rewritten");
        let [(_, text)] = done.files.as_slice() else {
            panic!("one file: {:?}", done.files);
        };
        // `late` keeps the prerequisite evaluated before the gate's, loses
        // the gate's, those after it and its rules; `early` keeps nothing.
        assert!(
            text.contains("  default old\n  requires region-ok\n}"),
            "{text}"
        );
        assert!(
            text.contains("flag early: bool {\n  kind release\n  default false\n}"),
            "{text}"
        );
        for gone in [
            "flag gate",
            "requires gate",
            "region-ok != false",
            "rule us",
            "rule ramp",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        // The test of a case that can no longer happen goes; the other keeps
        // its values, `late`'s reason stays DEFAULT (a prerequisite is left),
        // `early`'s becomes STATIC, and the stage of a rule now gone is not
        // asked.
        assert!(!text.contains("late in the US"), "{text}");
        assert!(text.contains("  expect late == old\n  expect late reason DEFAULT\n  expect early == false\n  expect early reason STATIC\n"), "{text}");
        assert!(!text.contains("stage"), "{text}");
        let notes = done.notes.join("\n");
        assert!(notes.contains("`late`: its prerequisite on `gate` would never hold with `false`, so it serves its default `old` to everyone: removed 2 rules and the prerequisites from that one on; it is constant now: clean it up next (`vexil cleanup late --keep old`)"), "{notes}");
        assert!(
            notes.contains("`early`: its prerequisite on `gate` would never hold"),
            "{notes}"
        );
        assert!(notes.contains("test \"late in the US\" expected `late` to serve `new`, which can no longer happen: removed"), "{notes}");

        // The rewritten sources compile, with their one test left (`vexil
        // test` runs the shop's in the CLI's tests).
        let mut after = vexil_compiler::Project::new();
        after.set_source("flags.flag", text.clone());
        let bundle = after.bundle(true).expect("compiles");
        assert_eq!(bundle.tests.len(), 1);
    }

    /// A gate split by `user.id`: a context without one makes it fail, and
    /// `early`, which requires it, fail with it.
    const SPLIT_GATE: &str = r#"
context user {
  id: string
  country: string
}

flag gate: bool {
  kind release
  default false
  rule => 50% by user.id
}

flag early: bool {
  kind release
  default false
  requires gate
  rule => true
}

flag other: bool {
  kind release
  default false
  rule when user.country == "US" => true
}

test "no user" {
  context {
    user { country: "FR" }
  }
  expect early reason ERROR
  expect other == false
}
"#;

    #[test]
    fn a_test_expecting_an_error_the_removed_flag_caused_is_removed() {
        // Before: `gate` fails without a user id, so `early` does. After:
        // `early` serves its default to everyone, and the test, run on the
        // rewritten flags, fails: its expectation can no longer happen.
        RUNS.with(|r| r.set(0));
        let done = run(SPLIT_GATE, "gate", "false").expect("decided");
        assert_eq!(RUNS.with(|r| r.get()), 2, "run before and after");
        let text = &done.files[0].1;
        assert!(!text.contains("test \"no user\""), "{text}");
        assert!(
            done.notes.iter().any(|n| n.contains(
                "test \"no user\" expected `early` to fail with an error (run on the rewritten flags, the test fails), which can no longer happen: removed"
            )),
            "{:?}",
            done.notes
        );
    }

    #[test]
    fn a_test_expecting_an_error_that_still_happens_is_kept() {
        // `early` fails without a user id on its own prerequisite, which
        // stays before the gate's.
        let text = SPLIT_GATE
            .replace("  requires gate\n", "  requires other\n  requires gate\n")
            .replace(
                "rule when user.country == \"US\" => true",
                "rule => 50% by user.id",
            );
        let done = run(&text, "gate", "false").expect("decided");
        let rewritten = &done.files[0].1;
        assert!(rewritten.contains("test \"no user\""), "{rewritten}");
        assert!(
            rewritten.contains("expect early reason ERROR"),
            "{rewritten}"
        );
        assert!(
            done.notes
                .iter()
                .any(|n| n == "test \"no user\" expects `early` to fail with an error, which it still does (the test passes on the rewritten flags): kept"),
            "{:?}",
            done.notes
        );
    }

    #[test]
    fn a_test_expecting_an_error_that_already_fails_is_refused() {
        // With a user id nothing fails: the test fails before the clean-up.
        let text = SPLIT_GATE.replace(
            "user { country: \"FR\" }",
            "user { id: \"u1\", country: \"FR\" }",
        );
        let refused = run(&text, "gate", "false").expect_err("refused");
        assert!(
            refused.starts_with("cannot remove `gate` keeping `false`: test \"no user\", which expects `early` to fail with an error, fails already"),
            "{refused}"
        );
        // Keeping the value they require rewrites nothing in them, and runs
        // no test.
        RUNS.with(|r| r.set(0));
        let done = run(FLAGS, "gate", "true").expect("resolved");
        assert!(done.files[0].1.contains("rule us"));
        assert_eq!(RUNS.with(|r| r.get()), 0);
    }
}
