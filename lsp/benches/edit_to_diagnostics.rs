//! From an edit to fresh diagnostics, as the server does it: apply the
//! editor's change to the database, recompute every file's diagnostics on
//! a snapshot, convert them to LSP and diff against what was published.
//!
//! The workspace: 5,000 flags across 100 files, all reading one `user`
//! schema and a few segments. Three edits: inside one flag's rule (the
//! common case), to the schema every file uses, and the keystroke that
//! breaks an item while typing `user.`. Each iteration toggles between two
//! texts so that every edit is a real change.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use vexil_lsp::{publish, Change, Host, Publisher};

const FILES: usize = 100;
const FLAGS_PER_FILE: usize = 50;

const SCHEMA: &str = "/// A shopper.
context user {
  key id: string
  email: string
  country: string
  plan: enum { free, pro, enterprise }
  app_version: semver
  company: string?
  roles: list<string>
}

context env {
  name: enum { development, staging, production }
}

segment staff {
  user.email iends_with \"@shop.example\" or \"staff\" in user.roles
}

segment paying {
  user.plan >= pro
}
";

fn flag(f: usize, i: usize) -> String {
    format!(
        "/// Flag {i} of team {f}.
flag team{f}-flag{i}: bool {{
  kind release
  owner \"team-{f}\"
  expires 2030-01-01
  default false

  rule staff: when staff => true
  rule beta: when env.name == staging and user.app_version >= 2.3.0 => true
  rule launch: when paying and user.country in [\"US\", \"CA\", \"FR\"] => 25% by user.id
}}

"
    )
}

fn write_workspace(dir: &Path) {
    std::fs::write(dir.join("schema.flag"), SCHEMA).expect("write the schema");
    for f in 0..FILES {
        let text: String = (0..FLAGS_PER_FILE).map(|i| flag(f, i)).collect();
        std::fs::write(dir.join(format!("team{f:03}.flag")), text).expect("write flags");
    }
}

/// A host with the workspace loaded and its diagnostics published once.
fn host(dir: &Path) -> (Host, Publisher) {
    let mut host = Host::new();
    host.apply([Change::AddRoot(dir.to_path_buf())]);
    let mut publisher = Publisher::default();
    let first = publish::compute(&host.snapshot());
    assert!(
        first.by_uri.values().all(Vec::is_empty),
        "the workspace checks clean"
    );
    publisher.update(first);
    (host, publisher)
}

fn open(host: &mut Host, path: &Path) -> (Uri, String) {
    let uri = Uri::from_file_path(path).expect("an absolute path");
    let text = std::fs::read_to_string(path).expect("read");
    host.apply([Change::Open {
        uri: uri.clone(),
        text: text.clone(),
    }]);
    (uri, text)
}

/// Replaces `len` UTF-16 units at `(line, column)`.
fn edit(uri: &Uri, line: usize, column: usize, len: usize, text: &str) -> Change {
    let (line, column) = (line as u32, column as u32);
    Change::Edit {
        uri: uri.clone(),
        changes: vec![TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(line, column),
                Position::new(line, column + len as u32),
            )),
            range_length: None,
            text: text.to_string(),
        }],
    }
}

/// Applies a change and publishes: what the server does between a
/// keystroke and the editor's squiggles. Returns how many files changed.
fn edit_to_diagnostics(host: &mut Host, publisher: &mut Publisher, change: Change) -> usize {
    host.apply([change]);
    let diagnostics = publish::compute(&host.snapshot());
    publisher.update(diagnostics).len()
}

/// The position of `needle` in the `nth` line holding it.
fn find(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| l.find(needle).map(|c| (i, c)))
        .nth(nth)
        .expect("the needle is there")
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_workspace(dir.path());
    let mut group = c.benchmark_group("lsp/edit_to_diagnostics");

    // Inside one flag: `25%` ↔ `26%` in the rollout of flag 25 of team 42.
    let (mut h, mut p) = host(dir.path());
    let path = dir.path().join("team042.flag");
    let (uri, text) = open(&mut h, &path);
    let (line, column) = find(&text, "25% by", 25);
    let mut flip = false;
    group.bench_function("edit_inside_one_flag", |b| {
        b.iter(|| {
            flip = !flip;
            let percent = if flip { "26" } else { "25" };
            black_box(edit_to_diagnostics(
                &mut h,
                &mut p,
                edit(&uri, line, column, 2, percent),
            ))
        })
    });
    drop(h);

    // The schema every file reads: add and remove a field of `user`, which
    // re-checks all 100 files.
    let (mut h, mut p) = host(dir.path());
    let path = dir.path().join("schema.flag");
    let (uri, text) = open(&mut h, &path);
    let (line, _) = find(&text, "country: string", 0);
    let mut added = false;
    group.bench_function("edit_to_the_schema", |b| {
        b.iter(|| {
            added = !added;
            let change = if added {
                edit(&uri, line, 0, 0, "  age: int\n")
            } else {
                Change::Edit {
                    uri: uri.clone(),
                    changes: vec![TextDocumentContentChangeEvent {
                        range: Some(Range::new(
                            Position::new(line as u32, 0),
                            Position::new(line as u32 + 1, 0),
                        )),
                        range_length: None,
                        text: String::new(),
                    }],
                }
            };
            black_box(edit_to_diagnostics(&mut h, &mut p, change))
        })
    });
    drop(h);

    // Typing `user.` breaks the flag's item (a syntax error), so its
    // summary changes and the symbol table is rebuilt; then it parses again.
    let (mut h, mut p) = host(dir.path());
    let path = dir.path().join("team042.flag");
    let (uri, text) = open(&mut h, &path);
    let (line, column) = find(&text, "user.id", 25);
    let mut broken = false;
    group.bench_function("keystroke_that_breaks_an_item", |b| {
        b.iter(|| {
            broken = !broken;
            let change = if broken {
                edit(&uri, line, column + 5, 2, "")
            } else {
                edit(&uri, line, column + 5, 0, "id")
            };
            black_box(edit_to_diagnostics(&mut h, &mut p, change))
        })
    });
    group.finish();
}

criterion_group!(edits, benches);
criterion_main!(edits);
