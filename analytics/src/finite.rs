//! The last gate before results leave the engine: every number must be
//! finite, because serde_json would silently print NaN as `null`.

use crate::error::StatsError;
use crate::output::{AnalysisOutput, ArmResult, BayesResult, Estimate};

fn check(value: f64, variant: Option<&str>, field: &str) -> Result<(), StatsError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StatsError::NonFinite {
            variant: variant.map(str::to_owned),
            field: field.to_owned(),
        })
    }
}

fn check_estimate(e: &Estimate, variant: &str, prefix: &str) -> Result<(), StatsError> {
    let fields = [
        ("point", e.point),
        ("se", e.se),
        ("ci_lower", e.ci_lower),
        ("ci_upper", e.ci_upper),
        ("p_value", e.p_value),
        ("p_value_adjusted", e.p_value_adjusted.unwrap_or(0.0)),
    ];
    for (name, value) in fields {
        check(value, Some(variant), &format!("{prefix}.{name}"))?;
    }
    Ok(())
}

fn check_bayes(b: &BayesResult, variant: &str) -> Result<(), StatsError> {
    let fields = [
        ("point", b.point),
        ("posterior_sd", b.posterior_sd.unwrap_or(0.0)),
        ("chance_to_win", b.chance_to_win),
        ("risk_control", b.risk_control),
        ("risk_treatment", b.risk_treatment),
        ("ci_lower", b.ci_lower),
        ("ci_upper", b.ci_upper),
    ];
    for (name, value) in fields {
        check(value, Some(variant), &format!("bayes.{name}"))?;
    }
    Ok(())
}

fn check_arm(arm: &ArmResult) -> Result<(), StatsError> {
    check(arm.n, Some(&arm.name), "n")?;
    check(arm.mean, Some(&arm.name), "mean")?;
    check(arm.stddev, Some(&arm.name), "stddev")
}

/// Errors with the first non-finite field of `output`, naming its variant.
pub(crate) fn ensure_finite(output: &AnalysisOutput) -> Result<(), StatsError> {
    check(output.srm_p_value, None, "srm_p_value")?;
    check_arm(&output.control)?;
    for v in &output.variants {
        let name = v.arm.name.as_str();
        check_arm(&v.arm)?;
        check(v.dof, Some(name), "dof")?;
        check_estimate(&v.absolute, name, "absolute")?;
        check_estimate(&v.relative, name, "relative")?;
        check_bayes(&v.bayes, name)?;
        if let Some(s) = &v.sequential {
            check_estimate(&s.absolute, name, "sequential.absolute")?;
            check_estimate(&s.relative, name, "sequential.relative")?;
        }
        if let Some(c) = &v.cuped {
            check(c.theta, Some(name), "cuped.theta")?;
            check_estimate(&c.unadjusted_absolute, name, "cuped.unadjusted_absolute")?;
            check_estimate(&c.unadjusted_relative, name, "cuped.unadjusted_relative")?;
        }
    }
    Ok(())
}
