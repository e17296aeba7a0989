//! The official OpenFeature clients, unchanged, against the real `vexil
//! serve` on a loopback port: Python's `openfeature-sdk` with
//! `openfeature-provider-ofrep`, Node's `@openfeature/server-sdk` with
//! `@openfeature/ofrep-provider`, and the browser SDK's OFREP provider
//! hearing an edit through the event stream. Every answer is compared with
//! what `vexil eval` gives for the same context. The clients come from
//! `scripts/install-clients.sh` (pinned; it installs or fails, never skips).
// The helpers below fail the test, with what went wrong, by panicking.
#![allow(clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{root, vexil};

const SERVER_KEY: &str = "e2e-server-secret";

/// Installs the clients once per test process (fast when already there).
fn clients() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let out = Command::new("bash")
            .arg(root().join("scripts/install-clients.sh"))
            .output()
            .expect("bash runs scripts/install-clients.sh");
        assert!(
            out.status.success(),
            "installing the OpenFeature clients failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        root().join("tests/clients")
    })
}

fn venv_python() -> PathBuf {
    std::env::var_os("VEXIL_CLIENTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/clients/venv"))
        .join("bin/python")
}

/// `vexil serve` as a child process, stopped (SIGTERM) when dropped.
struct Serve {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
    /// Its working directory: the data directory of its event store.
    _data: tempfile::TempDir,
}

impl Serve {
    fn start(source: &Path, key: Option<&str>) -> Serve {
        Serve::start_with_keys(source, key.map(|secret| format!("server:e2e:{secret}")))
    }

    /// With `VEXIL_KEYS` (`scope:name:secret,...`), or none.
    fn start_with_keys(source: &Path, keys: Option<String>) -> Serve {
        let data = tempfile::tempdir().expect("tmp");
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("vexil"));
        cmd.current_dir(data.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg(source)
            .env("RUST_LOG", "warn,vexil_server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match keys {
            Some(keys) => cmd.env("VEXIL_KEYS", keys),
            None => cmd.env_remove("VEXIL_KEYS"),
        };
        let mut child = cmd.spawn().expect("vexil serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        // Drain the log for as long as the server runs, and hand over the
        // address once it says where it serves.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.split("serving OFREP at ").nth(1) {
                    let url = at.split("/ofrep/v1").next().unwrap_or_default();
                    let _ = tx.send(url.to_string());
                }
                sink.lock().expect("log").push_str(&(line + "\n"));
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("vexil serve did not start: {}", log.lock().expect("log")));
        Serve {
            child,
            url,
            log,
            _data: data,
        }
    }

    /// A GET on the server, with the server key if there is one.
    fn get(&self, path: &str, key: Option<&str>) -> String {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let auth = key
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
        )
        .expect("request");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("reply");
        reply
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// Each flag and experiment of a source, with its value type, from the
/// bundle `vexil build` writes.
fn targets(source: &Path) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("bundle.json");
    vexil()
        .arg("build")
        .arg(source)
        .arg("-o")
        .arg(&bundle)
        .assert()
        .success();
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).expect("bundle")).expect("json");
    ["flags", "experiments"]
        .iter()
        .flat_map(|list| bundle[*list].as_array().cloned().unwrap_or_default())
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_string(),
                t["value_type"].as_str().expect("value_type").to_string(),
            )
        })
        .collect()
}

/// `vexil eval SOURCE --all` for one context: details by flag name.
fn eval_all(source: &Path, context: &Value) -> serde_json::Map<String, Value> {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("context.json");
    std::fs::write(&file, context.to_string()).expect("write");
    let out = vexil()
        .arg("eval")
        .arg(source)
        .arg("--all")
        .arg("--context")
        .arg(&file)
        .output()
        .expect("vexil eval");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).expect("json");
    all["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|d| (d["key"].as_str().expect("key").to_string(), d.clone()))
        .collect()
}

