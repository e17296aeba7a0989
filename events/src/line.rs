//! One line of a JSON Lines event file: parsing and validation.
//!
//! ```text
//! {"type":"exposure","experiment":"checkout-layout","variant":"one-page","unit":"u-1","time":1764547200000000}
//! {"type":"track","id":"o-17","event":"purchase","unit":"u-1","value":42.5,"time":"2026-12-01T10:00:00Z","properties":{"currency":"USD"}}
//! ```
//!
//! Exposure lines are exactly what the runtime's `JsonLinesSink` writes.
//! `time` is whole microseconds since the epoch or an RFC 3339 string;
//! `unit` is a string or an integer (hashed as its decimal text, as the
//! runtime does); `value` defaults to 1; `id` is optional. Unknown fields
//! are errors, so a misspelt `vaule` is not silently a value of 1.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::event::{finite_value, non_empty, Event, Exposure, Row, Track};
use crate::id::{derived_exposure_id, derived_track_id, given_id, Kind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    experiment: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    variant: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    unit: Option<&'a RawValue>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default, borrow)]
    time: Option<&'a RawValue>,
    #[serde(default, borrow)]
    properties: Option<&'a RawValue>,
}

/// A parsed line, owning whatever could not be borrowed from the text
/// (strings with escapes, integer units, canonical properties).
#[derive(Debug)]
pub(crate) enum ParsedLine<'a> {
    Exposure {
        id: Option<Cow<'a, str>>,
        experiment: Cow<'a, str>,
        variant: Cow<'a, str>,
        unit: Cow<'a, str>,
        time: i64,
    },
    Track {
        id: Option<Cow<'a, str>>,
        event: Cow<'a, str>,
        unit: Cow<'a, str>,
        value: f64,
        time: i64,
        properties: Option<String>,
    },
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

impl ParsedLine<'_> {
    /// The same line, owning its text.
    pub(crate) fn into_owned(self) -> ParsedLine<'static> {
        match self {
            ParsedLine::Exposure {
                id,
                experiment,
                variant,
                unit,
                time,
            } => ParsedLine::Exposure {
                id: id.map(owned),
                experiment: owned(experiment),
                variant: owned(variant),
                unit: owned(unit),
                time,
            },
            ParsedLine::Track {
                id,
                event,
                unit,
                value,
                time,
                properties,
            } => ParsedLine::Track {
                id: id.map(owned),
                event: owned(event),
                unit: owned(unit),
                value,
                time,
                properties,
            },
        }
    }

    /// The event this line describes, owning its data.
    fn into_event(self) -> Result<Event, String> {
        Ok(match self {
            ParsedLine::Exposure {
                id,
                experiment,
                variant,
                unit,
                time,
            } => Event::Exposure(Exposure {
                id: id.map(Cow::into_owned),
                experiment: experiment.into_owned(),
                variant: variant.into_owned(),
                unit: unit.into_owned(),
                time,
            }),
            ParsedLine::Track {
                id,
                event,
                unit,
                value,
                time,
                properties,
            } => Event::Track(Track {
                id: id.map(Cow::into_owned),
                event: event.into_owned(),
                unit: unit.into_owned(),
                value,
                time,
                properties: match properties {
                    Some(text) => Some(
                        serde_json::from_str(&text)
                            .map_err(|e| format!("`properties`: {}", json_reason(&e)))?,
                    ),
                    None => None,
                },
            }),
        })
    }

    pub(crate) fn row(&self) -> Row<'_> {
        match self {
            ParsedLine::Exposure {
                id,
                experiment,
                variant,
                unit,
                time,
            } => Row::Exposure {
                producer_id: id.is_some(),
                id: match id {
                    Some(id) => given_id(Kind::Exposure, id),
                    None => derived_exposure_id(experiment, variant, unit, *time),
                },
                experiment,
                variant,
                unit,
                time: *time,
            },
            ParsedLine::Track {
                id,
                event,
                unit,
                value,
                time,
                properties,
            } => Row::Track {
                producer_id: id.is_some(),
                id: match id {
                    Some(id) => given_id(Kind::Track, id),
                    None => derived_track_id(event, unit, *time, *value, properties.as_deref()),
                },
                event,
                unit,
                value: *value,
                time: *time,
                properties: properties.as_deref(),
            },
        }
    }
}

/// serde's message without its "at line 1 column N" suffix, which would
/// be wrong here (every input is one line); the column is kept.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = match text.find(" at line ") {
        Some(at) => text.get(..at).unwrap_or(&text),
        None => &text,
    };
    if e.column() > 0 {
        format!("{message} (column {})", e.column())
    } else {
        message.to_string()
    }
}

fn required<T>(value: Option<T>, field: &str, kind: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{} line needs `{field}`", vexil_words::with_article(kind)))
}

