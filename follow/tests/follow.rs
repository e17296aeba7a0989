//! A follower against the real server, in-process on a loopback port:
//! `GET /v1/bundle`'s contract (ETag, 304, keys), then an engine that
//! follows a server through an outage and starts from its cache during
//! one. Every wait is for an event (bounded only so that a hang fails);
//! nothing is timed.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vexil_follow::{Event, FollowError, FollowOptions, Follower, Key, OnEvent, Origin};
use vexil_runtime::{Engine, Reason};
use vexil_server::{hash_secret, Config, KeyEntry, Running, Scope};

const ADMIN: &str = "admin-secret";
const SERVER: &str = "server-secret";
const CLIENT: &str = "client-secret";

/// A copy of the shop's flags, to change.
fn shop_copy() -> tempfile::TempDir {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(shop).expect("shop") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "flag") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

fn config(flags: &Path, data: &Path, listen: &str) -> Config {
    let mut c = Config {
        source: Some(flags.to_path_buf()),
        listen: listen.parse().expect("addr"),
        watch_interval_ms: 20,
        data_dir: Some(data.to_path_buf()),
        ..Config::default()
    };
    c.keys = [
        ("ops", Scope::Admin, ADMIN),
        ("backend", Scope::Server, SERVER),
        ("web", Scope::Client, CLIENT),
    ]
    .into_iter()
    .map(|(name, scope, secret)| KeyEntry {
        name: name.into(),
        scope,
        sha256: hash_secret(secret),
    })
    .collect();
    c
}

async fn start(config: Config) -> Running {
    vexil_server::start(config)
        .await
        .expect("the server starts")
}

fn url(running: &Running) -> String {
    format!("http://{}", running.addr())
}

/// `GET /v1/bundle` with `key`; (status, ETag, body).
async fn get_bundle(
    base: &str,
    key: Option<&str>,
    if_none_match: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut req = reqwest::Client::new().get(format!("{base}/v1/bundle"));
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    if let Some(etag) = if_none_match {
        req = req.header("if-none-match", etag);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, etag, res.text().await.expect("body"))
}

