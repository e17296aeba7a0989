//! Sample ratio mismatch: a chi-square goodness-of-fit test of the observed
//! units per variant against the declared traffic weights (gbstats'
//! `check_srm`).

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::error::StatsError;

/// p-values below this flag a sample ratio mismatch (GrowthBook's default).
pub const SRM_THRESHOLD: f64 = 0.001;

/// Chi-square p-value of `units` against `weights` (any positive scale).
///
/// As in gbstats, variants with a weight of zero are left out of the
/// statistic but still count towards the degrees of freedom (`k - 1`), and
/// an experiment with no units at all has p = 1.
pub fn srm_p_value(units: &[f64], weights: &[f64]) -> Result<f64, StatsError> {
    if units.len() != weights.len() {
        return Err(StatsError::field(
            None,
            "weights",
            format!(
                "has {} but there are {}",
                vexil_words::count(weights.len(), "entry"),
                vexil_words::count(units.len(), "variant")
            ),
        ));
    }
    if units.len() < 2 {
        return Err(StatsError::field(
            None,
            "variants",
            "at least two variants are needed",
        ));
    }
    for (i, w) in weights.iter().enumerate() {
        if !(w.is_finite() && *w >= 0.0) {
            return Err(StatsError::field(
                None,
                &format!("weights[{i}]"),
                format!("must be a finite non-negative number, got `{w}`"),
            ));
        }
    }
    let total_weight: f64 = weights.iter().sum();
    if total_weight <= 0.0 {
        return Err(StatsError::field(None, "weights", "must not all be zero"));
    }
    let total_units: f64 = units.iter().sum();
    if total_units == 0.0 {
        return Ok(1.0);
    }
    let statistic: f64 = units
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(o, w)| {
            let expected = w / total_weight * total_units;
            (o - expected).powi(2) / expected
        })
        .sum();
    let dof = (units.len() - 1) as f64;
    let chi2 = ChiSquared::new(dof).map_err(|_| StatsError::NonFinite {
        variant: None,
        field: "srm_p_value".into(),
    })?;
    Ok(chi2.sf(statistic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_split_is_not_flagged() {
        let p = srm_p_value(&[500.0, 500.0], &[0.5, 0.5]).unwrap();
        assert!((p - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lopsided_split_is_flagged() {
        let p = srm_p_value(&[5000.0, 5400.0], &[1.0, 1.0]).unwrap();
        assert!(p < SRM_THRESHOLD);
    }
}
