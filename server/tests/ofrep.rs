//! The OFREP endpoints against a real server on a loopback port: statuses,
//! bodies and headers as `../shared/conformance/ofrep/openapi.yaml` gives them.

mod common;

use common::{config, shop, shopper, start};
use serde_json::{json, Value};

#[tokio::test]
async fn single_evaluation_serves_every_value_type_with_metadata() {
    let server = start(config(&shop())).await;
    let ctx = shopper("u-1012");
    let cases = [
        ("product-page-v3", "boolean"),
        ("search-ranking", "string"),
        ("recommendation-slots", "integer"),
        ("free-shipping-threshold", "number"),
        ("gift-options", "object"),
    ];
    for (flag, ty) in cases {
        let (status, body) = server.evaluate(flag, &ctx).await;
        assert_eq!(status, 200, "{flag}: {body}");
        assert_eq!(body["key"], flag);
        let value = &body["value"];
        let ok = match ty {
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64(),
            "number" => value.is_number(),
            _ => value.is_object(),
        };
        assert!(ok, "{flag} should serve a {ty}: {body}");
        assert!(body["reason"].is_string(), "{body}");
        let meta = &body["metadata"];
        assert!(meta["kind"].is_string(), "{body}");
        assert!(meta["version"].is_string(), "{body}");
        assert!(body.get("errorCode").is_none(), "{body}");
    }
    // A matched rule is named in the metadata, with the owner and kind.
    let (_, body) = server
        .evaluate("search-ranking", &json!({ "user": { "id": "u-0042", "roles": ["staff"] }, "env": { "name": "production" } }))
        .await;
    assert_eq!(body["value"], "hybrid-v1", "{body}");
    assert_eq!(body["variant"], "hybrid");
    assert_eq!(body["reason"], "TARGETING_MATCH");
    assert_eq!(body["metadata"]["rule"], "dogfood");
    assert_eq!(body["metadata"]["ruleIndex"], 1);
    assert_eq!(body["metadata"]["owner"], "team-search");
    assert_eq!(body["metadata"]["kind"], "experiment");
    server.running.stop().await;
}

#[tokio::test]
async fn a_flag_switched_off_in_one_environment_answers_disabled_there() {
    let server = start(config(&shop())).await;
    let in_env = |name: &str| json!({ "user": { "id": "u-2001", "orders": 2 }, "env": { "name": name, "region": "eu-west-1" } });
    let (status, body) = server
        .evaluate("returns-portal", &in_env("production"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reason"], "DISABLED", "{body}");
    assert_eq!(body["value"], false);
    assert!(body["metadata"].get("rule").is_none(), "{body}");
    let (status, body) = server.evaluate("returns-portal", &in_env("staging")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reason"], "TARGETING_MATCH", "{body}");
    assert_eq!(body["value"], true);
    server.running.stop().await;
}

#[tokio::test]
async fn an_address_from_the_context_is_matched_against_ranges() {
    let server = start(config(&shop())).await;
    let ctx = |ip: &str| {
        json!({ "targetingKey": "anon-0123456789abcdef", "env": { "name": "production" },
                "device": { "platform": "web", "os_version": "14.0.0", "ip": ip } })
    };
    for ip in ["10.9.8.7", "::ffff:10.9.8.7", "2001:db8:5400::1"] {
        let (status, body) = server.evaluate("search-ranking", &ctx(ip)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["metadata"]["rule"], "dogfood", "{ip}: {body}");
    }
    let (status, body) = server.evaluate("search-ranking", &ctx("203.0.113.9")).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["metadata"]["rule"], "dogfood", "{body}");
    server.running.stop().await;
}

#[tokio::test]
async fn experiments_are_evaluated_too() {
    let server = start(config(&shop())).await;
    let (status, body) = server.evaluate("checkout-layout", &shopper("u-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"]["kind"], "experiment");
    assert!(body["value"].is_string(), "{body}");
    server.running.stop().await;
}

#[tokio::test]
async fn an_unknown_flag_is_404_flag_not_found() {
    let server = start(config(&shop())).await;
    let (status, body) = server.evaluate("no-such-flag", &shopper("u-1")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "key": "no-such-flag", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "no flag or experiment named `no-such-flag`" })
    );
    server.running.stop().await;
}

