//! What a new user met in their first hour (issue 12): a misspelt flag in
//! `vexil eval`, tests run from a bundle or by name, one way to count rules,
//! `--help` that describes every argument.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

mod support;
use support::vexil;

/// Three rules, a prerequisite whose name sorts last, and two tests that
/// count rules from 1.
const TIERS: &str = r#"context user {
  key id: string
  plan: enum { free, pro, team }
}

flag tier: string {
  kind release
  default "none"
  rule when user.plan == free => "a"
  rule when user.plan == pro => "b"
  rule when user.plan == team => "c"
}

flag beta: bool {
  kind release
  default false
  requires zeta
  rule when user.plan == team => true
}

flag zeta: bool {
  kind operational
  default true
}

test "team is the third rule" {
  context {
    user { id: "u1", plan: team }
  }
  expect tier rule 3
  expect tier == "c"
}

test "free is the first rule" {
  context {
    user { id: "u2", plan: free }
  }
  expect tier rule 1
}
"#;

/// A directory holding `TIERS`, and its path as an argument.
fn tiers() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("tiers.flag"), TIERS).expect("write");
    let path = dir.path().to_string_lossy().to_string();
    (dir, path)
}

fn stdout_json(cmd: &mut Command, code: i32) -> serde_json::Value {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out).expect("JSON")
}

fn build(dir: &str, bundle: &Path, with_tests: bool) {
    let mut cmd = vexil();
    cmd.args(["build", dir, "-o", &bundle.to_string_lossy()]);
    if with_tests {
        cmd.arg("--with-tests");
    }
    cmd.assert().success();
}

#[test]
fn eval_names_a_missing_flag_and_suggests_the_nearest() {
    let (tmp, dir) = tiers();
    let bundle = tmp.path().join("tiers.json");
    build(&dir, &bundle, false);
    for source in [dir.clone(), bundle.to_string_lossy().to_string()] {
        let out = vexil().args(["eval", &source, "tierr"]).assert().code(1);
        let output = out.get_output();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(json["key"], "tierr");
        assert_eq!(json["errorCode"], "FLAG_NOT_FOUND");
        assert_eq!(json["errorMessage"], "no flag or experiment named `tierr`");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("did you mean `tier`?"), "{stderr}");
    }
    // Nothing near: no suggestion, still named.
    vexil()
        .args(["eval", &dir, "nope"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"key\": \"nope\""))
        .stderr(predicate::str::contains("did you mean").not());
    // A context that is not JSON, for `--all`: no one key, so none printed.
    vexil()
        .args(["eval", &dir, "--all", "--context", "-"])
        .write_stdin("{user:")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("PARSE_ERROR"))
        .stdout(predicate::str::contains("\"key\"").not());
}

