//! W0007: a `test` without `now` whose expectations read the clock (a time
//! window or a `now` comparison in a flag, its segments or the flags it
//! requires, across files; an experiment's dates or audience). Such a test
//! passes today and starts failing on its own one day.
//!
//! Found from every file's lowered IR by name, so references across files
//! count; a reference to a missing name reads nothing (it is an error of
//! its own), and cycles (errors too) end because a name is settled once.

use std::collections::HashMap;

use vexil_grammar::{Item, Span};
use vexil_ir as ir;

use crate::check::{check_file, Lowered};
use crate::db::{self, Db, Workspace};
use crate::diagnostic::{Diagnostic, Label};
use crate::Code;

/// The W0007 warnings of the workspace.
pub(crate) fn clock_test_warnings(db: &dyn Db, ws: Workspace) -> Vec<Diagnostic> {
    let files: Vec<_> = ws
        .files(db)
        .iter()
        .map(|&f| (f, &check_file(db, ws, f).lowered))
        .collect();
    if files
        .iter()
        .all(|(_, l)| l.tests.iter().all(|t| t.now.is_some()))
    {
        return Vec::new();
    }
    let mut items = Items::default();
    for (_, lowered) in &files {
        for s in &lowered.segments {
            items.segments.entry(&s.name).or_insert((lowered, s));
        }
        for f in &lowered.flags {
            items.flags.entry(&f.name).or_insert((lowered, f));
        }
        for x in &lowered.experiments {
            let e = &x.experiment;
            items.experiments.entry(&e.name).or_insert((lowered, e));
        }
    }
    let mut out = Vec::new();
    for (file, lowered) in &files {
        for test in lowered.tests.iter().filter(|t| t.now.is_none()) {
            let mut targets: Vec<&str> = test
                .expectations
                .iter()
                .map(|e| e.target.as_str())
                .filter(|t| items.target_reads_clock(t))
                .collect();
            targets.dedup();
            let Some(first) = targets.first() else {
                continue;
            };
            let span = test_name_span(db, *file, &test.name);
            out.push(Diagnostic {
                code: Code::TestReadsClock,
                severity: Code::TestReadsClock.severity(),
                message: format!(
                    "test `{}` gives no `now`, but `{first}` depends on the time",
                    test.name
                ),
                primary: Label {
                    file: file.path(db).clone(),
                    span,
                    message: "evaluated at the time of each run".to_string(),
                },
                secondary: Vec::new(),
                help: Some("fix the time the test runs at: `now 2026-12-01T09:00:00Z`".to_string()),
                notes: Vec::new(),
                fix: None,
            });
        }
    }
    out
}

/// The span of the name of the test called `name` in `file`.
fn test_name_span(db: &dyn Db, file: db::SourceFile, name: &str) -> Span {
    db::parse(db, file)
        .items
        .iter()
        .find_map(|item| match item {
            Item::Test(t) if t.name.value == name => Some(t.name.span),
            _ => None,
        })
        .unwrap_or_default()
}

/// Every file's segments, flags and experiments by name, with the file
/// whose local references their IR uses.
#[derive(Default)]
struct Items<'a> {
    segments: HashMap<&'a str, (&'a Lowered, &'a ir::Segment)>,
    flags: HashMap<&'a str, (&'a Lowered, &'a ir::Flag)>,
    experiments: HashMap<&'a str, (&'a Lowered, &'a ir::Experiment)>,
}

impl Items<'_> {
    fn target_reads_clock(&self, name: &str) -> bool {
        let mut memo = Memo::new();
        if let Some((file, e)) = self.experiments.get(name) {
            return e.start.is_some()
                || e.end.is_some()
                || self.expr_reads_clock(file, &e.audience, &mut memo);
        }
        self.flag_reads_clock(name, &mut memo)
    }

    fn flag_reads_clock<'n>(&'n self, name: &'n str, memo: &mut Memo<'n>) -> bool {
        let Some((file, f)) = self.flags.get(name) else {
            return false;
        };
        if let Some(&known) = memo.get(&(Kind::Flag, name)) {
            return known;
        }
        // In progress: a cycle (an error of its own) reads nothing more.
        memo.insert((Kind::Flag, name), false);
        let reads = f.enabled
            && (f
                .rules
                .iter()
                .any(|r| self.expr_reads_clock(file, &r.condition, memo))
                || f.prerequisites.iter().any(|p| {
                    file.refs
                        .flags
                        .get(p.flag as usize)
                        .is_some_and(|n| self.flag_reads_clock(n, memo))
                }));
        memo.insert((Kind::Flag, name), reads);
        reads
    }

    fn expr_reads_clock<'n>(
        &'n self,
        file: &'n Lowered,
        expr: &ir::Expr,
        memo: &mut Memo<'n>,
    ) -> bool {
        // Whether each segment the file refers to reads the clock.
        let segments: Vec<bool> = file
            .refs
            .segments
            .iter()
            .map(|n| self.segment_reads_clock(n, memo))
            .collect();
        expr.reads_clock(&segments)
    }

    fn segment_reads_clock<'n>(&'n self, name: &'n str, memo: &mut Memo<'n>) -> bool {
        let Some((file, s)) = self.segments.get(name) else {
            return false;
        };
        if let Some(&known) = memo.get(&(Kind::Segment, name)) {
            return known;
        }
        memo.insert((Kind::Segment, name), false);
        let reads = self.expr_reads_clock(file, &s.condition, memo);
        memo.insert((Kind::Segment, name), reads);
        reads
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Flag,
    Segment,
}

/// Whether a flag or segment reads the clock, once settled (`false` while
/// it is being worked out).
type Memo<'n> = HashMap<(Kind, &'n str), bool>;