#[tokio::test]
async fn a_split_without_its_unit_is_400_targeting_key_missing() {
    let server = start(config(&shop())).await;
    // recommendation-slots rolls out 20% by user.id: without an id it cannot bucket.
    let (status, body) = server
        .evaluate(
            "recommendation-slots",
            &json!({ "env": { "name": "production" } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["key"], "recommendation-slots");
    assert_eq!(body["errorCode"], "TARGETING_KEY_MISSING");
    assert!(
        body["errorDetails"]
            .as_str()
            .is_some_and(|d| d.contains("user.id")),
        "{body}"
    );
    server.running.stop().await;
}

#[tokio::test]
async fn the_flat_ofrep_context_maps_onto_the_schema() {
    let server = start(config(&shop())).await;
    let nested = shopper("u-1003");
    // targetingKey fills user.id (the first context with a key); other flat
    // keys are user fields; context names hold their context's fields.
    let mut flat = nested["user"].as_object().cloned().expect("user");
    flat.remove("id");
    flat.insert("targetingKey".into(), "u-1003".into());
    for name in ["env", "device", "location"] {
        flat.insert(name.into(), nested[name].clone());
    }
    let flat = Value::Object(flat);
    let (_, a, nested_body) = server
        .post("/ofrep/v1/evaluate/flags", &json!({ "context": nested }))
        .await;
    let (_, b, flat_body) = server
        .post("/ofrep/v1/evaluate/flags", &json!({ "context": flat }))
        .await;
    assert_eq!(nested_body, flat_body);
    assert_eq!(a.get("etag"), b.get("etag"));
    server.running.stop().await;
}

#[tokio::test]
async fn a_context_against_the_schema_is_400_invalid_context_naming_the_field() {
    let server = start(config(&shop())).await;
    let cases = [
        (
            json!({ "user": { "orders": "three" } }),
            "`user.orders` expects an integer, got a string",
        ),
        (
            json!({ "env": { "name": "prod" } }),
            "`env.name` expects one of `development`, `staging`, `production`, got `prod`",
        ),
        (
            json!({ "device": { "os_version": "17" } }),
            "`device.os_version` expects a semantic version",
        ),
        (
            json!({ "user": { "created_at": "yesterday" } }),
            "`user.created_at` expects an RFC 3339 timestamp",
        ),
        (
            json!({ "user": { "roles": ["staff", 3] } }),
            "`user.roles` expects a list of strings",
        ),
        (
            json!({ "targetingKey": 42 }),
            "`targetingKey` must be a string",
        ),
        (json!({ "beta": "yes" }), "`user.beta` expects a boolean"),
        (
            json!({ "device": { "ip": "10.0.0.256" } }),
            "`device.ip` expects an IPv4 or IPv6 address",
        ),
    ];
    for (ctx, message) in cases {
        let (status, body) = server.evaluate("new-checkout", &ctx).await;
        assert_eq!(status, 400, "{ctx}: {body}");
        assert_eq!(body["errorCode"], "INVALID_CONTEXT", "{ctx}: {body}");
        assert_eq!(body["key"], "new-checkout");
        let details = body["errorDetails"].as_str().unwrap_or_default();
        assert!(details.contains(message), "{ctx}: {details}");
        // The bulk endpoint refuses the same context as a whole.
        let (status, _, body) = server
            .post("/ofrep/v1/evaluate/flags", &json!({ "context": ctx }))
            .await;
        assert_eq!(status, 400);
        assert_eq!(body["errorCode"], "INVALID_CONTEXT");
        assert!(body.get("flags").is_none());
    }
    server.running.stop().await;
}

#[tokio::test]
async fn bulk_evaluation_has_an_etag_and_answers_304_while_it_holds() {
    let server = start(config(&shop())).await;
    let request = json!({ "context": shopper("u-1012") });
    let (status, headers, body) = server.post("/ofrep/v1/evaluate/flags", &request).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let flags = body["flags"].as_array().expect("flags");
    assert_eq!(flags.len(), 23, "every flag and experiment of the shop");
    assert!(body["metadata"]["version"].is_string());
    let stream = &body["eventStreams"][0];
    assert_eq!(stream["type"], "sse");
    assert_eq!(stream["endpoint"]["requestUri"], "/ofrep/v1/event-stream");
    assert_eq!(stream["inactivityDelaySec"], 120);
    let etag = headers["etag"].to_str().expect("etag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    // The same request with its ETag: 304, no body.
    let (status, headers, body) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            request.to_string(),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(status, 304);
    assert_eq!(headers["etag"].to_str().ok(), Some(etag.as_str()));
    assert_eq!(body, Value::Null);

    // Another context that evaluates differently: a new ETag.
    let other = json!({ "context": { "user": { "id": "u-0042", "roles": ["staff"] }, "env": { "name": "production" } } });
    let (status, headers, _) = server
        .post_raw(
            "/ofrep/v1/evaluate/flags",
            other.to_string(),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(headers["etag"].to_str().ok(), Some(etag.as_str()));
    server.running.stop().await;
}

#[tokio::test]
async fn bulk_items_that_cannot_be_evaluated_are_failures_among_successes() {
    let server = start(config(&shop())).await;
    let (status, _, body) = server
        .post("/ofrep/v1/evaluate/flags", &json!({ "context": {} }))
        .await;
    assert_eq!(status, 200);
    let flags = body["flags"].as_array().expect("flags");
    let missing: Vec<&Value> = flags
        .iter()
        .filter(|f| f["errorCode"] == "TARGETING_KEY_MISSING")
        .collect();
    assert!(!missing.is_empty(), "{body}");
    for f in &missing {
        assert!(
            f["key"].is_string() && f["errorDetails"].is_string() && f.get("value").is_none(),
            "{f}"
        );
    }
    assert!(flags.iter().any(|f| f.get("value").is_some()), "{body}");
    server.running.stop().await;
}

#[tokio::test]
async fn health_readiness_status_and_metrics() {
    let server = start(config(&shop())).await;
    let (status, _, body) = server.get("/healthz", &[]).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, _, body) = server.get("/readyz", &[]).await;
    assert_eq!(status, 200);
    let ready: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(ready["status"], "ready");

    let (status, _, body) = server.get("/status", &[]).await;
    assert_eq!(status, 200);
    let s: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(s["version"], ready["version"]);
    assert_eq!(s["source"]["kind"], "directory");
    assert_eq!(s["flags"], 21);
    assert_eq!(s["experiments"], 2);
    assert_eq!(s["context"]["targetingKey"], "user.id");
    assert_eq!(s["devMode"], true);
    assert!(
        s["tests"].as_u64().is_some_and(|n| n > 0),
        "the shop's tests ran: {s}"
    );

    server.evaluate("new-checkout", &shopper("u-1")).await;
    server.evaluate("nope", &shopper("u-1")).await;
    // Names the schema does not declare: ignored, but counted.
    let typos = serde_json::json!({
        "targetingKey": "u-2",
        "user": {"tierr": "gold", "id": "u-2"},
        "devise": {"platform": "ios"},
        "colour": "blue"
    });
    server.evaluate("new-checkout", &typos).await;
    let (status, headers, text) = server.get("/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("application/openmetrics-text")));
    for needle in [
        "vexil_evaluations_total{flag=\"new-checkout\"",
        "vexil_errors_total{code=\"FLAG_NOT_FOUND\"} 1",
        "vexil_http_request_duration_seconds_bucket{le=",
        "endpoint=\"/ofrep/v1/evaluate/flags/{key}\"",
        // Three requests timed on the route: the first resolves its
        // histogram, the others reuse it and are counted alike.
        "vexil_http_request_duration_seconds_count{endpoint=\"/ofrep/v1/evaluate/flags/{key}\"} 3",
        "vexil_served_version{version=",
        "vexil_served_version_loaded_timestamp_seconds ",
        "vexil_reload_failures_total 0",
        "vexil_sse_clients 0",
        "vexil_context_unknown_names_total{kind=\"context\"} 1",
        "vexil_context_unknown_names_total{kind=\"field\"} 2",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
    server.running.stop().await;
}

#[tokio::test]
async fn routing_errors_have_ofrep_bodies() {
    let server = start(config(&shop())).await;
    let (status, _, body) = server.get("/nowhere", &[]).await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["errorCode"], "PARSE_ERROR");
    let (status, _, body) = server.get("/ofrep/v1/evaluate/flags", &[]).await;
    assert_eq!(status, 405);
    assert!(serde_json::from_str::<Value>(&body).is_ok_and(|b| b["errorDetails"].is_string()));
    server.running.stop().await;
}
