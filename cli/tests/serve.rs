//! `vexil serve` as a process: it refuses what it must, with the exit
//! statuses of the other commands, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

fn shop() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/shop")
}

#[test]
fn without_keys_it_refuses_a_public_address() {
    let data = tempfile::tempdir().expect("tmp");
    Command::cargo_bin("vexil")
        .expect("binary")
        .current_dir(data.path())
        .env_remove("VEXIL_KEYS")
        .args(["serve", "--listen", "0.0.0.0:0"])
        .arg(shop())
        .assert()
        .code(2)
        .stderr(contains(
            "refusing to listen on `0.0.0.0:0` without API keys",
        ));
}

#[test]
fn broken_flags_do_not_start() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("a.flag"),
        "flag x: bool {\n  kind relase\n  default true\n}\n",
    )
    .expect("write");
    Command::cargo_bin("vexil")
        .expect("binary")
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains("E0309"))
        .stderr(contains("the flags cannot be served"));
}

#[test]
fn a_bad_vexil_keys_entry_is_refused() {
    let data = tempfile::tempdir().expect("tmp");
    Command::cargo_bin("vexil")
        .expect("binary")
        .current_dir(data.path())
        .env("VEXIL_KEYS", "root:ops:secret")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(shop())
        .assert()
        .code(2)
        .stderr(contains("expected `client`, `server`, `viewer` or `admin`"))
        .stderr(contains("secret").not());
}

#[cfg(unix)]
#[test]
fn it_serves_and_stops_on_sigterm() {
    let bin = assert_cmd::cargo::cargo_bin("vexil");
    let data = tempfile::tempdir().expect("tmp");
    let mut child = StdCommand::new(bin)
        .current_dir(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .arg(shop())
        .env("VEXIL_KEYS", "server:ops:s3cret-value")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    while !log.contains("serving OFREP") {
        assert!(Instant::now() < deadline, "no start-up line: {log}");
        match lines.next() {
            Some(Ok(line)) => {
                log.push_str(&line);
                log.push('\n');
            }
            _ => break,
        }
    }
    assert!(log.contains("serving OFREP"), "{log}");
    assert!(log.lines().all(|l| l.starts_with('{')), "JSON logs: {log}");
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    log.push_str(&rest.join("\n"));
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains("s3cret-value"), "a secret was logged: {log}");
}

#[test]
fn an_unreachable_bundle_url_without_a_cache_does_not_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    // The data directory (cache, event store) is `.vexil` in the working directory.
    let data = tempfile::tempdir().expect("tmp");
    Command::cargo_bin("vexil")
        .expect("binary")
        .current_dir(data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(format!("http://127.0.0.1:{port}/bundle.json"))
        .assert()
        .code(1)
        .stderr(contains("cannot fetch `http://127.0.0.1:"))
        .stderr(contains("no cached bundle at"))
        .stderr(contains(".vexil-cache"));
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[cfg(unix)]
#[test]
fn acknowledged_events_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("vexil.toml"),
        "listen = \"127.0.0.1:0\"\nevents_db = \"data/events.db\"\n",
    )
    .expect("config");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let config = dir.path().join("vexil.toml");
    let config = config.to_str().expect("utf-8 path");
    let shop = shop();
    let shop = shop.to_str().expect("utf-8 path");
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("vexil"))
        .current_dir(dir.path())
        .env_remove("VEXIL_KEYS")
        .env("NO_COLOR", "1")
        .args(["serve", "--config", config, shop])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut log = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server ended before serving")
            .expect("a log line");
        log.push_str(&line);
        log.push('\n');
        let marker = "serving OFREP at http://";
        if let Some(rest) = line
            .find(marker)
            .and_then(|at| line.get(at + marker.len()..))
        {
            break rest.split('/').next().expect("address").to_string();
        }
        assert!(!log.contains("error"), "{log}");
    };
    // Keep draining its log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let mut acknowledged = 0;
    for batch in 0..10 {
        let lines: Vec<String> = (0..20)
            .map(|i| {
                format!(
                    r#"{{"type":"track","id":"o-{batch}-{i}","event":"purchase","unit":"u-{i}","value":{i},"time":1764547200000000}}"#
                )
            })
            .collect();
        let (status, body) = http(&addr, "POST", "/v1/events", &lines.join("\n"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"accepted\":20"), "{body}");
        acknowledged += 20;
    }
    // No graceful anything: SIGKILL right after the last acknowledgement.
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    let store = vexil_events::Store::open_existing(&dir.path().join("data/events.db"))
        .expect("the store the server wrote");
    let (exposures, tracks) = store.counts().expect("counts");
    assert_eq!((exposures, tracks), (0, acknowledged));
}

