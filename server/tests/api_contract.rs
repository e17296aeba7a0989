//! The server's own API contract, on purpose: `server/openapi.yaml` is
//! served, describes every route of `router.rs` but OFREP's two evaluation
//! endpoints and the dashboard (and nothing else), and every status it lists
//! that a test can produce is produced here and checked against it (as
//! every response of every server test is, by `common::contract`). A
//! response outside the document fails the check.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::contract::{self, api};
use common::{config, key_entries, shop, shopper, start, Server};
use reqwest::Method;
use serde_json::{json, Value};
use vexil_server::{RateLimit, Scope};

const ADMIN: &str = "admin-secret";
const SERVER: &str = "server-secret";
const VIEWER: &str = "viewer-secret";
const CLIENT: &str = "client-secret";

/// OFREP's evaluation endpoints: OFREP's own document specifies them.
const OFREP_EVALUATIONS: [&str; 2] = ["/ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags"];

fn keyed() -> vexil_server::Config {
    let mut c = config(&shop());
    c.keys = key_entries(&[
        ("ops", Scope::Admin, ADMIN),
        ("backend", Scope::Server, SERVER),
        ("person", Scope::Viewer, VIEWER),
        ("web", Scope::Client, CLIENT),
    ]);
    c
}

/// The routes `router.rs` declares, as (path, method), read from its
/// source: a route added there without documentation fails the test below.
fn routes() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let router = std::fs::read_to_string(src.join("router.rs")).expect("router.rs");
    let mut routes = BTreeSet::new();
    for (at, _) in router.match_indices(".route(") {
        let args = &router[at + ".route(".len()..];
        // The arguments end at the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = args
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route(");
        let (path, methods) = args[..end].split_once(',').expect("path, methods");
        let path = path.trim();
        let path = match path.strip_prefix('"') {
            Some(literal) => literal.trim_end_matches('"').to_string(),
            // A constant: `module::NAME`, a `&str` in `module.rs`.
            None => {
                let (module, name) = path.split_once("::").expect("module::NAME");
                let text = std::fs::read_to_string(src.join(format!("{module}.rs")))
                    .expect("the constant's module");
                let decl = format!("const {name}: &str = \"");
                let from = text.find(&decl).expect("the constant") + decl.len();
                text[from..]
                    .split('"')
                    .next()
                    .expect("its value")
                    .to_string()
            }
        };
        for method in ["get", "post", "put", "delete", "patch"] {
            let call = format!("{method}(");
            let named = methods.match_indices(&call).any(|(i, _)| {
                methods[..i]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
            });
            if named {
                routes.insert((path.clone(), method.to_string()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_document_is_served_and_describes_every_route_and_no_other() {
    let server = start(keyed()).await;
    // No key needed: it holds no data.
    let (status, headers, text) = server.get("/v1/openapi.yaml", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/yaml");
    assert_eq!(text, contract::API, "the document served is the file");
    let served: Value = serde_norway::from_str(&text).expect("the document parses");
    assert_eq!(served["openapi"], "3.1.0");
    server.running.stop().await;

    let routes = routes();
    assert!(routes.len() > 15, "{routes:?}");
    let documented: BTreeSet<(String, String)> = served["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (path.clone(), m.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = routes
        .into_iter()
        .filter(|(path, _)| !OFREP_EVALUATIONS.contains(&path.as_str()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes of router.rs server/openapi.yaml does not describe: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "server/openapi.yaml describes what router.rs does not route: {extra:?}"
    );
    // Every operation names its scopes, and has an id.
    for (path, method) in &documented {
        let op = &served["paths"][path][method];
        assert!(
            op["operationId"].is_string(),
            "{method} {path}: no operationId"
        );
        let text = op["description"].as_str().unwrap_or_default();
        assert!(
            text.contains("Scope") || text.contains("No key needed") || text.contains("token"),
            "{method} {path}: the description does not say which keys it takes"
        );
    }
}

/// A check of something outside the document panics, naming what broke.
fn refused(method: &str, path: &str, status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    let outcome = std::panic::catch_unwind(|| contract::check(method, path, status, &map, body));
    let panic = outcome.expect_err("the check refuses it");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn an_answer_outside_the_document_fails_the_check() {
    let json = [("content-type", "application/json")];
    let error = r#"{"errorCode":"GENERAL","errorDetails":"no"}"#;
    // A status the operation does not list.
    let message = refused("GET", "/v1/keys", 418, &json, error);
    assert!(
        message.contains("418") && message.contains("GET /v1/keys"),
        "{message}"
    );
    // A body its schema refuses: a field the server never sends, a wrong
    // type, a missing member, an error code of another status.
    for (method, path, status, body) in [
        ("GET", "/healthz", 200, r#"{"status":"ok","extra":1}"#),
        ("GET", "/readyz", 200, r#"{"status":"ready","version":7}"#),
        ("GET", "/v1/audit", 200, r#"{"entries":[{"id":0}]}"#),
        ("GET", "/v1/overrides/x", 404, error),
        ("GET", "/v1/keys", 401, r#"{"errorCode":"GENERAL"}"#),
    ] {
        let message = refused(method, path, status, &json, body);
        assert!(message.contains("breaks its schema"), "{message}");
    }
    // A content type it does not list, a required header missing or
    // malformed, a body where it gives none.
    let message = refused(
        "GET",
        "/healthz",
        200,
        &[("content-type", "text/html")],
        "<p>ok</p>",
    );
    assert!(message.contains("content type `text/html`"), "{message}");
    let stale = r#"{"errorCode":"STALE","errorDetails":"read again"}"#;
    let message = refused("PUT", "/v1/overrides/x", 412, &json, stale);
    assert!(message.contains("no `ETag` header"), "{message}");
    let message = refused(
        "PUT",
        "/v1/overrides/x",
        412,
        &[("content-type", "application/json"), ("etag", "7")],
        stale,
    );
    assert!(message.contains("`ETag: 7` breaks its schema"), "{message}");
    let message = refused("GET", "/v1/bundle", 304, &[("etag", "\"ab\"")], "{}");
    assert!(message.contains("gives no body"), "{message}");
    // And the same answers, as the document has them, pass.
    let headers = reqwest::header::HeaderMap::new();
    let mut with_etag = headers.clone();
    with_etag.insert("etag", "\"ab\"".parse().expect("etag"));
    contract::check("GET", "/v1/bundle", 304, &with_etag, "");
    with_etag.insert("content-type", "application/json".parse().expect("json"));
    with_etag.insert("etag", "\"7\"".parse().expect("etag"));
    contract::check("PUT", "/v1/overrides/x", 412, &with_etag, stale);
}

/// A request sent by hand whose body stops short of its `Content-Length`:
/// the answer once the server gives up, checked.
async fn stopped_short(server: &Server, method: &str, path: &str, key: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.running.addr())
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\nif-match: *\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"reason\""
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    // The server closes the connection after its answer.
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut reply))
        .await
        .expect("an answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&reply).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).expect("name"),
                v.trim().parse().expect("value"),
            );
        }
    }
    contract::check(method, path, status, &headers, body);
    status
}

#[tokio::test]
async fn every_status_of_every_operation_validates() {
    let events = tempfile::tempdir().expect("tmp");
    let mut c = keyed();
    c.limits.body_bytes = 4 * 1024;
    c.limits.request_timeout_ms = 1_000;
    c.events_db = Some(events.path().join("events.db"));
    c.sse.max_clients = 1;
    let server = start(c).await;
    let key = |k: &'static str| [("x-api-key", k)];
    let send = |method: Method,
                path: String,
                k: Option<&'static str>,
                h: Vec<(&'static str, String)>,
                body: Option<Value>| {
        let server = &server;
        async move {
            let mut headers: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
            if let Some(k) = k {
                headers.push(("x-api-key", k));
            }
            server
                .send(method, &path, &headers, body.map(|b| b.to_string()))
                .await
        }
    };
    let huge = json!({ "reason": "x".repeat(8 * 1024) });
    // One request and the status it must get (its answer is checked
    // against the document by `send`).
    macro_rules! expect {
        ($method:ident $path:expr, $key:expr, $headers:expr, $body:expr => $status:expr) => {{
            let path: String = $path.into();
            assert_eq!(
                send(Method::$method, path.clone(), $key, $headers, $body)
                    .await
                    .0,
                $status,
                "{} {path}",
                stringify!($method)
            )
        }};
    }

    // Open to anyone.
    for path in ["/healthz", "/readyz", "/v1/openapi.yaml"] {
        assert_eq!(server.get(path, &[]).await.0, 200, "{path}");
    }

    // The operational endpoints: server, viewer and admin keys.
    for path in [
        "/status",
        "/metrics",
        "/v1/bundle",
        "/v1/overrides",
        "/v1/audit",
        "/v1/rollouts",
    ] {
        assert_eq!(server.get(path, &[]).await.0, 401, "{path}");
        assert_eq!(server.get(path, &key(CLIENT)).await.0, 403, "{path}");
        for k in [SERVER, VIEWER, ADMIN] {
            assert_eq!(server.get(path, &key(k)).await.0, 200, "{path}");
        }
    }
    let (_, headers, _) = server.get("/v1/bundle?have=nope", &key(SERVER)).await;
    let etag = headers["etag"].to_str().expect("etag").to_string();
    let (status, _, body) = server
        .get(
            "/v1/bundle",
            &[("x-api-key", SERVER), ("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!((status, body.as_str()), (304, ""));
    let version = etag.trim_matches('"').to_string();
    let (status, _, body) = server
        .get(&format!("/v1/bundle?have={version}"), &key(SERVER))
        .await;
    assert_eq!(status, 200);
    assert!(!body.contains("\"bundle\":"), "{body}");
    assert_eq!(
        server.get("/v1/bundle?have=a&have=b", &key(SERVER)).await.0,
        400
    );
    let (status, headers, _) = server.get("/v1/audit?format=jsonl", &key(SERVER)).await;
    assert_eq!(
        (status, &headers["content-type"]),
        (200, &"application/jsonl".parse().expect("ct"))
    );
    for query in [
        "?limit=many",
        "?format=xml",
        "?since=yesterday",
        "?color=red",
    ] {
        assert_eq!(
            server
                .get(&format!("/v1/audit{query}"), &key(SERVER))
                .await
                .0,
            400,
            "{query}"
        );
    }

    // Explanations.
    let explain = |k: Option<&'static str>, flag: &str, body: Value| {
        send(
            Method::POST,
            format!("/v1/explain/{flag}"),
            k,
            vec![],
            Some(body),
        )
    };
    let context = json!({ "context": shopper("u-1"), "now": "2026-12-07T12:00:00Z" });
    for flag in ["new-checkout", "checkout-layout"] {
        assert_eq!(
            explain(Some(VIEWER), flag, context.clone()).await.0,
            200,
            "{flag}"
        );
    }
    for bad in [
        json!([1]),
        json!({ "now": "noon" }),
        json!({ "now": 12 }),
        json!({ "context": "u-1" }),
    ] {
        assert_eq!(
            explain(Some(SERVER), "new-checkout", bad.clone()).await.0,
            400,
            "{bad}"
        );
    }
    assert_eq!(explain(None, "new-checkout", context.clone()).await.0, 401);
    assert_eq!(
        explain(Some(CLIENT), "new-checkout", context.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        explain(Some(SERVER), "no-such-flag", context.clone())
            .await
            .0,
        404
    );
    assert_eq!(
        explain(Some(SERVER), "new-checkout", huge.clone()).await.0,
        413
    );

    // Overrides: reads, then writes with If-Match.
    let path = "/v1/overrides/express-checkout".to_string();
    let off = json!({ "action": { "kind": "off" }, "reason": "contract" });
    let if_match = |v: &str| vec![("if-match", v.to_string())];
    for (k, status) in [(None, 401), (Some(CLIENT), 403)] {
        assert_eq!(
            send(Method::GET, path.clone(), k, vec![], None).await.0,
            status
        );
    }
    expect!(GET path.clone(), Some(SERVER), vec![], None => 404);
    expect!(PUT path.clone(), Some(ADMIN), vec![], Some(off.clone()) => 428);
    expect!(PUT path.clone(), Some(ADMIN), if_match("\"999\""), Some(off.clone()) => 412);
    for (header, body) in [
        ("later", off.clone()),
        ("*", json!({ "action": { "kind": "off" } })),
        (
            "*",
            json!({ "action": { "kind": "variant", "variant": "nope" }, "reason": "r" }),
        ),
        (
            "*",
            json!({ "action": { "kind": "off" }, "reason": "r", "expiresAt": "2001-01-01T00:00:00Z" }),
        ),
    ] {
        assert_eq!(
            send(
                Method::PUT,
                path.clone(),
                Some(ADMIN),
                if_match(header),
                Some(body.clone())
            )
            .await
            .0,
            400,
            "{header} {body}"
        );
    }
    expect!(PUT path.clone(), Some(ADMIN), if_match("*"), Some(huge.clone()) => 413);
    expect!(PUT path.clone(), None, if_match("*"), Some(off.clone()) => 401);
    for k in [SERVER, VIEWER, CLIENT] {
        expect!(PUT path.clone(), Some(k), if_match("*"), Some(off.clone()) => 403);
        expect!(DELETE path.clone(), Some(k), if_match("*"), None => 403);
    }
    expect!(DELETE path.clone(), None, if_match("*"), None => 401);
    expect!(PUT path.clone(), Some(ADMIN), if_match("\"0\""), Some(off.clone()) => 200);
    expect!(GET path.clone(), Some(SERVER), vec![], None => 200);
    let rollout = json!({ "action": { "kind": "value", "value": 5 }, "reason": "contract", "expiresAt": "2999-01-01T00:00:00Z" });
    expect!(PUT "/v1/overrides/recommendation-slots", Some(ADMIN), if_match("W/\"1\""), Some(rollout) => 200);
    assert_eq!(stopped_short(&server, "PUT", &path, ADMIN).await, 408);
    expect!(DELETE path.clone(), Some(ADMIN), vec![], None => 428);
    expect!(DELETE path.clone(), Some(ADMIN), if_match("\"1\""), None => 412);
    expect!(DELETE path.clone(), Some(ADMIN), if_match("*"), Some(json!({ "why": "x" })) => 400);
    expect!(DELETE path.clone(), Some(ADMIN), if_match("*"), Some(huge.clone()) => 413);
    expect!(DELETE path.clone(), Some(ADMIN), if_match("*"), Some(json!({ "reason": "done" })) => 200);
    expect!(DELETE path.clone(), Some(ADMIN), if_match("*"), None => 404);
    // A method a path does not take: 405, an error body, no operation.
    expect!(PATCH path.clone(), Some(ADMIN), vec![], None => 405);

    // Keys: admin only.
    let new_key = json!({ "name": "contract-bot", "scope": "viewer", "reason": "contract" });
    for k in [SERVER, VIEWER, CLIENT] {
        expect!(GET "/v1/keys", Some(k), vec![], None => 403);
        expect!(POST "/v1/keys", Some(k), vec![], Some(new_key.clone()) => 403);
        expect!(DELETE "/v1/keys/key_0", Some(k), vec![], None => 403);
    }
    expect!(GET "/v1/keys", None, vec![], None => 401);
    expect!(POST "/v1/keys", None, vec![], Some(new_key.clone()) => 401);
    expect!(DELETE "/v1/keys/key_0", None, vec![], None => 401);
    for bad in [
        json!({ "name": "a b", "scope": "server" }),
        json!({ "name": "ok", "scope": "root" }),
        json!({ "name": "ok" }),
    ] {
        assert_eq!(
            send(
                Method::POST,
                "/v1/keys".into(),
                Some(ADMIN),
                vec![],
                Some(bad.clone())
            )
            .await
            .0,
            400,
            "{bad}"
        );
    }
    expect!(POST "/v1/keys", Some(ADMIN), vec![], Some(huge.clone()) => 413);
    let (status, _, made) = send(
        Method::POST,
        "/v1/keys".into(),
        Some(ADMIN),
        vec![],
        Some(new_key),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let made: Value = serde_json::from_str(&made).expect("json");
    let id = made["id"].as_str().expect("an id");
    expect!(GET "/v1/keys", Some(ADMIN), vec![], None => 200);
    let revoke = format!("/v1/keys/{id}");
    expect!(DELETE revoke.clone(), Some(ADMIN), vec![], Some(json!({ "why": 1 })) => 400);
    expect!(DELETE revoke.clone(), Some(ADMIN), vec![], Some(huge.clone()) => 413);
    expect!(DELETE revoke.clone(), Some(ADMIN), vec![], Some(json!({ "reason": "done" })) => 200);
    expect!(DELETE revoke, Some(ADMIN), vec![], None => 404);
    expect!(GET "/v1/keys", Some(ADMIN), vec![], None => 200);

    // Usage: viewer and admin keys.
    for k in [SERVER, CLIENT] {
        assert_eq!(server.get("/v1/usage", &key(k)).await.0, 403);
    }
    assert_eq!(server.get("/v1/usage", &[]).await.0, 401);
    for query in [
        "",
        "?hours=2",
        "?since=2026-12-01T10:30:00Z&flag=new-checkout",
    ] {
        assert_eq!(
            server
                .get(&format!("/v1/usage{query}"), &key(VIEWER))
                .await
                .0,
            200,
            "{query}"
        );
    }
    for query in [
        "?hours=0",
        "?hours=2&since=2026-12-01T00:00:00Z",
        "?since=later",
        "?top=3",
    ] {
        assert_eq!(
            server
                .get(&format!("/v1/usage{query}"), &key(ADMIN))
                .await
                .0,
            400,
            "{query}"
        );
    }
    assert_eq!(
        server
            .get("/v1/usage?flag=no-such-flag", &key(ADMIN))
            .await
            .0,
        404
    );

    // Events: any key.
    let track = |unit: &str| json!({ "type": "track", "event": "purchase", "unit": unit, "time": "2026-12-01T10:00:00Z" });
    let events = |k: Option<&'static str>, body: String| {
        let server = &server;
        async move {
            let headers: Vec<(&str, &str)> = k.map(|k| ("x-api-key", k)).into_iter().collect();
            server.post_raw("/v1/events", body, &headers).await.0
        }
    };
    assert_eq!(
        events(Some(CLIENT), json!([track("u-1")]).to_string()).await,
        200
    );
    // A whole number is an integer however it is written (JSON Schema's
    // `integer`; Python writes floats `42.0`): found by Schemathesis.
    let floats = r#"[{"type":"track","event":"e","unit":42.0,"time":-13513.0},{"type":"track","event":"e","unit":4.2e1,"time":1.7e15}]"#;
    assert_eq!(events(Some(CLIENT), floats.to_string()).await, 200);
    assert_eq!(
        events(
            Some(SERVER),
            format!("{}\n{{\"type\":\"track\"}}\n", track("u-2"))
        )
        .await,
        207
    );
    assert_eq!(
        events(Some(VIEWER), "{\"type\":\"track\"}\n".into()).await,
        400
    );
    assert_eq!(events(Some(ADMIN), "[{\"type\": ".into()).await, 400);
    assert_eq!(events(Some(ADMIN), "\n".into()).await, 400);
    assert_eq!(events(None, json!([track("u-3")]).to_string()).await, 401);
    assert_eq!(events(Some(ADMIN), huge.to_string()).await, 413);

    // The event stream: by token; one at a time here.
    assert_eq!(server.get("/ofrep/v1/event-stream", &[]).await.0, 401);
    assert_eq!(
        server
            .get("/ofrep/v1/event-stream?token=a&token=b", &[])
            .await
            .0,
        400
    );
    let (_, _, bulk) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            json!({ "context": shopper("u-1") }).to_string(),
            &key(SERVER),
        )
        .await;
    let open = server.stream(&bulk).await;
    let uri = bulk["eventStreams"][0]["endpoint"]["requestUri"]
        .as_str()
        .expect("uri");
    let (status, headers, _) = server.get(uri, &[]).await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    drop(open);
    server.running.stop().await;

    // The events intake off (no `events_db`): 404; a key over its rate
    // limit: 429.
    let mut c = keyed();
    c.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: Some(1),
    });
    let server = start(c).await;
    let statuses = [
        server
            .post_raw(
                "/v1/events",
                json!([track("u-1")]).to_string(),
                &key(CLIENT),
            )
            .await
            .0,
        server
            .post_raw(
                "/v1/events",
                json!([track("u-1")]).to_string(),
                &key(CLIENT),
            )
            .await
            .0,
    ];
    assert_eq!(statuses[0], 404);
    assert_eq!(statuses[1], 429);
    server.running.stop().await;

    let checked = contract::checked();
    let mut unchecked = Vec::new();
    for (path, item) in api()["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for status in responses.keys() {
                let name = format!("{} {path}", method.to_ascii_uppercase());
                let status: u16 = status.parse().expect("a status");
                if !checked.contains(&(name.clone(), status)) {
                    unchecked.push(format!("{name} {status}"));
                }
            }
        }
    }
    // What a test here cannot produce: a connection beyond
    // `max_connections` (503 for any operation: server/tests/robustness.rs
    // floods one), a store that goes away (503: tests/overrides.rs and
    // tests/events.rs take theirs away), a write the store's append-only
    // guard refuses (409), an answer the server cannot write out (500), a
    // request timing out on an endpoint that reads no body and waits on
    // nothing.
    let cannot = |s: &str| {
        s.ends_with(" 503") || s.ends_with(" 409") || s.ends_with(" 500") || s.ends_with(" 408")
    };
    let missing: Vec<&String> = unchecked.iter().filter(|s| !cannot(s)).collect();
    assert!(
        missing.is_empty(),
        "statuses not produced and checked: {missing:?}"
    );
}
