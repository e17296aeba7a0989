//! The server's contracts: every response the server's tests see is
//! checked against the OpenAPI schema of its operation and status: OFREP's
//! two evaluation endpoints against OFREP's own specification
//! (`server/tests/ofrep/`, with its licence and source), every other
//! endpoint the server's own document describes (`server/openapi.yaml`)
//! against that document, and every event-stream message against OFREP's
//! `event-streams.yaml`.
//!
//! Against the server's own document: a status the document does not list
//! for the operation fails, naming it; so does a content type it does not
//! list for that status, a required header missing or not of its schema, a
//! JSON body its schema refuses, and a body where it gives none. Text
//! bodies (OpenMetrics, YAML, JSON Lines, the event stream) are checked for
//! their content type only. A method a documented path does not take is
//! no operation: its 405 is checked like any refusal.
//!
//! Three stated exceptions, patched into the schema where they apply and
//! each shown needed by `server/tests/contract.rs`: reason `DEFAULT`
//! (OpenFeature's reason when no rule matched, which OFREP's enum omits); the
//! value's `oneOf` read as `anyOf` with `codeDefaultFlag` meaning "no value"
//! (as written no answer with a value can match exactly one alternative);
//! and the statuses the specification gives no body (401, 403, 429) or does
//! not list (405, 408, 413) checked against its generic failure object.
// A broken contract is a failed test: these helpers panic with what broke.
#![allow(clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

const OPENAPI: &str = include_str!("../ofrep/openapi.yaml");
const EVENT_STREAMS: &str = include_str!("../ofrep/event-streams.yaml");
/// The server's own document (every endpoint but OFREP's evaluations and
/// the dashboard).
pub const API: &str = include_str!("../../openapi.yaml");

/// The server's own document, parsed.
pub fn api() -> &'static Value {
    static API_DOC: OnceLock<Value> = OnceLock::new();
    API_DOC.get_or_init(|| serde_norway::from_str(API).expect("server/openapi.yaml is YAML"))
}

/// The specification as JSON, unpatched.
pub fn spec_as_written() -> Value {
    serde_norway::from_str(OPENAPI).expect("OFREP's openapi.yaml is YAML")
}

/// The specification with the three exceptions above patched in. Each
/// patch first checks that the part it changes still reads as expected, so
/// a new version of the specification is noticed rather than patched blindly.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut doc = spec_as_written();
        let success = &mut doc["components"]["schemas"]["evaluationSuccess"]["allOf"];
        let reasons = &mut success[0]["properties"]["reason"]["enum"];
        assert_eq!(
            *reasons,
            json!(["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "UNKNOWN"]),
            "OFREP's reasons changed: review the DEFAULT exception"
        );
        reasons
            .as_array_mut()
            .expect("an enum")
            .push(json!("DEFAULT"));
        let values = success[1].as_object_mut().expect("the value alternatives");
        let alternatives = values
            .remove("oneOf")
            .expect("OFREP's value alternatives changed: review the oneOf exception");
        values.insert("anyOf".into(), alternatives);
        let code_default = &mut doc["components"]["schemas"]["codeDefaultFlag"];
        assert_eq!(
            code_default["properties"],
            json!({}),
            "OFREP's codeDefaultFlag changed: review its exception"
        );
        code_default["not"] = json!({ "required": ["value"] });
        doc
    })
}

/// A validator for `#/components/schemas/NAME` of `doc`, which resolves
/// the specification's `$ref`s within it.
pub fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("OFREP's schema `{name}` compiles: {e}"))
}

/// Whether `instance` is valid against the patched schema NAME; the
/// messages of every violation otherwise.
pub fn violations(name: &str, instance: &Value) -> Vec<String> {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let validator = {
        let mut cache = VALIDATORS
            .get_or_init(Default::default)
            .lock()
            .expect("validator cache");
        *cache
            .entry(name.to_string())
            .or_insert_with(|| Box::leak(Box::new(validator(spec(), name))))
    };
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect()
}

/// The (operation, status) pairs checked so far in this test process.
pub fn checked() -> BTreeSet<(String, u16)> {
    CHECKED.lock().expect("checked").clone()
}

static CHECKED: Mutex<BTreeSet<(String, u16)>> = Mutex::new(BTreeSet::new());

/// The OFREP operation a request path names, if any.
fn operation(method: &str, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let key = path.strip_prefix("/ofrep/v1/evaluate/flags/");
    match (method, path, key) {
        ("POST", "/ofrep/v1/evaluate/flags", _) => Some("/ofrep/v1/evaluate/flags"),
        ("POST", _, Some(key)) if !key.is_empty() && !key.contains('/') => {
            Some("/ofrep/v1/evaluate/flags/{key}")
        }
        _ => None,
    }
}

