//! One metric's analysis: validates the request, compares every treatment
//! with the control under each method asked for, applies the correction and
//! refuses to hand back a non-finite number.

use crate::bayes::gaussian_effect;
use crate::beta_binomial::beta_binomial;
use crate::correction::adjust_p_values;
use crate::error::StatsError;
use crate::frequentist::{absolute_lift, relative_lift, t_test, welch_dof};
use crate::input::{AnalysisInput, BayesMethod, BayesScale, MetricKind, VariantInput};
use crate::output::{
    AnalysisOutput, ArmResult, BayesResult, CupedResult, Estimate, SequentialResult, VariantResult,
};
use crate::sequential::mixture_sprt;
use crate::srm::{srm_p_value, SRM_THRESHOLD};
use crate::summary::{cuped_theta, ArmData, ArmSummary};

fn uses_covariate(v: &VariantInput) -> bool {
    v.pre_sum.is_some() || v.pre_sum_squares.is_some() || v.pre_cross_sum.is_some()
}

fn check_options(input: &AnalysisInput) -> Result<(), StatsError> {
    let alpha = input.alpha;
    if !(alpha.is_finite() && alpha > 0.0 && alpha < 1.0) {
        return Err(StatsError::field(
            None,
            "alpha",
            format!("must lie strictly between 0 and 1, got `{alpha}`"),
        ));
    }
    if input.variants.len() < 2 {
        return Err(StatsError::field(
            None,
            "variants",
            format!(
                "needs the control and at least one treatment, got {} variant(s)",
                input.variants.len()
            ),
        ));
    }
    if let Some(prior) = input.bayes_prior {
        if !prior.mean.is_finite() {
            return Err(StatsError::field(
                None,
                "bayes_prior.mean",
                format!("must be finite, got `{}`", prior.mean),
            ));
        }
        if !(prior.stddev.is_finite() && prior.stddev > 0.0) {
            return Err(StatsError::field(
                None,
                "bayes_prior.stddev",
                format!("must be a positive finite number, got `{}`", prior.stddev),
            ));
        }
    }
    if input.beta_prior.is_some() && input.bayes_method != BayesMethod::BetaBinomial {
        return Err(StatsError::field(
            None,
            "beta_prior",
            "only applies with `bayes_method: \"beta_binomial\"`",
        ));
    }
    if input.bayes_method == BayesMethod::BetaBinomial {
        if input.metric != MetricKind::Proportion {
            return Err(StatsError::Unsupported {
                what: "`bayes_method: \"beta_binomial\"` needs `metric: \"proportion\"`".into(),
            });
        }
        if input.bayes_prior.is_some() {
            return Err(StatsError::field(
                None,
                "bayes_prior",
                "the Beta–binomial method takes `beta_prior` instead",
            ));
        }
    }
    if input.sequential && !(input.sequential_tuning.is_finite() && input.sequential_tuning > 0.0) {
        return Err(StatsError::field(
            None,
            "sequential_tuning",
            format!(
                "must be a positive number, got `{}`",
                input.sequential_tuning
            ),
        ));
    }
    Ok(())
}

/// Attaches the control's name to errors raised while comparing a pair.
fn name_control(err: StatsError, control: &str) -> StatsError {
    match err {
        StatsError::Undefined {
            variant: None,
            reason,
        } => StatsError::Undefined {
            variant: Some(control.to_owned()),
            reason,
        },
        other => other,
    }
}

fn arm_result(data: &ArmData) -> Result<ArmResult, StatsError> {
    let plain = data.unadjusted()?;
    Ok(ArmResult {
        name: data.name.clone(),
        n: plain.n,
        mean: plain.unadjusted_mean,
        stddev: plain.variance.sqrt(),
    })
}

/// Fixed-horizon t-tests on both scales, with the Welch dof.
fn fixed_horizon(
    a: &ArmSummary,
    b: &ArmSummary,
    alpha: f64,
    control: &str,
) -> Result<(f64, Estimate, Estimate), StatsError> {
    let dof = welch_dof(a, b);
    let absolute = t_test(absolute_lift(a, b), dof, alpha)?;
    let relative = relative_lift(a, b).map_err(|e| name_control(e, control))?;
    Ok((dof, absolute, t_test(relative, dof, alpha)?))
}

/// The two arms of one comparison, validated, with the raw input records
/// the exact Beta–binomial method reads its counts from.
struct Pair<'a> {
    control: &'a ArmData,
    control_input: &'a VariantInput,
    treatment: &'a ArmData,
    treatment_input: &'a VariantInput,
}

