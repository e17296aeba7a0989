//! Literals as written → typed constants, with precise errors. Public for
//! the editor's hover (percentages and timestamps); the checker reads the
//! rest.

use vexil_grammar::{Literal, LiteralKind};
use vexil_ir::bucket::percent_to_buckets;
use vexil_ir::ip::{Cidr, Ip};
use vexil_ir::value::{parse_duration, parse_timestamp};
use vexil_ir::Semver;

use crate::codes::Code;

/// Why a literal is not a valid value of the type it meets.
#[derive(Clone, Debug, PartialEq)]
pub struct LiteralError {
    /// The diagnostic code to report it under.
    pub code: Code,
    /// What is wrong, quoting the literal.
    pub message: String,
    /// How to write it instead, when there is one way.
    pub help: Option<String>,
}

fn err(code: Code, message: String, help: Option<&str>) -> LiteralError {
    LiteralError {
        code,
        message,
        help: help.map(str::to_string),
    }
}

/// A percentage as a number of buckets (1% = 1000).
pub fn percent(lit: &Literal) -> Result<u32, LiteralError> {
    let LiteralKind::Percent(text) = &lit.kind else {
        return Err(err(
            Code::InvalidPercent,
            format!("expected a percentage, found {}", lit.kind.describe()),
            Some("write a percentage like `25%`"),
        ));
    };
    let value: f64 = text.parse().map_err(|_| {
        err(
            Code::InvalidPercent,
            format!("`{text}%` is not a number"),
            None,
        )
    })?;
    if value > 100.0 {
        return Err(err(
            Code::InvalidPercent,
            format!("`{text}%` is more than 100%"),
            Some("percentages are between 0% and 100%"),
        ));
    }
    percent_to_buckets(value).ok_or_else(|| {
        err(
            Code::InvalidPercent,
            format!("`{text}%` has more than three decimals"),
            Some("the finest split is 0.001% (one bucket in 100,000)"),
        )
    })
}

/// A percentage or plain number as a fraction (`5%` → 0.05, `0.05` → 0.05).
pub(crate) fn fraction(lit: &Literal) -> Result<f64, LiteralError> {
    match &lit.kind {
        LiteralKind::Percent(text) => text.parse::<f64>().map(|v| v / 100.0).map_err(|_| {
            err(
                Code::InvalidNumber,
                format!("`{text}%` is not a number"),
                None,
            )
        }),
        LiteralKind::Number(_) => float(lit),
        other => Err(err(
            Code::InvalidNumber,
            format!(
                "expected a number or a percentage, found {}",
                other.describe()
            ),
            None,
        )),
    }
}

/// A timestamp from a date, an RFC 3339 timestamp or a string holding either.
pub fn timestamp(lit: &Literal) -> Result<i64, LiteralError> {
    let text = match &lit.kind {
        LiteralKind::Date(t) | LiteralKind::Timestamp(t) | LiteralKind::String(t) => t,
        other => {
            return Err(err(
                Code::InvalidTimestamp,
                format!("expected a date or timestamp, found {}", other.describe()),
                Some("write a date like `2026-12-01` or a timestamp like `2026-12-01T09:00:00Z`"),
            ))
        }
    };
    parse_timestamp(text).map_err(|e| {
        err(
            Code::InvalidTimestamp,
            format!("`{text}` is not a valid timestamp: {}", first_line(&e)),
            Some("write a date like `2026-12-01` or an RFC 3339 timestamp like `2026-12-01T09:00:00Z`"),
        )
    })
}

