//! `vexil plan`: units per variant for a baseline, a minimum detectable
//! effect, alpha and power, and the days of traffic that takes, from flags
//! or from an experiment's `planning { }` block (flags override it).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;
use vexil_analytics::{duration_for_shares, sample_size, PlanMetric, SampleSizeInput};
use vexil_ir as ir;

use super::{find_experiment, fraction, load_bundle, many, thousands};
use crate::Format;
use vexil_words::count;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    Conversion,
    Mean,
}

#[derive(Args)]
pub struct PlanArgs {
    /// A directory of `.flag` files; with EXPERIMENT, plan from its
    /// `planning` block, primary metric, traffic and variants.
    #[arg(requires = "experiment")]
    dir: Option<PathBuf>,
    experiment: Option<String>,
    /// The metric's kind (default: the primary metric's, or conversion).
    #[arg(long, value_enum)]
    metric: Option<MetricArg>,
    /// The control's conversion rate (`3.2%`) or mean.
    #[arg(long)]
    baseline: Option<String>,
    /// Per-unit standard deviation, for a mean.
    #[arg(long)]
    stddev: Option<f64>,
    /// Minimum detectable effect, relative (`5%` is a 5% lift).
    #[arg(long)]
    mde: Option<String>,
    /// Two-sided significance level (default 0.05).
    #[arg(long)]
    alpha: Option<String>,
    /// Power (default 80%).
    #[arg(long)]
    power: Option<String>,
    /// Eligible units per day, before traffic allocation.
    #[arg(long)]
    daily_units: Option<f64>,
    /// Share of eligible units enrolled (default 100%, or the experiment's).
    #[arg(long)]
    traffic: Option<String>,
    /// Number of variants, the control included, split evenly (default 2,
    /// or the experiment's variants and weights).
    #[arg(long)]
    variants: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// A plan as `--format json` prints it.
#[derive(Debug, Serialize)]
struct Plan {
    #[serde(skip_serializing_if = "Option::is_none")]
    experiment: Option<String>,
    metric: &'static str,
    baseline: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    stddev: Option<f64>,
    mde: f64,
    alpha: f64,
    power: f64,
    /// Units per variant (the control included).
    per_variant: f64,
    /// The minimum detectable effect on the metric's own scale.
    absolute_effect: f64,
    variants: u32,
    /// The smallest variant's share of enrolled units.
    smallest_share: f64,
    /// Units needed across all variants at the declared weights.
    total_units: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    daily_units: Option<f64>,
    traffic: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<f64>,
    /// Days between the experiment's `start` and `end`, when both are set.
    #[serde(skip_serializing_if = "Option::is_none")]
    window_days: Option<f64>,
    /// Whether the days needed fit between `start` and `end` (what
    /// `vexil check` warns about as W0006).
    #[serde(skip_serializing_if = "Option::is_none")]
    fits: Option<bool>,
}

/// What an experiment declares, as defaults for the flags.
#[derive(Default)]
struct Declared {
    name: Option<String>,
    metric: Option<PlanMetric>,
    planning: ir::Planning,
    traffic: Option<f64>,
    shares: Vec<f64>,
    window_days: Option<f64>,
}

fn declared(experiment: &ir::Experiment) -> Result<Declared, String> {
    let primary = experiment
        .metrics
        .iter()
        .find(|m| m.role == ir::MetricRole::Primary);
    let metric = match primary.map(|m| &m.kind) {
        Some(ir::MetricKind::Conversion { .. }) => Some(PlanMetric::Proportion),
        Some(ir::MetricKind::Mean { .. }) => Some(PlanMetric::Mean),
        Some(ir::MetricKind::Ratio { .. }) => {
            return Err(format!(
                "the primary metric of `{}` is a ratio, which `vexil plan` cannot size; pass `--metric conversion` or `--metric mean` with its inputs",
                experiment.name
            ))
        }
        None => None,
    };
    let (lo, hi) = experiment.enrolment_range;
    Ok(Declared {
        name: Some(experiment.name.clone()),
        metric,
        planning: experiment.planning.clone().unwrap_or_default(),
        traffic: Some(f64::from(hi.saturating_sub(lo)) / f64::from(ir::bucket::BUCKETS)),
        shares: vexil_events::weights(experiment),
        window_days: match (experiment.start, experiment.end) {
            (Some(s), Some(e)) => Some((e - s) as f64 / vexil_events::DAY as f64),
            _ => None,
        },
    })
}

fn missing(what: &str, flag: &str, from: &Declared) -> String {
    match &from.name {
        Some(name) => {
            format!("no {what}: give `{flag}`, or declare it in the `planning` block of `{name}`")
        }
        None => format!("no {what}: give `{flag}`"),
    }
}

fn opt_fraction(text: &Option<String>, what: &str) -> Result<Option<f64>, String> {
    text.as_deref().map(|t| fraction(t, what)).transpose()
}

fn make_plan(args: &PlanArgs, from: &Declared) -> Result<Plan, String> {
    let p = &from.planning;
    let metric = match args.metric {
        Some(MetricArg::Conversion) => PlanMetric::Proportion,
        Some(MetricArg::Mean) => PlanMetric::Mean,
        None => from.metric.unwrap_or(PlanMetric::Proportion),
    };
    let baseline = opt_fraction(&args.baseline, "--baseline")?
        .or(p.baseline)
        .ok_or_else(|| missing("baseline", "--baseline", from))?;
    let mde = opt_fraction(&args.mde, "--mde")?
        .or(p.mde)
        .ok_or_else(|| missing("minimum detectable effect", "--mde", from))?;
    let alpha = opt_fraction(&args.alpha, "--alpha")?
        .or(p.alpha)
        .unwrap_or(0.05);
    let power = opt_fraction(&args.power, "--power")?
        .or(p.power)
        .unwrap_or(0.8);
    let stddev = args.stddev.or(p.stddev);
    if metric == PlanMetric::Mean && stddev.is_none() {
        return Err(missing("standard deviation for a mean", "--stddev", from));
    }
    let size = sample_size(&SampleSizeInput {
        metric,
        baseline,
        stddev: if metric == PlanMetric::Mean {
            stddev
        } else {
            None
        },
        mde,
        alpha,
        power,
    })
    .map_err(|e| plain(&e))?;
    let traffic = opt_fraction(&args.traffic, "--traffic")?
        .or(from.traffic)
        .unwrap_or(1.0);
    let shares: Vec<f64> = match args.variants {
        Some(k) if k < 2 => {
            return Err(format!(
                "invalid --variants `{k}`: an experiment needs two arms at least, the control and a treatment"
            ))
        }
        // Also bounds the allocation below.
        Some(k) if k > ir::bucket::BUCKETS => {
            return Err(format!(
                "invalid --variants `{k}`: an experiment splits {} buckets, so it has at most as many variants",
                thousands(u64::from(ir::bucket::BUCKETS))
            ))
        }
        Some(k) => vec![1.0 / f64::from(k); k as usize],
        None if !from.shares.is_empty() => from.shares.clone(),
        None => vec![0.5, 0.5],
    };
    let variants = shares.len() as u32;
    let smallest = shares.iter().copied().fold(f64::INFINITY, f64::min);
    let daily_units = args.daily_units.or(p.daily_units);
    // Unequal weights: the smallest arm sets the pace.
    let days = match daily_units {
        Some(daily) => Some(
            duration_for_shares(size.per_variant, daily, traffic, &shares)
                .map_err(|e| plain(&e))?
                .days_exact,
        ),
        None => None,
    };
    Ok(Plan {
        experiment: from.name.clone(),
        metric: match metric {
            PlanMetric::Proportion => "conversion",
            PlanMetric::Mean => "mean",
        },
        baseline,
        stddev: if metric == PlanMetric::Mean {
            stddev
        } else {
            None
        },
        mde,
        alpha,
        power,
        per_variant: size.per_variant,
        absolute_effect: size.absolute_effect,
        variants,
        smallest_share: smallest,
        total_units: (size.per_variant / smallest).ceil(),
        daily_units,
        traffic,
        days: days.map(f64::ceil),
        window_days: from.window_days,
        fits: days.zip(from.window_days).map(|(d, w)| d <= w),
    })
}

/// The engine's message without its code prefix, for a status-2 message.
fn plain(e: &vexil_analytics::StatsError) -> String {
    let text = e.to_string();
    text.split_once("]: ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(text)
}

fn pct(x: f64) -> String {
    let s = format!("{:.3}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn render(plan: &Plan) -> String {
    let mut out = String::new();
    if let Some(name) = &plan.experiment {
        out.push_str(&format!("{name}\n"));
    }
    let baseline = match plan.metric {
        "conversion" => format!("baseline {}", pct(plan.baseline)),
        _ => format!(
            "baseline {} (sd {})",
            plan.baseline,
            plan.stddev.unwrap_or_default()
        ),
    };
    out.push_str(&format!(
        "  {}: {baseline}, minimum detectable effect {} relative ({}{} absolute), alpha {}, power {}\n",
        plan.metric,
        pct(plan.mde),
        if plan.absolute_effect >= 0.0 { "+" } else { "" },
        if plan.metric == "conversion" {
            format!("{:.3} points", plan.absolute_effect * 100.0)
        } else {
            format!("{:.4}", plan.absolute_effect)
        },
        plan.alpha,
        pct(plan.power)
    ));
    out.push_str(&format!(
        "  sample size: {} per variant, {} in total over {}\n",
        many(plan.per_variant as u64, "unit"),
        thousands(plan.total_units as u64),
        count(plan.variants, "variant")
    ));
    match (plan.days, plan.daily_units) {
        (Some(days), Some(daily)) => {
            let enrolled = daily * plan.traffic;
            out.push_str(&format!(
                "  duration: {} at {} a day × {} traffic ({} enrolled a day)\n",
                vexil_words::days(days),
                many(daily as u64, "eligible unit"),
                pct(plan.traffic),
                thousands(enrolled.round() as u64),
            ));
            if let (Some(window), Some(fits)) = (plan.window_days, plan.fits) {
                let verdict = if fits {
                    "enough".to_string()
                } else {
                    format!("too short by {}", vexil_words::days((days - window).ceil()))
                };
                out.push_str(&format!(
                    "  declared dates: {}: {verdict}\n",
                    vexil_words::days(window.floor())
                ));
            }
        }
        _ => out.push_str("  duration: give `--daily-units` for the days it takes\n"),
    }
    out
}

pub fn plan(args: &PlanArgs) -> Result<ExitCode, String> {
    let from = match (&args.dir, &args.experiment) {
        (Some(dir), Some(name)) => {
            let bundle = match load_bundle(dir)? {
                Ok(b) => b,
                Err(code) => return Ok(code),
            };
            declared(find_experiment(&bundle, name)?)?
        }
        _ => Declared::default(),
    };
    let plan = make_plan(args, &from)?;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?
        ),
        Format::Text => print!("{}", render(&plan)),
    }
    Ok(ExitCode::SUCCESS)
}
