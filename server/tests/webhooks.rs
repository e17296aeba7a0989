//! Webhooks for audit entries, against a real HTTP receiver on 127.0.0.1:
//! each entry is signed (HMAC-SHA256 over the timestamp and the body, checked
//! here with the `hmac` crate), filtered by kind and flag, retried with
//! backoff when the receiver fails, and delivered after a restart when it
//! was written but not taken before the server stopped.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{config, shop, start, wait_for, Server};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use vexil_server::{hash_secret, Config, KeyEntry, Scope, WebhookConfig};

const ADMIN: &str = "admin-secret";
const SECRET: &str = "whsec-0123456789abcdef";

/// What the receiver was sent: (delivery id header, signature header, body).
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// A webhook receiver on a loopback port that answers 500 to its first
/// `fail` requests, then 204, and remembers every request.
struct Receiver {
    addr: SocketAddr,
    seen: Seen,
    fail: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverState {
    seen: Seen,
    fail: Arc<AtomicUsize>,
}

async fn take(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    state.seen.lock().unwrap().push((
        header("vexil-delivery"),
        header("vexil-signature"),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    let failing = state
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    async fn start(fail: usize) -> Receiver {
        let seen: Seen = Arc::default();
        let fail = Arc::new(AtomicUsize::new(fail));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(ReceiverState {
                seen: seen.clone(),
                fail: fail.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            addr,
            seen,
            fail,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn seen(&self) -> Vec<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// The entries taken (answered 2xx): the requests after the failures.
    fn bodies(&self) -> Vec<Value> {
        self.seen()
            .iter()
            .map(|(_, _, body)| serde_json::from_str(body).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn secret_file(dir: &Path) -> PathBuf {
    let file = dir.join("hook-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    file
}

fn hook(name: &str, url: String, secret: PathBuf) -> WebhookConfig {
    WebhookConfig {
        name: name.into(),
        url,
        secret_env: None,
        secret_file: Some(secret),
        kinds: Vec::new(),
        flags: Vec::new(),
        retry_base_ms: 20,
        retry_max_ms: 200,
    }
}

fn keyed(data_dir: &Path, hooks: Vec<WebhookConfig>) -> Config {
    let mut c = config(&shop());
    c.keys = vec![KeyEntry {
        name: "ops".into(),
        scope: Scope::Admin,
        sha256: hash_secret(ADMIN),
    }];
    c.data_dir = Some(data_dir.to_path_buf());
    c.store = Some(data_dir.join("vexil.db").display().to_string());
    c.webhooks = hooks;
    c
}

async fn set_off(server: &Server, flag: &str, reason: &str) {
    let (status, _, text) = server
        .send(
            reqwest::Method::PUT,
            &format!("/v1/overrides/{flag}"),
            &[("x-api-key", ADMIN), ("if-match", "*")],
            Some(json!({ "action": { "kind": "off" }, "reason": reason }).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{text}");
}

/// Check a delivery's signature as a receiver would: HMAC-SHA256 under
/// the shared secret of `TIMESTAMP.BODY`, the timestamp recent.
fn verify(signature: &str, body: &str) {
    let (t, v1) = signature
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("signature `{signature}`"));
    let sent: i64 = t.parse().unwrap();
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now - sent).abs() < 300,
        "a stale timestamp: {sent} at {now}"
    );
    let expected: Vec<u8> = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v1[i..i + 2], 16).unwrap())
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&expected).expect("a valid signature");
    // Another body under the same header does not verify (no replay of a
    // signature onto other content).
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body} ").as_bytes());
    assert!(mac.verify_slice(&expected).is_err());
}

#[tokio::test]
async fn entries_are_signed_filtered_and_retried_until_taken() {
    let dir = tempfile::tempdir().unwrap();
    let all = Receiver::start(2).await;
    let only = Receiver::start(0).await;
    let secret = secret_file(dir.path());
    let mut filtered = hook("express-sets", only.url(), secret.clone());
    filtered.kinds = vec!["override_set".into()];
    filtered.flags = vec!["express-checkout".into()];
    let server = start(keyed(
        dir.path(),
        vec![hook("all", all.url(), secret), filtered],
    ))
    .await;
    set_off(&server, "payment-provider", "stripe is down").await;
    set_off(&server, "express-checkout", "double charges").await;

    // Everything, from the server's start on, in log order, each entry
    // taken once after the receiver's two failures of the first.
    wait_for("three entries taken", || async { all.seen().len() >= 5 }).await;
    let seen = all.seen();
    let bodies = all.bodies();
    let ids: Vec<&str> = seen.iter().map(|(id, _, _)| id.as_str()).collect();
    // The first entry thrice (two failures, then taken), the same id each time.
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[2]);
    assert_ne!(ids[2], ids[3]);
    let taken: Vec<&Value> = bodies.iter().skip(2).collect();
    assert_eq!(taken[0]["entry"]["kind"], "version_swapped");
    assert_eq!(taken[1]["entry"]["kind"], "override_set");
    assert_eq!(taken[1]["entry"]["flag"], "payment-provider");
    assert_eq!(taken[1]["entry"]["actor"], "ops");
    assert_eq!(taken[1]["entry"]["reason"], "stripe is down");
    assert_eq!(taken[2]["entry"]["flag"], "express-checkout");
    for ((id, signature, body), parsed) in seen.iter().zip(&bodies) {
        verify(signature, body);
        assert_eq!(
            parsed["id"].to_string(),
            *id,
            "the delivery id is the entry's"
        );
        assert_eq!(parsed["id"], parsed["entry"]["id"]);
    }
    assert_eq!(taken[1]["hook"], "all");

    // The filtered hook: only override_set entries about express-checkout.
    wait_for("the filtered entry", || async { !only.seen().is_empty() }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let bodies = only.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["entry"]["flag"], "express-checkout");
    assert_eq!(bodies[0]["hook"], "express-sets");

    // Delivery state in /status and the metrics; the secret in neither.
    let (status, _, text) = server.get("/status", &[("x-api-key", ADMIN)]).await;
    assert_eq!(status, 200);
    assert!(!text.contains(SECRET));
    let status: Value = serde_json::from_str(&text).unwrap();
    let hooks = status["webhooks"].as_array().unwrap();
    assert_eq!(hooks[0]["name"], "all");
    assert_eq!(hooks[0]["delivered"], 3, "{status}");
    assert_eq!(hooks[0]["failures"], 2, "{status}");
    assert_eq!(hooks[0]["url"], all.url());
    assert!(hooks[0].get("lastError").is_none(), "{status}");
    assert_eq!(hooks[1]["delivered"], 1, "{status}");
    assert_eq!(hooks[1]["position"], hooks[0]["position"], "{status}");
    let (_, _, metrics) = server.get("/metrics", &[("x-api-key", ADMIN)]).await;
    assert!(
        metrics.contains("vexil_webhook_deliveries_total{hook=\"all\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vexil_webhook_failures_total{hook=\"all\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains(SECRET));
    server.running.stop().await;
}

#[tokio::test]
async fn an_entry_not_taken_before_a_restart_is_delivered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that is down (fails everything) while the entry is written.
    let receiver = Receiver::start(usize::MAX).await;
    let hooks = vec![hook("ops", receiver.url(), secret_file(dir.path()))];
    let server = start(keyed(dir.path(), hooks.clone())).await;
    set_off(&server, "express-checkout", "before the crash").await;
    // The first entry (the server's start) is refused, so the override,
    // after it, is not taken either.
    wait_for("attempts", || async { receiver.seen().len() >= 2 }).await;
    assert!(receiver
        .bodies()
        .iter()
        .all(|b| b["entry"]["kind"] == "version_swapped"));
    let (_, _, text) = server.get("/status", &[("x-api-key", ADMIN)]).await;
    let status: Value = serde_json::from_str(&text).unwrap();
    assert!(
        status["webhooks"][0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{status}"
    );
    server.running.stop().await;

    // The receiver comes back; the server restarts on the same store.
    receiver.fail.store(0, Ordering::SeqCst);
    let attempts = receiver.seen().len();
    let server = start(keyed(dir.path(), hooks)).await;
    wait_for("the override delivered after the restart", || async {
        receiver.seen().len() > attempts
            && receiver
                .bodies()
                .iter()
                .skip(attempts)
                .any(|b| b["entry"]["reason"] == "before the crash")
    })
    .await;
    // Nothing skipped: the entries after the restart follow in log order,
    // starting with the oldest one never taken.
    let after: Vec<Value> = receiver.bodies().into_iter().skip(attempts).collect();
    assert_eq!(after[0]["entry"]["kind"], "version_swapped", "{after:?}");
    let ids: Vec<u64> = after.iter().map(|b| b["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    server.running.stop().await;
}