/// Checks one response against the specification; panics naming every
/// violation. Responses of paths OFREP does not specify (health, status,
/// metrics, the event stream itself) pass unless they are refusals, which
/// must still have OFREP's failure body.
pub fn check(
    method: &str,
    path: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) {
    if let Some((name, op)) = api_operation(method, path) {
        check_api(&name, op, method, path, status, headers, Some(body));
        return;
    }
    let Some(op) = operation(method, path) else {
        if status >= 400 {
            check_body("bulkEvaluationFailure", method, path, status, body);
            CHECKED
                .lock()
                .expect("checked")
                .insert((format!("{method} {path}"), status));
        }
        return;
    };
    let response = &spec()["paths"][op]["post"]["responses"][status.to_string()];
    let schema = response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"));
    match (status, schema) {
        (304, _) => assert!(
            response.is_object() && body.is_empty(),
            "{method} {path}: a 304 has no body, got {body:?}"
        ),
        (_, Some(name)) => check_body(name, method, path, status, body),
        // Listed without a body (401, 403, 429), or not listed at all.
        (_, None) => check_body("bulkEvaluationFailure", method, path, status, body),
    }
    if status == 429 {
        let retry = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{method} {path}: a 429 without Retry-After"));
        // The bulk operation's schema: seconds, or an RFC 3339 date-time.
        let as_json = retry
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(retry));
        let header = &spec()["paths"]["/ofrep/v1/evaluate/flags"]["post"]["responses"]["429"]
            ["headers"]["Retry-After"]["schema"];
        let mut root = spec().clone();
        for (k, v) in header.as_object().expect("a header schema") {
            root[k] = v.clone();
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .expect("Retry-After's schema compiles");
        assert!(
            validator.is_valid(&as_json),
            "{method} {path}: Retry-After {retry:?} is neither seconds nor a date-time"
        );
    }
    if status == 200 && op == "/ofrep/v1/evaluate/flags" {
        assert!(
            headers.contains_key("etag"),
            "{method} {path}: a bulk answer without its ETag"
        );
    }
    CHECKED
        .lock()
        .expect("checked")
        .insert((op.to_string(), status));
}

/// Checks a response whose body is not read (an event stream): its status
/// and headers, and its content type, against the server's own document.
pub fn check_head(method: &str, path: &str, status: u16, headers: &reqwest::header::HeaderMap) {
    let (name, op) = api_operation(method, path)
        .unwrap_or_else(|| panic!("{method} {path}: server/openapi.yaml has no such operation"));
    check_api(&name, op, method, path, status, headers, None);
}

/// The operation of the server's own document a request names, as `GET
/// /v1/overrides/{flag}`; `None` for a path the document does not
/// describe, and for a method a described path does not take.
pub fn api_operation(method: &str, path: &str) -> Option<(String, &'static Value)> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let paths = api()["paths"].as_object().expect("paths");
    let (template, item) = paths.iter().find(|(template, _)| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty()))
    })?;
    let op = item.get(method.to_ascii_lowercase())?;
    Some((format!("{method} {template}"), op))
}

/// `node`, or what its `$ref` (within the document) points at, with the
/// JSON pointer of what was returned.
fn resolved(node: &Value, pointer: String) -> (&Value, String) {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let to = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("a $ref outside the document: {r}"));
            let target = api()
                .pointer(to)
                .unwrap_or_else(|| panic!("server/openapi.yaml: {r} points at nothing"));
            (target, to.to_string())
        }
        None => (node, pointer),
    }
}

/// A JSON pointer's token for `key` (RFC 6901).
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A validator for the schema at `pointer` in the server's document (its
/// `$ref`s resolved within it), made once per pointer.
fn api_validator(pointer: &str) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut cache = VALIDATORS
        .get_or_init(Default::default)
        .lock()
        .expect("validator cache");
    cache.entry(pointer.to_string()).or_insert_with(|| {
        let mut root = api().clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["$ref"] = json!(format!("#{pointer}"));
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("server/openapi.yaml's schema at {pointer} compiles: {e}"));
        Box::leak(Box::new(validator))
    })
}

/// The violations of `instance` against the schema at `pointer` in the
/// server's document.
pub fn api_violations(pointer: &str, instance: &Value) -> Vec<String> {
    api_validator(pointer)
        .iter_errors(instance)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect()
}