/// Contexts as a client sends them (OFREP's flat form with `targetingKey`,
/// or nested by context name) and as `vexil eval` reads them, by the
/// README's mapping.
fn contexts() -> Vec<(Value, Value)> {
    vec![
        (
            json!({ "targetingKey": "u-1012",
                "user": { "email": "eva@gmail.com", "tier": "gold", "orders": 3, "lifetime_spend": 120.5, "beta": false, "terms_version": "2.1.0", "created_at": "2024-01-01T00:00:00Z", "roles": [] },
                "env": { "name": "production", "region": "eu-west-1" },
                "device": { "platform": "ios", "os_version": "17.4.0", "app_version": "5.6.0", "model": "iPhone15,2" },
                "location": { "country": "US", "city": "Berlin" } }),
            json!({ "user": { "id": "u-1012", "email": "eva@gmail.com", "tier": "gold", "orders": 3, "lifetime_spend": 120.5, "beta": false, "terms_version": "2.1.0", "created_at": "2024-01-01T00:00:00Z", "roles": [] },
                "env": { "name": "production", "region": "eu-west-1" },
                "device": { "platform": "ios", "os_version": "17.4.0", "app_version": "5.6.0", "model": "iPhone15,2" },
                "location": { "country": "US", "city": "Berlin" } }),
        ),
        (
            json!({ "targetingKey": "u-0042", "email": "lena.fischer@shop.example", "roles": ["staff"], "env": { "name": "production", "region": "eu-west-1" } }),
            json!({ "user": { "id": "u-0042", "email": "lena.fischer@shop.example", "roles": ["staff"] }, "env": { "name": "production", "region": "eu-west-1" } }),
        ),
        (
            json!({ "targetingKey": "u-1001", "email": "vera@gmail.com", "tier": "platinum", "lifetime_spend": 5400.0, "orders": 41, "roles": [],
                "device": { "platform": "android", "os_version": "14.0.0", "app_version": "5.7.1", "model": "Pixel 8 Pro" },
                "location": { "country": "CA" } }),
            json!({ "user": { "id": "u-1001", "email": "vera@gmail.com", "tier": "platinum", "lifetime_spend": 5400.0, "orders": 41, "roles": [] },
                "device": { "platform": "android", "os_version": "14.0.0", "app_version": "5.7.1", "model": "Pixel 8 Pro" },
                "location": { "country": "CA" } }),
        ),
        (
            json!({ "targetingKey": "anon-7" }),
            json!({ "user": { "id": "anon-7" } }),
        ),
        // No targeting key: rollouts cannot bucket (TARGETING_KEY_MISSING).
        (
            json!({ "env": { "name": "production" } }),
            json!({ "env": { "name": "production" } }),
        ),
    ]
}

/// A default no flag of the shop serves, of each type.
fn default_of(ty: &str) -> Value {
    match ty {
        "bool" => json!(false),
        "string" => json!("client-default"),
        "int" => json!(-1),
        "float" => json!(-1.5),
        _ => json!({ "client": "default" }),
    }
}

