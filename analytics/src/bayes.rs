//! Bayesian effect model (gbstats' `EffectBayesianABTest`): the lift's
//! estimate is treated as a Gaussian observation of the true lift, combined
//! with a Gaussian prior on it (flat by default, as in gbstats).

use crate::dist::{normal_cdf, normal_pdf, normal_quantile};
use crate::error::StatsError;
use crate::frequentist::Lift;
use crate::input::{BayesScale, GaussianPrior};
use crate::output::BayesResult;

/// Posterior of the lift on `scale`. The prior is stated on the relative
/// scale; for absolute results it is rescaled by the control's mean, as
/// gbstats does for `prior_type = "relative"`.
pub(crate) fn gaussian_effect(
    lift: Lift,
    scale: BayesScale,
    prior: Option<GaussianPrior>,
    control_mean: f64,
    alpha: f64,
    inverse: bool,
) -> Result<BayesResult, StatsError> {
    let (mean, sd) = match prior {
        None => (lift.point, lift.variance.sqrt()),
        Some(prior) => {
            let (prior_mean, prior_var) = match scale {
                BayesScale::Relative => (prior.mean, prior.stddev.powi(2)),
                BayesScale::Absolute => (
                    prior.mean * control_mean.abs(),
                    prior.stddev.powi(2) * control_mean.powi(2),
                ),
            };
            let precision = 1.0 / lift.variance + 1.0 / prior_var;
            let mean = (lift.point / lift.variance + prior_mean / prior_var) / precision;
            (mean, (1.0 / precision).sqrt())
        }
    };
    let z = mean / sd;
    let chance = normal_cdf(z);
    let (risk_control, risk_treatment) = gaussian_risk(mean, sd);
    let q = normal_quantile(1.0 - alpha / 2.0)?;
    let (chance_to_win, risk_control, risk_treatment) = if inverse {
        (1.0 - chance, risk_treatment, risk_control)
    } else {
        (chance, risk_control, risk_treatment)
    };
    Ok(BayesResult {
        scale,
        point: mean,
        posterior_sd: Some(sd),
        chance_to_win,
        risk_control,
        risk_treatment,
        ci_lower: mean - q * sd,
        ci_upper: mean + q * sd,
    })
}

/// Expected losses for a lift X ~ N(μ, σ²): choosing the control loses
/// E[max(X, 0)] = μΦ(μ/σ) + σφ(μ/σ); choosing the treatment loses
/// E[max(−X, 0)] = σφ(μ/σ) − μΦ(−μ/σ). These closed forms equal gbstats'
/// truncated-normal expressions. Clamped at zero against rounding.
pub(crate) fn gaussian_risk(mu: f64, sigma: f64) -> (f64, f64) {
    let z = mu / sigma;
    let density = sigma * normal_pdf(z);
    let control = (mu * normal_cdf(z) + density).max(0.0);
    let treatment = (density - mu * normal_cdf(-z)).max(0.0);
    (control, treatment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bayes_of(request: &str) -> serde_json::Value {
        let out = crate::analyze_json(request).unwrap();
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        json["variants"][0]["bayes"].clone()
    }

    const CONVERSIONS: &str = r#""metric": "proportion", "variants": [
        {"name": "control", "n": 5000, "sum": 500},
        {"name": "treatment", "n": 5000, "sum": 560}]"#;

    /// 500 of 5,000 against 560 of 5,000. The relative lift's variance by
    /// the delta method is v_B/(m_A² n_B) + v_A m_B²/(m_A⁴ n_A)
    /// = 0.099456/50 + 0.09 × 0.012544/0.5 = 0.00424704, so under the flat
    /// prior the posterior is N(0.12, 0.00424704): sd √0.00424704 =
    /// 0.0651693179. Under the prior N(0, 0.1²) the precision is
    /// 1/0.00424704 + 100 = 335.458, sd 0.0545985179, mean 0.0842280221.
    /// On the absolute scale the variance is (0.09 + 0.099456)/5000.
    #[test]
    fn posterior_sd_by_hand() {
        let flat = bayes_of(&format!("{{{CONVERSIONS}}}"));
        assert!((flat["point"].as_f64().unwrap() - 0.12).abs() < 1e-12);
        let sd = flat["posterior_sd"].as_f64().unwrap();
        assert!((sd - 0.065_169_317_934_132_16).abs() < 1e-12, "{sd}");

        let proper = bayes_of(&format!(
            r#"{{{CONVERSIONS}, "bayes_prior": {{"mean": 0, "stddev": 0.1}}}}"#
        ));
        assert!((proper["point"].as_f64().unwrap() - 0.084_228_022_101_433).abs() < 1e-12);
        let sd = proper["posterior_sd"].as_f64().unwrap();
        assert!((sd - 0.054_598_517_912_246_63).abs() < 1e-12, "{sd}");

        let absolute = bayes_of(&format!(r#"{{{CONVERSIONS}, "bayes_scale": "absolute"}}"#));
        let sd = absolute["posterior_sd"].as_f64().unwrap();
        assert!((sd - 0.006_155_582_831_868_969).abs() < 1e-14, "{sd}");
    }

    #[test]
    fn risks_differ_by_the_mean() {
        // E[max(X,0)] - E[max(-X,0)] = E[X].
        let (c, t) = gaussian_risk(0.3, 1.7);
        assert!((c - t - 0.3).abs() < 1e-14);
    }
}
