//! The `vexil` command, run as a process: output and exit codes.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod support;
use support::{root, vexil};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const SMALL: &str = "context user {\n  key id: string\n  plan: enum { free, pro }\n}\n\nflag pro-only: bool {\n  kind permission\n  default false\n  rule pro: when user.plan == pro => true\n}\n";

#[test]
fn check_passes_on_the_shop_and_fails_on_its_broken_copy() {
    vexil()
        .args(["check", "examples/shop", "--today", "2026-11-24"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors, 0 warnings"));
    vexil()
        .args(["check", "examples/shop-broken", "--today", "2026-11-24"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[E0102]: unknown field `contry` in context `location`",
        ))
        .stdout(predicate::str::contains("help: did you mean `country`?"))
        .stdout(predicate::str::contains("12 errors, 1 warning"));
}

#[test]
fn check_json_is_machine_readable() {
    let out = vexil()
        .args([
            "check",
            "examples/shop-broken",
            "--format",
            "json",
            "--today",
            "2026-11-24",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    let items = json.as_array().expect("array");
    assert_eq!(items.len(), 13);
    assert!(items
        .iter()
        .all(|d| d["code"].is_string() && d["primary"]["line"].is_u64()));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "a.flag", &format!("{SMALL}\nflag old: bool {{\n  kind release\n  default false\n  expires 2020-01-01\n}}\n"));
    let path = dir.path().to_string_lossy().to_string();
    vexil()
        .args(["check", &path])
        .assert()
        .success()
        .stdout(predicate::str::contains("W0002"));
    vexil()
        .args(["check", &path, "--deny-warnings"])
        .assert()
        .code(1);
}

#[test]
fn bad_invocations_exit_2() {
    vexil()
        .args(["check", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    vexil()
        .args(["check", "examples/shop", "--today", "yesterday"])
        .assert()
        .code(2);
    vexil().args(["explain", "E9999"]).assert().code(2);
    let empty = tempfile::tempdir().expect("tmp");
    vexil()
        .args(["check", &empty.path().to_string_lossy()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `.flag` files"));
}

#[test]
fn build_then_eval_from_the_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("shop.json");
    vexil()
        .args(["build", "examples/shop", "-o", &bundle.to_string_lossy()])
        .assert()
        .success()
        .stdout(predicate::str::contains("flags"));
    let ctx = write(
        dir.path(),
        "ctx.json",
        r#"{"user": {"id": "u-1", "plan": "pro"}}"#,
    );
    let text = std::fs::read_to_string(&bundle).expect("bundle");
    assert!(text.contains("\"format\": \"vexil-bundle\""));
    let out = vexil()
        .args([
            "eval",
            &bundle.to_string_lossy(),
            "--all",
            "--context",
            &ctx.to_string_lossy(),
        ])
        .args(["--now", "2026-12-05T10:00:00Z"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert!(json["flags"].as_array().is_some_and(|f| f.len() >= 20));
}

#[test]
fn eval_prints_openfeature_details() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "a.flag", SMALL);
    let ctx = write(
        dir.path(),
        "ctx.json",
        r#"{"user": {"id": "u1", "plan": "pro"}}"#,
    );
    let d = dir.path().to_string_lossy().to_string();
    let out = vexil()
        .args(["eval", &d, "pro-only", "--context", &ctx.to_string_lossy()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(json["value"], true);
    assert_eq!(json["reason"], "TARGETING_MATCH");
    assert_eq!(json["rule"]["name"], "pro");
    // Not found: the details say so, and the exit code too.
    vexil()
        .args(["eval", &d, "nope", "--context", &ctx.to_string_lossy()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FLAG_NOT_FOUND"));
    // A context that is not JSON.
    let bad = write(dir.path(), "bad.json", "{user:");
    vexil()
        .args(["eval", &d, "pro-only", "--context", &bad.to_string_lossy()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("PARSE_ERROR"));
    // From standard input.
    vexil()
        .args(["eval", &d, "pro-only", "--context", "-"])
        .write_stdin(r#"{"user": {"plan": "free"}}"#)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"reason\": \"DEFAULT\""));
}

#[test]
fn eval_explain_says_why_a_rule_did_not_match() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "a.flag", SMALL);
    let d = dir.path().to_string_lossy().to_string();
    let out = vexil()
        .args(["eval", &d, "pro-only", "--explain", "--context", "-"])
        .write_stdin(r#"{"user": {"id": "u2", "plan": "free"}}"#)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(json["reason"], "DEFAULT");
    let steps = &json["explanation"]["steps"];
    assert_eq!(steps[0]["step"], "rule pro");
    assert_eq!(steps[0]["verdict"], "not matched");
    assert_eq!(
        steps[0]["because"][0],
        "`user.plan == pro` is false: user.plan is \"free\""
    );
    assert_eq!(steps[1]["step"], "default");
    vexil()
        .args(["eval", &d, "--all", "--explain"])
        .assert()
        .code(2);
}

#[test]
fn eval_refuses_flags_that_do_not_compile() {
    vexil()
        .args(["eval", "examples/shop-broken", "--all"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("E0102"));
}

#[test]
fn test_runs_the_test_blocks_and_points_at_failures() {
    vexil()
        .args(["test", "examples/shop"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "60 tests, 154 expectations: 60 passed, 0 failed",
        ));
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "a.flag",
        &format!(
            "{SMALL}\ntest \"free users\" {{\n  context {{\n    user {{ id: \"u\", plan: free }}\n  }}\n  expect pro-only == true\n}}\n"
        ),
    );
    let out = vexil()
        .args(["test", &dir.path().to_string_lossy()])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("FAIL free users"), "{text}");
    assert!(
        text.contains("a.flag:16:3: expect pro-only: value true"),
        "{text}"
    );
    assert!(text.contains("got value false, reason DEFAULT"), "{text}");
}

#[test]
fn fmt_check_and_write() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(
        dir.path(),
        "a.flag",
        "flag  x : bool {kind release\ndefault   false}\n",
    );
    let d = dir.path().to_string_lossy().to_string();
    vexil()
        .args(["fmt", "--check", &d])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("would reformat"));
    vexil().args(["fmt", &d]).assert().success();
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "flag x: bool {\n  kind release\n  default false\n}\n"
    );
    vexil().args(["fmt", "--check", &d]).assert().success();
    write(dir.path(), "broken.flag", "flag {");
    vexil()
        .args(["fmt", "--check", &d])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("syntax errors"));
}

#[test]
fn help_on_everything() {
    for sub in ["check", "fmt", "build", "eval", "test", "explain"] {
        vexil()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
    vexil().arg("--help").assert().success();
    vexil()
        .args(["explain", "E0102"])
        .assert()
        .success()
        .stdout(predicate::str::contains("unknown field"));
}

#[test]
fn no_colour_when_not_a_terminal() {
    // Output captured by the test is not a terminal.
    let out = vexil()
        .args(["check", "examples/shop-broken"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(!out.contains(&0x1b), "escape codes in piped output");
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Process, Stdio};
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("context user {\n  key id: string\n}\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "flag f{i}: bool {{\n  kind release\n  default fals\n}}\n"
        ));
    }
    write(dir.path(), "big.flag", &text);
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("vexil"))
        .args(["check", &dir.path().to_string_lossy()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read one line (far less than the output) and hang up, like `| head -1`.
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read");
    let out = child.wait_with_output().expect("wait");
    assert!(first.contains("E0105"), "{first}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_language_reference_examples_pass_their_tests() {
    let text = std::fs::read_to_string(root().join("LANGUAGE.md")).expect("LANGUAGE.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```vexil") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "language.flag", &blocks.join("\n"));
    vexil()
        .args(["test", &dir.path().to_string_lossy()])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 failed"));
}

/// Every date option and context field reads times through one parser:
/// a refusal says what is accepted, never the date library's own words,
/// and the end of year 9999 (a common "never") is a time.
#[test]
fn dates_say_what_is_accepted() {
    const ACCEPTED: &str = "expected an RFC 3339 timestamp like `2026-12-01T09:00:00Z` or a date like `2026-12-01` (midnight UTC), in the years 0000 to 9999";
    for (command, option, value) in [
        (vec!["check", "examples/shop"], "--today", "tomorrow"),
        (vec!["check", "examples/shop"], "--today", "2026-13-01"),
        (
            vec!["eval", "examples/shop", "--all"],
            "--now",
            "9999-12-31T23:59:59-01:00",
        ),
        (
            vec!["eval", "examples/shop", "--all"],
            "--now",
            "2026-12-01T09:00:00",
        ),
        (
            vec!["simulate", "examples/shop", "checkout-layout", "-o", "-"],
            "--start",
            "next week",
        ),
    ] {
        vexil()
            .args(&command)
            .args([option, value])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "invalid {option} `{value}`: {ACCEPTED}"
            )))
            .stderr(predicate::str::contains("parse").not())
            .stderr(predicate::str::contains("overflow").not());
    }
    vexil()
        .args([
            "eval",
            "examples/shop",
            "--all",
            "--now",
            "9999-12-31T23:59:59Z",
        ])
        .assert()
        .success();
    vexil()
        .args(["check", "examples/shop", "--today", "9999-12-31"])
        .assert()
        .stderr(predicate::str::is_empty());

    let dir = tempfile::tempdir().expect("tmp");
    let eval = |created_at: &str| {
        let ctx = write(
            dir.path(),
            "ctx.json",
            &format!(r#"{{"user": {{"id": "u-1", "created_at": "{created_at}"}}}}"#),
        );
        let out = vexil()
            .args([
                "eval",
                "examples/shop",
                "free-shipping-threshold",
                "--context",
            ])
            .arg(&ctx)
            .output()
            .expect("run");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let never = eval("9999-12-31T23:59:59Z");
    assert_eq!(never["reason"], "DEFAULT", "{never}");
    let bad = eval("tomorrow");
    assert_eq!(bad["errorCode"], "INVALID_CONTEXT");
    assert_eq!(
        bad["errorMessage"],
        format!("context field `user.created_at` has a value that is not a timestamp: {ACCEPTED}, or Unix milliseconds as a number")
    );
}

#[test]
fn explain_knows_the_statistics_codes() {
    vexil()
        .args(["explain", "S0003"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "S0003 (error): zero variance\n\n",
        ));
    vexil()
        .args(["explain", "s0006"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CUPED on a ratio metric"));
    vexil()
        .args(["explain", "S0007"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("W0106, S0001"))
        .stderr(predicate::str::contains("S0006"));
}