fn forbid<T>(value: &Option<T>, field: &str, kind: &str) -> Result<(), String> {
    if value.is_some() {
        Err(format!(
            "`{field}` is not a field of {} line",
            vexil_words::with_article(kind)
        ))
    } else {
        Ok(())
    }
}

fn parse_unit(raw: &RawValue) -> Result<Cow<'_, str>, String> {
    let text = raw.get();
    if text.starts_with('"') {
        let unit: Cow<'_, str> = serde_json::from_str(text).map_err(|e| json_reason(&e))?;
        non_empty("unit", &unit)?;
        return Ok(unit);
    }
    match whole_number(text) {
        Some(n) => Ok(Cow::Owned(n.to_string())),
        None => Err(format!(
            "`unit` must be a string or an integer, got `{text}`"
        )),
    }
}

/// The value of a JSON number's text when it is a whole number in the
/// range of `i64`, however it is written (`42`, `42.0`, `4.2e1`): JSON does
/// not tell integers from other numbers (Python writes a float `42.0`), and
/// JSON Schema's `integer` is any whole number. Exact: the digits are
/// read as written, never through a float. `None` for a fraction, a
/// number out of range, or text that is not a number.
fn whole_number(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    // The number is DIGITS × 10^EXPONENT.
    let joined = format!("{whole}{fraction}");
    let mut digits = joined.trim_start_matches('0');
    let mut exponent = exponent.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    if digits.is_empty() {
        return Some(0);
    }
    while exponent < 0 {
        digits = digits.strip_suffix('0')?;
        exponent += 1;
    }
    // i64 has at most 19 digits.
    if i64::try_from(digits.len()).ok()?.checked_add(exponent)? > 19 {
        return None;
    }
    let mut value: i128 = digits.parse().ok()?;
    for _ in 0..exponent {
        value *= 10;
    }
    i64::try_from(if negative { -value } else { value }).ok()
}

fn parse_time(raw: &RawValue) -> Result<i64, String> {
    let text = raw.get();
    if text.starts_with('"') {
        let s: Cow<'_, str> = serde_json::from_str(text).map_err(|e| json_reason(&e))?;
        return vexil_ir::value::parse_time(&s).map_err(|e| {
            format!("`time` `{s}` is not a time: {e}, or whole microseconds since the epoch as a number")
        });
    }
    whole_number(text).ok_or_else(|| {
        format!(
            "`time` must be whole microseconds since the epoch or an RFC 3339 string, got `{text}`"
        )
    })
}

