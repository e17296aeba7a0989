//! The inventory and the stale report on a git repository built by the
//! test, with commits at chosen dates, so the history-based signals (when
//! a flag was added, how long it has served one value) are exact.

use std::path::Path;

mod support;
use support::git;

use vexil_compiler::{Conventions, Project};
use vexil_lifecycle::{inventory, report, stale, History, StaleOptions};

const CONTEXTS: &str = "context user {\n  key id: string\n  country: string\n}\n";

const FLAGS_OCTOBER: &str = "\
flag new-checkout: bool {
  kind release
  owner \"team-checkout\"
  tags [\"checkout\"]
  expires 2026-11-15
  default false
  rule when user.country == \"US\" => 25% by user.id
}

flag dark-mode: bool {
  kind release
  owner \"team-web\"
  default false
  rule when user.country == \"US\" => true
}

flag kill-payments: bool {
  kind operational
  default false
}
";

/// November: dark mode launched to everyone (one line changed).
const FLAGS_NOVEMBER: &str = "\
flag new-checkout: bool {
  kind release
  owner \"team-checkout\"
  tags [\"checkout\"]
  expires 2026-11-15
  default false
  rule when user.country == \"US\" => 25% by user.id
}

flag dark-mode: bool {
  kind release
  owner \"team-web\"
  default false
  rule => 100% by user.id
}

flag kill-payments: bool {
  kind operational
  default false
}
";

const EXPERIMENTS: &str = "\
experiment checkout-layout: string {
  owner \"team-growth\"
  unit user.id
  start 2026-10-01
  end 2026-11-01
  variants {
    multi-page = \"multi-page\"
    one-page = \"one-page\"
  }
  control multi-page
}
";

fn project(dir: &Path) -> Project {
    let mut project = Project::from_dir(dir).expect("readable");
    project.set_today(None);
    project
}

/// Files named from the repository's root, as a reader sees them.
fn relative(entries: &mut [vexil_lifecycle::Entry], dir: &Path) {
    let prefix = format!("{}/", dir.display());
    for e in entries {
        e.file = e.file.replace(&prefix, "");
    }
}

#[test]
fn inventory_and_stale_read_the_history() {
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    git(dir, &["init", "-q"], "2026-10-01T09:00:00Z");
    std::fs::write(dir.join("contexts.flag"), CONTEXTS).expect("write");
    std::fs::write(dir.join("flags.flag"), FLAGS_OCTOBER).expect("write");
    git(dir, &["add", "."], "2026-10-01T09:00:00Z");
    git(
        dir,
        &["commit", "-q", "-m", "flags"],
        "2026-10-01T09:00:00Z",
    );
    std::fs::write(dir.join("flags.flag"), FLAGS_NOVEMBER).expect("write");
    std::fs::write(dir.join("experiments.flag"), EXPERIMENTS).expect("write");
    git(dir, &["add", "."], "2026-11-02T09:00:00Z");
    git(
        dir,
        &["commit", "-q", "-m", "launch"],
        "2026-11-02T09:00:00Z",
    );

    let project = project(dir);
    let bundle = project.bundle(false).expect("compiles");
    let history = History::of(project.paths());
    assert!(!history.is_empty());
    let today = vexil_ir::value::parse_timestamp("2026-11-24").expect("date");
    let mut entries = inventory(&bundle, |p| project.source(p), &history, today);
    relative(&mut entries, dir);
    let (header, rows) = report::inventory_rows(&entries);
    insta::assert_snapshot!("inventory_table", report::table(header, &rows));

    let options = StaleOptions {
        today,
        launched_days: 7,
        conventions: Conventions::parse("[conventions]\n").expect("valid"),
        usage: None,
    };
    let found = stale(&bundle, &entries, None, &options);
    let (header, rows) = report::stale_rows(&found);
    insta::assert_snapshot!("stale_table", report::table(header, &rows));
    let json = serde_json::to_string_pretty(&found).expect("json");
    insta::assert_snapshot!("stale_json", json);

    // Dark mode launched 22 days ago: not stale at 30 days; without the
    // conventions nothing is past its lifetime. A kill switch without rules
    // is never stale for serving one value: operational flags stay.
    let options = StaleOptions {
        launched_days: 30,
        conventions: Conventions::default(),
        ..options
    };
    let found = stale(&bundle, &entries, None, &options);
    let names: Vec<(&str, usize)> = found
        .iter()
        .map(|s| (s.name.as_str(), s.evidence.len()))
        .collect();
    assert_eq!(names, [("checkout-layout", 1), ("new-checkout", 1)]);
}

