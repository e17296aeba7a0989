//! A guarded staged rollout simulated through the real runtime and the
//! monitor's checks: units arrive over the stages, each is evaluated by
//! the runtime at its arrival time (whose exposures say which side of the
//! stage's cut it is on), the guardrails' events follow with the requested
//! true effect on the new side, and every `check_every` the monitor checks
//! the stage in force, exactly as `vexil serve` does, until a breach or the
//! last stage.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::Serialize;
use vexil_ir::{self as ir, ValidBundle};
use vexil_runtime::{BackendChoice, ExposureSink, MemorySink, Snapshot};

use crate::event::{Event, Exposure, Track};
use crate::rollout::{check_stage, GuardedRollout, MonitorOptions, NEW};
use crate::store::Store;

/// Microseconds in an hour.
const HOUR: i64 = 3_600_000_000;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutOptions {
    /// The flag whose guarded staged rule is rolled out.
    pub flag: String,
    /// New units arriving per hour; each is evaluated once, on arrival.
    pub units_per_hour: u64,
    /// `(guard, effect)`: the true relative change of the guard's metric
    /// on the new side (`0.2` raises it by 20%); others have none.
    pub effects: Vec<(String, f64)>,
    /// `(guard, value)`: the old side's conversion rate or mean (default
    /// 10% and 100).
    pub baselines: Vec<(String, f64)>,
    /// How often the monitor checks, in microseconds.
    pub check_every: i64,
    /// The monitor's tests.
    pub monitor: MonitorOptions,
    /// The same seed gives the same run.
    pub seed: u64,
}

/// How one simulated rollout ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutRun {
    /// `rolled_back`, `paused` (the guard's action) or `completed` (the
    /// last stage started with no breach).
    pub outcome: &'static str,
    /// The stage in force at the breach, from 1.
    pub stage: Option<usize>,
    /// The guardrail breached.
    pub guard: Option<String>,
    /// Units served the new experience before the action.
    pub exposed_new: u64,
    /// Units evaluated in all.
    pub units: u64,
    /// Checks made.
    pub checks: u64,
}

/// Simulates the guarded staged rule of `options.flag` from its first
/// stage to its last. Errors name what is wrong (no such flag, no guarded
/// staged rule, an unknown guard in `effects`).
pub fn simulate_rollout(
    bundle: ValidBundle,
    options: &RolloutOptions,
) -> Result<RolloutRun, String> {
    let rollout = GuardedRollout::all(&bundle)
        .into_iter()
        .find(|r| r.flag == options.flag)
        .ok_or_else(|| format!("flag `{}` has no staged rule with guardrails", options.flag))?;
    for (name, _) in options.effects.iter().chain(&options.baselines) {
        if !rollout
            .guardrails
            .guards
            .iter()
            .any(|g| &g.metric.name == name)
        {
            return Err(format!("`{}` has no guardrail `{name}`", options.flag));
        }
    }
    if options.check_every <= 0 || options.units_per_hour == 0 {
        return Err("the check interval and the arrivals per hour must be positive".into());
    }
    let (Some(first), Some(last)) = (rollout.stages.first(), rollout.stages.last()) else {
        return Err(format!("`{}` has no stages", options.flag));
    };
    let (start, end) = (first.starts, last.starts);
    let (context, field) = bundle
        .schema
        .field_at(rollout.bucketing.unit)
        .map(|(c, f)| (c.name.clone(), f.name.clone()))
        .ok_or("the rollout's unit is not in the schema")?;
    let int_unit = bundle
        .schema
        .field_at(rollout.bucketing.unit)
        .is_some_and(|(_, f)| f.ty == ir::FieldType::Int);

    let sink = Arc::new(MemorySink::default());
    let recorder: Arc<dyn ExposureSink> = sink.clone();
    let snapshot = Snapshot::new(bundle, BackendChoice::Interpreter, Some(recorder), 1)
        .map_err(|e| e.to_string())?;
    let layout = Arc::clone(snapshot.layout());
    let handle = layout
        .field(&context, &field)
        .ok_or("the rollout's unit is not in the layout")?;
    let mut store = Store::in_memory().map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let models: Vec<Model> = rollout
        .guardrails
        .guards
        .iter()
        .map(|g| Model::of(g, options))
        .collect::<Result<_, _>>()?;

    let per_check = (options.units_per_hour as f64 * options.check_every as f64 / HOUR as f64)
        .round()
        .max(1.0) as u64;
    let mut run = RolloutRun {
        outcome: "completed",
        stage: None,
        guard: None,
        exposed_new: 0,
        units: 0,
        checks: 0,
    };
    let mut t = start;
    let mut ctx = layout.context();
    let mut events: Vec<Event> = Vec::new();
    while t < end {
        let next = t.saturating_add(options.check_every).min(end);
        events.clear();
        for _ in 0..per_check {
            let arrival = rng.random_range(t..next.max(t + 1));
            let unit = run.units.to_string();
            run.units += 1;
            ctx.clear();
            if int_unit {
                ctx.set_int(handle, run.units as i64 - 1);
            } else {
                ctx.set_str(handle, &unit);
            }
            let _ = snapshot.evaluate(&options.flag, &ctx, arrival);
            for exposure in sink.take() {
                let new = exposure.variant == NEW;
                run.exposed_new += u64::from(new);
                for m in &models {
                    m.events(&exposure.unit, exposure.time, new, &mut rng, &mut events)?;
                }
                events.push(Event::Exposure(Exposure::from(exposure)));
            }
        }
        store.ingest(&events).map_err(|e| e.to_string())?;
        t = next;
        // The stage in force just before the check: the one the units
        // of this interval saw.
        let Some(stage) = ir::stage_at(&rollout.stages, t - 1) else {
            continue;
        };
        run.checks += 1;
        let check =
            check_stage(&store, &rollout, stage, &options.monitor).map_err(|e| e.to_string())?;
        if let Some(breach) = check.breach() {
            run.stage = Some(stage + 1);
            run.guard = Some(breach.name.clone());
            match breach.action {
                "notify" => continue,
                "pause" => run.outcome = "paused",
                _ => run.outcome = "rolled_back",
            }
            break;
        }
    }
    Ok(run)
}

