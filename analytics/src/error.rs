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

/// A stable code of the statistics engine, as `vexil explain` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsCode {
    /// `S0001` to `S0006`.
    pub code: &'static str,
    /// A few words, lowercase.
    pub title: &'static str,
    /// What causes it and what to do.
    pub explanation: &'static str,
}

const JSON: StatsCode = StatsCode {
    code: "S0001",
    title: "unreadable analysis request",
    explanation: "The request is not JSON of the shape `vexil stats` reads: a syntax error, a \
        missing `metric` or `variants`, a value of the wrong type, or an unknown key (a \
        misspelt `alpah` is an error, not a silent default). The message gives the line and \
        column. The fields are listed by `vexil stats --help` and in analytics/STATISTICS.md.",
};

const INVALID_FIELD: StatsCode = StatsCode {
    code: "S0002",
    title: "invalid field",
    explanation: "A field holds a value the engine cannot use, and the message names it and \
        its variant: fewer than 2 units or a fractional `n`, conversions outside 0 to `n`, a \
        sum of squares smaller than sum²/n, a magnitude above 1e150, an `alpha` or weight out \
        of range, a field missing for the metric kind. In `vexil analyze` it usually means a \
        variant with fewer than 2 exposed units: wait for more traffic.",
};

const ZERO_VARIANCE: StatsCode = StatsCode {
    code: "S0003",
    title: "zero variance",
    explanation: "Every unit of a variant has the same value of the metric (all converted, \
        none converted, or one constant value), so there is no standard error and no test. \
        Collect more data, or check the query that computed the sums.",
};

const UNDEFINED: StatsCode = StatsCode {
    code: "S0004",
    title: "undefined result",
    explanation: "The quantity asked for does not exist for this data: a relative lift over a \
        control mean of 0, or the exact Beta–binomial relative lift with no conversion in the \
        control. Use `bayes_scale: \"absolute\"`, or wait for the control to convert.",
};

const NON_FINITE: StatsCode = StatsCode {
    code: "S0005",
    title: "non-finite result",
    explanation: "A computed value overflowed or was not a number; the engine reports it \
        instead of printing `null`. The inputs are too large or too degenerate for double \
        precision: check the sums, or express the metric in a larger unit.",
};

const UNSUPPORTED: StatsCode = StatsCode {
    code: "S0006",
    title: "unsupported combination",
    explanation: "The engine does not offer what was asked: CUPED on a ratio metric (gbstats \
        has no such estimator either), the Beta–binomial method for a mean or ratio or with a \
        CUPED covariate, or a Beta–binomial posterior beyond the precision of the incomplete \
        beta function (use the default Gaussian method, accurate at that size).",
};

/// Every code, in order.
pub const STATS_CODES: [StatsCode; 6] = [
    JSON,
    INVALID_FIELD,
    ZERO_VARIANCE,
    UNDEFINED,
    NON_FINITE,
    UNSUPPORTED,
];

/// The code `text` names (`s0003` too), if the engine has it.
pub fn stats_code(text: &str) -> Option<&'static StatsCode> {
    let text = text.trim();
    STATS_CODES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(text))
}

impl StatsError {
    /// The stable diagnostic code of this error.
    pub fn code(&self) -> &'static str {
        let code = match self {
            StatsError::Json { .. } => JSON,
            StatsError::InvalidField { .. } => INVALID_FIELD,
            StatsError::ZeroVariance { .. } => ZERO_VARIANCE,
            StatsError::Undefined { .. } => UNDEFINED,
            StatsError::NonFinite { .. } => NON_FINITE,
            StatsError::Unsupported { .. } => UNSUPPORTED,
        };
        code.code
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_numbered_in_order_and_found_in_any_case() {
        for (i, c) in STATS_CODES.iter().enumerate() {
            assert_eq!(c.code, format!("S000{}", i + 1));
            assert_eq!(stats_code(&c.code.to_lowercase()), Some(c));
        }
        let error = StatsError::ZeroVariance {
            variant: "a".into(),
            field: "sum".into(),
        };
        assert_eq!(
            stats_code(error.code()).map(|c| c.title),
            Some("zero variance")
        );
        assert_eq!(stats_code("E0001"), None);
    }
}