#[test]
fn rules_count_from_one_in_eval_and_in_tests() {
    let (_tmp, dir) = tiers();
    let json = stdout_json(
        vexil()
            .args(["eval", &dir, "tier", "--context", "-"])
            .write_stdin(r#"{"user": {"id": "u1", "plan": "team"}}"#),
        0,
    );
    assert_eq!(json["value"], "c");
    assert_eq!(json["rule"]["number"], 3);
    assert_eq!(json["rule"]["index"], 2);
    vexil()
        .args(["test", &dir])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 passed, 0 failed"));
}

#[test]
fn eval_all_lists_flags_by_name_with_prerequisites_first() {
    let (_tmp, dir) = tiers();
    let json = stdout_json(vexil().args(["eval", &dir, "--all"]), 0);
    let keys: Vec<&str> = json["flags"]
        .as_array()
        .map(|flags| flags.iter().filter_map(|f| f["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["zeta", "beta", "tier"]);
}

#[test]
fn test_runs_a_bundle_built_with_tests() {
    let (tmp, dir) = tiers();
    let with = tmp.path().join("with.json");
    build(&dir, &with, true);
    vexil()
        .args(["test", &with.to_string_lossy()])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok   team is the third rule"))
        .stdout(predicate::str::contains("2 passed, 0 failed"));
    let json = stdout_json(
        vexil().args(["test", &with.to_string_lossy(), "--format", "json"]),
        0,
    );
    assert_eq!(json[0]["name"], "team is the third rule");
    // Built without its tests, the bundle says how to include them.
    let without = tmp.path().join("without.json");
    build(&dir, &without, false);
    vexil()
        .args(["test", &without.to_string_lossy()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "build it with `vexil build --with-tests`",
        ));
}

#[test]
fn test_runs_one_test_by_name() {
    let (_tmp, dir) = tiers();
    vexil()
        .args(["test", &dir, "--name", "third"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok   team is the third rule"))
        .stdout(predicate::str::contains("free is the first rule").not())
        .stdout(predicate::str::contains("1 passed, 0 failed"));
    vexil()
        .args(["test", &dir, "--name", "nothing like it"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no test's name contains `nothing like it`",
        ));
}

#[test]
fn help_describes_every_argument() {
    let help = |sub: &str| {
        let out = vexil().args([sub, "--help"]).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    let test = help("test");
    assert!(
        test.contains("a bundle built by `vexil build --with-tests`"),
        "{test}"
    );
    assert!(test.contains("--name <PATTERN>"), "{test}");
    assert!(
        test.contains("Run only the tests whose name contains"),
        "{test}"
    );
    let build = help("build");
    assert!(build.contains("A directory of `.flag` files"), "{build}");
    assert!(build.contains("for `vexil test BUNDLE`"), "{build}");
    let explain = help("explain");
    assert!(explain.contains("`E0xxx` or `W0xxx`"), "{explain}");
    let eval = help("eval");
    assert!(
        eval.contains("the flags a flag `requires` come just before it"),
        "{eval}"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_a_diagnostic_not_an_abort() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("a.flag"), TIERS).expect("write");
    let latin1 = b"// Caf\xe9\nflag cafe: bool {\n  kind release\n  default false\n}\n";
    std::fs::write(dir.path().join("b.flag"), latin1).expect("write");
    let d = dir.path().to_string_lossy().to_string();
    let out = vexil().args(["check", &d]).assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("error[E0002]: this file is not valid UTF-8: byte `0xE9` at offset 6"),
        "{text}"
    );
    assert!(text.contains("b.flag:1:7"), "{text}");
    assert!(text.contains("checked 2 files: 1 error"), "{text}");
    // The other file is checked and formatted; this one is left alone.
    vexil()
        .args(["fmt", &d, "--check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "b.flag` is not UTF-8; run `vexil check`",
        ));
    vexil()
        .args(["explain", "E0002"])
        .assert()
        .success()
        .stdout(predicate::str::contains("E0002 (error): file is not UTF-8"));
}

#[test]
fn a_byte_order_mark_is_skipped_by_check_fmt_and_eval() {
    let dir = tempfile::tempdir().expect("tmp");
    let with_bom = format!("\u{FEFF}{TIERS}");
    std::fs::write(dir.path().join("tiers.flag"), &with_bom).expect("write");
    let d = dir.path().to_string_lossy().to_string();
    vexil()
        .args(["check", &d])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "checked 1 file: 0 errors, 0 warnings",
        ));
    vexil()
        .args(["fmt", &d, "--check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 file checked, 0 would change"));
    let context = dir.path().join("context.json");
    std::fs::write(
        &context,
        "\u{FEFF}{\"user\": {\"id\": \"u1\", \"plan\": \"pro\"}}",
    )
    .expect("write");
    let json = stdout_json(
        vexil().args(["eval", &d, "tier", "--context", &context.to_string_lossy()]),
        0,
    );
    assert_eq!(json["value"], "b");
}

#[test]
fn eval_warns_of_unknown_fields_and_refuses_a_context_that_is_not_an_object() {
    let (_tmp, dir) = tiers();
    let out = vexil()
        .args(["eval", &dir, "tier", "--context", "-"])
        .write_stdin(r#"{"user": {"id": "u1", "plna": "pro"}}"#)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("warning: unknown field `user.plna` ignored; did you mean `user.plan`?"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    assert_eq!(json["value"], "none");
    assert_eq!(
        json["warnings"],
        serde_json::json!([{
            "kind": "unknown_field",
            "context": "user",
            "field": "plna",
            "nearest": "plan",
            "message": "unknown field `user.plna` ignored; did you mean `user.plan`?",
        }])
    );
    // `--all` puts them beside the flags; a context the schema fits has none.
    let json = stdout_json(
        vexil()
            .args(["eval", &dir, "--all", "--context", "-"])
            .write_stdin(r#"{"usr": {"id": "u1"}}"#),
        0,
    );
    assert_eq!(json["warnings"][0]["kind"], "unknown_context");
    assert_eq!(json["warnings"][0]["context"], "usr");
    assert_eq!(json["warnings"][0]["nearest"], "user");
    assert!(json["flags"].is_array());
    let json = stdout_json(
        vexil()
            .args(["eval", &dir, "tier", "--context", "-"])
            .write_stdin(r#"{"user": {"id": "u1", "plan": "pro"}}"#),
        0,
    );
    assert!(json.get("warnings").is_none(), "{json}");

    let json = stdout_json(
        vexil()
            .args(["eval", &dir, "tier", "--context", "-"])
            .write_stdin(r#"{"user": "u1"}"#),
        1,
    );
    assert_eq!(json["errorCode"], "PARSE_ERROR");
    assert_eq!(
        json["errorMessage"],
        r#"the context is not valid: the context `user` must be a JSON object of its fields, like `{"user": {...}}`, not a string"#
    );
}

#[test]
fn counts_in_messages_agree_with_their_nouns() {
    let dir = tempfile::tempdir().expect("tmp");
    let one_test = TIERS
        .split("test \"free")
        .next()
        .unwrap_or(TIERS)
        .replace("  expect tier == \"c\"\n", "");
    std::fs::write(dir.path().join("tiers.flag"), one_test).expect("write");
    let d = dir.path().to_string_lossy().to_string();
    vexil()
        .args(["test", &d])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 test, 1 expectation: 1 passed, 0 failed",
        ));
    let bundle = dir.path().join("b.json");
    vexil()
        .args(["build", &d, "-o", &bundle.to_string_lossy()])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(3 flags, 0 experiments, 0 segments)",
        ));
}
