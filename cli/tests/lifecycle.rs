//! `vexil check` with a project file, `vexil inventory`, `vexil stale` and
//! `vexil refs`,
//! run as processes.

use std::path::Path;

use predicates::prelude::*;

mod support;
use support::vexil;

const FLAGS: &str = "\
context user {
  key id: string
}

flag kill-payments: bool {
  kind operational
  default false
}

flag dark-mode: bool {
  kind release
  owner \"team-web\"
  expires 2026-11-01
  default false
  rule => 100% by user.id
}
";

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn arg(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

#[test]
fn check_reads_the_conventions_of_vexil_toml() {
    let dir = project(&[("flags.flag", FLAGS), ("vexil.toml", "[conventions]\n")]);
    vexil()
        .args(["check", &arg(dir.path()), "--today", "2026-10-20"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning[W0102]: flag `kill-payments` has no owner",
        ))
        .stdout(predicate::str::contains("0 errors, 1 warning"));
    // From a folder below, the file above is found.
    let sub = dir.path().join("more");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(
        sub.join("more.flag"),
        "flag x: bool {\n  kind permission\n  default false\n}\n",
    )
    .expect("write");
    vexil()
        .args(["check", &arg(&sub)])
        .assert()
        .success()
        .stdout(predicate::str::contains("W0102"));
}

#[test]
fn a_broken_project_file_is_a_clear_error() {
    let dir = project(&[
        ("flags.flag", FLAGS),
        ("vexil.toml", "[conventions]\nrequire_ownr = true\n"),
    ]);
    vexil()
        .args(["check", &arg(dir.path())])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("vexil.toml"))
        .stderr(predicate::str::contains("require_ownr"));
}

