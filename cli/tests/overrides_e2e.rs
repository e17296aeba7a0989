//! Overrides end to end, through the real `vexil` binary: `vexil serve`
//! with an admin key, `vexil override set` as a kill switch that an OFREP
//! client sees once the event stream announces it, `vexil audit` naming
//! the actor and the reason, `vexil check --server` listing the drift, the
//! override surviving a `kill -9` and a restart, and an expiry that lifts
//! itself; `vexil rollout status|abandon|resume` against a guarded rollout.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const KEYS: &str = "admin:ops:admin-s3cret,client:web:client-s3cret,server:backend:server-s3cret";

fn shop() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/shop")
}

fn vexil() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("vexil"))
}

/// A running `vexil serve` and its base URL.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Served {
    serve_source(data, &shop())
}

/// `vexil serve` of the flags in `source`, its state in `data`.
fn serve_source(data: &Path, source: &Path) -> Served {
    let mut child = vexil()
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data)
        .arg(source)
        .env("VEXIL_KEYS", KEYS)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the server ended before serving: {log}"))
            .unwrap();
        log.push_str(&line);
        if line.contains("serving OFREP") {
            let entry: Value = serde_json::from_str(&line).unwrap();
            break entry["fields"]["addr"].as_str().unwrap().to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Served {
        child,
        base: format!("http://{addr}"),
    }
}

