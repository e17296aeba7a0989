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
    Command::cargo_bin("vexil")
        .expect("binary")
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
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains("E0309"))
        .stderr(contains("the flags cannot be served"));
}

#[test]
fn a_bad_vexil_keys_entry_is_refused() {
    Command::cargo_bin("vexil")
        .expect("binary")
        .env("VEXIL_KEYS", "admin:ops:secret")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(shop())
        .assert()
        .code(2)
        .stderr(contains("expected `client` or `server`"))
        .stderr(contains("secret").not());
}

#[cfg(unix)]
#[test]
fn it_serves_and_stops_on_sigterm() {
    let bin = assert_cmd::cargo::cargo_bin("vexil");
    let mut child = StdCommand::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
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
    // The data directory (cache, event store) is the working directory.
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
