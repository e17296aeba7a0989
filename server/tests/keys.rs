//! API keys created and revoked at run time, on the SQLite store and on a
//! real PostgreSQL shared by two servers: the token is returned once and
//! works at once; lists hold no secret; a revoked key is refused at once on
//! its server and soon on the other; only `admin` keys manage keys; every
//! creation and revocation is audited with its actor.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{config, key_entries, shop, shopper, start, wait_for, Server};
use serde_json::{json, Value};
use vexil_server::{hash_secret, Scope};

const ADMIN: &str = "admin-secret";
const SERVER: &str = "server-secret";

fn keyed(store: Option<String>) -> vexil_server::Config {
    let mut c = config(&shop());
    c.keys = key_entries(&[
        ("ops", Scope::Admin, ADMIN),
        ("backend", Scope::Server, SERVER),
    ]);
    c.store = store;
    c
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = server
        .http
        .request(method.clone(), server.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    // Every answer checked against server/openapi.yaml (or OFREP's).
    let (status, headers, text) = common::read_checked(method.as_str(), path, res).await;
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A single evaluation with `key`: its status.
async fn evaluates(server: &Server, key: &str) -> u16 {
    let (status, _, _) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags/express-checkout",
            json!({ "context": shopper("u-1") }).to_string(),
            &[("x-api-key", key)],
        )
        .await;
    status
}

async fn create(server: &Server, name: &str, scope: &str) -> Value {
    let (status, headers, body) = call(
        server,
        reqwest::Method::POST,
        "/v1/keys",
        ADMIN,
        Some(json!({ "name": name, "scope": scope, "reason": "for the deploys" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

async fn audit(server: &Server) -> Vec<Value> {
    let (status, _, body) = call(server, reqwest::Method::GET, "/v1/audit", ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_key_is_created_listed_without_secrets_revoked_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let on_disk = || {
        let mut c = keyed(None);
        c.data_dir = Some(dir.path().to_path_buf());
        c
    };
    let server = start(on_disk()).await;
    let made = create(&server, "deploy-bot", "server").await;
    let token = made["token"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert!(token.len() >= 64, "{token}");
    assert_eq!(made["name"], "deploy-bot");
    assert_eq!(made["scope"], "server");
    assert_eq!(made["created_by"], "ops");
    // It works at once, with its scope: a server key reads /status.
    assert_eq!(evaluates(&server, &token).await, 200);
    let (status, _, _) = call(&server, reqwest::Method::GET, "/status", &token, None).await;
    assert_eq!(status, 200);
    // ... and manages no keys (refused, audited).
    let (status, _, body) = call(
        &server,
        reqwest::Method::POST,
        "/v1/keys",
        &token,
        Some(json!({ "name": "x", "scope": "admin" })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = call(&server, reqwest::Method::GET, "/v1/keys", SERVER, None).await;
    assert_eq!(status, 403);

    // The list: no token, no hash.
    let (status, _, list) = call(&server, reqwest::Method::GET, "/v1/keys", ADMIN, None).await;
    assert_eq!(status, 200, "{list}");
    let text = list.to_string();
    assert!(!text.contains(&token));
    assert!(!text.contains(&hash_secret(&token)));
    assert_eq!(list["keys"][0]["id"], id.as_str());
    assert_eq!(list["configured"][0]["name"], "ops");
    assert!(!text.contains(ADMIN));

    // Bad requests: clear 400s, nothing stored.
    for bad in [
        json!({ "name": "", "scope": "server" }),
        json!({ "name": "a b", "scope": "server" }),
        json!({ "name": "ok", "scope": "root" }),
        json!({ "name": "ok" }),
    ] {
        let (status, _, body) = call(
            &server,
            reqwest::Method::POST,
            "/v1/keys",
            ADMIN,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 400, "{bad} {body}");
        assert!(body["errorDetails"].as_str().is_some(), "{body}");
    }

    // Revoked: refused at once.
    let (status, _, body) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/keys/{id}"),
        ADMIN,
        Some(json!({ "reason": "leaked in a log" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(evaluates(&server, &token).await, 401);
    // Again, or an unknown id: 404.
    for path in [format!("/v1/keys/{id}"), "/v1/keys/key_nope".to_string()] {
        let (status, _, _) = call(&server, reqwest::Method::DELETE, &path, ADMIN, None).await;
        assert_eq!(status, 404);
    }

    let log = audit(&server).await;
    let created = log.iter().find(|e| e["kind"] == "key_created").unwrap();
    assert_eq!(created["actor"], "ops");
    assert_eq!(created["reason"], "for the deploys");
    let revoked = log.iter().find(|e| e["kind"] == "key_revoked").unwrap();
    assert_eq!(revoked["actor"], "ops");
    assert_eq!(revoked["reason"], "leaked in a log");
    assert!(log
        .iter()
        .any(|e| e["kind"] == "write_refused" && e["actor"] == "deploy-bot"));
    // The audit log holds no token nor hash either.
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&token) && !text.contains(&hash_secret(&token)));
    server.running.stop().await;

    // Keys live in the store: a restarted server knows the revocation.
    let again = start(on_disk()).await;
    assert_eq!(evaluates(&again, &token).await, 401);
    again.running.stop().await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_share_keys_and_revocations() {
    let url = vexil_control::testing::fresh_database().await;
    let a = start(keyed(Some(url.clone()))).await;
    let b = start(keyed(Some(url))).await;
    let made = create(&a, "mobile", "client").await;
    let token = made["token"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(evaluates(&a, &token).await, 200);
    wait_for("b to know the new key", || async {
        evaluates(&b, &token).await == 200
    })
    .await;
    let (status, _, body) = call(
        &b,
        reqwest::Method::DELETE,
        &format!("/v1/keys/{id}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(evaluates(&b, &token).await, 401);
    // The other server re-reads the keys every 500 ms.
    wait_for("a to refuse the revoked key", || async {
        evaluates(&a, &token).await == 401
    })
    .await;
    let kinds: Vec<Value> = audit(&a).await.iter().map(|e| e["kind"].clone()).collect();
    assert!(kinds.contains(&json!("key_created")) && kinds.contains(&json!("key_revoked")));
    a.running.stop().await;
    b.running.stop().await;
}
