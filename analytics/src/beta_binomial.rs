//! Exact Bayesian analysis of conversions: each arm's rate has a Beta
//! posterior, and chance to win, expected losses and the lift's credible
//! interval are one-dimensional integrals over the control's posterior,
//! evaluated by quadrature with breaks at posterior quantiles.

use statrs::distribution::{Beta, Continuous, ContinuousCDF};

use crate::error::StatsError;
use crate::input::{BayesScale, BetaPrior, VariantInput};
use crate::output::BayesResult;
use crate::quadrature::{breaks_within, integrate};

/// Probability levels at which posterior quantiles become panel breaks:
/// dense in the middle, geometric in the tails so steep edges are resolved.
const LEVELS: [f64; 22] = [
    1e-15, 1e-12, 1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
    0.6, 0.7, 0.8, 0.9, 0.95, 0.98,
];

/// Largest accepted `ab/(a+b)` of a posterior Beta(a, b), roughly the
/// smaller of conversions and non-conversions. statrs' regularized
/// incomplete beta stops its continued fraction after 140 terms, and the
/// terms needed near the mean grow like the square root of this size:
/// against scipy it is within 5e-10 up to 4e4 but off by 1e-6 at 9e4 and
/// 5e-4 at 2e5. At this size the Gaussian method is accurate anyway.
const MAX_EFFECTIVE_SIZE: f64 = 4e4;

/// One arm's Beta posterior and its quantiles at [`LEVELS`] and their
/// mirror images.
struct Posterior {
    a: f64,
    b: f64,
    dist: Beta,
    quantiles: Vec<f64>,
}

impl Posterior {
    fn new(v: &VariantInput, name: &str, prior: BetaPrior) -> Result<Posterior, StatsError> {
        let a = prior.alpha + v.sum;
        let b = prior.beta + (v.n - v.sum);
        if a * b / (a + b) > MAX_EFFECTIVE_SIZE {
            return Err(StatsError::Unsupported {
                what: format!(
                    "the exact Beta–binomial method for variant `{name}`: with {} conversions and {} non-conversions it exceeds the precision of the incomplete beta function; use the Gaussian method, which is exact enough at this size",
                    v.sum,
                    v.n - v.sum
                ),
            });
        }
        let dist = Beta::new(a, b)
            .map_err(|_| StatsError::field(Some(name), "sum", "gives an invalid Beta posterior"))?;
        let mut quantiles = Vec::with_capacity(2 * LEVELS.len());
        for p in LEVELS {
            quantiles.push(dist.inverse_cdf(p));
            quantiles.push(dist.inverse_cdf(1.0 - p));
        }
        Ok(Posterior {
            a,
            b,
            dist,
            quantiles,
        })
    }

    fn mean(&self) -> f64 {
        self.a / (self.a + self.b)
    }

    fn variance(&self) -> f64 {
        let s = self.a + self.b;
        self.a * self.b / (s * s * (s + 1.0))
    }

    /// The posterior tilted by one success, Beta(a + 1, b): E[p·1{p ≤ x}]
    /// equals mean() times its CDF at x.
    fn tilted(&self) -> Result<Beta, StatsError> {
        Beta::new(self.a + 1.0, self.b).map_err(|_| StatsError::NonFinite {
            variant: None,
            field: "bayes".into(),
        })
    }
}

