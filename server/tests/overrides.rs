//! Overrides and the audit log over HTTP, on the SQLite store and on a real
//! PostgreSQL shared by two servers: a kill switch served and announced on
//! the event stream, audited with actor and reason; scopes (refusals
//! audited too); validation that stores nothing; ETag / If-Match with 412
//! on a stale write; expiry that lifts itself; drift in `/status`; an audit
//! log that no endpoint can alter.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{config, key_entries, shop, shopper, start, Server};
use futures_util::StreamExt;
use serde_json::{json, Value};
use vexil_server::{hash_secret, KeyEntry, Scope};

const ADMIN: &str = "admin-secret";
const SERVER: &str = "server-secret";
const CLIENT: &str = "client-secret";

fn keyed(store: Option<String>) -> vexil_server::Config {
    let mut c = config(&shop());
    c.keys = key_entries(&[
        ("ops", Scope::Admin, ADMIN),
        ("backend", Scope::Server, SERVER),
        ("web", Scope::Client, CLIENT),
    ]);
    c.store = store;
    c
}

/// A request with a key; (status, headers, JSON body or the text as a string).
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = server.http.request(method.clone(), server.url(path));
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    // Every answer checked against server/openapi.yaml (or OFREP's).
    let (status, headers, text) = common::read_checked(method.as_str(), path, res).await;
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, json)
}

async fn set(
    server: &Server,
    flag: &str,
    if_match: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(
        server,
        reqwest::Method::PUT,
        &format!("/v1/overrides/{flag}"),
        Some(ADMIN),
        &[("if-match", if_match)],
        Some(body),
    )
    .await
}

