//! How simulated units produce metric events. Each event name gets one
//! model, from the first metric that reads it; a metric's true effect
//! scales the model it owns (a conversion's rate, a mean's values, a
//! ratio's numerator per denominator event). Every unit has a propensity
//! (Gamma, mean 1) that scales all its activity before and after exposure,
//! so the pre-exposure covariate predicts the metric as real data does.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Poisson};
use serde::Serialize;
use vexil_ir as ir;

use crate::metric::DAY;

/// Spread of simulated values: coefficient of variation of the lognormal.
const VALUE_CV: f64 = 0.5;
/// Default window of metrics without one, for placing events.
const DEFAULT_HORIZON: i64 = 14 * DAY;

/// How a simulated event is generated for a unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// The unit does the event once in `window` after exposure with
    /// probability `rate` × propensity; when the metric has a window
    /// (`late`), some do it again after it, where it must not count.
    Conversion {
        /// The control's conversion rate.
        rate: f64,
        /// Microseconds after exposure in which the event counts.
        window: i64,
        /// Some units also convert after the window.
        late: bool,
    },
    /// Poisson(`per_unit` × propensity) events over `horizon`, values
    /// lognormal with mean `value_mean` (exactly 1, written without a
    /// value, when `value_mean` is 1).
    Count {
        /// The control's mean events per unit.
        per_unit: f64,
        /// The mean value of one event.
        value_mean: f64,
        /// Microseconds after exposure over which events fall.
        horizon: i64,
    },
    /// Poisson(`per_denominator` × the unit's denominator events) events,
    /// at the denominator events' times.
    PerDenominator {
        /// The control's events per denominator event.
        per_denominator: f64,
        /// The denominator event's name.
        denominator: String,
    },
}

/// One event name's model and who owns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventModel {
    /// The event's name.
    pub event: String,
    /// The metric it serves.
    pub metric: String,
    /// How its events are generated.
    #[serde(flatten)]
    pub model: Model,
    /// Relative lift per variant, in the experiment's variant order.
    pub lifts: Vec<f64>,
}

/// A requested true effect: `metric` moves by `lift` (relative) in
/// `variant`, or in every treatment when `variant` is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// The metric's name.
    pub metric: String,
    /// The treatment, or every treatment.
    pub variant: Option<String>,
    /// The relative lift (0.05 for +5%).
    pub lift: f64,
}

/// The models for an experiment's metrics, in generation order
/// (denominators before numerators). `baselines` override the default
/// conversion rate or per-unit mean of a metric.
pub(crate) fn models(
    experiment: &ir::Experiment,
    effects: &[Effect],
    baselines: &[(String, f64)],
) -> Result<Vec<EventModel>, String> {
    let planning = experiment.planning.clone().unwrap_or_default();
    let baseline_of = |m: &ir::Metric| -> Option<f64> {
        baselines
            .iter()
            .find(|(name, _)| *name == m.name)
            .map(|(_, v)| *v)
            .or_else(|| {
                (m.role == ir::MetricRole::Primary)
                    .then_some(planning.baseline)
                    .flatten()
            })
    };
    let variants = experiment.variants.len();
    let mut out: Vec<EventModel> = Vec::new();
    let mut numerators: Vec<EventModel> = Vec::new();
    let known = |out: &[EventModel], numerators: &[EventModel], e: &str| {
        out.iter().chain(numerators).any(|m| m.event == e)
    };
    for m in &experiment.metrics {
        let new = |event: &str, model: Model| EventModel {
            event: event.to_string(),
            metric: m.name.clone(),
            model,
            lifts: vec![0.0; variants],
        };
        match &m.kind {
            ir::MetricKind::Conversion { event } if !known(&out, &numerators, event) => {
                let rate = baseline_of(m)
                    .filter(|b| *b > 0.0 && *b < 1.0)
                    .unwrap_or(0.1);
                out.push(new(
                    event,
                    Model::Conversion {
                        rate,
                        window: m.window.unwrap_or(7 * DAY),
                        late: m.window.is_some(),
                    },
                ));
            }
            ir::MetricKind::Mean { event } if !known(&out, &numerators, event) => {
                let per_unit = 1.0;
                let value_mean = baseline_of(m).filter(|b| *b > 0.0).unwrap_or(50.0) / per_unit;
                out.push(new(
                    event,
                    Model::Count {
                        per_unit,
                        value_mean,
                        horizon: m.window.unwrap_or(DEFAULT_HORIZON),
                    },
                ));
            }
            ir::MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                if !known(&out, &numerators, denominator) {
                    out.push(new(
                        denominator,
                        Model::Count {
                            per_unit: 2.0,
                            value_mean: 1.0,
                            horizon: m.window.unwrap_or(DEFAULT_HORIZON),
                        },
                    ));
                }
                if !known(&out, &numerators, numerator) {
                    let per_denominator = baseline_of(m).filter(|b| *b > 0.0).unwrap_or(1.5);
                    numerators.push(new(
                        numerator,
                        Model::PerDenominator {
                            per_denominator,
                            denominator: denominator.clone(),
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    out.extend(numerators);
    for effect in effects {
        let Some(metric) = experiment.metrics.iter().find(|m| m.name == effect.metric) else {
            let names: Vec<&str> = experiment.metrics.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "`{}` is not a metric of `{}` (its metrics: {})",
                effect.metric,
                experiment.name,
                names.join(", ")
            ));
        };
        // A ratio's effect scales its numerator; other metrics own one event.
        let owned = match &metric.kind {
            ir::MetricKind::Ratio { numerator, .. } => numerator,
            ir::MetricKind::Conversion { event } | ir::MetricKind::Mean { event } => event,
        };
        let Some(model) = out.iter_mut().find(|m| m.event == *owned) else {
            return Err(format!("metric `{}` has no simulated event", effect.metric));
        };
        if model.metric != metric.name {
            return Err(format!(
                "metric `{}` reads event `{owned}`, whose simulation belongs to metric `{}`: give the effect to `{}`",
                effect.metric, model.metric, model.metric
            ));
        }
        if !(effect.lift.is_finite() && effect.lift > -1.0) {
            return Err(format!(
                "the effect on `{}` must be a relative lift above -100%, got {}",
                effect.metric, effect.lift
            ));
        }
        let control = experiment.control as usize;
        for (i, v) in experiment.variants.iter().enumerate() {
            let applies = match &effect.variant {
                Some(name) => *name == v.name,
                None => i != control,
            };
            if applies {
                if let Some(l) = model.lifts.get_mut(i) {
                    *l = effect.lift;
                }
            }
        }
        if let Some(name) = &effect.variant {
            if !experiment.variants.iter().any(|v| v.name == *name) {
                return Err(format!(
                    "`{name}` is not a variant of `{}`",
                    experiment.name
                ));
            }
        }
        if let Model::Conversion { rate, .. } = model.model {
            if rate * (1.0 + effect.lift) >= 1.0 {
                return Err(format!(
                    "a lift of {} moves `{}`'s rate {rate} to 1 or more",
                    effect.lift, effect.metric
                ));
            }
        }
    }
    Ok(out)
}

/// One metric event to write.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Emitted {
    pub event: usize,
    pub time: i64,
    /// `None` writes no value (which means 1).
    pub value: Option<f64>,
}

fn poisson(mean: f64, rng: &mut impl Rng) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as u64)
}

fn lognormal(mean: f64, rng: &mut impl Rng) -> f64 {
    let sigma2 = (1.0 + VALUE_CV * VALUE_CV).ln();
    LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt()).map_or(mean, |d| d.sample(rng))
}

