//! The Why page: a context, entered in a form generated from the schemas
//! (each field by its type, enums as their values) or pasted as JSON; every
//! flag's value for it; and for one flag the path its evaluation took
//! (the runtime's explaining evaluation). Also `POST /v1/explain/{flag}`,
//! the same for programs. Nothing here records an exposure.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use vexil_ir::{FieldType, Schema};
use vexil_runtime::Target;

use super::page::{self, Nav};
use super::session::User;
use super::Dashboard;
use crate::errors::ApiError;
use crate::state::{App, Served};

/// The largest pasted context, in bytes.
const MAX_CONTEXT_BYTES: usize = 64 * 1024;

/// A form's text for a field, as the JSON its type reads.
fn typed(ty: &FieldType, text: &str) -> Value {
    match ty {
        FieldType::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        FieldType::Int => text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_string()), Value::from),
        FieldType::Float => text
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or_else(|| Value::String(text.to_string())),
        FieldType::List(inner) => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| typed(inner, t))
                .collect(),
        ),
        _ => Value::String(text.to_string()),
    }
}

/// The context the form's fields (`context.field`) describe, nested by
/// context name as `vexil eval` reads it.
fn context_of(schema: &Schema, form: &HashMap<String, String>) -> Value {
    let mut root = Map::new();
    for c in &schema.contexts {
        let mut fields = Map::new();
        for f in &c.fields {
            let Some(text) = form
                .get(&format!("{}.{}", c.name, f.name))
                .map(|t| t.trim())
            else {
                continue;
            };
            if !text.is_empty() {
                fields.insert(f.name.clone(), typed(&f.ty, text));
            }
        }
        if !fields.is_empty() {
            root.insert(c.name.clone(), Value::Object(fields));
        }
    }
    Value::Object(root)
}

/// The value a context gives a field, as the form shows it.
fn shown(json: &Value, context: &str, field: &str) -> String {
    match json.get(context).and_then(|c| c.get(field)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// What `name` serves for `json` at `now`, and the path it took.
pub fn explained(served: &Served, name: &str, json: &Value, now: i64) -> Option<Value> {
    let snapshot = &served.snapshot;
    let ctx = snapshot.layout().context_from_json(json);
    let target = snapshot.target(name)?;
    let e = snapshot.evaluate_target_unexposed(target, &ctx, now);
    let explanation = served.base.explain(name, &ctx, Some(json), now);
    let o = served.overrides.get(name);
    Some(json!({
        "flag": name,
        "value": e.value,
        "variant": e.variant,
        "reason": e.reason.as_str(),
        "errorCode": e.error.map(|c| c.as_str()),
        "override": o.map(|o| json!({ "action": o.action.describe(), "actor": o.actor, "reason": o.reason })),
        "explanation": explanation,
    }))
}

/// `GET /admin/why`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    form: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let form = form.map(|q| q.0).unwrap_or_default();
    let app = &dashboard.app;
    let served = app.served();
    let bundle = served.base.bundle();
    let pasted = form.get("json").map(|t| t.trim()).filter(|t| !t.is_empty());
    let (json, problem) = match pasted {
        Some(text) if text.len() > MAX_CONTEXT_BYTES => (
            Value::Object(Map::new()),
            Some(format!(
                "the pasted context is larger than {MAX_CONTEXT_BYTES} bytes"
            )),
        ),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) if v.is_object() => (v, None),
            Ok(_) => (
                Value::Object(Map::new()),
                Some("the pasted context is not a JSON object".to_string()),
            ),
            Err(e) => (
                Value::Object(Map::new()),
                Some(format!("the pasted context is not JSON: {e}")),
            ),
        },
        None => (context_of(&bundle.schema, &form), None),
    };
    let chosen = form
        .get("flag")
        .map(String::as_str)
        .filter(|f| !f.is_empty());
    let now = vexil_runtime::now();
    let asked = !form.is_empty() && problem.is_none();
    let body = html! {
        h1 { "Why" }
        p.muted { "Enter a context (or paste one as JSON) to see what every flag serves it, and the path one flag's evaluation takes. Nothing here records an exposure." }
        form.why method="get" action="/admin/why" {
            label { "Flag to explain "
                select name="flag" {
                    @for f in &bundle.flags { option value=(f.name) selected[chosen == Some(f.name.as_str())] { (f.name) } }
                }
            }
            div.contexts {
                @for c in &bundle.schema.contexts {
                    fieldset {
                        legend { (c.name) }
                        @for f in &c.fields {
                            @let name = format!("{}.{}", c.name, f.name);
                            @let value = shown(&json, &c.name, &f.name);
                            label title=[f.doc.as_deref()] {
                                span.field { (f.name) " " code { (f.ty.to_string()) } @if c.key == Some(f.slot) { " (key)" } }
                                (input(&name, &f.ty, &value))
                            }
                        }
                    }
                }
            }
            details { summary { "Or paste a context as JSON" }
                textarea name="json" rows="6" cols="80" placeholder=r#"{"user": {"id": "u-1", "tier": "gold"}, "location": {"country": "DE"}}"# {}
            }
            button type="submit" { "Explain" }
        }
        @if let Some(p) = &problem { p.error role="alert" { (p) } }
        @if asked {
            @if let Some(name) = chosen {
                @match explained(&served, name, &json, now) {
                    Some(answer) => { (explanation(&answer)) }
                    None => { p.error { "no flag named " code { (name) } } }
                }
            }
            (every_flag(&served, &json, now))
        }
    };
    super::html(
        StatusCode::OK,
        page::shell("Why", &user, Nav::Why, app.keys.is_empty(), body),
    )
}