async fn audit(server: &Server, query: &str) -> Vec<Value> {
    let (status, _, body) = call(
        server,
        reqwest::Method::GET,
        &format!("/v1/audit{query}"),
        Some(SERVER),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

async fn evaluate(server: &Server, flag: &str) -> Value {
    let (status, _, body) = call(
        server,
        reqwest::Method::POST,
        &format!("/ofrep/v1/evaluate/flags/{flag}"),
        // A server key sees every flag (a client key only `client` ones).
        Some(SERVER),
        &[],
        Some(json!({ "context": shopper("u-1") })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The next `refetchEvaluation` on an open event stream (a hang guard,
/// not a timing assertion).
async fn next_refetch(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
) -> Value {
    let mut text = String::new();
    loop {
        if let Some(data) = text.lines().find_map(|l| {
            l.strip_prefix("data: ")
                .filter(|d| d.contains("refetchEvaluation"))
        }) {
            return serde_json::from_str(data).unwrap();
        }
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("an event")
            .expect("open")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn open_stream(
    server: &Server,
) -> impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin {
    let (_, _, bulk) = call(
        server,
        reqwest::Method::POST,
        "/ofrep/v1/evaluate/flags",
        Some(CLIENT),
        &[],
        Some(json!({ "context": shopper("u-1") })),
    )
    .await;
    server.stream(&bulk).await.bytes_stream()
}

#[tokio::test]
async fn a_kill_switch_is_served_announced_and_audited() {
    let server = start(keyed(None)).await;
    assert_eq!(
        evaluate(&server, "payment-provider").await["variant"],
        "stripe"
    );
    let mut stream = open_stream(&server).await;

    let (status, headers, body) = set(
        &server,
        "payment-provider",
        "\"0\"",
        json!({ "action": { "kind": "variant", "variant": "adyen" }, "reason": "stripe is down" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(body["version"], 1);
    assert_eq!(body["overrides"][0]["actor"], "ops");

    let event = next_refetch(&mut stream).await;
    assert!(event["etag"].as_str().unwrap().ends_with("-o1"), "{event}");
    let served = evaluate(&server, "payment-provider").await;
    assert_eq!(served["variant"], "adyen");
    assert_eq!(served["reason"], "STATIC");
    assert_eq!(served["metadata"]["override"], true);
    assert_eq!(served["metadata"]["overrideActor"], "ops");
    assert_eq!(served["metadata"]["overrideReason"], "stripe is down");

    // Off: the default, reason DISABLED.
    let (status, _, _) = set(
        &server,
        "express-checkout",
        "\"1\"",
        json!({ "action": { "kind": "off" }, "reason": "double charges" }),
    )
    .await;
    assert_eq!(status, 200);
    let off = evaluate(&server, "express-checkout").await;
    assert_eq!(
        (off["value"].clone(), off["reason"].clone()),
        (json!(false), json!("DISABLED"))
    );

    let entries = audit(&server, "?flag=payment-provider").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "override_set");
    assert_eq!(entries[0]["actor"], "ops");
    assert_eq!(entries[0]["reason"], "stripe is down");
    assert!(entries[0]["origin"].as_str().unwrap().contains("127.0.0.1"));
    assert_eq!(entries[0]["after"]["action"]["variant"], "adyen");

    // Drift in /status.
    let (_, _, status) = call(
        &server,
        reqwest::Method::GET,
        "/status",
        Some(SERVER),
        &[],
        None,
    )
    .await;
    let flags = status["overrides"]["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 2);
    assert!(flags
        .iter()
        .any(|f| f["flag"] == "express-checkout" && f["actor"] == "ops" && f["applied"] == true));

    // Lifting: served as compiled again, audited.
    let (status, _, body) = call(
        &server,
        reqwest::Method::DELETE,
        "/v1/overrides/payment-provider",
        Some(ADMIN),
        &[("if-match", "*")],
        Some(json!({"reason": "stripe is back"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let back = evaluate(&server, "payment-provider").await;
    assert_eq!(back["variant"], "stripe");
    assert!(back["metadata"].get("override").is_none());
    let lifted = audit(&server, "?flag=payment-provider").await;
    assert_eq!(lifted.last().unwrap()["kind"], "override_lifted");
    assert_eq!(lifted.last().unwrap()["reason"], "stripe is back");
    server.running.stop().await;
}

#[tokio::test]
async fn only_admin_keys_write_and_refusals_are_audited() {
    let server = start(keyed(None)).await;
    let body = json!({ "action": { "kind": "off" }, "reason": "r" });
    for (key, expected) in [
        (None, 401),
        (Some("wrong"), 401),
        (Some(CLIENT), 403),
        (Some(SERVER), 403),
    ] {
        let (status, _, reply) = call(
            &server,
            reqwest::Method::PUT,
            "/v1/overrides/express-checkout",
            key,
            &[("if-match", "*")],
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, expected, "{key:?}: {reply}");
    }
    // Reads: server and admin keys, not client keys.
    assert_eq!(
        call(
            &server,
            reqwest::Method::GET,
            "/v1/overrides",
            Some(CLIENT),
            &[],
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &server,
            reqwest::Method::GET,
            "/v1/overrides",
            Some(SERVER),
            &[],
            None
        )
        .await
        .0,
        200
    );
    let (_, _, state) = call(
        &server,
        reqwest::Method::GET,
        "/v1/overrides",
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(state["version"], 0);
    // The refusals are in the log (written in the background: awaited).
    let mut refused = Vec::new();
    for _ in 0..300 {
        refused = audit(&server, "")
            .await
            .into_iter()
            .filter(|e| e["kind"] == "write_refused")
            .collect();
        if refused.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(refused.len(), 4);
    let actors: Vec<_> = refused
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["anonymous", "anonymous", "web", "backend"]);
    assert!(refused.iter().all(|e| e["flag"] == "express-checkout"));
    assert!(refused[2]["reason"]
        .as_str()
        .unwrap()
        .contains("`admin` key"));
    server.running.stop().await;
}

#[tokio::test]
async fn bad_writes_are_refused_clearly_and_store_nothing() {
    let server = start(keyed(None)).await;
    let cases = [
        (
            "nope",
            json!({ "action": { "kind": "off" }, "reason": "r" }),
            "no flag or experiment named `nope`",
        ),
        (
            "payment-provider",
            json!({ "action": { "kind": "variant", "variant": "paypal" }, "reason": "r" }),
            "no variant `paypal`",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "value", "value": "yes" }, "reason": "r" }),
            "serves bool values",
        ),
        (
            "new-checkout",
            json!({ "action": { "kind": "rollout", "rule": "nope", "percent": 10 }, "reason": "r" }),
            "no rule named `nope`",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "off" } }),
            "needs a `reason`",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "off" }, "reason": "  " }),
            "needs a `reason`",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "off" }, "reason": "r", "expiresAt": "2020-01-01T00:00:00Z" }),
            "in the past",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "off" }, "reason": "r", "expiresAt": "tomorrow" }),
            "not an RFC 3339 time",
        ),
        (
            "express-checkout",
            json!({ "action": { "kind": "explode" }, "reason": "r" }),
            "kinds: off, value",
        ),
    ];
    for (flag, body, expected) in cases {
        let (status, _, reply) = set(&server, flag, "*", body.clone()).await;
        assert_eq!(status, 400, "{body}: {reply}");
        let details = reply["errorDetails"].as_str().unwrap();
        assert!(details.contains(expected), "{body}: {details}");
    }
    // No If-Match: 428; a malformed one: 400.
    let body = json!({ "action": { "kind": "off" }, "reason": "r" });
    let (status, _, reply) = call(
        &server,
        reqwest::Method::PUT,
        "/v1/overrides/express-checkout",
        Some(ADMIN),
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 428, "{reply}");
    assert_eq!(
        set(&server, "express-checkout", "\"abc\"", body).await.0,
        400
    );
    let (_, _, state) = call(
        &server,
        reqwest::Method::GET,
        "/v1/overrides",
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(state["version"], 0);
    assert!(audit(&server, "")
        .await
        .iter()
        .all(|e| e["kind"] != "override_set"));
    server.running.stop().await;
}

#[tokio::test]
async fn an_expired_override_lifts_itself_and_the_lift_is_audited() {
    let server = start(keyed(None)).await;
    let mut stream = open_stream(&server).await;
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500);
    let (status, _, body) = set(
        &server,
        "express-checkout",
        "*",
        json!({ "action": { "kind": "value", "value": true }, "reason": "demo", "expiresAt": expires.to_string() }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        next_refetch(&mut stream).await["etag"]
            .as_str()
            .unwrap()
            .rsplit("-o")
            .next(),
        Some("1")
    );
    assert_eq!(evaluate(&server, "express-checkout").await["value"], true);
    // The lift is the next change announced.
    let event = next_refetch(&mut stream).await;
    assert!(event["etag"].as_str().unwrap().ends_with("-o2"), "{event}");
    let served = evaluate(&server, "express-checkout").await;
    assert!(served["metadata"].get("override").is_none(), "{served}");
    let log = audit(&server, "?flag=express-checkout").await;
    let last = log.last().unwrap();
    assert_eq!(last["kind"], "override_expired");
    assert_eq!(last["actor"], "system");
    server.running.stop().await;
}

#[tokio::test]
async fn no_endpoint_alters_the_audit_log() {
    let server = start(keyed(None)).await;
    set(
        &server,
        "express-checkout",
        "*",
        json!({ "action": { "kind": "off" }, "reason": "r" }),
    )
    .await;
    let before = audit(&server, "").await;
    assert!(!before.is_empty());
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::POST,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        for path in ["/v1/audit", "/v1/audit/1"] {
            let (status, _, _) = call(
                &server,
                method.clone(),
                path,
                Some(ADMIN),
                &[],
                Some(json!({"actor": "mallory"})),
            )
            .await;
            assert!(status == 405 || status == 404, "{method} {path}: {status}");
        }
    }
    let after = audit(&server, "").await;
    assert_eq!(before, after[..before.len()]);
    assert!(after.iter().all(|e| e["actor"] != "mallory"));
    // JSON Lines, by query or by Accept.
    let (status, headers, text) = server
        .get("/v1/audit?format=jsonl", &[("x-api-key", SERVER)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/jsonl");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), after.len());
    assert_eq!(lines[0], after[0]);
    let (_, _, text) = server
        .get(
            "/v1/audit?actor=ops",
            &[("x-api-key", SERVER), ("accept", "application/x-ndjson")],
        )
        .await;
    assert_eq!(text.lines().count(), 1, "{text}");
    server.running.stop().await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_share_overrides_and_refuse_stale_writes() {
    let url = vexil_control::testing::fresh_database().await;
    let a = start(keyed(Some(url.clone()))).await;
    let b = start(keyed(Some(url))).await;
    let mut b_stream = open_stream(&b).await;
    let (status, _, body) = set(
        &a,
        "express-checkout",
        "\"0\"",
        json!({ "action": { "kind": "off" }, "reason": "from a" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // B hears of it (LISTEN/NOTIFY) and serves it.
    let event = next_refetch(&mut b_stream).await;
    assert!(event["etag"].as_str().unwrap().ends_with("-o1"), "{event}");
    let served = evaluate(&b, "express-checkout").await;
    assert_eq!(served["reason"], "DISABLED");
    assert_eq!(served["metadata"]["overrideReason"], "from a");

    // Both write on version 1 at once: one wins, the other gets 412.
    let body =
        |who: &str| json!({ "action": { "kind": "variant", "variant": "adyen" }, "reason": who });
    let (one, two) = tokio::join!(
        set(&a, "payment-provider", "\"1\"", body("a")),
        set(&b, "payment-provider", "\"1\"", body("b")),
    );
    let mut statuses = [one.0, two.0];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{:?} {:?}", one.2, two.2);
    let stale = if one.0 == 412 { &one } else { &two };
    assert_eq!(stale.1["etag"], "\"2\"");
    assert_eq!(stale.2["errorCode"], "STALE");
    // One ordered log, read from either server.
    let log_a = audit(&a, "").await;
    let log_b = audit(&b, "").await;
    assert_eq!(log_a, log_b);
    let ids: Vec<u64> = log_a.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        log_a.iter().filter(|e| e["kind"] == "override_set").count(),
        2
    );
    a.running.stop().await;
    b.running.stop().await;
}

#[tokio::test]
async fn while_the_database_is_away_evaluation_goes_on_and_writes_get_503() {
    let pg = vexil_control::testing::PrivateServer::start();
    let server = start(keyed(Some(pg.url.clone()))).await;
    let (status, _, _) = set(
        &server,
        "express-checkout",
        "*",
        json!({ "action": { "kind": "off" }, "reason": "before" }),
    )
    .await;
    assert_eq!(status, 200);

    pg.pause();
    let (status, headers, reply) = set(
        &server,
        "payment-provider",
        "*",
        json!({ "action": { "kind": "variant", "variant": "adyen" }, "reason": "during" }),
    )
    .await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["errorCode"], "UNAVAILABLE");
    assert!(headers.contains_key("retry-after"));
    // Evaluation goes on, with the last known overrides.
    assert_eq!(
        evaluate(&server, "express-checkout").await["reason"],
        "DISABLED"
    );
    assert_eq!(
        evaluate(&server, "payment-provider").await["variant"],
        "stripe"
    );
    let (_, _, status) = call(
        &server,
        reqwest::Method::GET,
        "/status",
        Some(SERVER),
        &[],
        None,
    )
    .await;
    assert_eq!(status["overrides"]["available"], false, "{status}");

    // Back: writes work again, with nothing to restart.
    pg.resume();
    let mut last = 0;
    for _ in 0..200 {
        last = set(
            &server,
            "payment-provider",
            "*",
            json!({ "action": { "kind": "variant", "variant": "adyen" }, "reason": "after" }),
        )
        .await
        .0;
        if last == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, 200);
    assert_eq!(
        evaluate(&server, "payment-provider").await["variant"],
        "adyen"
    );
    server.running.stop().await;
}

async fn usage(server: &Server, query: &str, key: Option<&str>) -> (u16, Value) {
    let (status, _, body) = call(
        server,
        reqwest::Method::GET,
        &format!("/v1/usage{query}"),
        key,
        &[],
        None,
    )
    .await;
    (status, body)
}

fn flag_usage<'a>(summary: &'a Value, flag: &str) -> &'a Value {
    summary["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flag"] == flag)
        .unwrap_or_else(|| panic!("no `{flag}` in {summary}"))
}

#[tokio::test]
async fn usage_is_kept_in_the_store_and_survives_a_restart() {
    const VIEWER: &str = "viewer-secret";
    let mut config = keyed(None);
    config.keys = config_keys_with_viewer(VIEWER);
    let a = start(config.clone()).await;
    for _ in 0..3 {
        evaluate(&a, "express-checkout").await;
    }
    evaluate(&a, "payment-provider").await;

    let (status, summary) = usage(&a, "?hours=2", Some(VIEWER)).await;
    assert_eq!(status, 200, "{summary}");
    let express = flag_usage(&summary, "express-checkout");
    assert_eq!(express["total"], 3, "{express}");
    assert_eq!(express["served"], true);
    assert!(express["last_evaluated"].is_string(), "{express}");
    let by_reason: u64 = express["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, 3);
    let hours = express["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 1, "{express}");
    assert_eq!(hours[0]["count"], 3);
    assert_eq!(flag_usage(&summary, "payment-provider")["total"], 1);
    // A flag nobody evaluated is listed, with nothing.
    let idle = flag_usage(&summary, "wishlist-sharing");
    assert_eq!(idle["total"], 0);
    assert!(idle["last_evaluated"].is_null());
    // The history started with this server, within the two hours asked
    // for: not long enough to prove a flag unused over them.
    let starts: jiff::Timestamp = summary["history_starts"].as_str().unwrap().parse().unwrap();
    let since: jiff::Timestamp = summary["since"].as_str().unwrap().parse().unwrap();
    assert!(starts > since, "{summary}");
    assert_eq!(summary["complete"], false);

    // One flag; people's keys only; bad queries are refused clearly.
    let (status, one) = usage(&a, "?hours=2&flag=payment-provider", Some(ADMIN)).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["flags"].as_array().unwrap().len(), 1);
    for key in [Some(SERVER), Some(CLIENT)] {
        let (status, body) = usage(&a, "", key).await;
        assert_eq!(status, 403, "{body}");
    }
    assert_eq!(usage(&a, "", None).await.0, 401);
    for bad in [
        "?hours=0",
        "?hours=lots",
        "?since=yesterday",
        "?since=2026-01-01T00:00:00Z&hours=3",
        "?color=red",
    ] {
        let (status, body) = usage(&a, bad, Some(VIEWER)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["errorDetails"].is_string(), "{bad}: {body}");
    }
    let (status, body) = usage(&a, "?flag=no-such-flag", Some(VIEWER)).await;
    assert_eq!(status, 404, "{body}");

    // Counted after the last read: written by the graceful stop.
    evaluate(&a, "express-checkout").await;
    a.running.stop().await;
    let b = start(config).await;
    evaluate(&b, "express-checkout").await;
    let (status, after) = usage(&b, "?hours=2", Some(VIEWER)).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        flag_usage(&after, "express-checkout")["total"],
        5,
        "{after}"
    );
    assert_eq!(after["history_starts"], summary["history_starts"]);
    b.running.stop().await;

    // With the rollups off nothing is counted or recorded.
    let mut off = keyed(None);
    off.keys = config_keys_with_viewer(VIEWER);
    off.usage.enabled = false;
    let c = start(off).await;
    evaluate(&c, "express-checkout").await;
    let (status, none) = usage(&c, "?hours=2", Some(VIEWER)).await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(flag_usage(&none, "express-checkout")["total"], 0, "{none}");
    assert!(none["history_starts"].is_null(), "{none}");
    c.running.stop().await;
}

fn config_keys_with_viewer(viewer: &str) -> Vec<KeyEntry> {
    let mut keys = keyed(None).keys;
    keys.push(KeyEntry {
        name: "people".into(),
        scope: Scope::Viewer,
        sha256: hash_secret(viewer),
    });
    keys
}