fn offset(span: i64, rng: &mut impl Rng) -> i64 {
    if span <= 0 {
        0
    } else {
        rng.random_range(0..span)
    }
}

/// Times saturate rather than overflow: windows come from the user's
/// declarations and may be absurdly long.
///
/// The events of one unit first exposed (or first seen) at `t0`, in
/// variant `variant` (`None`: not enrolled, no effect). Pre-exposure
/// events fall in the metric's window before `t0`.
pub(crate) fn unit_events(
    models: &[EventModel],
    variant: Option<usize>,
    propensity: f64,
    t0: i64,
    rng: &mut impl Rng,
) -> Vec<Emitted> {
    let mut out: Vec<Emitted> = Vec::new();
    // Post-exposure times of each model's events, for numerators.
    let mut post_times: Vec<Vec<i64>> = vec![Vec::new(); models.len()];
    for (i, m) in models.iter().enumerate() {
        let lift = variant.and_then(|v| m.lifts.get(v)).copied().unwrap_or(0.0);
        match &m.model {
            Model::Conversion { rate, window, late } => {
                let p = (rate * propensity).min(1.0);
                if rng.random_bool((p * (1.0 + lift)).min(1.0)) {
                    let time = t0.saturating_add(offset(*window, rng));
                    post_times[i].push(time);
                    out.push(Emitted {
                        event: i,
                        time,
                        value: None,
                    });
                }
                if *late && rng.random_bool((p * 0.5).min(1.0)) {
                    let time = t0
                        .saturating_add(*window)
                        .saturating_add(offset(*window, rng));
                    out.push(Emitted {
                        event: i,
                        time,
                        value: None,
                    });
                }
                if rng.random_bool(p) {
                    let time = t0.saturating_sub(1).saturating_sub(offset(*window, rng));
                    out.push(Emitted {
                        event: i,
                        time,
                        value: None,
                    });
                }
            }
            Model::Count {
                per_unit,
                value_mean,
                horizon,
            } => {
                let value = |rng: &mut _, scale: f64| {
                    if *value_mean == 1.0 {
                        None
                    } else {
                        Some(lognormal(*value_mean, rng) * scale)
                    }
                };
                for _ in 0..poisson(per_unit * propensity, rng) {
                    let time = t0.saturating_add(offset(*horizon, rng));
                    post_times[i].push(time);
                    let v = value(rng, 1.0 + lift);
                    out.push(Emitted {
                        event: i,
                        time,
                        value: v,
                    });
                }
                for _ in 0..poisson(per_unit * propensity, rng) {
                    let time = t0.saturating_sub(1).saturating_sub(offset(*horizon, rng));
                    let v = value(rng, 1.0);
                    out.push(Emitted {
                        event: i,
                        time,
                        value: v,
                    });
                }
            }
            Model::PerDenominator {
                per_denominator,
                denominator,
            } => {
                let times = models
                    .iter()
                    .position(|d| d.event == *denominator)
                    .and_then(|d| post_times.get(d))
                    .cloned()
                    .unwrap_or_default();
                let mean = per_denominator * (1.0 + lift) * times.len() as f64;
                for _ in 0..poisson(mean, rng) {
                    let Some(&at) = times.get(rng.random_range(0..times.len().max(1))) else {
                        continue;
                    };
                    // Within a minute after the denominator event: two
                    // identical lines would be one event (see `SCHEMA.md`).
                    out.push(Emitted {
                        event: i,
                        time: at.saturating_add(1).saturating_add(offset(60_000_000, rng)),
                        value: None,
                    });
                }
            }
        }
    }
    out
}