fn input(name: &str, ty: &FieldType, value: &str) -> Markup {
    match ty {
        FieldType::Bool => html! {
            select name=(name) { option value="" { "(missing)" } option selected[value == "true"] { "true" } option selected[value == "false"] { "false" } }
        },
        FieldType::Enum(values) => html! {
            select name=(name) {
                option value="" { "(missing)" }
                @for v in values { option value=(v) selected[value == v] { (v) } }
            }
        },
        FieldType::List(_) => {
            html! { input type="text" name=(name) value=(value) placeholder="a, b, c"; }
        }
        FieldType::Timestamp => {
            html! { input type="text" name=(name) value=(value) placeholder="2026-12-07T09:00:00Z"; }
        }
        FieldType::Semver => {
            html! { input type="text" name=(name) value=(value) placeholder="1.2.3"; }
        }
        FieldType::Int | FieldType::Float => {
            html! { input type="text" inputmode="decimal" name=(name) value=(value); }
        }
        FieldType::Ip => {
            html! { input type="text" name=(name) value=(value) placeholder="192.0.2.7"; }
        }
        FieldType::String => html! { input type="text" name=(name) value=(value); },
    }
}

fn explanation(answer: &Value) -> Markup {
    let steps = answer["explanation"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        section.explanation {
            h2 { "Why " code { (answer["flag"].as_str().unwrap_or("")) } " serves " code.served { (answer["value"].to_string()) } " (" (answer["reason"].as_str().unwrap_or("")) ")" }
            @if let Some(o) = answer["override"].as_object() {
                p.override-active { "An override is in force (" (o["action"].as_str().unwrap_or("")) ", by " (o["actor"].as_str().unwrap_or("")) ": " (o["reason"].as_str().unwrap_or("")) "): the rules below are what the flag would do without it." }
            }
            ol.steps {
                @for s in &steps {
                    li class={ "step " (s["verdict"].as_str().unwrap_or("").replace(' ', "-")) } {
                        strong { (s["step"].as_str().unwrap_or("")) } " — " span.verdict { (s["verdict"].as_str().unwrap_or("")) }
                        @if let Some(because) = s["because"].as_array() {
                            ul { @for b in because { li { (b.as_str().unwrap_or("")) } } }
                        }
                    }
                }
            }
        }
    }
}

fn every_flag(served: &Served, json: &Value, now: i64) -> Markup {
    let snapshot = &served.snapshot;
    let ctx = snapshot.layout().context_from_json(json);
    let count = u32::try_from(snapshot.bundle().flags.len()).unwrap_or(u32::MAX);
    html! {
        section {
            h2 { "Every flag for this context" }
            table.why-all {
                thead { tr { th { "Flag" } th { "Value" } th { "Variant" } th { "Reason" } th { "Rule" } } }
                tbody { @for i in 0..count {
                    @let e = snapshot.evaluate_target_unexposed(Target::Flag(i), &ctx, now);
                    tr data-flag=(e.key) {
                        td { a href={ "/admin/why?flag=" (e.key) } { (e.key) } }
                        td { code { (e.value.map(|v| v.to_string()).unwrap_or_default()) } }
                        td { (e.variant.unwrap_or("")) }
                        td.reason { (e.reason.as_str()) @if let Some(c) = e.error { " " (c.as_str()) } }
                        td { (e.rule.and_then(|(_, n)| n).unwrap_or("")) }
                    }
                } }
            }
        }
    }
}

/// What kind of JSON value `v` is, with its article.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `POST /v1/explain/{flag}`: `{"context": {...}, "now"?: "RFC 3339"}` →
/// the value, the reason, an override in force, and the explanation.
pub async fn api(State(app): State<Arc<App>>, Path(flag): Path<String>, body: Bytes) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let body = match parsed {
        Ok(v) if v.is_object() => v,
        Ok(_) | Err(_) => {
            let e =
                ApiError::parse("the body is not `{\"context\": {...}, \"now\"?: \"RFC 3339\"}`");
            return app.metrics.refuse(e).into_response();
        }
    };
    // A `now` or a `context` of another type is refused, not ignored: the
    // explanation would be of another time or another context.
    let now = match body.get("now") {
        None => vexil_runtime::now(),
        Some(Value::String(t)) => match t.parse::<jiff::Timestamp>() {
            Ok(t) => t.as_microsecond(),
            Err(e) => {
                let e = ApiError::parse(format!("`now` `{t}` is not an RFC 3339 time: {e}"));
                return app.metrics.refuse(e).into_response();
            }
        },
        Some(other) => {
            let e = ApiError::parse(format!(
                "`now` is an RFC 3339 time as a string, not {}",
                json_kind(other)
            ));
            return app.metrics.refuse(e).into_response();
        }
    };
    let context = match body.get("context") {
        None => json!({}),
        Some(c) if c.is_object() => c.clone(),
        Some(other) => {
            let e = ApiError::parse(format!(
                "`context` is an object of contexts by name (`{{\"user\": {{...}}}}`), not {}",
                json_kind(other)
            ));
            return app.metrics.refuse(e).into_response();
        }
    };
    let served = app.served();
    match explained(&served, &flag, &context, now) {
        Some(answer) => axum::Json(answer).into_response(),
        None => app
            .metrics
            .refuse(ApiError::not_found(&flag))
            .into_response(),
    }
}