fn cli(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = vexil()
        .args(args)
        .args(["--server", base])
        .env("VEXIL_KEY", "admin-s3cret")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn context() -> Value {
    json!({ "context": { "targetingKey": "u-1", "user": { "id": "u-1" } } })
}

fn evaluate(base: &str, flag: &str) -> Value {
    http()
        .post(format!("{base}/ofrep/v1/evaluate/flags/{flag}"))
        // A server key sees every flag (a client key only `client` ones).
        .header("x-api-key", "server-s3cret")
        .json(&context())
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Each `refetchEvaluation` the event stream announces, as it comes.
fn events(base: &str) -> mpsc::Receiver<Value> {
    let bulk: Value = http()
        .post(format!("{base}/ofrep/v1/evaluate/flags"))
        .header("x-api-key", "client-s3cret")
        .json(&context())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let uri = bulk["eventStreams"][0]["endpoint"]["requestUri"]
        .as_str()
        .unwrap()
        .to_string();
    let stream = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap()
        .get(format!("{base}{uri}"))
        .send()
        .unwrap();
    assert!(stream.status().is_success());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ") {
                if let Ok(event) = serde_json::from_str::<Value>(data) {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// A hang guard, not a timing assertion.
fn next(events: &mpsc::Receiver<Value>) -> Value {
    events
        .recv_timeout(Duration::from_secs(30))
        .expect("the event stream announces the change")
}

#[test]
fn a_kill_switch_from_the_cli_is_served_audited_durable_and_expires() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let base = server.base.clone();
    assert_ne!(evaluate(&base, "express-checkout")["reason"], "DISABLED");
    let changes = events(&base);

    let (ok, out, err) = cli(
        &base,
        &[
            "override",
            "set",
            "express-checkout",
            "--off",
            "--reason",
            "acquirer double-charges",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("`express-checkout` overridden (off) by ops"),
        "{out}"
    );
    next(&changes);
    let served = evaluate(&base, "express-checkout");
    assert_eq!(served["reason"], "DISABLED", "{served}");
    assert_eq!(served["value"], false);
    assert_eq!(served["metadata"]["overrideActor"], "ops");

    // The audit log names the actor and the reason.
    let (ok, out, err) = cli(
        &base,
        &["audit", "--flag", "express-checkout", "--format", "jsonl"],
    );
    assert!(ok, "{err}");
    let entries: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{out}");
    assert_eq!(entries[0]["kind"], "override_set");
    assert_eq!(entries[0]["actor"], "ops");
    assert_eq!(entries[0]["reason"], "acquirer double-charges");

    // Listing, and drift in `vexil check --server`.
    let (ok, out, _) = cli(&base, &["override", "list"]);
    assert!(ok && out.contains("express-checkout: off by ops"), "{out}");
    let check = vexil()
        .arg("check")
        .arg(shop())
        .args(["--server", &base])
        .env("VEXIL_KEY", "admin-s3cret")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}");
    assert!(text.contains("drift: 1 overridden"), "{text}");
    assert!(text.contains("acquirer double-charges"), "{text}");

    // A client key cannot write.
    let refused = vexil()
        .args(["override", "lift", "express-checkout", "--server", &base])
        .env("VEXIL_KEY", "client-s3cret")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"));

    // kill -9, then a restart on the same data directory: still overridden.
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop(server);
    let again = serve(data.path());
    let base = again.base.clone();
    assert_eq!(evaluate(&base, "express-checkout")["reason"], "DISABLED");

    // An override with an expiry lifts itself, and says so in the log.
    let changes = events(&base);
    let (ok, out, err) = cli(
        &base,
        &[
            "override",
            "set",
            "payment-provider",
            "--variant",
            "adyen",
            "--reason",
            "stripe outage",
            "--expires",
            "2s",
        ],
    );
    assert!(ok, "{out}{err}");
    next(&changes);
    assert_eq!(evaluate(&base, "payment-provider")["variant"], "adyen");
    next(&changes);
    let served = evaluate(&base, "payment-provider");
    assert!(served["metadata"].get("override").is_none(), "{served}");
    let (_, out, _) = cli(
        &base,
        &["audit", "--flag", "payment-provider", "--format", "json"],
    );
    let log: Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["override_set", "override_expired"]);
}

#[test]
fn keys_are_created_listed_and_revoked_from_the_cli() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let base = &server.base;
    let (ok, token, err) = cli(
        base,
        &[
            "key",
            "create",
            "deploy-bot",
            "--scope",
            "server",
            "--reason",
            "deploys",
        ],
    );
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    assert!(
        err.contains("deploy-bot") && err.contains("shown this once"),
        "{err}"
    );
    let with = |key: &str| {
        http()
            .post(format!("{base}/ofrep/v1/evaluate/flags/express-checkout"))
            .header("x-api-key", key)
            .json(&context())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(with(&token), 200);

    let (ok, list, err) = cli(base, &["key", "list"]);
    assert!(ok, "{err}");
    assert!(
        list.contains("deploy-bot") && list.contains("(configured)  ops  admin"),
        "{list}"
    );
    assert!(!list.contains(&token), "{list}");
    let id = list
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap()
        .to_string();

    let (ok, out, err) = cli(base, &["key", "revoke", &id, "--reason", "leaked"]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked key `deploy-bot`"), "{out}");
    assert_eq!(with(&token), 401);
    // Again: refused, with the server's reason.
    let (ok, _, err) = cli(base, &["key", "revoke", &id]);
    assert!(!ok);
    assert!(err.contains("404") && err.contains(&id), "{err}");

    let (ok, log, err) = cli(base, &["audit", "--format", "jsonl"]);
    assert!(ok, "{err}");
    assert!(
        log.contains("\"key_created\"") && log.contains("\"key_revoked\""),
        "{log}"
    );
    assert!(!log.contains(&token));
}

#[test]
fn stale_with_a_server_reports_flags_it_never_evaluated() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let base = server.base.clone();
    assert_eq!(evaluate(&base, "new-checkout")["key"], "new-checkout");
    let out = vexil()
        .arg("stale")
        .arg(shop())
        .args(["--format", "json", "--server", &base])
        .env("VEXIL_KEY", "server-s3cret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let found: Value = serde_json::from_str(&stdout).unwrap();
    let unused = |name: &str| {
        found.as_array().unwrap().iter().any(|s| {
            s["name"] == name
                && s["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["signal"] == "unused")
        })
    };
    assert!(!unused("new-checkout"), "{stdout}");
    assert!(unused("payment-provider"), "{stdout}");
    assert!(
        stdout.contains(&format!("on {base} since it started")),
        "{stdout}"
    );
    // A client key does not see the metrics: the refusal says what is needed.
    let out = vexil()
        .arg("stale")
        .arg(shop())
        .args(["--server", &base])
        .env("VEXIL_KEY", "client-s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a server or admin key is needed"));
}

/// A guarded staged rollout whose first stage is in force until 2099, by
/// the system clock (the binary has no test clock).
const GUARDED: &str = "\
context user {
  key id: string
}

flag search-v3: bool {
  kind release
  default false
  rule ramp: from 2026-01-01T00:00:00Z => 30% until 2099-01-01T00:00:00Z, 100% by user.id
    guard errors: conversion(search_error) must not increase by 10%
}

flag dark-mode: bool {
  kind release
  default false
}
";

/// Of `n` users, how many the server serves `search-v3` (30% by the
/// stage in force: about 0.3 n).
fn served_share(base: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let body = http()
                .post(format!("{base}/ofrep/v1/evaluate/flags/search-v3"))
                .header("x-api-key", "server-s3cret")
                .json(&json!({ "context": { "targetingKey": format!("u-{i}"), "user": { "id": format!("u-{i}") } } }))
                .send()
                .unwrap()
                .json::<Value>()
                .unwrap();
            body["value"] == true
        })
        .count()
}

