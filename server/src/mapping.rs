//! From an OFREP evaluation context (flat JSON with `targetingKey`) to a
//! typed Vexil context. The mapping, in the order it is applied (later
//! steps win):
//!
//! 1. `targetingKey` fills the key field of the targeting context;
//! 2. a top-level key that names a field of the default context fills it;
//! 3. a top-level key that names a declared context holds that context's
//!    fields, as an object.
//!
//! Keys that name nothing are ignored. Values are checked against the
//! schema's types here, so a wrong one is answered with `INVALID_CONTEXT`
//! naming the field and what it expects, before anything is evaluated.

use rustc_hash::FxHashMap;
use std::borrow::Cow;

use serde_json::Number;
use vexil_ir::{FieldType, Schema};
use vexil_runtime::{Context, FieldHandle, Layout};

use crate::config::Limits;
use crate::errors::ApiError;
use crate::request_json::{Json, Object};

/// One schema field, resolved for a loaded version.
#[derive(Clone, Debug)]
struct Field {
    /// `context.field`, for messages.
    path: String,
    handle: FieldHandle,
    ty: FieldType,
}

/// How OFREP contexts map onto one version's schema.
#[derive(Debug)]
pub struct Mapping {
    /// By name (FxHash: every name of every request's context is looked
    /// up here).
    contexts: FxHashMap<String, FxHashMap<String, Field>>,
    targeting: Option<Field>,
    default_context: Option<String>,
}

impl Mapping {
    /// The mapping for a schema; `Err` when the configuration names a
    /// context the schema lacks (or one without a key to target).
    pub fn new(
        schema: &Schema,
        layout: &Layout,
        targeting_context: Option<&str>,
        default_context: Option<&str>,
    ) -> Result<Mapping, String> {
        let mut contexts: FxHashMap<String, FxHashMap<String, Field>> = FxHashMap::default();
        for c in &schema.contexts {
            let fields = contexts.entry(c.name.clone()).or_default();
            for f in &c.fields {
                if let Some(handle) = layout.field(&c.name, &f.name) {
                    fields.insert(
                        f.name.clone(),
                        Field {
                            path: format!("{}.{}", c.name, f.name),
                            handle,
                            ty: f.ty.clone(),
                        },
                    );
                }
            }
        }
        let targeting_schema = match targeting_context {
            Some(name) => {
                let c = schema.context(name).ok_or_else(|| {
                    format!("`targeting_context` names `{name}`, which the flags do not declare")
                })?;
                if c.key.is_none() {
                    return Err(format!(
                        "`targeting_context` names `{name}`, which declares no `key` field"
                    ));
                }
                Some(c)
            }
            None => schema.contexts.iter().find(|c| c.key.is_some()),
        };
        let targeting = targeting_schema.and_then(|c| {
            let slot = c.key?;
            let f = c.fields.iter().find(|f| f.slot == slot)?;
            contexts.get(&c.name)?.get(&f.name).cloned()
        });
        let default_context = match default_context {
            Some(name) if schema.context(name).is_none() => {
                return Err(format!(
                    "`default_context` names `{name}`, which the flags do not declare"
                ))
            }
            Some(name) => Some(name.to_string()),
            None => targeting_schema.map(|c| c.name.clone()),
        };
        Ok(Mapping {
            contexts,
            targeting,
            default_context,
        })
    }

    /// Where `targetingKey` goes, as `context.field`.
    pub fn targeting_field(&self) -> Option<&str> {
        self.targeting.as_ref().map(|f| f.path.as_str())
    }

    /// The context flat keys fill.
    pub fn default_context(&self) -> Option<&str> {
        self.default_context.as_deref()
    }

    /// Build the typed context of a request's `context` object.
    pub fn context(
        &self,
        layout: &Layout,
        json: &Object<'_>,
        limits: &Limits,
    ) -> Result<Context, ApiError> {
        check_size(json, limits)?;
        let mut ctx = layout.context();
        if let Some(key) = json.get("targetingKey") {
            let Json::String(text) = key else {
                return Err(ApiError::invalid_context(format!(
                    "`targetingKey` must be a string, got {}",
                    key.kind()
                )));
            };
            if let Some(f) = &self.targeting {
                set_text(&mut ctx, f, text)?;
            }
        }
        let defaults = self
            .default_context
            .as_ref()
            .and_then(|name| self.contexts.get(name));
        if let Some(fields) = defaults {
            for (name, value) in json.iter() {
                if self.contexts.contains_key(name) && value.is_object() {
                    continue;
                }
                if let Some(f) = fields.get(name) {
                    set(&mut ctx, layout, f, value)?;
                }
            }
        }
        for (name, value) in json.iter() {
            let (Some(fields), Json::Object(values)) = (self.contexts.get(name), value) else {
                continue;
            };
            for (field, value) in values.iter() {
                if let Some(f) = fields.get(field) {
                    set(&mut ctx, layout, f, value)?;
                }
            }
        }
        Ok(ctx)
    }
}

