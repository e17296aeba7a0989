//! What the server answers equals what `vexil eval` gives for the same
//! context: the same values, variants and reasons for every flag of the shop.

mod common;

use common::{config, shop, shopper, start};
use serde_json::{json, Value};
use vexil_runtime::{Engine, EngineOptions};

/// `vexil eval --all`, as the CLI computes it.
fn eval_all(context: &Value) -> Vec<Value> {
    let engine = Engine::from_dir(&shop(), EngineOptions::default()).expect("the shop compiles");
    let snapshot = engine.snapshot();
    let ctx = snapshot.layout().context_from_json(context);
    snapshot
        .evaluate_all(&ctx, vexil_runtime::now())
        .iter()
        .map(|e| serde_json::to_value(e.to_details()).expect("json"))
        .collect()
}

/// The variant the server sends for `vexil eval`'s details: the named
/// variant, or for a flag without named variants its value's text.
fn variant(details: &Value) -> Value {
    match (details.get("variant"), &details["value"]) {
        (Some(name), _) => name.clone(),
        (None, Value::String(text)) => Value::String(text.clone()),
        (None, value) => Value::String(value.to_string()),
    }
}

#[tokio::test]
async fn bulk_answers_equal_vexil_eval() {
    let server = start(config(&shop())).await;
    let contexts = [
        shopper("u-1012"),
        shopper("u-1003"),
        json!({ "user": { "id": "u-0042", "email": "lena.fischer@shop.example", "roles": ["staff"] }, "env": { "name": "production", "region": "eu-west-1" } }),
        json!({ "user": { "id": "u-1001", "email": "vera@gmail.com", "roles": [], "tier": "platinum", "lifetime_spend": 5400.0 } }),
        json!({ "device": { "platform": "android", "os_version": "14.0.0", "model": "Pixel 8 Pro" }, "user": { "id": "u-7" } }),
        json!({}),
    ];
    for context in contexts {
        let expected = eval_all(&context);
        let (status, _, body) = server
            .post("/ofrep/v1/evaluate/flags", &json!({ "context": context }))
            .await;
        assert_eq!(status, 200, "{body}");
        let got = body["flags"].as_array().expect("flags");
        assert_eq!(got.len(), expected.len());
        for (want, item) in expected.iter().zip(got) {
            assert_eq!(item["key"], want["key"]);
            match want.get("errorCode") {
                Some(code) => {
                    assert_eq!(&item["errorCode"], code, "{context}: {item}");
                    assert_eq!(item["errorDetails"], want["errorMessage"]);
                }
                None => {
                    assert_eq!(item["value"], want["value"], "{context}: {item}");
                    assert_eq!(item["variant"], variant(want), "{context}: {item}");
                    assert_eq!(item["reason"], want["reason"], "{context}: {item}");
                    let rule = want.get("rule").and_then(|r| r.get("name"));
                    assert_eq!(item["metadata"].get("rule"), rule, "{context}: {item}");
                }
            }
        }
        // Single evaluations agree with the bulk ones.
        for want in expected.iter().filter(|w| w.get("errorCode").is_none()) {
            let key = want["key"].as_str().expect("key");
            let (status, item) = server.evaluate(key, &context).await;
            assert_eq!(status, 200, "{item}");
            assert_eq!(item["value"], want["value"]);
            assert_eq!(item["variant"], variant(want));
            assert_eq!(item["reason"], want["reason"]);
        }
    }
    server.running.stop().await;
}
