//! Values that flags and experiments serve: literals and JSON objects typed
//! against the declared value type, and variants by name.

use vexil_grammar::{self as ast, LiteralKind, Span, ValueKind};
use vexil_ir::{self as ir, FlagValue, ValueType};

use super::FileChecker;
use crate::literal;
use crate::suggest::did_you_mean;
use crate::Code;

/// The values a flag can serve, each once, with variant names attached.
#[derive(Default)]
pub(super) struct ValueTable {
    pub values: Vec<ir::ServedValue>,
}

impl ValueTable {
    pub fn variant(&self, name: &str) -> Option<u32> {
        self.values
            .iter()
            .position(|v| v.variant.as_deref() == Some(name))
            .map(|i| i as u32)
    }

    fn variant_names(&self) -> Vec<&str> {
        self.values
            .iter()
            .filter_map(|v| v.variant.as_deref())
            .collect()
    }

    /// The id of a plain value: a variant with that value if there is one,
    /// else an anonymous entry (shared by equal values).
    pub fn intern(&mut self, value: FlagValue) -> u32 {
        if let Some(i) = self.values.iter().position(|v| v.value == value) {
            return i as u32;
        }
        self.values.push(ir::ServedValue {
            value,
            variant: None,
        });
        (self.values.len() - 1) as u32
    }
}

impl FileChecker<'_> {
    /// A literal or JSON value of type `vt`; `what` names where it appears.
    pub(super) fn plain_value(
        &mut self,
        v: &ast::Value,
        vt: ValueType,
        what: &str,
    ) -> Option<FlagValue> {
        match &v.kind {
            ValueKind::Variant(id) => {
                self.rep
                    .report(
                        Code::UnknownVariant,
                        id.span,
                        format!("unknown variant `{}`", id.name),
                    )
                    .label("not a value")
                    .help(if vt == ValueType::String {
                        format!(
                            "strings are quoted: `\"{}\"`; names refer to variants",
                            id.name
                        )
                    } else {
                        "names refer to variants declared in `variants { .. }`".to_string()
                    });
                None
            }
            ValueKind::Json(j) => {
                if vt != ValueType::Json {
                    self.wrong_value_type(v.span, vt, "a JSON object", what);
                    return None;
                }
                if !matches!(j, ast::Json::Object(..)) {
                    self.wrong_value_type(v.span, vt, "a JSON array", what);
                    return None;
                }
                self.json(j).map(FlagValue::Json)
            }
            ValueKind::Literal(lit) => {
                let converted = match (vt, &lit.kind) {
                    (ValueType::Bool, LiteralKind::Bool(b)) => Ok(FlagValue::Bool(*b)),
                    (ValueType::Int, LiteralKind::Number(_)) => {
                        literal::int(lit).map(FlagValue::Int)
                    }
                    (ValueType::Float, LiteralKind::Number(_)) => {
                        literal::float(lit).map(FlagValue::Float)
                    }
                    (ValueType::String, LiteralKind::String(s)) => Ok(FlagValue::String(s.clone())),
                    _ => {
                        self.wrong_value_type(lit.span, vt, lit.kind.describe(), what);
                        return None;
                    }
                };
                match converted {
                    Ok(v) => Some(v),
                    Err(e) => {
                        let code = if e.code == Code::TypeMismatch {
                            Code::ValueType
                        } else {
                            e.code
                        };
                        let d = self
                            .rep
                            .report(code, lit.span, e.message)
                            .label(format!("in {what}"));
                        if let Some(h) = e.help {
                            d.help(h);
                        }
                        None
                    }
                }
            }
        }
    }

    fn wrong_value_type(&mut self, span: Span, vt: ValueType, found: &str, what: &str) {
        let example = match vt {
            ValueType::Bool => "`true` or `false`",
            ValueType::Int => "an integer like `3`",
            ValueType::Float => "a number like `0.5`",
            ValueType::String => "a quoted string",
            ValueType::Json => "a JSON object like `{ \"limit\": 10 }`",
        };
        let expected = match vt {
            ValueType::Json => "a JSON object".to_string(),
            other => format!("{} value", crate::types::with_article(other.as_str())),
        };
        self.rep
            .report(
                Code::ValueType,
                span,
                format!("{what} must be {expected}, found {found}"),
            )
            .label(format!("expected {example}"))
            .help(format!("the declared value type is `{}`", vt.as_str()));
    }

    /// A value that may also name a variant of `table`.
    pub(super) fn served(
        &mut self,
        v: &ast::Value,
        vt: ValueType,
        table: &mut ValueTable,
        what: &str,
    ) -> Option<u32> {
        if let ValueKind::Variant(id) = &v.kind {
            if let Some(i) = table.variant(&id.name) {
                return Some(i);
            }
            let names: Vec<String> = table
                .variant_names()
                .into_iter()
                .map(str::to_string)
                .collect();
            let suggestion = did_you_mean(&id.name, names.iter().map(String::as_str));
            let d = self
                .rep
                .report(
                    Code::UnknownVariant,
                    id.span,
                    format!("unknown variant `{}`", id.name),
                )
                .label(format!("in {what}"));
            match suggestion {
                Some(s) => {
                    d.help(format!("did you mean `{s}`?")).fix(
                        format!("Replace with `{s}`"),
                        id.span,
                        s,
                    );
                }
                None if names.is_empty() && vt == ValueType::String => {
                    d.help(format!("strings are quoted: `\"{}\"`", id.name))
                        .fix("Quote it", id.span, format!("\"{}\"", id.name));
                }
                None if names.is_empty() => {
                    d.help("this flag declares no variants");
                }
                None => {
                    d.help(format!("its variants are {}", super::quote_list(&names)));
                }
            }
            return None;
        }
        let value = self.plain_value(v, vt, what)?;
        Some(table.intern(value))
    }

    pub(super) fn json(&mut self, j: &ast::Json) -> Option<serde_json::Value> {
        Some(match j {
            ast::Json::Null(_) => serde_json::Value::Null,
            ast::Json::Bool(b, _) => serde_json::Value::Bool(*b),
            ast::Json::Number(text, span) => match serde_json::from_str::<serde_json::Number>(text)
            {
                Ok(n) => serde_json::Value::Number(n),
                Err(_) => {
                    self.rep
                        .report(
                            Code::InvalidNumber,
                            *span,
                            format!("`{text}` is not a valid JSON number"),
                        )
                        .label("here");
                    return None;
                }
            },
            ast::Json::String(s) => serde_json::Value::String(s.value.clone()),
            ast::Json::Array(items, _) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.json(item)?);
                }
                serde_json::Value::Array(out)
            }
            ast::Json::Object(members, _) => {
                let mut map = serde_json::Map::new();
                let mut seen: Vec<(&str, Span)> = Vec::new();
                for (key, value) in members {
                    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key.value) {
                        self.rep
                            .report(
                                Code::DuplicateMember,
                                key.span,
                                format!("key `{}` appears twice in this object", key.value),
                            )
                            .label("again here")
                            .secondary(*first, "first here");
                        continue;
                    }
                    seen.push((&key.value, key.span));
                    map.insert(key.value.clone(), self.json(value)?);
                }
                serde_json::Value::Object(map)
            }
        })
    }
}