#[test]
fn outside_git_there_are_no_dates_and_nothing_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("contexts.flag"), CONTEXTS).expect("write");
    std::fs::write(dir.path().join("flags.flag"), FLAGS_NOVEMBER).expect("write");
    let project = project(dir.path());
    let bundle = project.bundle(false).expect("compiles");
    let history = History::of(project.paths());
    assert!(history.is_empty());
    let today = vexil_ir::value::parse_timestamp("2026-11-24").expect("date");
    let mut entries = inventory(&bundle, |p| project.source(p), &history, today);
    relative(&mut entries, dir.path());
    assert!(entries
        .iter()
        .all(|e| e.added.is_none() && e.changed.is_none()));
    let csv = {
        let (header, rows) = report::inventory_rows(&entries);
        report::csv(header, &rows).expect("csv")
    };
    insta::assert_snapshot!("inventory_csv_outside_git", csv);
    // Serving one value with no history: stale at once.
    let options = StaleOptions {
        today,
        launched_days: 7,
        conventions: Conventions::default(),
        usage: None,
    };
    let found = stale(&bundle, &entries, None, &options);
    let dark = found.iter().find(|s| s.name == "dark-mode").expect("stale");
    assert_eq!(
        dark.evidence[0].describe(),
        "fully launched: serves `true` to everyone"
    );
    assert_eq!(dark.suggestion, "keep `true`");
}

/// A flag whose every line was rewritten is as old as the commit that first
/// declared its name, not as its oldest surviving line; a flag declared
/// in a file that was later renamed keeps its date too.
#[test]
fn added_is_the_first_declaration_of_the_name() {
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    let flags = dir.join("flags");
    std::fs::create_dir(&flags).expect("mkdir");
    git(dir, &["init", "-q"], "2026-09-01T09:00:00Z");
    // Another project in the same repository declares the same name
    // earlier: it does not count.
    std::fs::write(
        dir.join("other.flag"),
        "flag limit: bool {\n  default false\n}\n",
    )
    .expect("write");
    git(dir, &["add", "."], "2026-09-01T09:00:00Z");
    git(
        dir,
        &["commit", "-q", "-m", "other"],
        "2026-09-01T09:00:00Z",
    );
    std::fs::write(flags.join("contexts.flag"), CONTEXTS).expect("write");
    std::fs::write(
        flags.join("limits.flag"),
        "flag limit: int {\n  kind operational\n  default 10\n}\n",
    )
    .expect("write");
    git(dir, &["add", "."], "2026-10-01T09:00:00Z");
    git(
        dir,
        &["commit", "-q", "-m", "limit"],
        "2026-10-01T09:00:00Z",
    );
    std::fs::remove_file(flags.join("limits.flag")).expect("remove");
    std::fs::write(
        flags.join("checkout.flag"),
        "flag limit: string {\n  kind permission\n  owner \"team-a\"\n  default \"low\"\n}\n",
    )
    .expect("write");
    git(dir, &["add", "-A"], "2026-11-02T09:00:00Z");
    git(
        dir,
        &["commit", "-q", "-m", "rewrite"],
        "2026-11-02T09:00:00Z",
    );
    // A file git does not track has no dates.
    std::fs::write(
        flags.join("new.flag"),
        "flag fresh: bool {\n  kind release\n  default false\n}\n",
    )
    .expect("write");

    let project = project(&flags);
    let bundle = project.bundle(false).expect("compiles");
    let history = History::of(project.paths());
    let today = vexil_ir::value::parse_timestamp("2026-11-24").expect("date");
    let entries = inventory(&bundle, |p| project.source(p), &history, today);
    let dates: Vec<(&str, Option<&str>, Option<&str>)> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.added.as_deref(), e.changed.as_deref()))
        .collect();
    assert_eq!(
        dates,
        [
            ("limit", Some("2026-10-01"), Some("2026-11-02")),
            ("fresh", None, None),
        ]
    );
}