fn compare(
    input: &AnalysisInput,
    pair: Pair<'_>,
    cuped: bool,
) -> Result<VariantResult, StatsError> {
    let Pair {
        control,
        control_input,
        treatment,
        treatment_input,
    } = pair;
    let alpha = input.alpha;
    let theta = if cuped {
        cuped_theta(control, treatment)
    } else {
        0.0
    };
    let a = control.summary(theta)?;
    let b = treatment.summary(theta)?;
    let (dof, absolute, relative) = fixed_horizon(&a, &b, alpha, &control.name)?;

    let bayes: BayesResult = match input.bayes_method {
        BayesMethod::Gaussian => {
            let lift = match input.bayes_scale {
                BayesScale::Absolute => absolute_lift(&a, &b),
                BayesScale::Relative => {
                    relative_lift(&a, &b).map_err(|e| name_control(e, &control.name))?
                }
            };
            gaussian_effect(
                lift,
                input.bayes_scale,
                input.bayes_prior,
                a.unadjusted_mean,
                alpha,
                input.inverse,
            )?
        }
        BayesMethod::BetaBinomial => {
            if cuped {
                return Err(StatsError::Unsupported {
                    what: "the Beta–binomial method with a CUPED covariate".into(),
                });
            }
            beta_binomial(
                (control_input, &control.name),
                (treatment_input, &treatment.name),
                input.beta_prior.unwrap_or_default(),
                input.bayes_scale,
                alpha,
                input.inverse,
            )?
        }
    };

    let sequential = if input.sequential {
        let total_n = a.n + b.n;
        let tuning = input.sequential_tuning;
        let rel = relative_lift(&a, &b).map_err(|e| name_control(e, &control.name))?;
        Some(SequentialResult {
            absolute: mixture_sprt(absolute_lift(&a, &b), total_n, alpha, tuning)?,
            relative: mixture_sprt(rel, total_n, alpha, tuning)?,
        })
    } else {
        None
    };

    let cuped_result = if cuped {
        let (_, unadjusted_absolute, unadjusted_relative) = fixed_horizon(
            &control.unadjusted()?,
            &treatment.unadjusted()?,
            alpha,
            &control.name,
        )?;
        Some(CupedResult {
            theta,
            unadjusted_absolute,
            unadjusted_relative,
        })
    } else {
        None
    };

    Ok(VariantResult {
        arm: arm_result(treatment)?,
        dof,
        absolute,
        relative,
        bayes,
        sequential,
        cuped: cuped_result,
    })
}

/// Applies `adjust` to one p-value per variant, read and written through
/// `field`.
fn correct_family(
    variants: &mut [VariantResult],
    method: crate::input::Correction,
    field: fn(&mut VariantResult) -> Option<&mut Estimate>,
) -> Result<(), StatsError> {
    let p: Vec<f64> = variants
        .iter_mut()
        .filter_map(|v| field(v).map(|e| e.p_value))
        .collect();
    let adjusted = adjust_p_values(&p, method)?;
    let mut next = adjusted.into_iter();
    for v in variants.iter_mut() {
        if let Some(estimate) = field(v) {
            estimate.p_value_adjusted = next.next();
        }
    }
    Ok(())
}

/// Runs every requested method for one metric. Treatments are compared
/// with the first variant, the control.
pub fn analyze(input: &AnalysisInput) -> Result<AnalysisOutput, StatsError> {
    check_options(input)?;
    let cuped = input.variants.iter().any(uses_covariate);
    let arms = input
        .variants
        .iter()
        .map(|v| ArmData::from_input(input.metric, v, cuped))
        .collect::<Result<Vec<_>, _>>()?;
    let units: Vec<f64> = arms.iter().map(ArmData::n).collect();
    let weights = input
        .weights
        .clone()
        .unwrap_or_else(|| vec![1.0; units.len()]);
    let srm_p_value = srm_p_value(&units, &weights)?;

    let (Some((control, treatments)), Some((control_input, treatment_inputs))) =
        (arms.split_first(), input.variants.split_first())
    else {
        return Err(StatsError::field(None, "variants", "is empty"));
    };
    let mut variants = treatments
        .iter()
        .zip(treatment_inputs)
        .map(|(treatment, treatment_input)| {
            let pair = Pair {
                control,
                control_input,
                treatment,
                treatment_input,
            };
            compare(input, pair, cuped)
        })
        .collect::<Result<Vec<_>, _>>()?;

    if let Some(method) = input.correction {
        correct_family(&mut variants, method, |v| Some(&mut v.absolute))?;
        correct_family(&mut variants, method, |v| Some(&mut v.relative))?;
        correct_family(&mut variants, method, |v| {
            v.sequential.as_mut().map(|s| &mut s.absolute)
        })?;
        correct_family(&mut variants, method, |v| {
            v.sequential.as_mut().map(|s| &mut s.relative)
        })?;
    }

    let output = AnalysisOutput {
        metric: input.metric,
        alpha: input.alpha,
        bayes_method: input.bayes_method,
        correction: input.correction,
        control: arm_result(control)?,
        variants,
        srm_p_value,
        srm_flagged: srm_p_value < SRM_THRESHOLD,
    };
    crate::finite::ensure_finite(&output)?;
    Ok(output)
}