#[test]
fn inventory_lists_the_shop_in_every_format() {
    let out = vexil()
        .args(["inventory", "examples/shop", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    let entries = json.as_array().expect("array");
    let count = |item: &str| entries.iter().filter(|e| e["item"] == item).count();
    assert_eq!((count("flag"), count("experiment")), (21, 2), "{json:#}");
    let checkout = entries
        .iter()
        .find(|e| e["name"] == "new-checkout")
        .expect("new-checkout");
    assert_eq!(checkout["kind"], "release");
    assert_eq!(checkout["owner"], "team-checkout");
    assert!(checkout["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("checkout.flag")));
    assert!(checkout["line"].as_u64().is_some_and(|l| l > 0));

    vexil()
        .args(["inventory", "examples/shop", "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "name,kind,type,owner,tags,expires,status,file,line,added,changed\n",
        ));
    vexil()
        .args(["inventory", "examples/shop", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("| name | kind | type |"));
    vexil()
        .args(["inventory", "examples/shop"])
        .assert()
        .success()
        .stdout(predicate::str::contains("new-checkout"));
}

#[test]
fn stale_exits_1_with_the_evidence() {
    let dir = project(&[("flags.flag", FLAGS)]);
    vexil()
        .args(["stale", &arg(dir.path()), "--today", "2026-11-24"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("expired 2026-11-01 (23 days ago)"))
        .stdout(predicate::str::contains(
            "fully launched: serves `true` to everyone",
        ))
        .stdout(predicate::str::contains("keep `true`"))
        .stdout(predicate::str::contains("1 stale flag of 2"))
        // A kill switch at rest is not stale.
        .stdout(predicate::str::contains("kill-payments").not());
    let out = vexil()
        .args([
            "stale",
            &arg(dir.path()),
            "--today",
            "2026-11-24",
            "--format",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(json[0]["name"], "dark-mode");
    assert_eq!(json[0]["evidence"][0]["signal"], "expired");
    assert_eq!(json[0]["evidence"][1]["signal"], "constant");

    vexil()
        .args(["stale", &arg(dir.path()), "--today", "2026-10-20"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("expired").not());
    let fresh = project(&[(
        "flags.flag",
        "context user {\n  key id: string\n}\n\nflag a: bool {\n  kind release\n  default false\n  rule => 50% by user.id\n}\n",
    )]);
    vexil()
        .args(["stale", &arg(fresh.path())])
        .assert()
        .success()
        .stdout("no stale flags\n");
}

#[test]
fn refs_reports_references_and_exits_1_on_an_undeclared_key() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lifecycle/tests/fixtures/refs");
    let out = vexil()
        .args(["refs", "--flags"])
        .arg(fixture.join("flags"))
        .arg(fixture.join("app"))
        .args(["--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(json["files"], 7);
    let typo = json["undeclared"]
        .as_array()
        .expect("an array")
        .iter()
        .find(|u| u["key"] == "new-chekout")
        .expect("the typo");
    assert_eq!(typo["did_you_mean"], "new-checkout");
    assert_eq!(typo["call"], "useFlag");
    vexil()
        .args(["refs", "--flags"])
        .arg(fixture.join("flags"))
        .arg(fixture.join("app/svc"))
        .assert()
        .success()
        .stdout(predicate::str::contains("search-v2"))
        .stdout(predicate::str::contains("main.go:9:"))
        .stdout(predicate::str::contains(
            "1 of 7 flags referenced in 1 file",
        ));
}

#[test]
fn stale_with_code_reports_unreferenced_flags() {
    let dir = project(&[
        ("flags.flag", FLAGS),
        (
            "app.py",
            "def dark(client):\n    # kill-payments is read by the gateway\n    return client.get_boolean_value(\"dark-mode\", False)\n",
        ),
    ]);
    vexil()
        .args(["stale", &arg(dir.path()), "--today", "2026-10-20", "--code"])
        .arg(dir.path().join("app.py"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("kill-payments"))
        .stdout(predicate::str::contains("no reference in the code"))
        .stdout(predicate::str::contains("2 stale flags of 2"));
}

#[test]
fn stale_with_a_usage_file_reports_flags_never_evaluated() {
    let dir = project(&[
        ("flags.flag", FLAGS),
        (
            "metrics.txt",
            "# TYPE vexil_evaluations counter\n\
             vexil_evaluations_total{flag=\"dark-mode\",variant=\"true\",reason=\"STATIC\"} 12\n",
        ),
    ]);
    let usage = dir.path().join("metrics.txt");
    vexil()
        .args([
            "stale",
            &arg(dir.path()),
            "--today",
            "2026-10-20",
            "--usage",
        ])
        .arg(&usage)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "no evaluation in {}",
            usage.display()
        )))
        .stdout(predicate::str::contains("kill-payments"));
    std::fs::write(&usage, "up 1\n").expect("write");
    vexil()
        .args(["stale", &arg(dir.path()), "--usage"])
        .arg(&usage)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not the metrics of `vexil serve`"));
}

#[test]
fn stale_unused_in_n_days_from_the_usage_rollups() {
    let rollups = |history_starts: &str, kill_last: &str| {
        format!(
            r#"{{"since":"2026-11-07T00:00:00Z","until":"2026-12-07T12:00:00Z","history_starts":"{history_starts}",
            "complete":true,"retention_days":30,"flush_interval_ms":10000,"flags":[
            {{"flag":"dark-mode","served":true,"total":12,"last_evaluated":"2026-12-07T11:00:00Z"}},
            {{"flag":"kill-payments","served":true,"total":0,"last_evaluated":{kill_last}}}]}}"#
        )
    };
    let dir = project(&[
        ("flags.flag", FLAGS),
        (
            "usage.json",
            &rollups("2026-10-01T00:00:00Z", "\"2026-11-01T09:00:00Z\""),
        ),
    ]);
    let usage = dir.path().join("usage.json");
    let stale = |days: &str| {
        let mut cmd = vexil();
        cmd.args([
            "stale",
            &arg(dir.path()),
            "--today",
            "2026-12-07",
            "--usage",
        ])
        .arg(&usage)
        .args(["--unused-days", days]);
        cmd
    };
    stale("30")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "no evaluation in 30 days in {}: last evaluated 2026-11-01 (36 days ago)",
            usage.display()
        )))
        .stderr(predicate::str::contains("note:").not());
    // Evaluated within 40 days: not unused.
    stale("40")
        .assert()
        .stdout(predicate::str::contains("no evaluation in").not());
    // Never evaluated, with a history long enough: proven.
    std::fs::write(&usage, rollups("2026-10-01T00:00:00Z", "null")).expect("write");
    stale("30")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("never evaluated in"))
        .stdout(predicate::str::contains(
            "since its usage history starts, 2026-10-01 (67 days ago)",
        ));
    // A history of 6 days cannot prove 30: said, not claimed.
    std::fs::write(&usage, rollups("2026-12-01T00:00:00Z", "null")).expect("write");
    stale("30")
        .assert()
        .stdout(predicate::str::contains("kill-payments").not())
        .stderr(predicate::str::contains(
            "starts 2026-12-01 (6 days ago), shorter than 30 days",
        ));
    // Rollups need a number of days; metrics cannot give one.
    vexil()
        .args(["stale", &arg(dir.path()), "--usage"])
        .arg(&usage)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--unused-days N"));
    std::fs::write(&usage, "up 1\n").expect("write");
    stale("30")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "count only since a server started",
        ));
    vexil()
        .args(["stale", &arg(dir.path()), "--unused-days", "30"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "needs `--server URL` or `--usage FILE`",
        ));
}

/// A copy of examples/shop in a temporary directory.
fn shop_copy() -> tempfile::TempDir {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(&shop).expect("shop") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "flag") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