/// Exact Beta–binomial chance to win, risks and credible interval.
pub(crate) fn beta_binomial(
    (control, control_name): (&VariantInput, &str),
    (treatment, treatment_name): (&VariantInput, &str),
    prior: BetaPrior,
    scale: BayesScale,
    alpha: f64,
    inverse: bool,
) -> Result<BayesResult, StatsError> {
    for (field, value) in [
        ("beta_prior.alpha", prior.alpha),
        ("beta_prior.beta", prior.beta),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(StatsError::field(
                None,
                field,
                format!("must be a positive finite number, got `{value}`"),
            ));
        }
    }
    let pa = Posterior::new(control, control_name, prior)?;
    let pb = Posterior::new(treatment, treatment_name, prior)?;
    if scale == BayesScale::Relative && pa.a <= 1.0 {
        return Err(StatsError::Undefined {
            variant: Some(control_name.to_owned()),
            reason: "with no conversions in the control (posterior alpha ≤ 1) the expected relative lift is infinite; use `bayes_scale: \"absolute\"`".into(),
        });
    }
    let tilted_b = pb.tilted()?;
    let mean_b = pb.mean();

    // Breaks at both arms' quantiles; the treatment's are where its CDF,
    // inside every integrand below, moves fastest.
    let mut candidates = pa.quantiles.clone();
    candidates.extend(&pb.quantiles);
    let breaks = breaks_within(candidates, 0.0, 1.0);
    // statrs' density carries its normalising constant through log-gamma
    // differences, which lose ~1e-9 relative at shapes near 1e6. That error
    // is a constant factor, so dividing by the integrated mass removes it;
    // a mass far from 1 means the panels missed the posterior.
    let mass = integrate(&breaks, |x| pa.dist.pdf(x));
    let mass_ok = (mass - 1.0).abs() <= 1e-6; // false for NaN too
    if !mass_ok {
        return Err(StatsError::Unsupported {
            what: format!(
                "the exact Beta–binomial method for these counts (quadrature mass {mass}); use the Gaussian method"
            ),
        });
    }
    let density = |x: f64| pa.dist.pdf(x) / mass;

    let chance = integrate(&breaks, |x| density(x) * pb.dist.sf(x)).clamp(0.0, 1.0);
    // E[max(p_b - x, 0)] and E[max(x - p_b, 0)] for a fixed control rate x.
    let gain = |x: f64| (mean_b * tilted_b.sf(x) - x * pb.dist.sf(x)).max(0.0);
    let loss = |x: f64| (x * pb.dist.cdf(x) - mean_b * tilted_b.cdf(x)).max(0.0);

    let (point, risk_control, risk_treatment, cdf_target): (
        f64,
        f64,
        f64,
        Box<dyn Fn(f64) -> f64>,
    ) = match scale {
        BayesScale::Absolute => (
            mean_b - pa.mean(),
            integrate(&breaks, |x| density(x) * gain(x)),
            integrate(&breaks, |x| density(x) * loss(x)),
            Box::new(|d: f64| {
                let shifted: Vec<f64> = pb.quantiles.iter().map(|q| q - d).collect();
                let mut c = pa.quantiles.clone();
                c.extend(shifted);
                let br = breaks_within(c, 0.0, 1.0);
                integrate(&br, |x| density(x) * pb.dist.cdf((x + d).clamp(0.0, 1.0)))
            }),
        ),
        BayesScale::Relative => (
            // E[p_b / p_a] = E[p_b] · (a + b - 1) / (a - 1) for independent arms.
            mean_b * (pa.a + pa.b - 1.0) / (pa.a - 1.0) - 1.0,
            integrate(&breaks, |x| density(x) * gain(x) / x),
            integrate(&breaks, |x| density(x) * loss(x) / x),
            Box::new(|r: f64| {
                let scaled: Vec<f64> = pb.quantiles.iter().map(|q| q / (1.0 + r)).collect();
                let mut c = pa.quantiles.clone();
                c.extend(scaled);
                let br = breaks_within(c, 0.0, 1.0);
                integrate(&br, |x| {
                    density(x) * pb.dist.cdf(((1.0 + r) * x).clamp(0.0, 1.0))
                })
            }),
        ),
    };

    // Normal approximation of the lift, only to bracket the quantiles.
    let (approx_mean, approx_sd, lowest) = match scale {
        BayesScale::Absolute => (
            mean_b - pa.mean(),
            (pa.variance() + pb.variance()).sqrt(),
            -1.0,
        ),
        BayesScale::Relative => {
            let ratio = mean_b / pa.mean();
            let sd =
                ratio * (pa.variance() / pa.mean().powi(2) + pb.variance() / mean_b.powi(2)).sqrt();
            (ratio - 1.0, sd, -1.0)
        }
    };
    let ci_lower = quantile(&*cdf_target, alpha / 2.0, approx_mean, approx_sd, lowest)?;
    let ci_upper = quantile(
        &*cdf_target,
        1.0 - alpha / 2.0,
        approx_mean,
        approx_sd,
        lowest,
    )?;

    let posterior_sd = match scale {
        BayesScale::Absolute => Some((pa.variance() + pb.variance()).sqrt()),
        BayesScale::Relative => relative_sd(&pa, &pb),
    };

    let (chance_to_win, risk_control, risk_treatment) = if inverse {
        (1.0 - chance, risk_treatment, risk_control)
    } else {
        (chance, risk_control, risk_treatment)
    };
    Ok(BayesResult {
        scale,
        point,
        posterior_sd,
        chance_to_win,
        risk_control,
        risk_treatment,
        ci_lower,
        ci_upper,
    })
}

/// Standard deviation of `p_b / p_a - 1` for independent Beta posteriors,
/// exact: with `Y = 1/p_a`, `Var(p_b Y) = Var(p_b)Var(Y) + Var(p_b)E[Y]² +
/// Var(Y)E[p_b]²`, where for `p_a ~ Beta(a, b)`, `E[Y] = (a + b − 1)/(a − 1)`
/// and `Var(Y) = (a + b − 1) b / ((a − 1)²(a − 2))`, a sum of positive
/// terms (no cancellation at large counts). `None` for `a ≤ 2`, where
/// `E[Y²]` diverges.
fn relative_sd(pa: &Posterior, pb: &Posterior) -> Option<f64> {
    if pa.a <= 2.0 {
        return None;
    }
    let s = pa.a + pa.b;
    let mean_y = (s - 1.0) / (pa.a - 1.0);
    let var_y = (s - 1.0) * pa.b / ((pa.a - 1.0).powi(2) * (pa.a - 2.0));
    let (mean_b, var_b) = (pb.mean(), pb.variance());
    Some((var_b * var_y + var_b * mean_y * mean_y + var_y * mean_b * mean_b).sqrt())
}

