//! Keys, scopes, development mode and rate limits, over HTTP.

mod common;

use common::{config, keyed, shop, shopper, start};
use serde_json::json;
use vexil_server::{RateLimit, ServeError};

#[tokio::test]
async fn evaluation_needs_a_valid_key_in_either_header() {
    let server = start(keyed()).await;
    let body = json!({ "context": shopper("u-1") }).to_string();
    let path = "/ofrep/v1/evaluate/flags/new-checkout";

    let (status, headers, reply) = server.post_raw(path, body.clone(), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(reply["errorCode"], "GENERAL");
    assert!(reply.get("value").is_none() && reply.get("flags").is_none());

    let (status, _, reply) = server
        .post_raw(path, body.clone(), &[("x-api-key", "wrong")])
        .await;
    assert_eq!(status, 401, "{reply}");
    let (status, _, reply) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            body.clone(),
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, 401);
    assert!(reply.get("flags").is_none());

    let (status, _, reply) = server
        .post_raw(path, body.clone(), &[("x-api-key", "client-secret")])
        .await;
    assert_eq!(status, 200, "{reply}");
    let (status, _, _) = server
        .post_raw(path, body, &[("authorization", "Bearer server-secret")])
        .await;
    assert_eq!(status, 200);
    server.running.stop().await;
}

#[tokio::test]
async fn status_and_metrics_need_a_server_key_health_does_not() {
    let server = start(keyed()).await;
    for path in ["/status", "/metrics"] {
        assert_eq!(server.get(path, &[]).await.0, 401, "{path}");
        assert_eq!(
            server.get(path, &[("x-api-key", "client-secret")]).await.0,
            403,
            "{path}"
        );
        assert_eq!(
            server.get(path, &[("x-api-key", "server-secret")]).await.0,
            200,
            "{path}"
        );
    }
    assert_eq!(server.get("/healthz", &[]).await.0, 200);
    assert_eq!(server.get("/readyz", &[]).await.0, 200);
    server.running.stop().await;
}

#[tokio::test]
async fn the_event_stream_opens_with_the_token_from_the_bulk_response_only() {
    let server = start(keyed()).await;
    let (status, _, bulk) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            json!({ "context": {} }).to_string(),
            &[("x-api-key", "client-secret")],
        )
        .await;
    assert_eq!(status, 200);
    let uri = bulk["eventStreams"][0]["endpoint"]["requestUri"]
        .as_str()
        .expect("uri")
        .to_string();
    assert!(uri.starts_with("/ofrep/v1/event-stream?token="), "{uri}");
    assert!(!uri.contains("client-secret"));
    assert_eq!(server.get("/ofrep/v1/event-stream", &[]).await.0, 401);
    assert_eq!(
        server
            .get("/ofrep/v1/event-stream?token=guess", &[])
            .await
            .0,
        401
    );
    let res = server.stream(&bulk).await;
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    drop(res);
    server.running.stop().await;
}

#[tokio::test]
async fn without_keys_a_non_loopback_address_is_refused() {
    let mut c = config(&shop());
    c.listen = "0.0.0.0:0".parse().expect("addr");
    match vexil_server::start(c).await {
        Err(ServeError::Config(message)) => {
            assert!(
                message.contains("refusing to listen on `0.0.0.0:0` without API keys"),
                "{message}"
            );
        }
        Err(other) => panic!("expected a configuration error, got {other}"),
        Ok(_) => panic!("a keyless server must not listen on every interface"),
    }
    // With keys it may.
    let mut c = keyed();
    c.listen = "0.0.0.0:0".parse().expect("addr");
    let running = vexil_server::start(c).await.expect("starts with keys");
    running.stop().await;
}