/// One client run: the cases in, the details out.
fn run_client(program: &Path, script: &Path, request: &Value) -> Vec<Value> {
    let mut child = Command::new(program)
        .arg(script)
        .current_dir(script.parent().expect("dir"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write the cases");
    let out = child.wait_with_output().expect("the client ends");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{} printed no JSON ({e}): {}\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Equal JSON, numbers compared by value (JavaScript has no 1.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The variant the server sends: the named one, else the value's text.
fn variant_of(details: &Value) -> Value {
    match (details.get("variant"), &details["value"]) {
        (Some(name), _) => name.clone(),
        (None, Value::String(text)) => json!(text),
        (None, value) => json!(value.to_string()),
    }
}

/// Every flag of the shop for every context, plus an unknown flag and an
/// invalid context, through both server-side clients; each answer equal to
/// `vexil eval`'s.
fn both_clients_agree_with_vexil_eval(key: Option<&str>) {
    let dir = clients();
    let shop = root().join("examples/shop");
    let server = Serve::start(&shop, key);
    let targets = targets(&shop);
    assert!(targets.len() >= 20, "{targets:?}");
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (ofrep, eval_context) in contexts() {
        let want = eval_all(&shop, &eval_context);
        for (name, ty) in &targets {
            let default = default_of(ty);
            cases.push(json!({ "flag": name, "type": ty, "default": default, "context": ofrep }));
            let details = want
                .get(name)
                .unwrap_or_else(|| panic!("vexil eval has `{name}`"));
            expected.push(match details.get("errorCode") {
                Some(code) => json!({ "value": default, "reason": "ERROR", "errorCode": code, "variant": null }),
                None => json!({
                    "value": details["value"], "reason": details["reason"],
                    "variant": variant_of(details), "errorCode": null,
                    "rule": details.get("rule").and_then(|r| r.get("name")),
                }),
            });
        }
    }
    // The errors a client reports with its default: an unknown flag, and a
    // context against the schema (`env.name` is an enum without `prod`).
    cases.push(json!({ "flag": "no-such-flag", "type": "bool", "default": true, "context": { "targetingKey": "u-1" } }));
    expected.push(
        json!({ "value": true, "reason": "ERROR", "errorCode": "FLAG_NOT_FOUND", "variant": null }),
    );
    cases.push(json!({ "flag": "search-ranking", "type": "string", "default": "fallback", "context": { "targetingKey": "u-1", "env": { "name": "prod" } } }));
    expected.push(json!({ "value": "fallback", "reason": "ERROR", "errorCode": "INVALID_CONTEXT", "variant": null }));
    let kinds: std::collections::BTreeSet<&str> = targets.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        kinds,
        ["bool", "float", "int", "json", "string"].into(),
        "the shop has every type of flag"
    );

    let request = json!({ "url": server.url, "key": key, "cases": cases });
    let runs = [
        (venv_python(), dir.join("python/evaluate.py")),
        (PathBuf::from("node"), dir.join("node/evaluate.mjs")),
    ];
    for (program, script) in &runs {
        let got = run_client(program, script, &request);
        assert_eq!(got.len(), cases.len(), "{}", script.display());
        for ((case, want), got) in cases.iter().zip(&expected).zip(&got) {
            let what = format!("{} {case}\n  want {want}\n  got  {got}", script.display());
            assert!(same(&got["value"], &want["value"]), "value: {what}");
            assert_eq!(got["reason"], want["reason"], "reason: {what}");
            assert_eq!(got["errorCode"], want["errorCode"], "error code: {what}");
            if want["errorCode"].is_null() {
                assert_eq!(got["variant"], want["variant"], "variant: {what}");
                let rule = &got["metadata"]["rule"];
                assert_eq!(rule.as_str(), want["rule"].as_str(), "matched rule: {what}");
                assert!(got["metadata"]["version"].is_string(), "version: {what}");
            }
        }
    }
    // With keys, a wrong key is refused (401): each client serves its
    // default and reports a general error, with no flag data.
    if key.is_some() {
        let case = json!({ "flag": "search-ranking", "type": "string", "default": "fallback", "context": { "targetingKey": "u-1" } });
        let request = json!({ "url": server.url, "key": "wrong-key", "cases": [case] });
        for (program, script) in &runs {
            let got = run_client(program, script, &request);
            let want = json!({ "value": "fallback", "reason": "ERROR", "errorCode": "GENERAL" });
            for field in ["value", "reason", "errorCode"] {
                assert_eq!(
                    got[0][field],
                    want[field],
                    "{}: {}",
                    script.display(),
                    got[0]
                );
            }
        }
    }
    // Nothing the clients did made the server log an error.
    let log = server.log.lock().expect("log").clone();
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    assert!(
        key.is_none_or(|k| !log.contains(k)),
        "a secret was logged: {log}"
    );
}

#[test]
fn python_and_node_clients_with_a_server_key() {
    both_clients_agree_with_vexil_eval(Some(SERVER_KEY));
}

#[test]
fn python_and_node_clients_in_development_mode() {
    both_clients_agree_with_vexil_eval(None);
}

/// One line of the web client's output, as JSON.
/// Wait until the server counts an open event stream (60 seconds at most).
fn wait_for_stream(server: &Serve) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = server.get("/metrics", Some(SERVER_KEY));
        if metrics.lines().any(|l| {
            l.strip_prefix("vexil_sse_clients ")
                .and_then(|n| n.trim().parse::<f64>().ok())
                .is_some_and(|n| n >= 1.0)
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the web provider never opened the event stream:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `web_stream.mjs` evaluating `flag` for `context` on `server` (server
/// key): the child and the lines it prints.
fn web_client(
    dir: &Path,
    server: &Serve,
    flag: &str,
    context: &Value,
) -> (Child, std::io::Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new("node")
        .arg(dir.join("node/web_stream.mjs"))
        .current_dir(dir.join("node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let request = json!({ "url": server.url, "key": SERVER_KEY, "flag": flag, "context": context, "timeoutMs": 60_000 });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, lines)
}

fn read_line(lines: &mut std::io::Lines<BufReader<ChildStdout>>, what: &str) -> Value {
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("the web client ended before {what}"))
        .expect("utf-8");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"))
}

#[test]
fn the_web_provider_hears_an_edit_through_the_event_stream() {
    let dir = clients();
    let flags = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(root().join("examples/shop")).expect("shop") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "flag") {
            std::fs::copy(&path, flags.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let server = Serve::start(flags.path(), Some(SERVER_KEY));
    let context = json!({ "targetingKey": "u-1012", "env": { "name": "production" } });
    let eval_context = json!({ "user": { "id": "u-1012" }, "env": { "name": "production" } });
    let flag = "recommendation-slots";
    let before = eval_all(flags.path(), &eval_context)[flag].clone();

    let (mut child, mut lines) = web_client(dir, &server, flag, &context);
    let first = read_line(&mut lines, "the first evaluation");
    assert!(
        same(&first["value"], &before["value"]),
        "{first} vs {before}"
    );
    assert_eq!(first["reason"], before["reason"], "{first}");

    // Edit only once the provider's event stream is open (the server counts
    // it), so that the change can only reach it that way.
    wait_for_stream(&server);
    let catalog = flags.path().join("catalog.flag");
    let text = std::fs::read_to_string(&catalog).expect("catalog");
    let edited = text.replacen("  default 4\n", "  default 5\n", 1).replacen(
        "  expect recommendation-slots == 4\n",
        "  expect recommendation-slots == 5\n",
        1,
    );
    assert_ne!(
        edited, text,
        "the shop changed: recommendation-slots' default is not 4"
    );
    std::fs::write(&catalog, edited).expect("edit");
    let after_want = eval_all(flags.path(), &eval_context)[flag].clone();
    assert!(
        !same(&after_want["value"], &before["value"]),
        "the edit changes the value"
    );

    let after = read_line(&mut lines, "the evaluation after the change");
    assert!(
        same(&after["value"], &after_want["value"]),
        "{after} vs {after_want}"
    );
    assert_eq!(after["reason"], after_want["reason"], "{after}");
    assert!(
        after["flagsChanged"]
            .as_array()
            .is_some_and(|f| f.iter().any(|k| k == flag)),
        "{after}"
    );
    let status = child.wait().expect("node ends");
    assert!(status.success(), "{status}");
}

/// Sends one HTTP/1.1 request with a JSON body; the status line and body.
fn send(server: &Serve, method: &str, path: &str, key: &str, body: &Value) -> String {
    let addr = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = body.to_string();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nIf-Match: *\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reply");
    reply
}

#[test]
fn the_web_provider_sees_a_kill_switch_and_the_audit_names_who_and_why() {
    const ADMIN_KEY: &str = "e2e-admin-secret";
    let dir = clients();
    let shop = root().join("examples/shop");
    let flag = "recommendation-slots";
    // A shopper in the flag's 20% rollout (6 slots, not the default 4).
    let (context, before) = (0..200)
        .map(|i| format!("u-{i}"))
        .find_map(|id| {
            let eval_context = json!({ "user": { "id": id }, "env": { "name": "production" } });
            let details = eval_all(&shop, &eval_context)[flag].clone();
            (details["value"] == json!(6)).then(|| {
                (
                    json!({ "targetingKey": id, "env": { "name": "production" } }),
                    details,
                )
            })
        })
        .expect("a shopper in the 20% rollout among 200");
    let server = Serve::start_with_keys(
        &shop,
        Some(format!("server:e2e:{SERVER_KEY},admin:oncall:{ADMIN_KEY}")),
    );

    let (mut child, mut lines) = web_client(dir, &server, flag, &context);
    let first = read_line(&mut lines, "the first evaluation");
    assert!(
        same(&first["value"], &before["value"]),
        "{first} vs {before}"
    );
    assert_eq!(first["reason"], "SPLIT", "{first}");

    // The kill switch, once the provider's event stream is open.
    wait_for_stream(&server);
    let reply = send(
        &server,
        "PUT",
        &format!("/v1/overrides/{flag}"),
        ADMIN_KEY,
        &json!({ "action": { "kind": "off" }, "reason": "recommendations time out" }),
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    // The provider hears the change and its next evaluation is off.
    let after = read_line(&mut lines, "the evaluation after the kill switch");
    assert_eq!(after["value"], json!(4), "{after}");
    assert_eq!(after["reason"], "DISABLED", "{after}");
    assert!(
        after["flagsChanged"]
            .as_array()
            .is_some_and(|f| f.iter().any(|k| k == flag)),
        "{after}"
    );
    let status = child.wait().expect("node ends");
    assert!(status.success(), "{status}");

    // The audit log names who and why.
    let audit = server.get(&format!("/v1/audit?flag={flag}"), Some(SERVER_KEY));
    let body = audit.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = body.trim();
    // A chunked answer: the JSON object is between the first `{` and the last `}`.
    let json_text = &body[body.find('{').unwrap_or(0)..=body.rfind('}').unwrap_or(0)];
    let log: Value = serde_json::from_str(json_text).unwrap_or_else(|e| panic!("{e}: {audit}"));
    let entry = log["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "override_set"))
        .unwrap_or_else(|| panic!("no override_set entry: {log}"));
    assert_eq!(entry["actor"], "oncall", "{entry}");
    assert_eq!(entry["reason"], "recommendations time out", "{entry}");
}

/// Runs `tests/clients/python/SCRIPT` (Schemathesis on the document `spec`
/// against `server` with `key`, up to `examples` an operation, the fixed
/// seed) in a temporary directory, where Schemathesis keeps its cache; its
/// report, once it passed (else the test fails with it and the server's
/// log).
fn schemathesis(script: &str, spec: &Path, server: &Serve, key: &str, examples: &str) -> String {
    let work = tempfile::tempdir().expect("tmp");
    let out = Command::new(venv_python())
        .arg(clients().join("python").join(script))
        .arg(spec)
        .args([server.url.as_str(), key, examples, "20261208"])
        .current_dir(work.path())
        .output()
        .unwrap_or_else(|e| panic!("python runs {script}: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found a problem:\n{report}\nserver log:\n{}",
        server.log.lock().expect("log")
    );
    report
}

/// Schemathesis (an independent fuzzer, from OFREP's OpenAPI document) on
/// both OFREP endpoints: no server error, and every answer of a status,
/// content type, headers and body the specification allows; a request
/// without the key is refused. A fixed seed, so a failure is reproducible
/// (`fuzz_ofrep.py` says how it reads the specification and what it leaves
/// out).
#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_ofrep_s_schema() {
    let server = Serve::start(&root().join("examples/shop"), Some(SERVER_KEY));
    let spec = root().join("server/tests/ofrep/openapi.yaml");
    let report = schemathesis("fuzz_ofrep.py", &spec, &server, SERVER_KEY, "300");
    // It ran: both operations, and generated cases, none failed.
    assert!(report.contains("Tested: 2"), "{report}");
    let generated = report
        .split(" generated, ")
        .next()
        .and_then(|head| head.rsplit(char::is_whitespace).next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no count of generated cases:\n{report}"));
    assert!(generated >= 300, "{generated} cases:\n{report}");
    assert!(report.contains("No issues found"), "{report}");
}

/// Schemathesis on every operation of the server's own OpenAPI document
/// (`server/openapi.yaml`: everything but OFREP's evaluations and the
/// dashboard), against the real server with an admin key: no server
/// error; every answer of a status, content type, headers and body the
/// document gives for its operation; requests without the key, or
/// missing a required header, refused; methods the document does not
/// list answered 405; requests outside the schema refused and requests
/// inside it accepted (`fuzz_api.py` says which statuses the document
/// cannot predict and why). A fixed seed, so a failure is reproducible.
#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_server_s_own_document() {
    const ADMIN_KEY: &str = "fuzz-admin-secret";
    let server = Serve::start_with_keys(
        &root().join("examples/shop"),
        Some(format!("admin:fuzz:{ADMIN_KEY}")),
    );
    let spec = root().join("server/openapi.yaml");
    let report = schemathesis("fuzz_api.py", &spec, &server, ADMIN_KEY, "40");
    // It ran: every operation of the document, and generated cases, none
    // failed.
    let count = |label: &str| {
        report
            .split(label)
            .nth(1)
            .and_then(|rest| {
                let digits: String = rest
                    .trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse::<u32>().ok()
            })
            .unwrap_or_else(|| panic!("no `{label}` in the report:\n{report}"))
    };
    let operations = std::fs::read_to_string(&spec)
        .expect("the document")
        .lines()
        .filter(|l| {
            ["    get:", "    post:", "    put:", "    delete:"]
                .iter()
                .any(|m| l.trim_end() == *m)
        })
        .count() as u32;
    assert!(operations >= 19, "{operations} operations");
    assert_eq!(count("Selected:"), operations, "{report}");
    assert_eq!(count("Tested:"), operations, "{report}");
    let generated = report
        .split(" generated, ")
        .next()
        .and_then(|head| head.rsplit(char::is_whitespace).next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no count of generated cases:\n{report}"));
    assert!(generated >= 40 * operations, "{generated} cases:\n{report}");
    assert!(report.contains("No issues found"), "{report}");
}