/// The properties object as canonical JSON: keys sorted at every level,
/// no spaces. Sorting is done here rather than relying on serde_json's map
/// order, which a feature elsewhere in the build could change.
pub(crate) fn canonical_properties(raw: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("`properties`: {}", json_reason(&e)))?;
    if !value.is_object() {
        return Err("`properties` must be a JSON object".to_string());
    }
    let mut out = String::with_capacity(raw.len());
    write_canonical(&value, &mut out);
    Ok(out)
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Parses one line of the JSON Lines format (an object, as `vexil ingest`
/// reads it) into an event, with the same checks: the error is the reason
/// the line is rejected, without a line number. Events from elsewhere (a
/// server's intake) are held to exactly the rules of a file.
pub fn parse_event(text: &str) -> Result<Event, String> {
    parse_line(text.trim())?.into_event()
}

/// Parses one non-blank line. The error is the reason, without the line
/// number (the caller knows it).
pub(crate) fn parse_line(text: &str) -> Result<ParsedLine<'_>, String> {
    let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| json_reason(&e))?;
    let kind = raw
        .kind
        .ok_or_else(|| "missing `type` (\"exposure\" or \"track\")".to_string())?;
    let id = match raw.id {
        Some(id) if id.is_empty() => return Err("`id` is empty".to_string()),
        other => other,
    };
    match kind.as_ref() {
        "exposure" => {
            let k = "exposure";
            forbid(&raw.event, "event", k)?;
            forbid(&raw.value, "value", k)?;
            forbid(&raw.properties, "properties", k)?;
            let experiment = required(raw.experiment, "experiment", k)?;
            let variant = required(raw.variant, "variant", k)?;
            non_empty("experiment", &experiment)?;
            non_empty("variant", &variant)?;
            let unit = parse_unit(required(raw.unit, "unit", k)?)?;
            let time = parse_time(required(raw.time, "time", k)?)?;
            Ok(ParsedLine::Exposure {
                id,
                experiment,
                variant,
                unit,
                time,
            })
        }
        "track" => {
            let k = "track";
            forbid(&raw.experiment, "experiment", k)?;
            forbid(&raw.variant, "variant", k)?;
            let event = required(raw.event, "event", k)?;
            non_empty("event", &event)?;
            let unit = parse_unit(required(raw.unit, "unit", k)?)?;
            let time = parse_time(required(raw.time, "time", k)?)?;
            let value = raw.value.unwrap_or(1.0);
            finite_value(value)?;
            let properties = match raw.properties {
                Some(p) if p.get() == "null" => None,
                Some(p) => Some(canonical_properties(p.get())?),
                None => None,
            };
            Ok(ParsedLine::Track {
                id,
                event,
                unit,
                value,
                time,
                properties,
            })
        }
        other => Err(format!(
            "unknown `type` `{other}`: a line is an \"exposure\" or a \"track\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_line_parses_with_a_derived_id() {
        let line = r#"{"type":"exposure","experiment":"e","variant":"a","unit":"u-1","time":17}"#;
        let parsed = parse_line(line).unwrap();
        assert!(matches!(
            parsed.row(),
            Row::Exposure {
                time: 17,
                unit: "u-1",
                ..
            }
        ));
    }

    #[test]
    fn integer_units_are_their_decimal_text() {
        let line = r#"{"type":"track","event":"buy","unit":42,"time":1}"#;
        let parsed = parse_line(line).unwrap();
        match parsed.row() {
            Row::Track { unit, value, .. } => {
                assert_eq!(unit, "42");
                assert_eq!(value, 1.0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rfc3339_times_are_accepted() {
        let line = r#"{"type":"track","event":"buy","unit":"u","time":"1970-01-01T00:00:01Z"}"#;
        match parse_line(line).unwrap().row() {
            Row::Track { time, .. } => assert_eq!(time, 1_000_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_whole_number_is_an_integer_however_it_is_written() {
        for (text, value) in [
            ("42", Some(42)),
            ("-7", Some(-7)),
            ("42.0", Some(42)),
            ("-13513.000", Some(-13513)),
            ("4.2e1", Some(42)),
            ("4200E-2", Some(42)),
            ("1e3", Some(1000)),
            ("0.0e99999", Some(0)),
            ("-0", Some(0)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9.223372036854775807e18", Some(i64::MAX)),
            ("1.5", None),
            ("1e-1", None),
            ("9223372036854775808", None),
            ("1e19", None),
            ("1e99999999999999999999", None),
            ("true", None),
            ("\"1\"", None),
        ] {
            assert_eq!(whole_number(text), value, "{text}");
        }
        // As a time and as a unit.
        let line = r#"{"type":"track","event":"buy","unit":42.0,"time":1.7e15}"#;
        match parse_line(line).unwrap().row() {
            Row::Track { unit, time, .. } => {
                assert_eq!((unit, time), ("42", 1_700_000_000_000_000))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reasons_name_the_field() {
        let cases = [
            (
                r#"{"type":"track","event":"buy","unit":"u","time":1.5}"#,
                "`time` must be whole",
            ),
            (
                r#"{"type":"track","event":"buy","unit":"u","time":1,"vaule":3}"#,
                "unknown field `vaule`",
            ),
            (
                r#"{"type":"exposure","variant":"a","unit":"u","time":1}"#,
                "needs `experiment`",
            ),
            (
                r#"{"type":"exposure","experiment":"e","variant":"a","unit":"u","time":1,"value":2}"#,
                "`value` is not a field",
            ),
            (
                r#"{"type":"click","unit":"u","time":1}"#,
                "unknown `type` `click`",
            ),
            (
                r#"{"type":"track","event":"buy","unit":true,"time":1}"#,
                "`unit` must be a string or an integer",
            ),
            (
                r#"{"type":"track","event":"buy","unit":"u","time":1,"properties":[1]}"#,
                "must be a JSON object",
            ),
            (
                r#"{"type":"track","event":"buy","unit":"u","time":1"#,
                "EOF",
            ),
            (
                r#"{"type":"track","event":"","unit":"u","time":1}"#,
                "`event` is empty",
            ),
        ];
        for (line, expected) in cases {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(expected), "{line}: {err}");
        }
    }

    #[test]
    fn a_line_becomes_the_event_it_describes() {
        let line = r#"{"type":"track","id":"o-1","event":"buy","unit":7,"value":2.5,"time":"1970-01-01T00:00:01Z","properties":{"b":1,"a":2}}"#;
        let Ok(Event::Track(t)) = parse_event(line) else {
            panic!("a track event");
        };
        assert_eq!((t.id.as_deref(), t.unit.as_str()), (Some("o-1"), "7"));
        assert_eq!((t.value, t.time), (2.5, 1_000_000));
        assert_eq!(t.properties.map(|p| p.len()), Some(2));
        assert!(parse_event(r#"{"type":"track","event":"buy","unit":"u"}"#)
            .is_err_and(|e| e.contains("needs `time`")));
    }

    #[test]
    fn properties_are_canonical() {
        let a = canonical_properties(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        assert_eq!(a, r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
    }
}
