//! Experiment planning for `vexil plan`: units per variant needed to detect
//! a relative effect with a two-sided test, and how many days of traffic
//! that takes.

use serde::{Deserialize, Serialize};

use crate::dist::{normal_cdf, normal_quantile};
use crate::error::StatsError;

/// Kind of metric being planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMetric {
    /// Conversion rate; `baseline` is the control's rate in (0, 1).
    Proportion,
    /// Mean of a numeric value; needs `stddev`.
    Mean,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_power() -> f64 {
    0.8
}

/// Inputs of [`sample_size`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSizeInput {
    /// Metric kind.
    pub metric: PlanMetric,
    /// Control's conversion rate or mean.
    pub baseline: f64,
    /// Per-unit standard deviation (mean metrics only; the same in both arms).
    #[serde(default)]
    pub stddev: Option<f64>,
    /// Minimum detectable effect, relative to `baseline` (0.05 = +5%).
    pub mde: f64,
    /// Two-sided significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Probability of detecting an effect of size `mde`.
    #[serde(default = "default_power")]
    pub power: f64,
}

/// Result of [`sample_size`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Units needed in each variant (the control included), rounded up.
    pub per_variant: f64,
    /// The unrounded solution of the power equation.
    pub per_variant_exact: f64,
    /// The minimum detectable effect on the absolute scale.
    pub absolute_effect: f64,
}

/// Inputs of [`duration_days`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationInput {
    /// Units needed per variant, from [`sample_size`].
    pub per_variant: f64,
    /// Units reaching the flag per day.
    pub daily_traffic: f64,
    /// Share of that traffic included in the experiment, in (0, 1].
    pub traffic_allocation: f64,
    /// Number of variants, the control included; traffic is split evenly.
    pub variants: u32,
}

/// Result of [`duration_days`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Duration {
    /// Whole days needed.
    pub days: f64,
    /// Unrounded days.
    pub days_exact: f64,
    /// Units needed across all variants.
    pub total_units: f64,
}

fn check(ok: bool, field: &str, reason: String) -> Result<(), StatsError> {
    if ok {
        Ok(())
    } else {
        Err(StatsError::field(None, field, reason))
    }
}

/// Power of the two-sided z-test for a difference `delta` when each arm
/// has `n` units and the per-unit variances sum to `variance_sum`. Both
/// rejection tails count, as in statsmodels' `NormalIndPower`.
fn power_at(n: f64, delta: f64, variance_sum: f64, z: f64) -> f64 {
    let shift = delta.abs() / (variance_sum / n).sqrt();
    normal_cdf(shift - z) + normal_cdf(-shift - z)
}

/// Checks `input` and returns the absolute effect and the sum of the two
/// arms' per-unit variances.
fn effect(input: &SampleSizeInput) -> Result<(f64, f64), StatsError> {
    let SampleSizeInput {
        metric,
        baseline,
        stddev,
        mde,
        alpha,
        power,
    } = *input;
    check(
        alpha.is_finite() && alpha > 0.0 && alpha < 1.0,
        "alpha",
        format!("must lie strictly between 0 and 1, got `{alpha}`"),
    )?;
    check(
        power.is_finite() && power > alpha && power < 1.0,
        "power",
        format!("must lie strictly between alpha and 1, got `{power}`"),
    )?;
    check(
        mde.is_finite() && mde != 0.0,
        "mde",
        format!("must be a non-zero finite relative effect, got `{mde}`"),
    )?;
    Ok(match metric {
        PlanMetric::Proportion => {
            check(
                baseline > 0.0 && baseline < 1.0,
                "baseline",
                format!("a conversion rate must lie strictly between 0 and 1, got `{baseline}`"),
            )?;
            let treated = baseline * (1.0 + mde);
            check(
                treated > 0.0 && treated < 1.0,
                "mde",
                format!("moves the conversion rate to `{treated}`, outside (0, 1)"),
            )?;
            (
                treated - baseline,
                baseline * (1.0 - baseline) + treated * (1.0 - treated),
            )
        }
        PlanMetric::Mean => {
            check(
                baseline.is_finite() && baseline != 0.0,
                "baseline",
                format!("must be a non-zero finite mean, got `{baseline}`"),
            )?;
            let sd = stddev
                .ok_or_else(|| StatsError::field(None, "stddev", "is required for mean metrics"))?;
            check(
                sd.is_finite() && sd > 0.0,
                "stddev",
                format!("must be a positive finite number, got `{sd}`"),
            )?;
            (baseline * mde, 2.0 * sd * sd)
        }
    })
}