#[test]
fn cleanup_on_the_shop_leaves_flags_that_check_test_and_are_formatted() {
    let dir = shop_copy();
    let flags = arg(dir.path());
    vexil()
        .args(["cleanup", "payment-provider", "--keep", "adyen", &flags])
        .assert()
        .success()
        .stdout(predicate::str::contains("checkout.flag"))
        .stdout(predicate::str::contains(
            "`express-checkout`: its prerequisite on `payment-provider` always holds: removed",
        ))
        .stdout(predicate::str::contains(
            "expected `payment-provider` to serve `stripe`, which can no longer happen: removed",
        ));
    let text = std::fs::read_to_string(dir.path().join("checkout.flag")).expect("read");
    for gone in [
        "flag payment-provider",
        "requires payment-provider",
        "expect payment-provider",
    ] {
        assert!(!text.contains(gone), "{text}");
    }
    vexil().args(["check", &flags]).assert().success();
    vexil().args(["test", &flags]).assert().success();
    vexil().args(["fmt", "--check", &flags]).assert().success();

    // A prerequisite that would never hold: its flag serves its default to
    // everyone, so it is rewritten to (in another copy of the shop).
    let other = shop_copy();
    let other_flags = arg(other.path());
    vexil()
        .args(["cleanup", "new-checkout", "--keep", "false", &other_flags])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "`express-checkout`: its prerequisite on `new-checkout` would never hold with `false`, so it serves its default `false` to everyone: removed 3 rules and its prerequisites; it is constant now: clean it up next (`vexil cleanup express-checkout --keep false`)",
        ))
        .stdout(predicate::str::contains(
            "expected `express-checkout` to serve `true`, which can no longer happen: removed",
        ));
    let rewritten = std::fs::read_to_string(other.path().join("checkout.flag")).expect("read");
    assert!(
        rewritten.contains("flag express-checkout: bool {"),
        "{rewritten}"
    );
    for gone in [
        "rule returning",
        "requires new-checkout",
        "expect express-checkout rule",
    ] {
        assert!(!rewritten.contains(gone), "{gone} in {rewritten}");
    }
    assert!(
        rewritten.contains("expect express-checkout reason STATIC"),
        "{rewritten}"
    );
    vexil().args(["check", &other_flags]).assert().success();
    vexil().args(["test", &other_flags]).assert().success();
    vexil()
        .args(["fmt", "--check", &other_flags])
        .assert()
        .success();
    // Keeping the value it requires resolves it; nothing written on a dry run.
    vexil()
        .args([
            "cleanup",
            "new-checkout",
            "--keep",
            "true",
            &flags,
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("would write"))
        .stdout(predicate::str::contains(
            "`express-checkout`: its prerequisite on `new-checkout` always holds: removed",
        ));
    vexil().args(["fmt", "--check", &flags]).assert().success();
    let again = std::fs::read_to_string(dir.path().join("checkout.flag")).expect("read");
    assert_eq!(again, text);
    vexil()
        .args(["cleanup", "payments-v2", "--keep", "maybe", &flags])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`payments-v2` does not serve `maybe`: it serves `false`, `true`",
        ));
    vexil()
        .args(["cleanup", "checkout-layout", "--keep", "one-page", &flags])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is an experiment"));
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=Ana", "-c", "user.email=ana@shop.example"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// Two bundles `vexil build` wrote, and a directory against a bundle: both
/// compared as bundles, with their versions and what a bundle does not
/// hold said first.
#[test]
fn diff_of_bundles_and_of_a_directory_against_a_bundle() {
    let old = project(&[("flags.flag", FLAGS)]);
    let changed = FLAGS
        .replace("rule => 100% by user.id", "rule => 50% by user.id")
        .replace("flag kill-payments", "flag kill-all-payments");
    let new = project(&[("flags.flag", &changed)]);
    let out = tempfile::tempdir().expect("tmp");
    let (old_json, new_json) = (out.path().join("old.json"), out.path().join("new.json"));
    for (dir, file) in [(&old, &old_json), (&new, &new_json)] {
        vexil()
            .args(["build", &arg(dir.path()), "--output", &arg(file)])
            .assert()
            .success();
    }
    vexil()
        .args(["diff", &arg(&old_json), &arg(&new_json)])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("bundle version `"))
        .stdout(predicate::str::contains(
            "note: compared as compiled bundles, which keep no comments",
        ))
        .stdout(predicate::str::contains(
            "rule 1 result: `100% by user.id` -> `50% by user.id`",
        ))
        .stdout(predicate::str::contains("renamed from `kill-payments`"));
    vexil()
        .args([
            "diff",
            &arg(old.path()),
            &arg(&new_json),
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"old_version\": null"))
        .stdout(predicate::str::contains("\"change\": \"renamed\""));
    vexil()
        .args(["diff", &arg(&old_json), &arg(old.path())])
        .assert()
        .success()
        .stdout(predicate::str::ends_with("no changes to flags\n"));
    std::fs::write(out.path().join("junk.json"), "{\"a\": 1}").expect("write");
    vexil()
        .args(["diff", &arg(&out.path().join("junk.json")), &arg(&new_json)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is not a bundle `vexil build` wrote",
        ));
}

