//! Simulated experiment data with a known true effect, for examples,
//! documentation and tests. Units visit over the given days; each visit
//! evaluates the experiment with the real runtime (audience, traffic,
//! layer, buckets and dates apply), whose `JsonLinesSink` writes the
//! exposures; then the unit's metric events follow the models in
//! `behaviour`, scaled by the requested effects in its variant.

mod behaviour;
mod contexts;
mod rollout;

use std::io::Write;
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Geometric};
use serde::Serialize;
use vexil_ir::{Reason, ValidBundle};
use vexil_runtime::{BackendChoice, Engine, EngineOptions, JsonLinesSink};

pub use behaviour::{Effect, EventModel, Model};
pub use rollout::{simulate_rollout, RolloutOptions, RolloutRun};

use crate::metric::DAY;
use behaviour::{models, unit_events};
use contexts::ContextGenerator;

/// The longest simulated period, which keeps every time far from overflow.
pub const MAX_DAYS: u32 = 3650;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationOptions {
    /// Distinct units that visit.
    pub units: u64,
    /// Days over which they first arrive.
    pub days: u32,
    /// The true effects to build into the data.
    pub effects: Vec<Effect>,
    /// `(metric, value)`: the control's conversion rate, per-unit mean or
    /// numerator events per denominator event, instead of the default
    /// (the planning baseline for the primary metric, else 10%, 50, 1.5).
    pub baselines: Vec<(String, f64)>,
    /// Seed of the random generator: the same seed gives the same events.
    pub seed: u64,
    /// Also write metric events for units that were never enrolled (as a
    /// real event stream has); the analysis must ignore them. Off by
    /// default: they are most of the volume and change no result.
    pub bystanders: bool,
    /// First day, microseconds since the epoch; the experiment's `start`
    /// when `None`.
    pub start: Option<i64>,
}

/// What was simulated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimulationSummary {
    /// The experiment's name.
    pub experiment: String,
    /// First day, microseconds since the epoch.
    pub start: i64,
    /// Days simulated.
    pub days: u32,
    /// Distinct units that visited.
    pub units: u64,
    /// Enrolled units per variant, in declared order.
    pub enrolled: Vec<(String, u64)>,
    /// Exposure lines written.
    pub exposures: u64,
    /// Metric event lines written.
    pub events: u64,
    /// How each event name was generated.
    pub models: Vec<EventModel>,
}

/// A writer shared by the runtime's sink and the metric events, which
/// keeps the first error: the sink drops errors so that evaluation never
/// fails, but a simulation must report them.
struct Shared<W: Write + Send> {
    out: Arc<Mutex<(W, Option<std::io::Error>)>>,
}

impl<W: Write + Send> Write for Shared<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = self
            .out
            .lock()
            .map_err(|_| std::io::Error::other("writer poisoned"))?;
        let (out, first_error) = &mut *guard;
        match out.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                first_error.get_or_insert(e);
                Err(copy)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut guard = self
            .out
            .lock()
            .map_err(|_| std::io::Error::other("writer poisoned"))?;
        guard.0.flush()
    }
}

#[derive(Serialize)]
struct TrackLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a str,
    unit: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    time: i64,
}

