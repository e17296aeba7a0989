//! OpenFeature's vocabulary for why a value was served and what went wrong.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The flag has no rules: its value cannot vary.
    Static,
    /// A rule's condition matched and the rule served a fixed value.
    TargetingMatch,
    /// The value came from bucketing: a rollout, a split, an experiment.
    Split,
    /// No rule matched (or a prerequisite failed, or the unit is not
    /// enrolled in an experiment): the default was served.
    Default,
    /// The flag is switched off.
    Disabled,
    Error,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Static,
        Reason::TargetingMatch,
        Reason::Split,
        Reason::Default,
        Reason::Disabled,
        Reason::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
            Reason::Disabled => "DISABLED",
            Reason::Error => "ERROR",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    /// The caller asked for a type the flag does not serve.
    TypeMismatch,
    /// A rollout, split or experiment needs a unit the context lacks.
    TargetingKeyMissing,
    /// The context has a value of the wrong type in a field the flag reads,
    /// or was built for another schema.
    InvalidContext,
    /// The context could not be parsed.
    ParseError,
    General,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::FlagNotFound,
        ErrorCode::TypeMismatch,
        ErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext,
        ErrorCode::ParseError,
        ErrorCode::General,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::General => "GENERAL",
        }
    }

    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|r| r.as_str() == text)
    }
}
