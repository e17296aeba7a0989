//! Values: what flags serve, and the typed constants that rules compare with.
//!
//! Times are microseconds since the Unix epoch (UTC); versions are semantic
//! versions compared by precedence (build metadata ignored, pre-releases
//! ordered as SemVer 2.0 says).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::time::{
    format_timestamp, now_micros, parse_time, parse_timestamp, TimeError, ACCEPTED_TIMES,
};

/// A value served by a flag or an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FlagValue {
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A JSON value of a flag of type `json`. The enum is untagged: read
    /// back, a bare bool, number or string becomes one of the variants above.
    Json(serde_json::Value),
}

impl FlagValue {
    /// The type of value this is.
    pub fn value_type(&self) -> ValueType {
        match self {
            FlagValue::Bool(_) => ValueType::Bool,
            FlagValue::Int(_) => ValueType::Int,
            FlagValue::Float(_) => ValueType::Float,
            FlagValue::String(_) => ValueType::String,
            FlagValue::Json(_) => ValueType::Json,
        }
    }

    /// As JSON, for details and OFREP; a float that is not finite becomes `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FlagValue::Bool(b) => serde_json::Value::Bool(*b),
            FlagValue::Int(i) => serde_json::Value::from(*i),
            FlagValue::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            FlagValue::String(s) => serde_json::Value::String(s.clone()),
            FlagValue::Json(j) => j.clone(),
        }
    }
}

impl fmt::Display for FlagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagValue::Bool(b) => write!(f, "{b}"),
            FlagValue::Int(i) => write!(f, "{i}"),
            FlagValue::Float(x) => write!(f, "{x:?}"),
            FlagValue::String(s) => write!(f, "{s:?}"),
            FlagValue::Json(j) => write!(f, "{j}"),
        }
    }
}

/// The type of value a flag serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// `bool`
    Bool,
    /// `string`
    String,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `json`: any JSON value.
    Json,
}

impl ValueType {
    /// The type as the language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Json => "json",
        }
    }
}

/// A semantic version, ordered by SemVer precedence.
#[derive(Clone, Debug)]
pub struct Semver(pub semver::Version);

impl Semver {
    /// Parse `2.3.0-beta.1`; the error is `semver`'s message.
    pub fn parse(text: &str) -> Result<Semver, String> {
        semver::Version::parse(text)
            .map(Semver)
            .map_err(|e| e.to_string())
    }

    /// Whether it has a pre-release part, which orders it before its release.
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }
}

impl PartialEq for Semver {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Semver {}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Semver {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

impl fmt::Display for Semver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Semver {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Semver {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Semver::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A duration literal (`7d`, `12h`, `30m`, `45s`, `2w`) in microseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let n: i64 = text.get(..text.len() - 1)?.parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    n.checked_mul(secs)?.checked_mul(1_000_000)
}

/// The largest major and minor version the runtime holds: it packs each in
/// 32 bits (see the runtime's `PackedSemver`).
pub const SEMVER_MAX_MAJOR: u64 = u32::MAX as u64;
/// The largest minor version the runtime holds (32 bits, as the major).
pub const SEMVER_MAX_MINOR: u64 = u32::MAX as u64;
/// The largest patch version: 63 bits, the last bit of its word says
/// whether the version is a release.
pub const SEMVER_MAX_PATCH: u64 = (1 << 63) - 1;

/// Whether the runtime can hold `v`: a version constant beyond this range
/// is refused by validation (and by the checker), a context value beyond
/// it is invalid.
pub fn semver_in_range(v: &semver::Version) -> bool {
    v.major <= SEMVER_MAX_MAJOR && v.minor <= SEMVER_MAX_MINOR && v.patch <= SEMVER_MAX_PATCH
}

impl Semver {
    /// Whether the runtime can hold this version ([`semver_in_range`]).
    pub fn in_range(&self) -> bool {
        semver_in_range(&self.0)
    }
}
