//! OpenFeature's vocabulary for why a value was served and what went wrong.

use serde::{Deserialize, Serialize};

/// Why a value was served: OpenFeature's resolution reasons, the ones Vexil gives.
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
    /// Evaluation failed (see the [`ErrorCode`]): the caller's default is served.
    Error,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 6] = [
        Reason::Static,
        Reason::TargetingMatch,
        Reason::Split,
        Reason::Default,
        Reason::Disabled,
        Reason::Error,
    ];

    /// The name OpenFeature and OFREP use (`TARGETING_MATCH`).
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

    /// The reason [`Reason::as_str`] names `text`; `None` for any other text.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// What went wrong in an evaluation: OpenFeature's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No flag or experiment has the requested name.
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
    /// Anything else (such as a prerequisite chain too deep to follow).
    General,
}

impl ErrorCode {
    /// Every error code, in declaration order.
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::FlagNotFound,
        ErrorCode::TypeMismatch,
        ErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext,
        ErrorCode::ParseError,
        ErrorCode::General,
    ];

    /// The name OpenFeature and OFREP use (`INVALID_CONTEXT`).
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

    /// The code [`ErrorCode::as_str`] names `text`; `None` for any other text.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|r| r.as_str() == text)
    }
}
