//! `vexil check` with a project file, `vexil inventory` and `vexil stale`,
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