/// `vexil serve SHOP` in development mode with its data in `data`: the
/// child and the address it serves on.
#[cfg(unix)]
fn serve_in(data: &std::path::Path, shop: &std::path::Path) -> (std::process::Child, String) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("vexil"))
        .current_dir(data)
        .env_remove("VEXIL_KEYS")
        .env("NO_COLOR", "1")
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg(shop)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server ended before serving")
            .expect("a log line");
        let marker = "serving OFREP at http://";
        if let Some(rest) = line
            .find(marker)
            .and_then(|at| line.get(at + marker.len()..))
        {
            break rest.split('/').next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Stops a `serve_in` child gracefully (its usage is flushed).
#[cfg(unix)]
fn stop(mut child: std::process::Child) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    assert!(child.wait().expect("wait").success());
}

/// `vexil stale --unused-days 30` against a server whose usage history
/// covers 40 days (its store moved back in time between two runs): a flag
/// last evaluated 35 days ago and flags never evaluated are stale as
/// unused, with their evidence; a flag evaluated today is not.
#[cfg(unix)]
#[test]
fn stale_unused_days_over_a_history_of_forty_days() {
    const DAY: i64 = 86_400_000_000;
    let data = tempfile::tempdir().expect("tmp");
    let shop = shop();
    let (child, addr) = serve_in(data.path(), &shop);
    let (status, body) = http(
        &addr,
        "POST",
        "/ofrep/v1/evaluate/flags/express-checkout",
        r#"{"context":{"targetingKey":"u-1"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    stop(child);
    // The store, 40 days of history; gift-options last evaluated 35 days ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64;
    let store = rusqlite::Connection::open(data.path().join("vexil.db")).expect("the store");
    store
        .execute(
            "UPDATE vexil_usage_history SET starts_at = ?1 WHERE id = 1",
            [now - 40 * DAY],
        )
        .expect("history");
    store
        .execute(
            "INSERT OR REPLACE INTO vexil_usage_last (flag, at) VALUES ('gift-options', ?1)",
            [now - 35 * DAY],
        )
        .expect("last evaluation");
    drop(store);
    let (child, addr) = serve_in(data.path(), &shop);
    let out = Command::cargo_bin("vexil")
        .expect("binary")
        .env_remove("VEXIL_KEY")
        .arg("stale")
        .arg(&shop)
        .args(["--server", &format!("http://{addr}")])
        .args(["--unused-days", "30", "--format", "json"])
        .output()
        .expect("run");
    stop(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("note: the usage history"), "{stderr}");
    let stale: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let unused = |name: &str| {
        stale
            .as_array()
            .expect("a list")
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| {
                s["evidence"]
                    .as_array()
                    .expect("evidence")
                    .iter()
                    .find(|e| e["signal"] == "unused-for")
                    .cloned()
            })
    };
    let gifts = unused("gift-options").expect("gift-options is unused");
    assert_eq!(gifts["days"], 30, "{gifts}");
    assert_eq!(gifts["days_since"], 35, "{gifts}");
    assert!(gifts["last_evaluated"].is_string(), "{gifts}");
    // Never evaluated: as far as the usage asked for goes (the server
    // answers the 30 days asked, which its history covers).
    let never = unused("returns-portal").expect("returns-portal is unused");
    assert_eq!(never["last_evaluated"], serde_json::Value::Null, "{never}");
    assert_eq!(never["days_since"], 30, "{never}");
    assert!(unused("express-checkout").is_none(), "evaluated today");
}

/// `vexil stale --unused-days` against a running `vexil serve`, and on the
/// `/v1/usage` JSON saved to a file: a history that began moments ago
/// proves nothing unused, and the report says so instead of claiming.
#[cfg(unix)]
#[test]
fn stale_unused_days_reads_a_running_servers_usage_rollups() {
    let data = tempfile::tempdir().expect("tmp");
    let shop = shop();
    let (child, addr) = serve_in(data.path(), &shop);
    let context = r#"{"context":{"targetingKey":"u-1"}}"#;
    let (status, body) = http(
        &addr,
        "POST",
        "/ofrep/v1/evaluate/flags/express-checkout",
        context,
    );
    assert_eq!(status, 200, "{body}");
    let (status, usage) = http(&addr, "GET", "/v1/usage?hours=24", "");
    assert_eq!(status, 200, "{usage}");
    let summary: serde_json::Value = serde_json::from_str(&usage).expect("JSON");
    let express = summary["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["flag"] == "express-checkout")
        .expect("express-checkout");
    assert_eq!(express["total"], 1, "{express}");
    let file = data.path().join("usage.json");
    std::fs::write(&file, &usage).expect("write");
    let server = format!("http://{addr}");
    for source in [
        ["--server", server.as_str()],
        ["--usage", file.to_str().expect("utf-8")],
    ] {
        let out = Command::cargo_bin("vexil")
            .expect("binary")
            .env_remove("VEXIL_KEY")
            .arg("stale")
            .arg(&shop)
            .args(source)
            .args(["--unused-days", "1", "--format", "json"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stderr.contains("note: the usage history"), "{stderr}");
        assert!(
            stderr.contains("(0 days ago), shorter than 1 day"),
            "{stderr}"
        );
        assert!(!stdout.contains("unused-for"), "{stdout}");
    }
    stop(child);
}
