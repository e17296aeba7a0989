//! Bad input gets its documented answer and never a 5xx: malformed JSON,
//! wrong types, huge bodies, deep nesting, and arbitrary bodies (a property
//! test against one real server).

mod common;

use common::{config, shop, start};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};

const BULK: &str = "/ofrep/v1/evaluate/flags";
const ONE: &str = "/ofrep/v1/evaluate/flags/new-checkout";

#[tokio::test]
async fn malformed_requests_are_400_parse_error() {
    let server = start(config(&shop())).await;
    for body in [
        "",
        "{",
        "not json",
        "[]",
        "42",
        "{\"context\": 7}",
        "{\"context\": [1]}",
    ] {
        for path in [BULK, ONE] {
            let (status, headers, reply) = server.post_raw(path, body.to_string(), &[]).await;
            assert_eq!(status, 400, "{path} {body:?}: {reply}");
            assert_eq!(headers["content-type"], "application/json");
            assert_eq!(reply["errorCode"], "PARSE_ERROR", "{body:?}");
            assert!(reply["errorDetails"].is_string());
        }
    }
    server.running.stop().await;
}

#[tokio::test]
async fn a_huge_body_is_413_and_deep_or_wide_contexts_are_400() {
    let mut c = config(&shop());
    c.limits.body_bytes = 16 * 1024;
    let server = start(c).await;
    let huge = json!({ "context": { "user": { "email": "x".repeat(20_000) } } }).to_string();
    for path in [BULK, ONE] {
        let (status, _, reply) = server.post_raw(path, huge.clone(), &[]).await;
        assert_eq!(status, 413, "{reply}");
        assert_eq!(reply["errorCode"], "PARSE_ERROR");
    }
    let mut deep = json!("bottom");
    for _ in 0..20 {
        deep = json!({ "a": deep });
    }
    let (status, _, reply) = server
        .post(ONE, &json!({ "context": { "extra": deep } }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(reply["errorCode"], "INVALID_CONTEXT");
    assert!(
        reply["errorDetails"]
            .as_str()
            .is_some_and(|d| d.contains("deeper than 8")),
        "{reply}"
    );
    // Deeper than the JSON parser follows at all: still a 400.
    let nested = format!("{{\"context\": {}{}}}", "[".repeat(1000), "]".repeat(1000));
    let (status, _, reply) = server.post_raw(ONE, nested, &[]).await;
    assert_eq!(status, 400, "{reply}");
    let wide: Vec<Value> = (0..1500).map(|i| json!(i)).collect();
    let (status, _, reply) = server
        .post(BULK, &json!({ "context": { "extra": wide } }))
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["errorDetails"]
            .as_str()
            .is_some_and(|d| d.contains("more than 1000 values")),
        "{reply}"
    );
    server.running.stop().await;
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z0-9.:+-]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("production"),
            Just("17.4.0"),
            Just("2026-01-01T00:00:00Z"),
            Just("ios"),
            Just("gold"),
            Just("US"),
            Just("u-1")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("user".to_string()),
                    Just("env".to_string()),
                    Just("device".to_string()),
                    Just("location".to_string()),
                    Just("targetingKey".to_string()),
                    Just("id".to_string()),
                    Just("tier".to_string()),
                    Just("orders".to_string()),
                    Just("roles".to_string()),
                    Just("name".to_string()),
                    Just("platform".to_string()),
                    Just("os_version".to_string()),
                    Just("created_at".to_string()),
                    Just("country".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|c| json!({ "context": c }).to_string()),
        json_value().prop_map(|v| v.to_string()),
        "\\PC{0,40}",
    ]
}

#[test]
fn no_body_gets_a_server_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(start(config(&shop())));
    let flags = [
        "new-checkout",
        "search-ranking",
        "checkout-layout",
        "gift-options",
        "nope",
    ];
    let mut cases = ProptestConfig::with_cases(256);
    cases.failure_persistence = None;
    proptest!(cases, |(body in body(), pick in 0usize..6)| {
        let path = flags.get(pick).map_or(BULK.to_string(), |f| format!("{BULK}/{f}"));
        let (status, _, reply) = runtime.block_on(server.post_raw(&path, body.clone(), &[]));
        prop_assert!(status < 500, "{status} for {body}: {reply}");
        prop_assert!([200, 400, 404].contains(&status), "{status} for {body}: {reply}");
        if status != 200 {
            prop_assert!(reply["errorCode"].is_string(), "{body}: {reply}");
        }
    });
    runtime.block_on(server.running.stop());
}

