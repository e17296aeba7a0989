//! Propagation: the time from an override's write (the `PUT` has returned)
//! to the first OFREP answer that shows it, on the server written to and
//! on a second server sharing its PostgreSQL, and to an embedded follower
//! (`vexil-follow`) evaluating it. Servers run in this process on loopback
//! ports; PostgreSQL is a real server from `scripts/postgres.sh`.
//!
//! `cargo run --release -p vexil-bench-propagation [-- CHANGES]` (100 by
//! default). Prints a markdown table, the machine and its load.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vexil_follow::{FollowOptions, Follower, Key};
use vexil_runtime::Engine;
use vexil_server::{hash_secret, Config, KeyEntry, Running, Scope};

const ADMIN: &str = "bench-admin";
const SERVER: &str = "bench-server";
const FLAG: &str = "payments-circuit-breaker";
/// A change that has not shown after this long is a failure, not a figure.
const GIVE_UP: Duration = Duration::from_secs(30);

fn config(flags: &Path, data: &Path, store: Option<String>) -> Config {
    let mut c = Config {
        source: Some(flags.to_path_buf()),
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: Some(data.to_path_buf()),
        store,
        ..Config::default()
    };
    c.keys = [("ops", Scope::Admin, ADMIN), ("svc", Scope::Server, SERVER)]
        .into_iter()
        .map(|(name, scope, secret)| KeyEntry {
            name: name.into(),
            scope,
            sha256: hash_secret(secret),
        })
        .collect();
    c
}

fn base(running: &Running) -> String {
    format!("http://{}", running.addr())
}

/// The value change `i` forces.
fn value(i: usize) -> bool {
    i.is_multiple_of(2)
}

async fn write(http: &reqwest::Client, server: &str, i: usize) {
    let res = http
        .put(format!("{server}/v1/overrides/{FLAG}"))
        .bearer_auth(ADMIN)
        .header("if-match", "*")
        .json(&json!({
            "action": { "kind": "value", "value": value(i) },
            "reason": format!("propagation bench, change {i}"),
        }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(res.status().as_u16(), 200, "the write was refused");
}

/// Ask `server` over OFREP until it answers `want`; the time from `from`.
async fn ofrep_shows(http: &reqwest::Client, server: &str, want: bool, from: Instant) -> Duration {
    loop {
        let res: Value = http
            .post(format!("{server}/ofrep/v1/evaluate/flags/{FLAG}"))
            .bearer_auth(SERVER)
            .json(&json!({ "context": { "targetingKey": "bench-user" } }))
            .send()
            .await
            .expect("OFREP")
            .json()
            .await
            .expect("JSON");
        if res["value"] == json!(want) {
            return from.elapsed();
        }
        assert!(from.elapsed() < GIVE_UP, "OFREP never showed the change");
    }
}

/// Evaluate in the follower's engine until it answers `want` (as a
/// service's requests would: in-process); the time from `from`.
fn follower_shows(engine: &Engine, want: bool, from: Instant) -> Duration {
    let ctx = engine.current().layout().context();
    loop {
        if engine.bool_value(FLAG, &ctx, !want) == want {
            return from.elapsed();
        }
        assert!(
            from.elapsed() < GIVE_UP,
            "the follower never showed the change"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Times of `changes` writes to `written`, seen over OFREP on `read` and
/// by a follower of `read`.
async fn measure(written: &str, read: &str, changes: usize) -> (Vec<Duration>, Vec<Duration>) {
    let http = reqwest::Client::new();
    let mut options = FollowOptions::new(read, Key::new(SERVER));
    options.poll_interval = Duration::from_secs(3600); // the change stream alone
    let follower = tokio::task::spawn_blocking(move || Follower::start(options))
        .await
        .expect("join")
        .expect("the follower starts");
    let engine: Arc<Engine> = follower.engine().clone();
    let (mut ofrep, mut follow) = (Vec::new(), Vec::new());
    // Two warm-up changes, not counted.
    for i in 0..changes + 2 {
        write(&http, written, i).await;
        let from = Instant::now();
        let want = value(i);
        let engine = engine.clone();
        let seen = tokio::task::spawn_blocking(move || follower_shows(&engine, want, from));
        let o = ofrep_shows(&http, read, want, from).await;
        let f = seen.await.expect("join");
        if i >= 2 {
            ofrep.push(o);
            follow.push(f);
        }
        // The next write starts from a settled state.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::spawn_blocking(move || drop(follower))
        .await
        .expect("join");
    (ofrep, follow)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    // Nearest rank.
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn row(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {what} | {} | {:.2} | {:.2} | {:.2} |",
        times.len(),
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99)),
        ms(times[times.len() - 1]),
    );
}

fn shop_copy() -> tempfile::TempDir {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop");
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(shop).expect("shop") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "flag") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let changes: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("CHANGES is a number"))
        .unwrap_or(100);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "machine: {}; load average before: {}; {profile} build",
        machine(),
        load()
    );
    let flags = shop_copy();
    let data = tempfile::tempdir().expect("tmp");

    // One server, SQLite.
    let one = vexil_server::start(config(flags.path(), &data.path().join("one"), None))
        .await
        .expect("the server starts");
    let (ofrep_one, follow_one) = measure(&base(&one), &base(&one), changes).await;
    one.stop().await;

    // Two servers on one PostgreSQL: written to A, read from B.
    let db = vexil_control::testing::fresh_database().await;
    let a = vexil_server::start(config(
        flags.path(),
        &data.path().join("a"),
        Some(db.clone()),
    ))
    .await
    .expect("server A starts");
    let b = vexil_server::start(config(flags.path(), &data.path().join("b"), Some(db)))
        .await
        .expect("server B starts");
    let (ofrep_two, follow_two) = measure(&base(&a), &base(&b), changes).await;
    a.stop().await;
    b.stop().await;

    println!();
    println!("| from the PUT's answer to | changes | median ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    row(
        "the first OFREP answer showing it, same server (SQLite)",
        ofrep_one,
    );
    row("a follower of that server evaluating it", follow_one);
    row(
        "the first OFREP answer showing it, another server on the same PostgreSQL",
        ofrep_two,
    );
    row("a follower of that other server evaluating it", follow_two);
    println!();
    println!("load average after: {}", load());
}
