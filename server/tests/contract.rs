//! OFREP's contract, on purpose: every status the OFREP endpoints answer is
//! produced here and its body checked against OFREP's OpenAPI schema (as
//! every response of every server test is, by `common::contract`), and the
//! exceptions that check allows are shown to be needed, and no wider.

mod common;

use common::contract::{self, spec, spec_as_written, validator, violations};
use common::{keyed, shopper, start};
use serde_json::{json, Value};
use vexil_server::RateLimit;

const BULK: &str = "/ofrep/v1/evaluate/flags";

#[test]
fn the_exceptions_are_needed_and_no_wider() {
    let answer = json!({ "key": "k", "reason": "STATIC", "value": true, "variant": "on" });
    // As written, `codeDefaultFlag` (no constraint) and the value's own type
    // both match, so `oneOf` rejects even this textbook answer.
    let as_written = validator(&spec_as_written(), "evaluationSuccess");
    assert!(!as_written.is_valid(&answer));
    assert!(violations("evaluationSuccess", &answer).is_empty());
    let mut default = answer.clone();
    default["reason"] = json!("DEFAULT");
    assert!(violations("evaluationSuccess", &default).is_empty());
    // No wider: other reasons, values of no OFREP type, a missing key and
    // failures with codes outside OFREP's lists are still refused.
    for broken in [
        json!({ "key": "k", "reason": "MAYBE", "value": true }),
        json!({ "key": "k", "reason": "STATIC", "value": [1, 2] }),
        json!({ "key": "k", "reason": "STATIC", "value": null }),
        json!({ "reason": "STATIC", "value": true }),
    ] {
        assert!(
            !violations("evaluationSuccess", &broken).is_empty(),
            "{broken}"
        );
    }
    assert!(!violations(
        "evaluationFailure",
        &json!({ "key": "k", "errorCode": "FLAG_NOT_FOUND" })
    )
    .is_empty());
    assert!(!violations(
        "flagNotFound",
        &json!({ "key": "k", "errorCode": "GENERAL" })
    )
    .is_empty());
    // A code-default answer (no value) is still one.
    assert!(violations(
        "evaluationSuccess",
        &json!({ "key": "k", "reason": "DISABLED" })
    )
    .is_empty());
    // The patched document is the one the checks use.
    assert!(spec()["components"]["schemas"]["codeDefaultFlag"]["not"].is_object());
}

#[test]
fn event_stream_messages_are_checked() {
    let text = "retry: 2000\n\n: keep-alive\n\nevent: message\nid: v2\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"v2\",\"lastModified\":1771622898}\n\n";
    let messages = contract::events(text);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["etag"], "v2");
    let bad = std::panic::catch_unwind(|| {
        contract::events("data: {\"etag\":\"v2\"}\n\n");
    });
    assert!(bad.is_err(), "a message without `type` breaks sseEventData");
}

#[tokio::test]
async fn every_status_the_endpoints_answer_validates() {
    let mut c = keyed();
    c.limits.body_bytes = 16 * 1024;
    let server = start(c).await;
    let key = [("authorization", "Bearer server-secret")];
    let post = |path: String, body: Value| {
        let server = &server;
        async move { server.post_raw(&path, body.to_string(), &key).await }
    };
    let one = |flag: &str| format!("{BULK}/{flag}");
    // A success of every value type, and an experiment.
    for (flag, is_type) in [
        ("product-page-v3", Value::is_boolean as fn(&Value) -> bool),
        ("search-ranking", Value::is_string),
        ("recommendation-slots", Value::is_i64),
        ("free-shipping-threshold", Value::is_f64),
        ("gift-options", Value::is_object),
        ("checkout-layout", Value::is_string),
    ] {
        let (status, _, body) = post(one(flag), json!({ "context": shopper("u-1012") })).await;
        assert_eq!(status, 200, "{body}");
        assert!(is_type(&body["value"]), "{flag}: {body}");
    }
    // Bulk, then 304 with its ETag.
    let request = json!({ "context": shopper("u-1012") });
    let (status, headers, _) = post(BULK.into(), request.clone()).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().expect("etag").to_string();
    let (status, _, _) = server
        .post_raw(
            BULK,
            request.to_string(),
            &[key[0], ("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!(status, 304);
    // 400 with each of OFREP's codes, single and bulk.
    for path in [one("recommendation-slots"), BULK.to_string()] {
        let (status, _, body) = server.post_raw(&path, "{".into(), &key).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("PARSE_ERROR"))
        );
        let (status, _, body) = post(
            path.clone(),
            json!({ "context": { "targetingKey": "u-1", "env": { "name": "prod" } } }),
        )
        .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("INVALID_CONTEXT"))
        );
    }
    let (status, _, body) = post(
        one("recommendation-slots"),
        json!({ "context": { "env": { "name": "production" } } }),
    )
    .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("TARGETING_KEY_MISSING"))
    );
    // 401 without a key or with a wrong one, 403 for a client key on
    // server-only data, 404 for an unknown flag, 413 for a huge body.
    for path in [one("new-checkout"), BULK.to_string()] {
        let body = request.to_string();
        assert_eq!(server.post_raw(&path, body.clone(), &[]).await.0, 401);
        let wrong = [("x-api-key", "guess")];
        assert_eq!(server.post_raw(&path, body, &wrong).await.0, 401);
        let huge = json!({ "context": { "user": { "email": "x".repeat(20_000) } } });
        assert_eq!(post(path, huge).await.0, 413);
    }
    let client = [("x-api-key", "client-secret")];
    assert_eq!(server.get("/status", &client).await.0, 403);
    assert_eq!(post(one("no-such-flag"), request.clone()).await.0, 404);
    server.running.stop().await;

    // 429 with Retry-After, single and bulk.
    let mut c = keyed();
    c.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: Some(1),
    });
    let server = start(c).await;
    for path in [one("new-checkout"), BULK.to_string()] {
        let statuses = [
            server.post_raw(&path, request.to_string(), &key).await.0,
            server.post_raw(&path, request.to_string(), &key).await.0,
        ];
        assert!(statuses.contains(&429), "{statuses:?}");
    }
    server.running.stop().await;

    let checked = contract::checked();
    for (op, status) in [
        ("/ofrep/v1/evaluate/flags/{key}", 200),
        ("/ofrep/v1/evaluate/flags/{key}", 400),
        ("/ofrep/v1/evaluate/flags/{key}", 401),
        ("/ofrep/v1/evaluate/flags/{key}", 404),
        ("/ofrep/v1/evaluate/flags/{key}", 413),
        ("/ofrep/v1/evaluate/flags/{key}", 429),
        ("/ofrep/v1/evaluate/flags", 200),
        ("/ofrep/v1/evaluate/flags", 304),
        ("/ofrep/v1/evaluate/flags", 400),
        ("/ofrep/v1/evaluate/flags", 401),
        ("/ofrep/v1/evaluate/flags", 413),
        ("/ofrep/v1/evaluate/flags", 429),
        ("GET /status", 403),
    ] {
        assert!(
            checked.contains(&(op.to_string(), status)),
            "{op} {status} was not checked: {checked:?}"
        );
    }
}