pub(crate) fn semver(lit: &Literal) -> Result<Semver, LiteralError> {
    let text = match &lit.kind {
        LiteralKind::Semver(t) | LiteralKind::String(t) => t,
        other => {
            return Err(err(
                Code::InvalidSemver,
                format!("expected a version, found {}", other.describe()),
                Some("write a version like `2.3.0`"),
            ))
        }
    };
    let v = Semver::parse(text).map_err(|e| {
        err(
            Code::InvalidSemver,
            format!("`{text}` is not a valid version: {e}"),
            Some("versions are `MAJOR.MINOR.PATCH`, like `2.3.0` or `1.0.0-beta.2`"),
        )
    })?;
    // The range validation refuses, said here with the literal's span.
    if !v.in_range() {
        return Err(err(
            Code::InvalidSemver,
            format!("`{text}` is out of range for a version"),
            Some(&format!(
                "major and minor versions go up to {}, patch versions up to {}",
                vexil_ir::value::SEMVER_MAX_MAJOR,
                vexil_ir::value::SEMVER_MAX_PATCH
            )),
        ));
    }
    Ok(v)
}

/// An address (`"10.1.2.3"`, `"2001:db8::1"`), compared with `==`/`!=`.
pub(crate) fn address(lit: &Literal) -> Result<Ip, LiteralError> {
    let text = ip_text(lit)?;
    Ip::parse(text).map_err(|message| {
        if text.contains('/') {
            err(
                Code::InvalidAddress,
                format!("`{text}` is a range, not one address"),
                Some("a range is tested with `in`: `request.ip in [\"10.0.0.0/8\"]`"),
            )
        } else {
            err(
                Code::InvalidAddress,
                message,
                Some("write an IPv4 or IPv6 address: `\"10.1.2.3\"`, `\"2001:db8::1\"`"),
            )
        }
    })
}

/// A CIDR range of `ip in [..]` (`"10.0.0.0/8"`, `"2001:db8::/32"`), or
/// one address, a range of one.
pub(crate) fn range(lit: &Literal) -> Result<Cidr, LiteralError> {
    let text = ip_text(lit)?;
    Cidr::parse(text).map_err(|message| {
        err(
            Code::InvalidAddress,
            message,
            Some("write a CIDR range like `\"10.0.0.0/8\"` or `\"2001:db8::/32\"`, or one address"),
        )
    })
}

/// Addresses and ranges are written as strings.
fn ip_text(lit: &Literal) -> Result<&str, LiteralError> {
    match &lit.kind {
        LiteralKind::String(t) => Ok(t),
        other => Err(err(
            Code::TypeMismatch,
            format!(
                "expected an address or range as a string, found {}",
                other.describe()
            ),
            Some("quote it: `\"10.0.0.0/8\"`, `\"2001:db8::/32\"`, `\"10.1.2.3\"`"),
        )),
    }
}

pub(crate) fn int(lit: &Literal) -> Result<i64, LiteralError> {
    let LiteralKind::Number(text) = &lit.kind else {
        return Err(err(
            Code::TypeMismatch,
            format!("expected an integer, found {}", lit.kind.describe()),
            None,
        ));
    };
    if text.contains(['.', 'e', 'E']) {
        return Err(err(
            Code::TypeMismatch,
            format!("expected an integer, found the decimal number `{text}`"),
            None,
        ));
    }
    text.parse().map_err(|_| {
        err(
            Code::InvalidNumber,
            format!("`{text}` does not fit in a 64-bit integer"),
            None,
        )
    })
}

pub(crate) fn float(lit: &Literal) -> Result<f64, LiteralError> {
    let LiteralKind::Number(text) = &lit.kind else {
        return Err(err(
            Code::TypeMismatch,
            format!("expected a number, found {}", lit.kind.describe()),
            None,
        ));
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(err(
            Code::InvalidNumber,
            format!("`{text}` is not a finite number"),
            None,
        )),
    }
}

/// A duration literal (`7d`, `12h`) in microseconds.
pub fn duration(lit: &Literal) -> Result<i64, LiteralError> {
    let LiteralKind::Duration(text) = &lit.kind else {
        return Err(err(
            Code::InvalidDuration,
            format!("expected a duration, found {}", lit.kind.describe()),
            Some("write a duration like `7d`, `12h` or `30m`"),
        ));
    };
    parse_duration(text).ok_or_else(|| {
        err(
            Code::InvalidDuration,
            format!("`{text}` is too long a duration"),
            None,
        )
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