/// Reads what the server sends until it closes the connection (or `wait`
/// passes: `None`).
async fn read_until_closed(tcp: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_hold_the_server() {
    use tokio::io::AsyncWriteExt;
    let mut c = config(&shop());
    c.limits.header_read_timeout_ms = 300;
    c.limits.request_timeout_ms = 300;
    let server = start(c).await;
    let addr = server.running.addr();
    // Headers that never end, a connection that never sends anything, and
    // an idle keep-alive connection after one answer: each is closed once
    // the header read timeout passes.
    let mut trickle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    trickle
        .write_all(b"POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = "POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"context\": {}}";
    idle.write_all(request.as_bytes()).await.expect("write");
    for (name, tcp) in [
        ("trickle", &mut trickle),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        let got = read_until_closed(tcp, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("the {name} connection was never closed"));
        assert!(!got.contains(" 5"), "{name}: {got}");
        if name == "idle" {
            assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        }
    }
    // A body that stops short: the request times out with 408 and OFREP's
    // error body.
    let mut short = tokio::net::TcpStream::connect(addr).await.expect("connect");
    short
        .write_all(b"POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"context\":")
        .await
        .expect("write");
    let got = read_until_closed(&mut short, Duration::from_secs(10))
        .await
        .expect("the short body's connection was never closed");
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("\"errorCode\":\"PARSE_ERROR\""), "{got}");
    // Meanwhile, and after, the server answers.
    let (status, _, _) = server.post(BULK, &json!({ "context": {} })).await;
    assert_eq!(status, 200);
    server.running.stop().await;
}

#[tokio::test]
async fn a_connection_flood_gets_503_with_retry_after_and_the_server_recovers() {
    let mut c = config(&shop());
    c.limits.max_connections = 8;
    let server = start(c).await;
    let addr = server.running.addr();
    // Eight connections held open (idle, before any request).
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    // Every one past them is answered 503 and closed, many at once.
    let floods: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async move {
                let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
                read_until_closed(&mut tcp, Duration::from_secs(10)).await
            })
        })
        .collect();
    for flood in floods {
        let got = flood
            .await
            .expect("task")
            .expect("a refused connection was never closed");
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(got.contains("retry-after: 1"), "{got}");
        let body = got.split("\r\n\r\n").nth(1).unwrap_or_default();
        let reply: Value = serde_json::from_str(body).expect("an OFREP error body");
        assert_eq!(reply["errorCode"], "GENERAL");
    }
    drop(held);
    // The held connections closed: new ones are served again.
    let since = std::time::Instant::now();
    loop {
        let reply = reqwest::Client::new()
            .post(server.url(BULK))
            .body(json!({ "context": {} }).to_string())
            .send()
            .await
            .expect("request");
        if reply.status() == 200 {
            break;
        }
        assert_eq!(reply.status(), 503);
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "never served again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, _, metrics) = server.get("/metrics", &[]).await;
    let refused: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vexil_connections_refused_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the refused connections' counter");
    assert!(refused >= 50.0, "{metrics}");
    server.running.stop().await;
}

#[tokio::test]
async fn stopping_drains_a_request_in_flight_and_accepts_no_more() {
    use tokio::io::AsyncWriteExt;
    let server = start(config(&shop())).await;
    let addr = server.running.addr();
    let body = json!({ "context": { "targetingKey": "u-1" } }).to_string();
    let (head, tail) = body.split_at(10);
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(
        format!(
            "POST {BULK} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    // The request is in flight (its handler waits for the rest of the
    // body) when the server is told to stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(server.running.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a stopping server still accepts connections"
    );
    tcp.write_all(tail.as_bytes()).await.expect("write");
    let got = read_until_closed(&mut tcp, Duration::from_secs(10))
        .await
        .expect("the connection was never closed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("\"flags\""), "{got}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("stop returns once the request is answered")
        .expect("task");
}