#[test]
fn diff_between_revisions_and_release_notes_since_a_tag() {
    let dir = project(&[("flags.flag", FLAGS)]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "one"]);
    git(dir.path(), &["tag", "v1"]);
    let changed = FLAGS
        .replace("rule => 100% by user.id", "rule => 50% by user.id")
        .replace("flag kill-payments", "flag kill-all-payments");
    std::fs::write(dir.path().join("flags.flag"), changed).expect("write");
    let flags = arg(dir.path());
    // The working tree against the tag: nothing committed yet.
    vexil()
        .args(["diff", "v1", "--dir", &flags])
        .assert()
        .success()
        .stdout(predicate::str::contains("flag `dark-mode` (team-web)"))
        .stdout(predicate::str::contains(
            "rule 1 result: `100% by user.id` -> `50% by user.id`",
        ))
        .stdout(predicate::str::contains("renamed from `kill-payments`"));
    git(dir.path(), &["commit", "-q", "-a", "-m", "two"]);
    vexil()
        .args(["diff", "v1..HEAD", "--dir", &flags, "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#### flag `dark-mode` (team-web)"));
    vexil()
        .args(["diff", "--since", "v1", &flags])
        .assert()
        .success()
        .stdout(predicate::str::contains("## team-web\n"))
        .stdout(predicate::str::contains("## no owner\n"));
    vexil()
        .args(["diff", "HEAD", "HEAD", "--dir", &flags])
        .assert()
        .success()
        .stdout("no changes to flags\n");
    vexil()
        .args(["diff", "nope", "--dir", &flags])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`nope` is neither a directory nor a git revision",
        ));
}

#[test]
fn schedule_lists_the_shop_in_time_order() {
    let out = vexil()
        .args(["schedule", "examples/shop", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    let changes = json.as_array().expect("array");
    let times: Vec<&str> = changes.iter().filter_map(|c| c["time"].as_str()).collect();
    assert_eq!(times.len(), changes.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(changes.iter().any(|c| c["name"] == "new-checkout"
        && c["change"] == "rule-starts"
        && c["time"] == "2026-12-01T08:00:00Z"));

    vexil()
        .args(["schedule", "examples/shop", "--since", "2027-01-01"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("time  "))
        .stdout(predicate::str::contains("2026-").not());
    vexil()
        .args(["schedule", "examples/shop", "--ics"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("BEGIN:VCALENDAR\r\n"))
        .stdout(predicate::str::contains("DTSTART:20261201T080000Z"));
    vexil()
        .args(["schedule", "examples/shop", "--since", "tomorrow"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --since `tomorrow`"));
}

#[test]
fn cleanup_runs_a_test_expecting_an_error_and_removes_it_when_the_error_is_gone() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("flags.flag"),
        "context user {\n  id: string\n}\n\n\
         flag gate: bool {\n  kind release\n  default false\n  rule => 50% by user.id\n}\n\n\
         flag early: bool {\n  kind release\n  default false\n  requires gate\n  rule => true\n}\n\n\
         test \"no user\" {\n  context {\n    user {}\n  }\n  expect early reason ERROR\n}\n\n\
         test \"a user\" {\n  context {\n    user { id: \"u-1\" }\n  }\n  expect early error TARGETING_KEY_MISSING\n}\n",
    )
    .expect("write");
    let flags = arg(dir.path());
    // `a user` fails already (nothing fails with an id): refused, nothing written.
    vexil()
        .args(["cleanup", "gate", "--keep", "false", &flags])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "test \"a user\", which expects `early` to fail with an error, fails already",
        ));
    let text = std::fs::read_to_string(dir.path().join("flags.flag")).expect("read");
    assert!(text.contains("flag gate"), "{text}");
    // Without it: `no user` passed because the gate failed without an id;
    // with `early` serving its default it would not, so it goes.
    let cut = text[..text.find("test \"a user\"").expect("the test")].to_string();
    std::fs::write(dir.path().join("flags.flag"), cut).expect("write");
    vexil().args(["test", &flags]).assert().success();
    vexil()
        .args(["cleanup", "gate", "--keep", "false", &flags])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "test \"no user\" expected `early` to fail with an error (run on the rewritten flags, the test fails), which can no longer happen: removed",
        ));
    let text = std::fs::read_to_string(dir.path().join("flags.flag")).expect("read");
    assert!(!text.contains("test \"no user\""), "{text}");
    vexil().args(["check", &flags]).assert().success();
    vexil().args(["test", &flags]).assert().success();
}