/// Simulates `experiment` of `bundle` and writes JSON Lines to `out`.
/// Errors name what is wrong (an unknown experiment, metric or variant, a
/// missing start, an effect on a shared event, a failed write).
pub fn simulate<W: Write + Send + 'static>(
    bundle: ValidBundle,
    experiment: &str,
    options: &SimulationOptions,
    out: W,
) -> Result<SimulationSummary, String> {
    let Some(x) = bundle
        .experiments
        .iter()
        .find(|e| e.name == experiment)
        .cloned()
    else {
        let names: Vec<&str> = bundle.experiments.iter().map(|e| e.name.as_str()).collect();
        return Err(if names.is_empty() {
            format!("no experiment `{experiment}`: the repository declares none")
        } else {
            format!(
                "no experiment `{experiment}` (experiments: {})",
                names.join(", ")
            )
        });
    };
    if options.units == 0 || options.days == 0 {
        return Err("`--units` and `--days` must be at least 1".to_string());
    }
    if options.days > MAX_DAYS {
        return Err(format!(
            "`--days` is at most {MAX_DAYS} (ten years), got {}",
            options.days
        ));
    }
    let start = options
        .start
        .or(x.start)
        .ok_or_else(|| format!("experiment `{experiment}` has no `start`: give `--start DATE`"))?;
    let models = models(&x, &options.effects, &options.baselines)?;
    let generator = ContextGenerator::new(&bundle, &x)?;

    let shared = Arc::new(Mutex::new((out, None)));
    let sink = JsonLinesSink::new(Shared {
        out: Arc::clone(&shared),
    });
    let engine = Engine::from_bundle(
        bundle,
        EngineOptions {
            backend: BackendChoice::Interpreter,
            exposure_sink: Some(Arc::new(sink)),
            ..EngineOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let snapshot = engine.snapshot();
    let layout = snapshot.layout();
    let mut writer = Shared {
        out: Arc::clone(&shared),
    };

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let propensity = Gamma::new(2.0, 0.5).map_err(|e| e.to_string())?;
    let returns = Geometric::new(0.5).map_err(|e| e.to_string())?;
    let period = i64::from(options.days) * DAY;
    let mut enrolled = vec![0u64; x.variants.len()];
    let mut exposures = 0u64;
    let mut events = 0u64;
    let mut visits: Vec<i64> = Vec::new();
    let mut line: Vec<u8> = Vec::with_capacity(256);

    for index in 0..options.units {
        let ctx = layout.context_from_json(&generator.context(index, &mut rng));
        let first = start + rng.random_range(0..period);
        visits.clear();
        visits.push(first);
        for _ in 0..returns.sample(&mut rng).min(20) {
            visits.push(first + rng.random_range(0..(start.saturating_add(period) - first).max(1)));
        }
        visits.sort_unstable();
        let mut exposure: Option<(i64, usize)> = None;
        for &t in &visits {
            let evaluation = snapshot.evaluate(experiment, &ctx, t);
            if evaluation.reason != Reason::Split {
                continue;
            }
            exposures += 1;
            if exposure.is_none() {
                let variant = evaluation
                    .variant
                    .and_then(|v| x.variants.iter().position(|d| d.name == v));
                if let Some(v) = variant {
                    exposure = Some((t, v));
                }
            }
        }
        if let Some((_, v)) = exposure {
            if let Some(count) = enrolled.get_mut(v) {
                *count += 1;
            }
        }
        let (t0, variant) = match exposure {
            Some((t, v)) => (t, Some(v)),
            None if options.bystanders => (first, None),
            None => continue,
        };
        let unit = generator.unit_text(index);
        let k = propensity.sample(&mut rng);
        for e in unit_events(&models, variant, k, t0, &mut rng) {
            let Some(model) = models.get(e.event) else {
                continue;
            };
            line.clear();
            let record = TrackLine {
                kind: "track",
                event: &model.event,
                unit: &unit,
                // Cents: what a shop would record, and shorter lines.
                value: e.value.map(|v| (v * 100.0).round() / 100.0),
                time: e.time,
            };
            serde_json::to_writer(&mut line, &record).map_err(|e| e.to_string())?;
            line.push(b'\n');
            writer
                .write_all(&line)
                .map_err(|e| format!("cannot write the events: {e}"))?;
            events += 1;
        }
    }
    writer
        .flush()
        .map_err(|e| format!("cannot write the events: {e}"))?;
    drop(engine);
    if let Ok(mut guard) = shared.lock() {
        if let Some(e) = guard.1.take() {
            return Err(format!("cannot write the exposures: {e}"));
        }
    }
    Ok(SimulationSummary {
        experiment: x.name.clone(),
        start,
        days: options.days,
        units: options.units,
        enrolled: x
            .variants
            .iter()
            .zip(enrolled)
            .map(|(v, n)| (v.name.clone(), n))
            .collect(),
        exposures,
        events,
        models,
    })
}