/// How one guard's events are drawn: a conversion happens with the rate,
/// a mean's value is Gamma-distributed around the mean (shape 2), both
/// scaled by `1 + effect` on the new side.
struct Model {
    numerator: String,
    denominator: Option<String>,
    conversion: bool,
    baseline: f64,
    effect: f64,
}

impl Model {
    fn of(guard: &ir::Guard, options: &RolloutOptions) -> Result<Model, String> {
        let name = &guard.metric.name;
        let lookup = |list: &[(String, f64)]| list.iter().find(|(n, _)| n == name).map(|p| p.1);
        let (numerator, denominator, conversion) = match &guard.metric.kind {
            ir::MetricKind::Conversion { event } => (event.clone(), None, true),
            ir::MetricKind::Mean { event } => (event.clone(), None, false),
            ir::MetricKind::Ratio {
                numerator,
                denominator,
            } => (numerator.clone(), Some(denominator.clone()), false),
        };
        let baseline = lookup(&options.baselines).unwrap_or(if conversion { 0.1 } else { 100.0 });
        if conversion && !(0.0..=1.0).contains(&baseline) {
            return Err(format!(
                "the baseline of `{name}` is a rate between 0 and 1"
            ));
        }
        Ok(Model {
            numerator,
            denominator,
            conversion,
            baseline,
            effect: lookup(&options.effects).unwrap_or(0.0),
        })
    }

    fn events(
        &self,
        unit: &str,
        exposed: i64,
        new: bool,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let scale = if new { 1.0 + self.effect } else { 1.0 };
        // Within a minute of the exposure: inside any window.
        let at = exposed + rng.random_range(1..60_000_000);
        if self.conversion {
            if rng.random_bool((self.baseline * scale).clamp(0.0, 1.0)) {
                out.push(Event::Track(Track::new(&self.numerator, unit, 1.0, at)));
            }
            return Ok(());
        }
        let gamma = Gamma::new(2.0, (self.baseline * scale).max(f64::MIN_POSITIVE) / 2.0)
            .map_err(|e| e.to_string())?;
        out.push(Event::Track(Track::new(
            &self.numerator,
            unit,
            gamma.sample(rng),
            at,
        )));
        if let Some(d) = &self.denominator {
            out.push(Event::Track(Track::new(d, unit, 1.0, at)));
        }
        Ok(())
    }
}