#[test]
fn rollout_status_abandon_and_resume_through_the_binary() {
    let data = tempfile::tempdir().unwrap();
    let flags = tempfile::tempdir().unwrap();
    std::fs::write(flags.path().join("search.flag"), GUARDED).unwrap();
    let server = serve_source(data.path(), flags.path());
    let base = server.base.clone();

    // Status: the stage in force, the next one, and the guardrail (the
    // data directory's event store has no units yet).
    let (ok, out, err) = cli(&base, &["rollout", "status", "search-v3"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("search-v3 (rule ramp): rolling, stage 1 of 2 (30%)"),
        "{out}"
    );
    assert!(out.contains("2099-01-01T00:00:00Z"), "{out}");
    assert!(out.contains("0 new vs 0 old units"), "{out}");
    assert!(
        out.contains("guard errors: waiting (sized to catch: increase by 10.0%"),
        "{out}"
    );
    let (ok, out, err) = cli(&base, &["rollout", "status", "--format", "json"]);
    assert!(ok, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["rollouts"][0]["state"], "rolling", "{body:#}");
    let share = served_share(&base, 500);
    assert!((100..200).contains(&share), "{share}");

    // Abandon: the rule pinned at 0%, audited with the actor and reason.
    let (ok, out, err) = cli(
        &base,
        &[
            "rollout",
            "abandon",
            "search-v3",
            "--reason",
            "not shipping this",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("rule `ramp` is pinned at 0%"), "{out}");
    assert_eq!(served_share(&base, 300), 0);
    let (ok, out, _) = cli(&base, &["rollout", "status", "search-v3"]);
    assert!(ok && out.contains("overridden"), "{out}");
    assert!(
        out.contains("by ops: rollout abandoned: not shipping this"),
        "{out}"
    );

    // Resume: the override lifted, audited; the stages follow the clock.
    let (ok, out, err) = cli(
        &base,
        &[
            "rollout",
            "resume",
            "search-v3",
            "--reason",
            "shipping after all",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!((100..200).contains(&served_share(&base, 500)));
    let (ok, out, err) = cli(
        &base,
        &["audit", "--flag", "search-v3", "--format", "jsonl"],
    );
    assert!(ok, "{err}");
    let entries: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["override_set", "override_lifted"], "{out}");
    assert!(entries.iter().all(|e| e["actor"] == "ops"), "{out}");
    assert_eq!(entries[0]["after"]["action"]["percent"], 0.0, "{out}");
    assert_eq!(entries[0]["reason"], "rollout abandoned: not shipping this");
    assert_eq!(entries[1]["reason"], "rollout resumed: shipping after all");

    // Bad input: a clear error and a non-zero exit, nothing written.
    for args in [
        &["rollout", "status", "nope"][..],
        &["rollout", "abandon", "nope", "--reason", "x"],
        &["rollout", "resume", "dark-mode", "--reason", "x"],
    ] {
        let (ok, out, err) = cli(&base, args);
        assert!(!ok, "{args:?}: {out}");
        assert!(err.contains("has no guarded rollout on"), "{args:?}: {err}");
    }
    // Resuming a rollout nobody stopped says so.
    let (ok, _, err) = cli(&base, &["rollout", "resume", "search-v3", "--reason", "x"]);
    assert!(!ok);
    assert!(err.contains("`search-v3` has no override"), "{err}");
    let (_, out, _) = cli(
        &base,
        &["audit", "--flag", "search-v3", "--format", "jsonl"],
    );
    assert_eq!(out.lines().count(), 2, "{out}");
}
