//! Incrementality, shown by salsa's event log: the queries that executed
//! (rather than were verified) between an edit and fresh diagnostics.
//!
//! In a workspace of 1,000 flags, an edit inside one flag's rule re-runs
//! that file's `parse`, `file_summary` and `check_file`, and nothing else:
//! the summary comes out equal, so `symbols`, `global_problems` and the
//! other files' checks are verified, not re-run. An edit to a schema re-runs
//! the checks of exactly the files that read it.

// Test helpers outside #[test] functions fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use salsa::plumbing::AsId;
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use vexil_lsp::{publish, Change, Host};

const SCHEMA: &str = "context user {\n  key id: string\n  country: string\n  plan: enum { free, pro }\n}\n\nsegment pros {\n  user.plan == pro\n}\n";

/// Ten files of 100 flags that read `user`, one file of flags that read
/// nothing, and the schema.
fn workspace(dir: &Path) {
    std::fs::write(dir.join("schema.flag"), SCHEMA).unwrap();
    for f in 0..10 {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!(
                "flag f{f}-{i}: bool {{\n  kind release\n  default false\n  rule when pros and user.country == \"FR\" => 25% by user.id\n}}\n\n"
            ));
        }
        std::fs::write(dir.join(format!("flags{f:02}.flag")), text).unwrap();
    }
    std::fs::write(
        dir.join("static.flag"),
        "flag kill-switch: bool {\n  kind operational\n  default true\n}\n",
    )
    .unwrap();
}

/// A host on the workspace, with diagnostics computed once, `path` open,
/// and the log cleared.
fn host(dir: &Path, path: &Path) -> (Host, Uri, String) {
    let mut host = Host::new();
    host.apply([Change::AddRoot(dir.to_path_buf())]);
    let first = publish::compute(&host.snapshot());
    assert_eq!(first.by_uri.len(), 12);
    assert!(first.by_uri.values().all(Vec::is_empty), "{first:?}");
    let uri = Uri::from_file_path(path).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    host.apply([Change::Open {
        uri: uri.clone(),
        text: text.clone(),
    }]);
    host.db().enable_log();
    let _ = host.db().take_log();
    (host, uri, text)
}

fn replace(uri: &Uri, line: usize, column: usize, len: usize, text: &str) -> Change {
    let (line, column) = (line as u32, column as u32);
    Change::Edit {
        uri: uri.clone(),
        changes: vec![TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(line, column),
                Position::new(line, column + len as u32),
            )),
            range_length: None,
            text: text.into(),
        }],
    }
}

/// The log's query names, with the edited file's id spelled `FILE`.
fn executed(host: &Host, path: &Path) -> Vec<String> {
    let file = host.snapshot().files.get(&path.to_string_lossy()).unwrap();
    let id = format!("{:?}", file.as_id());
    let mut log: Vec<String> = host
        .db()
        .take_log()
        .into_iter()
        .map(|q| q.replace(&id, "FILE"))
        .collect();
    log.sort();
    log
}

#[test]
fn editing_one_rule_reruns_only_that_files_queries() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let path = dir.path().join("flags03.flag");
    let (mut host, uri, text) = host(dir.path(), &path);

    // `25%` → `30%` in the rule of the 43rd flag of the file.
    let line = 42 * 6 + 3;
    let column = text.lines().nth(line).unwrap().find("25%").unwrap();
    host.apply([replace(&uri, line, column, 2, "30")]);
    let after = publish::compute(&host.snapshot());
    assert!(after.by_uri.values().all(Vec::is_empty), "{after:?}");

    let log = executed(&host, &path);
    // `check_file` is keyed by (workspace, file), an interned id of its own:
    // one check ran, and it is this file's since no other file's parse did.
    assert_eq!(log.len(), 3, "{log:#?}");
    assert!(log[0].starts_with("check_file("), "{log:#?}");
    assert_eq!(log[1..], ["file_summary(FILE)", "parse(FILE)"], "{log:#?}");
}

#[test]
fn breaking_an_item_reruns_the_symbol_table_but_not_other_checks() {
    // While typing, an item stops parsing: it then declares only its name
    // (a summary change), which re-runs the symbol table and the checks
    // across files, but no other file's check, since every name still
    // resolves to what it did.
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let path = dir.path().join("flags03.flag");
    let (mut host, uri, text) = host(dir.path(), &path);
    let line = 42 * 6 + 3;
    let column = text.lines().nth(line).unwrap().find("user.id").unwrap();
    host.apply([replace(&uri, line, column, 7, "user.")]);
    let after = publish::compute(&host.snapshot());
    let broken = after.by_uri.iter().filter(|(_, d)| !d.is_empty()).count();
    assert_eq!(broken, 1);

    let log = executed(&host, &path);
    let names: Vec<&str> = log
        .iter()
        .map(|q| q.split('(').next().unwrap_or(""))
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "check_file").count(),
        1,
        "{log:#?}"
    );
    assert!(names.contains(&"symbols"), "{log:#?}");
    assert!(names.contains(&"global_problems"), "{log:#?}");
    assert!(
        log.iter()
            .all(|q| !q.starts_with("parse(") || q == "parse(FILE)"),
        "{log:#?}"
    );
}

#[test]
fn editing_a_schema_rechecks_exactly_the_files_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let path = dir.path().join("schema.flag");
    let (mut host, uri, _) = host(dir.path(), &path);
    // A new field in `user`: line 3 is `  country: string`.
    host.apply([replace(&uri, 3, 0, 0, "  age: int\n")]);
    let after = publish::compute(&host.snapshot());
    assert!(after.by_uri.values().all(Vec::is_empty), "{after:?}");

    let log = executed(&host, &path);
    let checks = log.iter().filter(|q| q.starts_with("check_file(")).count();
    // The schema file itself and the ten files that read `user`; not
    // `static.flag`, which reads nothing.
    assert_eq!(checks, 11, "{log:#?}");
    assert!(
        log.iter().any(|q| q.starts_with("context_def(")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .all(|q| !q.starts_with("parse(") || q == "parse(FILE)"),
        "{log:#?}"
    );
}