#[tokio::test]
async fn over_its_rate_limit_a_key_gets_429_with_retry_after() {
    let mut c = keyed();
    c.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: Some(2),
    });
    let server = start(c).await;
    let body = json!({ "context": {} }).to_string();
    let path = "/ofrep/v1/evaluate/flags/new-checkout";
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let (status, headers, reply) = server
            .post_raw(path, body.clone(), &[("x-api-key", "client-secret")])
            .await;
        statuses.push(status);
        last = Some((headers, reply));
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert_eq!(statuses[3], 429, "{statuses:?}");
    let (headers, reply) = last.expect("replies");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_eq!(reply["errorCode"], "GENERAL");
    // Another key has its own bucket.
    let (status, _, _) = server
        .post_raw(path, body, &[("x-api-key", "server-secret")])
        .await;
    assert_eq!(status, 200);
    server.running.stop().await;
}

/// The shop's flags and experiments marked `client` (browser and app code).
const SHOP_CLIENT_FLAGS: &[&str] = &[
    "checkout-layout",
    "express-checkout",
    "free-shipping-threshold",
    "gift-options",
    "maintenance-banner",
    "new-checkout",
    "product-page-v3",
    "recommendation-slots",
    "returns-portal",
    "same-day-delivery",
    "shipping-promise",
    "wishlist-sharing",
];

async fn bulk_keys(server: &common::Server, key: &str) -> Vec<String> {
    let (status, _, bulk) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            json!({ "context": shopper("u-7") }).to_string(),
            &[("x-api-key", key)],
        )
        .await;
    assert_eq!(status, 200, "{bulk}");
    let mut keys: Vec<String> = bulk["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f["key"].as_str().expect("a key").to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn client_keys_see_only_client_flags_and_hidden_ones_do_not_exist() {
    let server = start(keyed()).await;
    assert_eq!(bulk_keys(&server, "client-secret").await, SHOP_CLIENT_FLAGS);
    let every = bulk_keys(&server, "server-secret").await;
    assert!(every.len() > SHOP_CLIENT_FLAGS.len(), "{every:?}");
    for name in SHOP_CLIENT_FLAGS {
        assert!(every.iter().any(|k| k == name), "{name} in {every:?}");
    }
    assert!(every.iter().any(|k| k == "payments-v2"));

    let body = json!({ "context": shopper("u-7") }).to_string();
    let single = |flag: &str, key: &'static str| {
        let path = format!("/ofrep/v1/evaluate/flags/{flag}");
        let body = body.clone();
        let server = &server;
        async move {
            let (status, _, reply) = server.post_raw(&path, body, &[("x-api-key", key)]).await;
            (status, reply)
        }
    };
    // A server-only flag, asked for with a client key, is answered exactly
    // as a flag that does not exist.
    let (status, hidden) = single("payments-v2", "client-secret").await;
    assert_eq!(status, 404, "{hidden}");
    let (status, missing) = single("payments-v3", "client-secret").await;
    assert_eq!(status, 404, "{missing}");
    assert_eq!(hidden["errorCode"], "FLAG_NOT_FOUND");
    assert_eq!(
        hidden["errorDetails"]
            .as_str()
            .map(|d| d.replace("v2", "v3")),
        missing["errorDetails"].as_str().map(str::to_string)
    );
    assert!(hidden.get("value").is_none() && hidden.get("metadata").is_none());
    // The same flag with a server key, and a client flag with a client key.
    let (status, reply) = single("payments-v2", "server-secret").await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = single("checkout-layout", "client-secret").await;
    assert_eq!(status, 200, "{reply}");
    server.running.stop().await;
}

#[tokio::test]
async fn development_mode_sees_every_flag() {
    let server = start(config(&shop())).await;
    let (status, _, bulk) = server
        .post(
            "/ofrep/v1/evaluate/flags",
            &json!({ "context": shopper("u-7") }),
        )
        .await;
    assert_eq!(status, 200);
    let flags = bulk["flags"].as_array().expect("flags");
    assert!(flags.iter().any(|f| f["key"] == "payments-v2"));
    assert!(flags.len() > SHOP_CLIENT_FLAGS.len());
    let (status, _) = server.evaluate("payments-v2", &shopper("u-7")).await;
    assert_eq!(status, 200);
    server.running.stop().await;
}
