//! Errors of the statistics engine: plain values naming the offending field
//! and variant, each with a stable code, rendered once by the caller.

use std::fmt;

/// Why an analysis or a plan could not be computed.
///
/// Every variant names the input field (and the variant, when one is
/// involved) so that `vexil stats` can point the user at the fix.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsError {
    /// The JSON text could not be read as an analysis request (`S0001`).
    Json {
        /// serde's description, with line and column.
        message: String,
    },
    /// A field holds a value the engine cannot use (`S0002`).
    InvalidField {
        /// The variant the field belongs to, if any.
        variant: Option<String>,
        /// The field's name as written in the JSON input.
        field: String,
        /// What is wrong, lowercase, no trailing period.
        reason: String,
    },
    /// A variance the test divides by is zero or negative (`S0003`).
    ZeroVariance {
        /// The variant whose data has no spread.
        variant: String,
        /// The field whose variance is zero.
        field: String,
    },
    /// The requested quantity is mathematically undefined for this data,
    /// e.g. a relative lift over a control mean of zero (`S0004`).
    Undefined {
        /// The variant involved, if any.
        variant: Option<String>,
        /// What is undefined and why.
        reason: String,
    },
    /// A computed result was not a finite number; reported instead of
    /// letting NaN or infinity reach the output (`S0005`).
    NonFinite {
        /// The variant whose result overflowed, if any.
        variant: Option<String>,
        /// The output field that was not finite.
        field: String,
    },
    /// The combination of options is not supported (`S0006`).
    Unsupported {
        /// What was asked for.
        what: String,
    },
}

impl StatsError {
    /// The stable diagnostic code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::Json { .. } => "S0001",
            StatsError::InvalidField { .. } => "S0002",
            StatsError::ZeroVariance { .. } => "S0003",
            StatsError::Undefined { .. } => "S0004",
            StatsError::NonFinite { .. } => "S0005",
            StatsError::Unsupported { .. } => "S0006",
        }
    }

    pub(crate) fn field(variant: Option<&str>, field: &str, reason: impl Into<String>) -> Self {
        StatsError::InvalidField {
            variant: variant.map(str::to_owned),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

fn in_variant(variant: &Option<String>) -> String {
    match variant {
        Some(name) => format!(" of variant `{name}`"),
        None => String::new(),
    }
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: ", self.code())?;
        match self {
            StatsError::Json { message } => write!(f, "invalid analysis input: {message}"),
            StatsError::InvalidField {
                variant,
                field,
                reason,
            } => write!(f, "`{field}`{}: {reason}", in_variant(variant)),
            StatsError::ZeroVariance { variant, field } => write!(
                f,
                "`{field}` of variant `{variant}` has zero variance, so no test can be computed\n  = help: every unit has the same value; collect more data or check the query"
            ),
            StatsError::Undefined { variant, reason } => {
                write!(f, "undefined result{}: {reason}", in_variant(variant))
            }
            StatsError::NonFinite { variant, field } => write!(
                f,
                "`{field}`{} is not a finite number\n  = help: the inputs are too large or too degenerate for double precision",
                in_variant(variant)
            ),
            StatsError::Unsupported { what } => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for StatsError {}
