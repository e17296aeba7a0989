//! The workload itself: its six flags, the answers they can give, the country
//! lists they test, and the 10,000 users with the expected answers.
//!
//! Users come from `data/users.jsonl` (a copy of the shared workload file).
//! Each line carries an `expected` object beside the user's fields; it is
//! split off at load time so that the request an engine parses is only what
//! a service would receive.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::BenchError;

/// TARGET_10 of the workload: the audience countries of F2 and F5.
pub const TARGET_10: [&str; 10] = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "SE", "JP", "BR"];

/// LIST_50 of the workload: the countries of F6's `pro-intl` and `core-intl`.
pub const LIST_50: [&str; 50] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB",
    "UA", "RS", "BA", "ME", "MK", "AL", "MD", "BY", "TR", "GE", "AM", "AZ", "IL", "AE", "SA", "QA",
    "EG", "MA",
];

/// One of the workload's six flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
}

impl Flag {
    pub const ALL: [Flag; 6] = [Flag::F1, Flag::F2, Flag::F3, Flag::F4, Flag::F5, Flag::F6];

    /// The short name used in benchmark ids (`F1`..`F6`).
    pub fn id(self) -> &'static str {
        match self {
            Flag::F1 => "F1",
            Flag::F2 => "F2",
            Flag::F3 => "F3",
            Flag::F4 => "F4",
            Flag::F5 => "F5",
            Flag::F6 => "F6",
        }
    }

    /// The flag key every engine's configuration uses.
    pub fn key(self) -> &'static str {
        match self {
            Flag::F1 => "static-on",
            Flag::F2 => "targeted",
            Flag::F3 => "rollout-25",
            Flag::F4 => "semver-gate",
            Flag::F5 => "experiment-3way",
            Flag::F6 => "ten-rules",
        }
    }

    /// The answer when no rule of the flag matches: what the engines'
    /// "off" or "disabled" results stand for.
    pub fn fallback(self) -> Answer {
        match self {
            Flag::F1 | Flag::F2 | Flag::F3 | Flag::F4 => Answer::Bool(false),
            Flag::F5 => Answer::Variant(Variant::Control),
            Flag::F6 => Answer::Variant(Variant::Default),
        }
    }
}

/// The string values of F5 and F6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    Control,
    A,
    B,
    Default,
    EntBeta,
    Qa,
    Minor,
    LegacyClient,
    ProIntl,
    NewFree,
    Senior,
    NextBeta,
    ExampleUs,
    CoreIntl,
}

impl Variant {
    /// The variant a peer engine names, or `None` for a name outside the
    /// workload.
    pub fn from_name(name: &str) -> Option<Variant> {
        Some(match name {
            "control" => Variant::Control,
            "a" => Variant::A,
            "b" => Variant::B,
            "default" => Variant::Default,
            "ent-beta" => Variant::EntBeta,
            "qa" => Variant::Qa,
            "minor" => Variant::Minor,
            "legacy-client" => Variant::LegacyClient,
            "pro-intl" => Variant::ProIntl,
            "new-free" => Variant::NewFree,
            "senior" => Variant::Senior,
            "next-beta" => Variant::NextBeta,
            "example-us" => Variant::ExampleUs,
            "core-intl" => Variant::CoreIntl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::Control => "control",
            Variant::A => "a",
            Variant::B => "b",
            Variant::Default => "default",
            Variant::EntBeta => "ent-beta",
            Variant::Qa => "qa",
            Variant::Minor => "minor",
            Variant::LegacyClient => "legacy-client",
            Variant::ProIntl => "pro-intl",
            Variant::NewFree => "new-free",
            Variant::Senior => "senior",
            Variant::NextBeta => "next-beta",
            Variant::ExampleUs => "example-us",
            Variant::CoreIntl => "core-intl",
        }
    }
}

/// What an engine answered for one flag and one user, reduced to the
/// workload's value set so engines can be compared.
///
/// Peers answer F5 and F6 with a string; mapping it to [`Variant`] is one
/// short string match, a few nanoseconds against their hundreds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    Bool(bool),
    Variant(Variant),
    /// The engine answered something outside the workload's value set (a
    /// value of the wrong type, an unknown variant name, an unknown flag).
    /// The correctness test fails on it; the bench does not care.
    Unexpected,
}

impl Answer {
    /// Reduces a string answer of a peer engine.
    pub fn from_variant_name(name: &str) -> Answer {
        Variant::from_name(name).map_or(Answer::Unexpected, Answer::Variant)
    }
}

/// The answers `users.jsonl` records for one user. F3 and F5 depend on each
/// engine's hash, so only their shares can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub f1: bool,
    pub f2: bool,
    pub f4: bool,
    pub f6: Variant,
}

/// One user of the workload.
#[derive(Debug, Clone)]
pub struct WorkloadUser {
    /// The user's JSON object without `expected`: what a request carries.
    pub request: String,
    pub expected: Expected,
}

/// The 10,000 users, in file order.
#[derive(Debug, Clone)]
pub struct Workload {
    pub users: Vec<WorkloadUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "UPPERCASE")]
struct ExpectedRecord {
    f1: bool,
    f2: bool,
    f4: bool,
    f6: String,
}

impl Workload {
    /// The users file shipped with this crate.
    pub fn default_path() -> PathBuf {
        crate_path("data/users.jsonl")
    }

    /// Loads [`Workload::default_path`].
    pub fn load() -> Result<Workload, BenchError> {
        let path = Workload::default_path();
        let text = std::fs::read_to_string(&path).map_err(|source| BenchError::Read {
            path: path.clone(),
            source,
        })?;
        Workload::parse(&text)
    }

    /// Parses the users file format: one JSON object a line, each with an
    /// `expected` object.
    pub fn parse(text: &str) -> Result<Workload, BenchError> {
        let mut users = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let what = || format!("users file line {}", index + 1);
            let json_error = |source| BenchError::Json {
                what: what(),
                source,
            };
            let mut object: serde_json::Map<String, Value> =
                serde_json::from_str(line).map_err(json_error)?;
            let expected = object.remove("expected").unwrap_or(Value::Null);
            let expected: ExpectedRecord = serde_json::from_value(expected).map_err(json_error)?;
            let f6 = Variant::from_name(&expected.f6).ok_or_else(|| BenchError::Field {
                field: "expected.F6",
                value: expected.f6.clone(),
            })?;
            let request = serde_json::to_string(&object).map_err(json_error)?;
            users.push(WorkloadUser {
                request,
                expected: Expected {
                    f1: expected.f1,
                    f2: expected.f2,
                    f4: expected.f4,
                    f6,
                },
            });
        }
        Ok(Workload { users })
    }

    /// Every user's context, built by `engine` ahead of timing.
    pub fn prepare<E: crate::WorkloadEngine>(
        &self,
        engine: &E,
    ) -> Result<Vec<E::Context>, BenchError> {
        self.users
            .iter()
            .map(|user| engine.prepare(&user.request))
            .collect()
    }
}

/// A path inside this crate, so that the bench finds its data wherever the
/// workspace is checked out.
pub fn crate_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Reads one of the peer configurations in `peer-configs/`.
pub fn read_peer_config(file: &str) -> Result<String, BenchError> {
    let path = crate_path("peer-configs").join(file);
    std::fs::read_to_string(&path).map_err(|source| BenchError::Read { path, source })
}