/// Checks one response of `name`, the operation `op` of the server's own
/// document; `body` is `None` when it was not read.
fn check_api(
    name: &str,
    op: &Value,
    method: &str,
    path: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: Option<&str>,
) {
    let (method_part, template) = name.split_once(' ').expect("METHOD /path");
    let base = format!(
        "/paths/{}/{}/responses",
        token(template),
        method_part.to_ascii_lowercase()
    );
    let responses = op["responses"].as_object().expect("responses");
    let Some(response) = responses.get(&status.to_string()) else {
        let listed: Vec<&String> = responses.keys().collect();
        panic!(
            "{method} {path} answered {status}, which server/openapi.yaml does not list for `{name}` (it lists {listed:?})\n{}",
            body.unwrap_or("")
        );
    };
    let (response, at) = resolved(response, format!("{base}/{status}"));
    let what = format!("{method} {path} {status} (`{name}` in server/openapi.yaml)");
    if let Some(specified) = response["headers"].as_object() {
        for (header, spec) in specified {
            let (spec, _) = resolved(spec, String::new());
            let value = headers.get(header.as_str()).and_then(|v| v.to_str().ok());
            let Some(value) = value else {
                assert!(
                    spec["required"] != json!(true),
                    "{what}: no `{header}` header, which the document requires"
                );
                continue;
            };
            let schema = &spec["schema"];
            let as_json = if schema["type"] == json!("integer") {
                value
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(value))
            } else {
                Value::from(value)
            };
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(schema)
                .unwrap_or_else(|e| panic!("{what}: the `{header}` schema compiles: {e}"));
            assert!(
                validator.is_valid(&as_json),
                "{what}: `{header}: {value}` breaks its schema {schema}"
            );
        }
    }
    let Some(content) = response["content"].as_object() else {
        assert!(
            body.is_none_or(str::is_empty),
            "{what}: the document gives no body, got {body:?}"
        );
        return record(name, status);
    };
    let media = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        .unwrap_or_else(|| panic!("{what}: no content type"));
    let Some(spec) = content.get(&media) else {
        let listed: Vec<&String> = content.keys().collect();
        panic!("{what}: content type `{media}`, the document lists {listed:?}");
    };
    if let (Some(body), true) = (body, media == "application/json") {
        let json: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e}): {body:?}"));
        let (_, pointer) = resolved(
            &spec["schema"],
            format!("{at}/content/{}/schema", token(&media)),
        );
        let violations = api_violations(&pointer, &json);
        assert!(
            violations.is_empty(),
            "{what}: the body breaks its schema ({pointer}):\n  {}\n{body}",
            violations.join("\n  ")
        );
    }
    record(name, status);
}

fn record(name: &str, status: u16) {
    CHECKED
        .lock()
        .expect("checked")
        .insert((name.to_string(), status));
}

fn check_body(name: &str, method: &str, path: &str, status: u16, body: &str) {
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| {
        panic!("{method} {path} {status}: the body is not JSON ({e}): {body:?}")
    });
    let violations = violations(name, &json);
    assert!(
        violations.is_empty(),
        "{method} {path} {status}: the body breaks OFREP's `{name}`:\n  {}\n{body}",
        violations.join("\n  ")
    );
}

/// The messages of an event stream's text, checked against
/// `event-streams.yaml`'s item schema (OFREP's `sseEvent`, whose `data` is
/// JSON of `sseEventData`); returns each message's parsed `data`. A block
/// without `data` (the retry hint, keep-alive comments) dispatches no
/// message, as the SSE specification says, and is not one.
pub fn events(text: &str) -> Vec<Value> {
    let streams: Value =
        serde_norway::from_str(EVENT_STREAMS).expect("OFREP's event-streams.yaml is YAML");
    let item = &streams["components"]["pathItems"]["eventStreamConnection"]["get"]["responses"]
        ["200"]["content"]["text/event-stream"]["itemSchema"]["$ref"];
    assert_eq!(*item, json!("openapi.yaml#/components/schemas/sseEvent"));
    let mut messages = Vec::new();
    for block in text.split("\n\n") {
        let mut fields = serde_json::Map::new();
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines().filter(|l| !l.starts_with(':')) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => data.push(value),
                "retry" => {
                    let ms: u64 = value
                        .parse()
                        .unwrap_or_else(|_| panic!("retry is not a number: {line:?}"));
                    fields.insert("retry".into(), ms.into());
                }
                _ => {
                    fields.insert(field.into(), value.into());
                }
            }
        }
        if data.is_empty() {
            continue;
        }
        let data = data.join("\n");
        fields.insert("data".into(), data.clone().into());
        let event = Value::Object(fields);
        let broken = violations("sseEvent", &event);
        assert!(broken.is_empty(), "{event} breaks sseEvent: {broken:?}");
        let payload: Value = serde_json::from_str(&data)
            .unwrap_or_else(|e| panic!("an event's data is not JSON ({e}): {data:?}"));
        let broken = violations("sseEventData", &payload);
        assert!(
            broken.is_empty(),
            "{payload} breaks sseEventData: {broken:?}"
        );
        messages.push(payload);
    }
    messages
}