/// Set an override with the admin key (whatever the state is).
async fn set_override(base: &str, flag: &str, action: Value, reason: &str) {
    let res = reqwest::Client::new()
        .put(format!("{base}/v1/overrides/{flag}"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("if-match", "*")
        .json(&json!({ "action": action, "reason": reason }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        res.status().as_u16(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

fn data_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "follow-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_endpoint_serves_server_keys_with_an_etag_and_refuses_client_keys() {
    let flags = shop_copy();
    let server = start(config(flags.path(), &data_dir("endpoint"), "127.0.0.1:0")).await;
    let base = url(&server);

    let (status, etag, body) = get_bundle(&base, Some(SERVER), None).await;
    assert_eq!(status, 200, "{body}");
    let etag = etag.expect("an ETag");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        etag,
        format!("\"{}\"", body["version"].as_str().expect("version"))
    );
    assert_eq!(body["overrides"]["version"], 0);
    let bundle = vexil_runtime::ir::Bundle::from_json(&body["bundle"].to_string())
        .expect("the bundle loads");
    assert!(bundle
        .flags
        .iter()
        .any(|f| f.name == "payments-circuit-breaker"));
    assert!(body["eventStream"]
        .as_str()
        .is_some_and(|s| s.starts_with("/ofrep/v1/event-stream?token=")));

    // Asked by a caller holding the bundle: the same answer without it;
    // holding another: with it.
    let digest = body["bundleVersion"].as_str().expect("bundleVersion");
    for (have, left_out) in [(digest, true), ("0123456789abcdef", false)] {
        let res = reqwest::Client::new()
            .get(format!("{base}/v1/bundle?have={have}"))
            .header("authorization", format!("Bearer {SERVER}"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(
            res.headers().get("etag").and_then(|v| v.to_str().ok()),
            Some(etag.as_str())
        );
        let answer: Value = res.json().await.expect("JSON");
        assert_eq!(answer["version"], body["version"]);
        assert_eq!(answer["overrides"], body["overrides"]);
        assert_eq!(answer.get("bundle").is_none(), left_out, "have={have}");
    }

    // Unchanged: 304 with the same ETag and no body.
    let (status, again, body) = get_bundle(&base, Some(SERVER), Some(&etag)).await;
    assert_eq!(
        (status, again.as_deref(), body.as_str()),
        (304, Some(etag.as_str()), "")
    );
    // An admin key reads it too.
    assert_eq!(get_bundle(&base, Some(ADMIN), None).await.0, 200);

    // An override changes the ETag: the old one gets the new state.
    set_override(
        &base,
        "payments-circuit-breaker",
        json!({"kind": "off"}),
        "drill",
    )
    .await;
    let (status, newer, body) = get_bundle(&base, Some(SERVER), Some(&etag)).await;
    assert_eq!(status, 200);
    assert_ne!(newer.as_deref(), Some(etag.as_str()));
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        body["overrides"]["overrides"][0]["flag"],
        "payments-circuit-breaker"
    );
    assert_eq!(body["overrides"]["overrides"][0]["reason"], "drill");

    // Client keys never see the rules; no key is not a key.
    let (status, _, body) = get_bundle(&base, Some(CLIENT), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("`server` key"), "{body}");
    assert_eq!(get_bundle(&base, None, None).await.0, 401);
    assert_eq!(get_bundle(&base, Some("not-a-key"), None).await.0, 401);

    // And a follower with a client key does not start, saying why.
    let options = FollowOptions::new(base.clone(), Key::new(CLIENT));
    let refused = tokio::task::spawn_blocking(move || Follower::start(options).err())
        .await
        .expect("join");
    match refused {
        Some(FollowError::Refused(message)) => {
            assert!(
                message.contains("403") && message.contains("`server` key"),
                "{message}"
            );
            assert!(
                !message.contains(CLIENT),
                "the key is never shown: {message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    server.stop().await;
}

/// The events a follower reported, awaited one kind at a time.
struct Events(mpsc::Receiver<Event>);

impl Events {
    fn new() -> (Events, OnEvent) {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let on_event = move |e: &Event| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(e.clone());
            }
        };
        (Events(rx), Arc::new(on_event))
    }

    /// The next event that `want` accepts (others are skipped); fails the
    /// test if none comes in a minute (a hang, not a slow machine).
    async fn until(&mut self, what: &str, want: impl Fn(&Event) -> bool) -> Event {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match self.0.try_recv() {
                Ok(e) if want(&e) => return e,
                Ok(_) => {}
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(std::time::Instant::now() < deadline, "no event: {what}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => panic!("the follower stopped: {what}"),
            }
        }
    }
}

fn evaluate(engine: &Engine, flag: &str) -> vexil_runtime::Details {
    let ctx = engine.current().layout().context();
    engine.evaluate(flag, &ctx)
}

fn options(base: &str, cache: &Path, on_event: OnEvent) -> FollowOptions {
    let mut o = FollowOptions::new(base, Key::new(SERVER));
    o.cache = Some(cache.to_path_buf());
    o.start_timeout = Duration::from_secs(10);
    // Changes must come through the change stream: no poll in this test.
    o.poll_interval = Duration::from_secs(3600);
    o.on_event = Some(on_event);
    o
}

async fn start_follower(options: FollowOptions) -> Result<Follower, FollowError> {
    tokio::task::spawn_blocking(move || Follower::start(options))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_rides_out_an_outage_catches_up_and_starts_from_its_cache() {
    let flags = shop_copy();
    let data = data_dir("outage");
    let cache = data.join("follower").join("flags.json");
    let server = start(config(flags.path(), &data, "127.0.0.1:0")).await;
    let addr = server.addr().to_string();
    let base = url(&server);

    let (mut events, on_event) = Events::new();
    let follower = start_follower(options(&base, &cache, on_event))
        .await
        .expect("the follower starts");
    assert_eq!(follower.status().origin, Origin::Server);
    assert!(cache.exists(), "the first version is cached");
    let engine = follower.engine().clone();
    assert_eq!(
        evaluate(&engine, "payments-circuit-breaker").reason,
        Reason::Static
    );

    // A kill switch reaches the embedded engine through the change stream.
    set_override(
        &base,
        "payments-circuit-breaker",
        json!({"kind": "off"}),
        "acquirer double-charges",
    )
    .await;
    events
        .until("the override", |e| {
            matches!(
                e,
                Event::Loaded {
                    overrides: 1,
                    flags_changed: false,
                    ..
                }
            )
        })
        .await;
    let details = evaluate(&engine, "payments-circuit-breaker");
    assert_eq!(details.reason, Reason::Disabled);
    assert_eq!(
        details.overridden.as_ref().map(|o| o.reason.as_str()),
        Some("acquirer double-charges")
    );

    // The server goes away: the engine keeps evaluating its last version.
    server.stop().await;
    events
        .until("the outage", |e| matches!(e, Event::Disconnected { .. }))
        .await;
    assert!(!follower.status().connected);
    assert_eq!(
        evaluate(&engine, "payments-circuit-breaker").reason,
        Reason::Disabled
    );
    assert!(
        evaluate(&engine, "follower-probe").error_code.is_some(),
        "not there yet"
    );

    // Meanwhile git gets a new flag; the server comes back with it.
    let probe = "/// Added while the server was down.\nflag follower-probe: bool {\n  kind operational\n  owner \"team-platform\"\n  expires 2027-12-31\n  default true\n}\n";
    std::fs::write(flags.path().join("probe.flag"), probe).expect("write");
    let server = start(config(flags.path(), &data, &addr)).await;
    events
        .until("reconnection", |e| matches!(e, Event::Connected))
        .await;
    events
        .until("the new flags", |e| {
            matches!(
                e,
                Event::Loaded {
                    flags_changed: true,
                    ..
                }
            )
        })
        .await;
    assert_eq!(evaluate(&engine, "follower-probe").value, Some(json!(true)));
    assert_eq!(
        evaluate(&engine, "payments-circuit-breaker").reason,
        Reason::Disabled,
        "the override survived the restart and applies to the new version"
    );
    // And the next override after it.
    set_override(
        &base,
        "follower-probe",
        json!({"kind": "value", "value": false}),
        "probe the probe",
    )
    .await;
    events
        .until("the second override", |e| {
            matches!(e, Event::Loaded { overrides: 2, .. })
        })
        .await;
    assert_eq!(
        evaluate(&engine, "follower-probe").value,
        Some(json!(false))
    );
    let status = follower.status();
    assert!(
        status.connected && status.last_error.is_none(),
        "{status:?}"
    );
    let version = status.version;
    drop(follower);

    // A process started while the server is down starts from the cache,
    // and says so.
    server.stop().await;
    let (mut events, on_event) = Events::new();
    let follower = start_follower(options(&base, &cache, on_event))
        .await
        .expect("starts from the cache");
    let status = follower.status();
    assert!(matches!(status.origin, Origin::Cache { .. }), "{status:?}");
    assert_eq!(status.version, version);
    assert!(!status.connected);
    assert!(status.last_error.is_some_and(|e| !e.contains(SERVER)));
    events
        .until("the cached version", |e| {
            matches!(
                e,
                Event::Loaded {
                    origin: Origin::Cache { .. },
                    ..
                }
            )
        })
        .await;
    let engine = follower.engine();
    assert_eq!(evaluate(engine, "follower-probe").value, Some(json!(false)));
    assert_eq!(
        evaluate(engine, "payments-circuit-breaker").reason,
        Reason::Disabled
    );
    drop(follower);

    // Without a cache there is nothing to start from: a clear error.
    let mut o = FollowOptions::new(base.clone(), Key::new(SERVER));
    o.start_timeout = Duration::from_secs(10);
    match start_follower(o).await {
        Err(FollowError::Unavailable(message)) => {
            assert!(
                message.contains(&addr) && !message.contains(SERVER),
                "{message}"
            )
        }
        other => panic!("expected Unavailable, got {:?}", other.err()),
    }
}
