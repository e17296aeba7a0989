//! What an evaluation returns, in OpenFeature's vocabulary.
//!
//! Backends produce an [`Outcome`]: plain indices, so that two backends can
//! be compared field by field and compiled code can return it in registers.
//! A snapshot turns it into an [`Evaluation`] that borrows names and values
//! from the loaded program, and that into owned [`Details`] for JSON.

use serde::Serialize;
use vexil_ir::{ErrorCode, FieldType, FlagValue, Reason};

use crate::context::FieldInfo;
use crate::overrides::OverrideInfo;

/// The result of evaluating one flag or experiment, as indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// Index into the flag's values, or the experiment's variants.
    pub value: u32,
    /// Why this value was served.
    pub reason: Reason,
    /// The matched rule, 0-based.
    pub rule: Option<u32>,
    /// What went wrong, when the reason is `ERROR`.
    pub error: Option<ErrorCode>,
    /// What the error or the failed prerequisite concerns: a slot for
    /// `INVALID_CONTEXT` and `TARGETING_KEY_MISSING`, a flag index for a
    /// failed prerequisite.
    pub detail: Option<u32>,
}

impl Outcome {
    /// A value served for `reason`, without rule, error or detail.
    pub(crate) fn new(value: u32, reason: Reason) -> Outcome {
        Outcome {
            value,
            reason,
            rule: None,
            error: None,
            detail: None,
        }
    }

    /// An error, serving the value at `value` (a default or control).
    pub(crate) fn error(value: u32, code: ErrorCode, detail: Option<u32>) -> Outcome {
        Outcome {
            value,
            reason: Reason::Error,
            rule: None,
            error: Some(code),
            detail,
        }
    }
}

/// Why an evaluation failed, or which prerequisite did not hold.
#[derive(Clone, Copy, Debug)]
pub enum Detail<'s> {
    /// The context field an error concerns (`INVALID_CONTEXT`,
    /// `TARGETING_KEY_MISSING`).
    Field(&'s FieldInfo),
    /// The flag whose prerequisite did not hold.
    Prerequisite(&'s str),
    /// An error that no field or flag explains, in words.
    Message(&'static str),
}

/// An evaluation, borrowing from the snapshot that produced it.
#[derive(Clone, Debug)]
pub struct Evaluation<'s> {
    /// The flag's or experiment's name.
    pub key: &'s str,
    /// `None` only when the flag does not exist.
    pub value: Option<&'s FlagValue>,
    /// The served value's variant name, if it has one.
    pub variant: Option<&'s str>,
    /// Why this value was served.
    pub reason: Reason,
    /// The matched rule: 0-based index and name.
    pub rule: Option<(u32, Option<&'s str>)>,
    /// What went wrong, when the reason is `ERROR`.
    pub error: Option<ErrorCode>,
    /// What the error or the failed prerequisite concerns.
    pub detail: Option<Detail<'s>>,
    /// The run-time override that decided this value, if one did: the
    /// flag's rules were not consulted.
    pub overridden: Option<&'s OverrideInfo>,
}

impl Evaluation<'_> {
    /// The answer for a name that is neither a flag nor an experiment.
    pub(crate) fn not_found(key: &str) -> Evaluation<'_> {
        Evaluation {
            key,
            value: None,
            variant: None,
            reason: Reason::Error,
            rule: None,
            error: Some(ErrorCode::FlagNotFound),
            detail: None,
            overridden: None,
        }
    }

    /// A sentence on the error, for logs and API responses.
    pub fn error_message(&self) -> Option<String> {
        let code = self.error?;
        Some(match (code, self.detail) {
            (ErrorCode::FlagNotFound, _) => format!("no flag or experiment named `{}`", self.key),
            (ErrorCode::InvalidContext, Some(Detail::Field(f))) => format!(
                "context field `{}.{}` has a value that is not {}{}",
                f.context,
                f.name,
                vexil_words::with_article(&f.ty.to_string()),
                accepted(&f.ty)
            ),
            (ErrorCode::TargetingKeyMissing, Some(Detail::Field(f))) => format!(
                "`{}.{}` is needed for bucketing but the context does not have it",
                f.context, f.name
            ),
            (_, Some(Detail::Message(m))) => m.to_string(),
            (ErrorCode::TypeMismatch, _) => {
                format!("`{}` does not serve the requested type", self.key)
            }
            (code, _) => code.as_str().to_string(),
        })
    }

    /// [`to_details`](Evaluation::to_details) of the evaluation of `name`:
    /// a flag that does not exist keeps the name asked for (its evaluation,
    /// borrowing from the snapshot, cannot hold it).
    pub fn to_details_of(&self, name: &str) -> Details {
        if self.key.is_empty() && self.error == Some(ErrorCode::FlagNotFound) {
            return Evaluation::not_found(name).to_details();
        }
        self.to_details()
    }

    /// Owned details, for JSON.
    pub fn to_details(&self) -> Details {
        Details {
            key: self.key.to_string(),
            value: self.value.map(FlagValue::to_json),
            variant: self.variant.map(str::to_string),
            reason: self.reason,
            rule: self.rule.map(|(index, name)| RuleRef {
                index,
                number: index.saturating_add(1),
                name: name.map(str::to_string),
            }),
            error_code: self.error,
            error_message: self.error_message(),
            prerequisite_failed: match self.detail {
                Some(Detail::Prerequisite(p)) if self.error.is_none() => Some(p.to_string()),
                _ => None,
            },
            overridden: self.overridden.cloned(),
        }
    }
}

/// What a field of type `ty` accepts, where its name alone does not say:
/// the time forms and range every date parser states
/// ([`vexil_ir::value::ACCEPTED_TIMES`]).
fn accepted(ty: &FieldType) -> String {
    match ty {
        FieldType::Timestamp => format!(
            ": expected {}, or Unix milliseconds as a number",
            vexil_ir::value::ACCEPTED_TIMES
        ),
        FieldType::Ip => ": expected an IPv4 or IPv6 address as a string".to_string(),
        FieldType::List(elem) if **elem == FieldType::Timestamp => format!(
            ": expected a list, each item {}, or Unix milliseconds as a number",
            vexil_ir::value::ACCEPTED_TIMES
        ),
        _ => String::new(),
    }
}

/// Evaluation details, owned and serialisable.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Details {
    /// The flag's or experiment's name.
    pub key: String,
    /// Absent only when the flag does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The served value's variant name, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Why this value was served.
    pub reason: Reason,
    /// The matched rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// What went wrong, when the reason is `ERROR`.
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// The error in a sentence (see [`Evaluation::error_message`]).
    #[serde(rename = "errorMessage", skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The flag whose prerequisite did not hold, when that decided.
    #[serde(rename = "prerequisiteFailed", skip_serializing_if = "Option::is_none")]
    pub prerequisite_failed: Option<String>,
    /// Who overrode the flag, why and since when, if an override decided.
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub overridden: Option<OverrideInfo>,
}

/// A flag's rule, by position and name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRef {
    /// 0-based position in the flag, for programs that index its rules.
    pub index: u32,
    /// 1-based: the third rule is rule 3, as tests (`expect F rule 3`),
    /// diagnostics and people count.
    pub number: u32,
    /// Its name, if the rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