/// Units per variant for a two-sided z-test (unpooled variances) to reach
/// `power` at significance `alpha` when the true relative effect is `mde`.
///
/// Proportions use `p(1-p)` for the control and `p'(1-p')` with
/// `p' = p(1+mde)` for the treatment; means use `stddev²` for both.
pub fn sample_size(input: &SampleSizeInput) -> Result<SampleSize, StatsError> {
    let (delta, variance_sum) = effect(input)?;
    let SampleSizeInput { alpha, power, .. } = *input;
    let z = normal_quantile(1.0 - alpha / 2.0)?;
    let z_power = normal_quantile(power)?;
    // Ignoring the far tail gives a closed form that is an upper bound; the
    // far tail only lowers it, so the exact answer lies in (upper/2, upper].
    let upper = (z + z_power).powi(2) * variance_sum / (delta * delta);
    let (mut lo, mut hi) = (upper / 2.0, upper);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if power_at(mid, delta, variance_sum, z) < power {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    if !hi.is_finite() || hi > 9.0e15 {
        return Err(StatsError::NonFinite {
            variant: None,
            field: "per_variant".into(),
        });
    }
    Ok(SampleSize {
        per_variant: hi.ceil(),
        per_variant_exact: hi,
        absolute_effect: delta,
    })
}

/// Units per variant for the rollout monitor's test (the one-sided,
/// always-valid mixture SPRT of `sequential.rs`, tuned with `tuning`) to
/// reach `power` at level `alpha` when the true relative effect is `mde` in
/// the harmful direction, with the same effect and variances as
/// [`sample_size`]. The power counts only the check at the end (each arm at
/// that size); earlier checks can only add detections, so it is a floor.
pub fn sequential_sample_size(
    input: &SampleSizeInput,
    tuning: f64,
) -> Result<SampleSize, StatsError> {
    let (delta, variance_sum) = effect(input)?;
    check(
        tuning.is_finite() && tuning > 0.0,
        "sequential_tuning",
        format!("must be a positive number, got `{tuning}`"),
    )?;
    let SampleSizeInput { alpha, power, .. } = *input;
    let z_power = normal_quantile(power)?;
    let reached = |n: f64| {
        let boundary = crate::sequential::one_sided_boundary(2.0 * n, alpha, tuning);
        delta.abs() / (variance_sum / n).sqrt() - boundary >= z_power
    };
    // The fixed-horizon one-sided size is a lower bound: the always-valid
    // boundary is above the fixed one at every sample.
    let z = normal_quantile(1.0 - alpha)?;
    let mut lo = ((z + z_power).powi(2) * variance_sum / (delta * delta)).max(1.0);
    let mut hi = 2.0 * lo;
    while !reached(hi) {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() || hi > 9.0e15 {
            return Err(StatsError::NonFinite {
                variant: None,
                field: "per_variant".into(),
            });
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-9 * hi {
            break;
        }
    }
    Ok(SampleSize {
        per_variant: hi.ceil(),
        per_variant_exact: hi,
        absolute_effect: delta,
    })
}

/// Days of traffic needed to put `per_variant` units in each of `variants`
/// evenly split variants when `traffic_allocation` of `daily_traffic`
/// enters the experiment.
pub fn duration_days(input: &DurationInput) -> Result<Duration, StatsError> {
    let DurationInput {
        per_variant,
        daily_traffic,
        traffic_allocation,
        variants,
    } = *input;
    check(
        per_variant.is_finite() && per_variant > 0.0,
        "per_variant",
        format!("must be a positive number, got `{per_variant}`"),
    )?;
    check(
        daily_traffic.is_finite() && daily_traffic > 0.0,
        "daily_traffic",
        format!("must be a positive number, got `{daily_traffic}`"),
    )?;
    check(
        traffic_allocation > 0.0 && traffic_allocation <= 1.0,
        "traffic_allocation",
        format!("must lie in (0, 1], got `{traffic_allocation}`"),
    )?;
    check(
        variants >= 2,
        "variants",
        format!("an experiment needs at least 2 variants, got `{variants}`"),
    )?;
    let total_units = per_variant * f64::from(variants);
    let days_exact = total_units / (daily_traffic * traffic_allocation);
    if !days_exact.is_finite() {
        return Err(StatsError::NonFinite {
            variant: None,
            field: "days".into(),
        });
    }
    Ok(Duration {
        days: days_exact.ceil(),
        days_exact,
        total_units,
    })
}

/// Days of traffic needed when the variants take unequal `shares` of the
/// enrolled units (fractions summing to 1, in declaration order) and
/// `traffic_allocation` of `daily_traffic` is enrolled. Every arm needs
/// `per_variant` units, so the smallest share sets the pace: the days are
/// `per_variant / (daily_traffic × traffic_allocation × smallest)`, which is
/// [`duration_days`] with the allocation scaled by `smallest × variants`
/// (1 for an even split). Inputs are refused as [`duration_days`] refuses
/// them, with the same messages. The one formula behind `vexil check`'s
/// W0006 warning and `vexil plan`.
pub fn duration_for_shares(
    per_variant: f64,
    daily_traffic: f64,
    traffic_allocation: f64,
    shares: &[f64],
) -> Result<Duration, StatsError> {
    let variants = u32::try_from(shares.len()).map_err(|_| {
        StatsError::field(
            None,
            "variants",
            format!("too many variants: `{}`", shares.len()),
        )
    })?;
    let smallest = shares.iter().copied().fold(f64::INFINITY, f64::min);
    duration_days(&DurationInput {
        per_variant,
        daily_traffic,
        traffic_allocation: traffic_allocation * smallest * f64::from(variants),
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitors_test_needs_more_than_a_fixed_horizon_one() {
        // +20% on a 10% error rate, alpha 0.025 per test, 80% power.
        let input = SampleSizeInput {
            metric: PlanMetric::Proportion,
            baseline: 0.1,
            stddev: None,
            mde: 0.2,
            alpha: 0.025,
            power: 0.8,
        };
        let sequential = sequential_sample_size(&input, 5000.0).expect("plans");
        let fixed = sample_size(&SampleSizeInput {
            alpha: 0.05,
            ..input.clone()
        })
        .expect("plans");
        // The two-sided test at 2 alpha is the one-sided one at alpha.
        assert!(
            sequential.per_variant > fixed.per_variant,
            "{sequential:?} vs {fixed:?}"
        );
        // Always-valid inference costs a bounded factor, not an order of
        // magnitude, near the tuning.
        assert!(
            sequential.per_variant < 4.0 * fixed.per_variant,
            "{sequential:?} vs {fixed:?}"
        );
        let bad_tuning = sequential_sample_size(&input, 0.0);
        assert!(bad_tuning.is_err());
    }

    #[test]
    fn textbook_mean_example() {
        // δ = σ/2 at 5% / 80%: the classic answer is about 63 per arm.
        let n = sample_size(&SampleSizeInput {
            metric: PlanMetric::Mean,
            baseline: 10.0,
            stddev: Some(10.0),
            mde: 0.5,
            alpha: 0.05,
            power: 0.8,
        })
        .unwrap();
        assert_eq!(n.per_variant, 63.0);
    }

    #[test]
    fn duration_rounds_up() {
        let d = duration_days(&DurationInput {
            per_variant: 1000.0,
            daily_traffic: 300.0,
            traffic_allocation: 0.5,
            variants: 3,
        })
        .unwrap();
        assert_eq!(d.days, 20.0);
    }

    #[test]
    fn an_even_split_is_the_even_split_formula() {
        let even = duration_days(&DurationInput {
            per_variant: 1000.0,
            daily_traffic: 300.0,
            traffic_allocation: 0.5,
            variants: 3,
        })
        .unwrap();
        let third = 1.0 / 3.0;
        let shares = duration_for_shares(1000.0, 300.0, 0.5, &[third, third, third]).unwrap();
        assert!((shares.days_exact - even.days_exact).abs() < 1e-9);
        assert_eq!(shares.days, 20.0);
    }

    #[test]
    fn the_smallest_share_sets_the_pace() {
        // 1,000 units in the 20% arm at 100 enrolled a day: 50 days, the
        // same as an even split of five 20% arms.
        let d = duration_for_shares(1000.0, 100.0, 1.0, &[0.8, 0.2]).unwrap();
        assert!((d.days_exact - 50.0).abs() < 1e-9, "{}", d.days_exact);
        let five = duration_for_shares(1000.0, 100.0, 1.0, &[0.2; 5]).unwrap();
        assert!((five.days_exact - d.days_exact).abs() < 1e-9);
    }

    #[test]
    fn one_arm_or_none_is_refused() {
        assert!(duration_for_shares(1000.0, 100.0, 1.0, &[1.0]).is_err());
        assert!(duration_for_shares(1000.0, 100.0, 1.0, &[]).is_err());
    }
}