impl Mapping {
    /// How many names in a request's context the schema does not declare
    /// (they are ignored): (contexts, fields). A top-level object that
    /// names no context is an unknown context; any other top-level key
    /// that names no field of the default context, and a key of a
    /// context's object that names none of its fields, an unknown field.
    pub fn unknown_names(&self, json: &Object<'_>) -> (u64, u64) {
        let defaults = self
            .default_context
            .as_ref()
            .and_then(|name| self.contexts.get(name));
        let (mut contexts, mut fields) = (0, 0);
        for (name, value) in json.iter() {
            if name == "targetingKey" {
                continue;
            }
            match (self.contexts.get(name), value) {
                (Some(declared), Json::Object(values)) => {
                    fields += values.keys().filter(|k| !declared.contains_key(*k)).count() as u64;
                }
                _ if defaults.is_some_and(|d| d.contains_key(name)) => {}
                (None, Json::Object(_)) => contexts += 1,
                _ => fields += 1,
            }
        }
        (contexts, fields)
    }
}

/// Depth and size limits, before any work is done on the values.
fn check_size(json: &Object<'_>, limits: &Limits) -> Result<(), ApiError> {
    let mut values = 0usize;
    // (value, depth): depth 1 is the context object's own members.
    let mut stack: Vec<(&Json, usize)> = json.values().map(|v| (v, 1)).collect();
    while let Some((value, depth)) = stack.pop() {
        values += 1;
        if values > limits.context_values {
            return Err(ApiError::invalid_context(format!(
                "the context holds more than {}",
                vexil_words::count(limits.context_values, "value")
            )));
        }
        if depth > limits.context_depth {
            return Err(ApiError::invalid_context(format!(
                "the context nests deeper than {}",
                vexil_words::count(limits.context_depth, "level")
            )));
        }
        match value {
            Json::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Json::Object(members) => stack.extend(members.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn set(ctx: &mut Context, layout: &Layout, f: &Field, value: &Json) -> Result<(), ApiError> {
    let h = f.handle;
    match (&f.ty, value) {
        (_, Json::Null) => ctx.unset(h),
        (FieldType::Bool, Json::Bool(b)) => ctx.set_bool(h, *b),
        (FieldType::Int, Json::Number(n)) => match integer(n) {
            Some(i) => ctx.set_int(h, i),
            None => return Err(mismatch(f, value.kind())),
        },
        (FieldType::Float, Json::Number(n)) => match n.as_f64() {
            Some(x) => ctx.set_float(h, x),
            None => return Err(mismatch(f, value.kind())),
        },
        (FieldType::Timestamp, Json::Number(n)) => match unix_millis(n) {
            Some(t) => ctx.set_timestamp(h, t),
            None => return Err(mismatch(f, value.kind())),
        },
        (FieldType::List(elem), Json::Array(items)) => {
            let texts = items
                .iter()
                .map(|item| item_text(f, elem, item))
                .collect::<Result<Vec<Cow<str>>, ApiError>>()?;
            ctx.set_list_parsed(layout, h, texts.iter().map(Cow::as_ref));
        }
        (_, Json::String(text)) => set_text(ctx, f, text)?,
        _ => return Err(mismatch(f, value.kind())),
    }
    Ok(())
}

/// A field from text: strings, and the types written as strings in JSON.
fn set_text(ctx: &mut Context, f: &Field, text: &str) -> Result<(), ApiError> {
    let h = f.handle;
    match &f.ty {
        FieldType::String => ctx.set_str(h, text),
        FieldType::Semver => ctx.set_semver(h, &semver(f, text)?),
        FieldType::Timestamp => match vexil_ir::value::parse_timestamp(text) {
            Ok(t) => ctx.set_timestamp(h, t),
            Err(_) => return Err(bad_text(f, text)),
        },
        FieldType::Enum(values) => match values.iter().position(|v| v == text) {
            Some(i) => ctx.set_enum_index(h, i as u32),
            None => return Err(bad_text(f, text)),
        },
        FieldType::Ip => match text.parse::<std::net::IpAddr>() {
            Ok(ip) => ctx.set_ip(h, ip),
            Err(_) => return Err(bad_text(f, text)),
        },
        // The targeting key of an int-keyed context arrives as text.
        FieldType::Int => match text.parse::<i64>() {
            Ok(i) => ctx.set_int(h, i),
            Err(_) => return Err(mismatch(f, "a string")),
        },
        _ => return Err(mismatch(f, "a string")),
    }
    Ok(())
}

/// A list item as the text `Context::set_list_parsed` reads, checked first.
fn item_text<'a>(f: &Field, elem: &FieldType, item: &'a Json) -> Result<Cow<'a, str>, ApiError> {
    let wrong = || {
        ApiError::invalid_context(format!(
            "context field `{}` expects {}, got an item that is {}",
            f.path,
            expected(&FieldType::List(Box::new(elem.clone()))),
            item.kind()
        ))
    };
    let item_field = Field {
        path: format!("{} (an item)", f.path),
        handle: f.handle,
        ty: elem.clone(),
    };
    Ok(match (elem, item) {
        (FieldType::Bool, Json::Bool(b)) => b.to_string().into(),
        (FieldType::Int, Json::Number(n)) => integer(n).ok_or_else(wrong)?.to_string().into(),
        (FieldType::Float, Json::Number(n)) => n.as_f64().ok_or_else(wrong)?.to_string().into(),
        (FieldType::String, Json::String(s)) => Cow::Borrowed(s.as_ref()),
        (FieldType::Semver, Json::String(s)) => semver(&item_field, s)?.to_string().into(),
        (FieldType::Timestamp, Json::String(s)) => {
            vexil_ir::value::parse_timestamp(s).map_err(|_| bad_text(&item_field, s))?;
            Cow::Borrowed(s.as_ref())
        }
        (FieldType::Timestamp, Json::Number(n)) => {
            vexil_ir::value::format_timestamp(unix_millis(n).ok_or_else(wrong)?).into()
        }
        (FieldType::Enum(values), Json::String(s)) if values.iter().any(|v| v == s) => {
            Cow::Borrowed(s.as_ref())
        }
        (FieldType::Enum(_), Json::String(s)) => return Err(bad_text(&item_field, s)),
        _ => return Err(wrong()),
    })
}

fn semver(f: &Field, text: &str) -> Result<semver::Version, ApiError> {
    let v = semver::Version::parse(text).map_err(|_| bad_text(f, text))?;
    // Versions are compared packed: major and minor in 32 bits, the patch
    // in 63 (the runtime's representation; larger ones would be invalid).
    let fits =
        u32::try_from(v.major).is_ok() && u32::try_from(v.minor).is_ok() && v.patch < 1 << 63;
    if !fits {
        return Err(ApiError::invalid_context(format!(
            "context field `{}` has the version `{}`, whose parts are too large",
            f.path,
            shorten(text)
        )));
    }
    Ok(v)
}

/// An integer, also when JSON wrote it with a zero fraction (`18.0`).
fn integer(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let x = n.as_f64()?;
        // Within the range where every f64 integer is exact.
        (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
    })
}

/// Unix milliseconds to microseconds.
fn unix_millis(n: &Number) -> Option<i64> {
    integer(n)?.checked_mul(1000)
}

/// `got` is what the JSON holds ([`Json::kind`]).
fn mismatch(f: &Field, got: &str) -> ApiError {
    ApiError::invalid_context(format!(
        "context field `{}` expects {}, got {got}",
        f.path,
        expected(&f.ty),
    ))
}

fn bad_text(f: &Field, text: &str) -> ApiError {
    ApiError::invalid_context(format!(
        "context field `{}` expects {}, got `{}`",
        f.path,
        expected(&f.ty),
        shorten(text)
    ))
}

fn expected(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "a boolean".into(),
        FieldType::Int => "an integer".into(),
        FieldType::Float => "a number".into(),
        FieldType::String => "a string".into(),
        FieldType::Semver => "a semantic version such as `1.2.3`".into(),
        FieldType::Timestamp => "an RFC 3339 timestamp or Unix milliseconds".into(),
        FieldType::Ip => "an IPv4 or IPv6 address such as `10.1.2.3` or `2001:db8::1`".into(),
        FieldType::Enum(values) => {
            let names: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            format!("one of {}", names.join(", "))
        }
        FieldType::List(elem) => format!("a list of {}", plural(elem)),
    }
}

fn plural(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "booleans".into(),
        FieldType::Int => "integers".into(),
        FieldType::Float => "numbers".into(),
        FieldType::String => "strings".into(),
        FieldType::Semver => "semantic versions".into(),
        FieldType::Timestamp => "timestamps".into(),
        other => format!("values of type {other}"),
    }
}

/// User input quoted in a message, cut to a readable length.
fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_string(),
    }
}