/// Solves `cdf(x) = level` for a CDF supported on `(lowest, ∞)`, starting
/// from a normal approximation and refining with the Illinois method.
fn quantile(
    cdf: &dyn Fn(f64) -> f64,
    level: f64,
    approx_mean: f64,
    approx_sd: f64,
    lowest: f64,
) -> Result<f64, StatsError> {
    let not_found = || StatsError::NonFinite {
        variant: None,
        field: "bayes.ci".into(),
    };
    let f = |x: f64| cdf(x) - level;
    let mut lo = (approx_mean - 10.0 * approx_sd).max(lowest);
    let mut f_lo = f(lo);
    let mut width = 10.0 * approx_sd;
    while f_lo > 0.0 {
        if lo <= lowest {
            return Err(not_found());
        }
        width *= 2.0;
        lo = (approx_mean - width).max(lowest);
        f_lo = f(lo);
    }
    let mut hi = approx_mean + 10.0 * approx_sd;
    let mut f_hi = f(hi);
    let mut width = 10.0 * approx_sd;
    let mut expansions = 0;
    while f_hi < 0.0 {
        expansions += 1;
        if expansions > 60 {
            return Err(not_found());
        }
        width *= 2.0;
        hi = approx_mean + width;
        f_hi = f(hi);
    }
    let tolerance = 1e-10 * approx_sd.max(f64::MIN_POSITIVE);
    for _ in 0..200 {
        if (hi - lo).abs() <= tolerance || f_hi == f_lo {
            break;
        }
        let x = hi - f_hi * (hi - lo) / (f_hi - f_lo);
        let f_x = f(x);
        if f_x == 0.0 {
            return Ok(x);
        }
        if (f_x > 0.0) == (f_hi > 0.0) {
            // Same side as hi: the Illinois step halves the stale end's value
            // so the bracket keeps shrinking from both sides.
            f_lo *= 0.5;
        } else {
            lo = hi;
            f_lo = f_hi;
        }
        hi = x;
        f_hi = f_x;
    }
    let root = 0.5 * (lo + hi);
    if root.is_finite() {
        Ok(root)
    } else {
        Err(not_found())
    }
}

#[cfg(test)]
mod tests {
    fn bayes_of(scale: &str, control: (u32, u32)) -> serde_json::Value {
        let request = format!(
            r#"{{"metric": "proportion", "bayes_method": "beta_binomial", "bayes_scale": "{scale}",
                "variants": [{{"name": "control", "n": {}, "sum": {}}},
                             {{"name": "treatment", "n": 50, "sum": 15}}]}}"#,
            control.0, control.1
        );
        let out = crate::analyze_json(&request).unwrap();
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        json["variants"][0]["bayes"].clone()
    }

    /// 10 of 50 against 15 of 50 under Beta(1, 1): posteriors Beta(11, 41)
    /// and Beta(16, 36), variances ab/(s²(s + 1)) = 451/143312 and
    /// 576/143312. Absolute: sd √(1027/143312) = √(79/11024) = 0.0846533099.
    /// Relative, with Y = 1/p_a: E[Y] = 51/10, Var(Y) = 51·41/(10²·9) =
    /// 2091/900, E[p_b] = 16/52, so Var = Var(p_b)Var(Y) + Var(p_b)E[Y]² +
    /// Var(Y)E[p_b]² = 224264/671775, sd 0.5777871291 (4 million draws of
    /// the two posteriors give 0.5776).
    #[test]
    fn posterior_sd_by_hand() {
        let absolute = bayes_of("absolute", (50, 10));
        let sd = absolute["posterior_sd"].as_f64().unwrap();
        assert!((sd - (79.0_f64 / 11024.0).sqrt()).abs() < 1e-15, "{sd}");
        assert!((sd - 0.084_653_309_880_535_93).abs() < 1e-15, "{sd}");

        let relative = bayes_of("relative", (50, 10));
        let point = relative["point"].as_f64().unwrap();
        assert!((point - (16.0 / 52.0 * 5.1 - 1.0)).abs() < 1e-14, "{point}");
        let sd = relative["posterior_sd"].as_f64().unwrap();
        assert!(
            (sd - (224_264.0_f64 / 671_775.0).sqrt()).abs() < 1e-14,
            "{sd}"
        );
    }

    /// One conversion in the control: the posterior Beta(2, 50) gives the
    /// relative lift a finite mean but an infinite variance, so no sd.
    #[test]
    fn no_sd_where_the_variance_diverges() {
        let relative = bayes_of("relative", (50, 1));
        assert!(relative["point"].is_number());
        assert!(relative.get("posterior_sd").is_none(), "{relative}");
        let absolute = bayes_of("absolute", (50, 1));
        assert!(absolute["posterior_sd"].is_number());
    }
}
