//! Following the source: an edit is checked and tested before it is served,
//! a broken one keeps the last good version, and clients hear of each swap.

mod common;

use std::time::Duration;

use common::{config, shop_copy, shopper, start, wait_for};
use futures_util::StreamExt;
use serde_json::{json, Value};

const CATALOG: &str = "catalog.flag";

/// Replace text in the catalog, all edits in one atomic write (a temporary
/// file renamed into place, as editors save): a plain `fs::write` truncates
/// first, and under load the watcher can see the empty file stand still
/// long enough to take it as the new version, which is not the edit the
/// test means to make.
fn edit(dir: &std::path::Path, edits: &[(&str, &str)]) {
    let path = dir.join(CATALOG);
    let mut text = std::fs::read_to_string(&path).expect("read");
    for (from, to) in edits {
        assert!(text.contains(from), "the shop changed: `{from}` is gone");
        text = text.replacen(from, to, 1);
    }
    let tmp = dir.join(".catalog.flag.tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, &path).expect("rename");
}

/// Serving 5 by default, with the test that says so.
const FIVE: &[(&str, &str)] = &[
    ("  default 4\n", "  default 5\n"),
    (
        "  expect recommendation-slots == 4\n",
        "  expect recommendation-slots == 5\n",
    ),
];

async fn slots(server: &common::Server) -> Value {
    let (status, body) = server
        // Outside the 20% rollout (the shop's own test says so): the default.
        .evaluate("recommendation-slots", &json!({ "user": { "id": "u-1001", "email": "vera@gmail.com", "roles": [], "tier": "bronze", "lifetime_spend": 80.0 } }))
        .await;
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

#[tokio::test]
async fn an_edit_is_served_and_announced_on_the_event_stream() {
    let dir = shop_copy();
    let server = start(config(dir.path())).await;
    assert_eq!(slots(&server).await, 4);
    let (_, _, bulk) = server
        .post(
            "/ofrep/v1/evaluate/flags",
            &json!({ "context": shopper("u-1") }),
        )
        .await;
    let version = bulk["metadata"]["version"].clone();
    let mut stream = server.stream(&bulk).await.bytes_stream();

    edit(dir.path(), FIVE);
    // The stream's next message names the new version.
    let text = common::next_refetch(&mut stream).await;
    assert!(text.contains("retry: "), "{text}");
    assert!(text.contains("event: message"), "{text}");
    // Every message is one OFREP's event-streams.yaml describes.
    let event = common::contract::events(&text)
        .into_iter()
        .find(|e| e["type"] == "refetchEvaluation")
        .expect("a refetchEvaluation message");
    assert_ne!(event["etag"], version);
    assert!(event["lastModified"].is_i64());
    // ...and by then the new value is served.
    assert_eq!(slots(&server).await, 5);
    let (_, _, bulk) = server
        .post(
            "/ofrep/v1/evaluate/flags",
            &json!({ "context": shopper("u-1") }),
        )
        .await;
    assert_eq!(bulk["metadata"]["version"], event["etag"]);
    // Stopping ends the open stream rather than waiting for it.
    let grace = std::time::Instant::now();
    server.running.stop().await;
    assert!(
        grace.elapsed() < Duration::from_secs(10),
        "shutdown waited out its grace period"
    );
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream did not end");
}

#[tokio::test]
async fn a_broken_edit_or_a_failing_test_keeps_the_last_good_version() {
    let dir = shop_copy();
    let server = start(config(dir.path())).await;
    async fn status(server: &common::Server) -> Value {
        let (_, _, text) = server.get("/status", &[]).await;
        serde_json::from_str(&text).expect("json")
    }
    let before = status(&server).await;

    // Does not compile.
    edit(dir.path(), &[("  default 4\n", "  default four\n")]);
    wait_for("the refused reload", || async {
        status(&server).await["lastReload"]["ok"] == false
    })
    .await;
    let s = status(&server).await;
    assert_eq!(s["version"], before["version"]);
    let error = s["lastReload"]["error"]
        .as_str()
        .expect("diagnostics")
        .to_string();
    assert!(error.contains("catalog.flag"), "{error}");
    assert_eq!(slots(&server).await, 4);

    // Fixed: served again.
    edit(dir.path(), &[("  default four\n", "  default 4\n")]);
    wait_for("the fixed version", || async {
        status(&server).await["lastReload"]["ok"] == true
    })
    .await;

    // Compiles, but the shop's own test of the default fails.
    edit(dir.path(), &[("  default 4\n", "  default 5\n")]);
    wait_for("the refused version", || async {
        status(&server).await["lastReload"]["ok"] == false
    })
    .await;
    let s = status(&server).await;
    let error = s["lastReload"]["error"]
        .as_str()
        .expect("failures")
        .to_string();
    assert!(error.contains("tests fail"), "{error}");
    assert!(error.contains("FAIL "), "{error}");
    assert!(
        error.contains("outside the rollout, the default"),
        "{error}"
    );
    assert_eq!(slots(&server).await, 4);

    let (_, _, metrics) = server.get("/metrics", &[]).await;
    assert!(
        metrics.contains("vexil_reload_failures_total 2"),
        "{metrics}"
    );
    server.running.stop().await;
}

#[tokio::test]
async fn a_bundle_file_is_served_and_reloaded_when_it_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let bundle_path = dir.path().join("bundle.json");
    let write = |default: i64| {
        let source = format!(
            "context user {{\n  key id: string\n}}\nflag limit: int {{\n  kind operational\n  default {default}\n}}\n"
        );
        let project_dir = tempfile::tempdir().expect("tmp");
        std::fs::write(project_dir.path().join("f.flag"), source).expect("write");
        let engine = vexil_runtime::Engine::from_dir(project_dir.path(), Default::default())
            .expect("compiles");
        let json = engine.snapshot().bundle().to_json();
        // Write whole, then rename: a reader never sees half a file.
        let tmp = dir.path().join("bundle.tmp");
        std::fs::write(&tmp, json).expect("write");
        std::fs::rename(&tmp, &bundle_path).expect("rename");
    };
    write(1);
    let server = start(config(&bundle_path)).await;
    let (status, body) = server.evaluate("limit", &json!({})).await;
    assert_eq!((status, body["value"].clone()), (200, json!(1)));
    let (_, _, s) = server.get("/status", &[]).await;
    assert!(s.contains("\"kind\":\"bundle\""), "{s}");
    // A different size, so the change shows even within one mtime tick.
    write(1000);
    wait_for("the new bundle", || async {
        server.evaluate("limit", &json!({})).await.1["value"] == 1000
    })
    .await;
    // A broken file keeps the last good version.
    std::fs::write(&bundle_path, "{ not a bundle").expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.evaluate("limit", &json!({})).await.1["value"], 1000);
    server.running.stop().await;
}

#[tokio::test]
async fn a_broken_source_does_not_start() {
    let dir = shop_copy();
    edit(dir.path(), &[("  default 4\n", "  default four\n")]);
    match vexil_server::start(config(dir.path())).await {
        Err(vexil_server::ServeError::Flags(message)) => {
            assert!(message.contains("catalog.flag"), "{message}")
        }
        Err(other) => panic!("expected the flags' errors, got {other}"),
        Ok(_) => panic!("a broken repository must not be served"),
    }
}
