//! The experiment analytics commands: `stats` (the statistics engine on
//! sufficient statistics), `plan`, `ingest`, `analyze` and `simulate`.
//! Each returns the exit code, or a message for status 2, like the other
//! commands.

mod html;
mod plan;
mod rows;
mod sql;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use vexil_analytics::Correction;
use vexil_events::simulate::{simulate as run_simulation, Effect, SimulationOptions};
use vexil_events::{
    analyze_experiment, report_from, AnalysisOptions, Dialect, MetricSpec, Report, Store, Tables,
};

// `plan` reaches it as `super::load_bundle`.
pub(crate) use crate::commands::load_bundle;
use crate::output::{color_enabled, paint, Style};
use crate::Format;

pub use plan::{plan, PlanArgs};

/// `vexil stats --help`: every input and output field, briefly; the
/// formulas are in `analytics/STATISTICS.md`.
pub const STATS_HELP: &str = "\
Analyse one metric's per-variant sufficient statistics and print the results as JSON.

This is the entry point for teams whose events live in a warehouse: compute the sums
there with the query `vexil analyze DIR EXPERIMENT --sql [--dialect D]` prints
(explained in events/SCHEMA.md), then run this on one metric's sums, or on the query's
whole result (CSV or JSON Lines) with `--experiment DIR EXPERIMENT`, which reports as
`vexil analyze` does.
FILE.json is a path, or `-` for standard input. Formulas, defaults and the references
they were checked against: analytics/STATISTICS.md.

Input (control first; unknown keys are errors):
  metric                   \"proportion\" | \"mean\" | \"ratio\"
  alpha                    significance level, default 0.05
  weights                  declared traffic share per variant, default equal (for SRM)
  variants[]               name, n (units), sum (conversions or total value),
                           sum_squares (mean and ratio), for ratios denominator_sum,
                           denominator_sum_squares, cross_sum (Σ numerator×denominator);
                           for CUPED pre_sum, pre_sum_squares, pre_cross_sum (Σ covariate×metric)
  sequential               also report always-valid results (mixture SPRT), default false
  sequential_tuning        mixture SPRT tuning, default 5000
  correction               \"holm\" | \"bh\" across the treatments, default none
  inverse                  lower is better (flips chance to win and risks)
  bayes_prior              {mean, stddev}: proper Gaussian prior on the relative lift
  bayes_scale              \"relative\" (default) | \"absolute\"
  bayes_method             \"gaussian\" (default) | \"beta_binomial\" (proportions)
  beta_prior               {alpha, beta} for beta_binomial, default Beta(1, 1)

Output:
  control                  name, n, mean, stddev
  variants[]               name, n, mean, stddev, dof (Welch), and against the control:
    absolute, relative     point, se, ci_lower, ci_upper, p_value [, p_value_adjusted]
    bayes                  scale, point and posterior_sd (the posterior's mean and standard
                           deviation), chance_to_win, risk_control, risk_treatment,
                           ci_lower, ci_upper (credible interval)
    sequential             absolute and relative with confidence sequences (if asked)
    cuped                  theta, unadjusted_absolute, unadjusted_relative (with a covariate)
  srm_p_value, srm_flagged chi-square test of units against weights; flagged below 0.001

Exit status: 0 results printed; 1 the input is not a valid analysis (the error names
the field and variant, with a code S0001-S0006: `vexil explain S0003` says more); 2 the
file cannot be read.";

#[derive(Args)]
pub struct StatsArgs {
    /// The analysis request (JSON); `-` reads standard input. With
    /// `--experiment`, the result rows of the metric query instead.
    #[arg(value_name = "FILE.json")]
    file: PathBuf,
    /// FILE holds the result rows of the query `vexil analyze DIR
    /// EXPERIMENT --sql` prints, as a warehouse exports them (CSV with a
    /// header, or JSON Lines): report on them as `vexil analyze` does.
    #[arg(long, num_args = 2, value_names = ["DIR", "EXPERIMENT"])]
    experiment: Option<Vec<String>>,
    /// With `--experiment`: the report as a table or JSON.
    #[arg(long, value_enum, default_value_t = Format::Text, requires = "experiment")]
    format: Format,
}

fn read_input(path: &Path) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut buf = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

pub fn stats(args: &StatsArgs) -> Result<ExitCode, String> {
    let text = read_input(&args.file)?;
    if let Some([dir, name]) = args.experiment.as_deref() {
        return stats_of_rows(&text, &args.file, Path::new(dir), name, args.format);
    }
    match vexil_analytics::analyze_json(&text) {
        Ok(json) => {
            println!("{json}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {}", args.file.display(), e);
            Ok(ExitCode::from(1))
        }
    }
}

/// `vexil stats ROWS --experiment DIR EXPERIMENT`: the warehouse's sums,
/// reported as `vexil analyze` reports the store's.
fn stats_of_rows(
    text: &str,
    file: &Path,
    dir: &Path,
    name: &str,
    format: Format,
) -> Result<ExitCode, String> {
    let bundle = match load_bundle(dir)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let experiment = find_experiment(&bundle, name)?;
    let (specs, aggregates) = match rows::read(text, experiment) {
        Ok(read) => read,
        Err(e) => {
            eprintln!("{}: {}: {e}", paint("error", Style::Error), file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let report = report_from(experiment, &specs, &aggregates, &AnalysisOptions::default());
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        ),
        Format::Text => print!("{}", table::render(&report, color_enabled())),
    }
    Ok(if report.usable() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A number written as a fraction (`0.05`) or a percentage (`5%`).
pub(crate) fn fraction(text: &str, what: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v * scale),
        _ => Err(format!(
            "invalid {what} `{text}`: write a number like 0.05 or a percentage like 5%"
        )),
    }
}

/// `NAME=VALUE`, the value a fraction or percentage.
fn assignment(text: &str, what: &str) -> Result<(String, f64), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "invalid {what} `{text}`: write METRIC=VALUE, like conversion=5%"
        ));
    };
    Ok((name.trim().to_string(), fraction(value, what)?))
}

// ---------------------------------------------------------------- ingest

#[derive(Args)]
pub struct IngestArgs {
    /// The event store: an SQLite file, created if missing, or a
    /// PostgreSQL database as a `postgres://` URL (its tables are created
    /// if missing).
    #[arg(value_name = "STORE")]
    store: PathBuf,
    /// JSON Lines files of exposures and metric events; `-` reads standard
    /// input. The line format is in events/SCHEMA.md.
    #[arg(value_name = "FILE.jsonl", required = true)]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn ingest(args: &IngestArgs) -> Result<ExitCode, String> {
    let mut store = Store::open(&args.store).map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for file in &args.files {
        let report = if file.as_os_str() == "-" {
            store.ingest_reader(std::io::BufReader::new(std::io::stdin()), file)
        } else {
            store.ingest_file(file)
        }
        .map_err(|e| e.to_string())?;
        reports.push((file.display().to_string(), report));
    }
    let (exposures, tracks) = store.counts().map_err(|e| e.to_string())?;
    let rejected = reports.iter().any(|(_, r)| r.rejected > 0);
    match args.format {
        Format::Json => {
            let files: Vec<serde_json::Value> = reports
                .iter()
                .map(|(file, r)| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    if let Some(map) = v.as_object_mut() {
                        map.insert("file".into(), serde_json::Value::String(file.clone()));
                    }
                    v
                })
                .collect();
            let json = serde_json::json!({
                "store": store.path().display().to_string(),
                "files": files,
                "stored": {"exposures": exposures, "events": tracks},
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
            );
        }
        Format::Text => {
            for (file, r) in &reports {
                for e in &r.errors {
                    eprintln!(
                        "{}: {file}:{}: {}",
                        paint("error", Style::Error),
                        e.line,
                        e.reason
                    );
                }
                if r.rejected > r.errors.len() as u64 {
                    eprintln!(
                        "{}: {file}: {} more rejected not shown",
                        paint("error", Style::Error),
                        many(r.rejected - r.errors.len() as u64, "line")
                    );
                }
                let line = format!(
                    "{file}: {}: {} and {} added, {}, {} rejected",
                    many(r.lines, "line"),
                    many(r.exposures, "exposure"),
                    many(r.tracks, "metric event"),
                    many(r.duplicates, "duplicate"),
                    thousands(r.rejected)
                );
                let style = if r.rejected > 0 {
                    Style::Error
                } else {
                    Style::Ok
                };
                println!("{}", paint(&line, style));
            }
            println!(
                "{}: {}, {}",
                store.path().display(),
                many(exposures, "exposure"),
                many(tracks, "metric event")
            );
        }
    }
    Ok(if rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A count with its noun, the count as [`thousands`]: `12,345 units`,
/// `1 unit`.
pub(crate) fn many(n: u64, noun: &str) -> String {
    format!("{} {}", thousands(n), vexil_words::plural(n, noun))
}

/// `12345` as `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------- analyze

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CorrectionArg {
    Holm,
    Bh,
    None,
}

/// The dialects `--sql --dialect` renders the metric query in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Postgres,
    Bigquery,
    Snowflake,
    Clickhouse,
    Duckdb,
    Databricks,
    Sqlite,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::Postgres => Dialect::Postgres,
            DialectArg::Bigquery => Dialect::BigQuery,
            DialectArg::Snowflake => Dialect::Snowflake,
            DialectArg::Clickhouse => Dialect::ClickHouse,
            DialectArg::Duckdb => Dialect::DuckDb,
            DialectArg::Databricks => Dialect::Databricks,
            DialectArg::Sqlite => Dialect::Sqlite,
        }
    }
}

/// The tables `[warehouse]` in the project file (`vexil.toml` at or above
/// `dir`) maps, if it has that table.
fn warehouse_tables(dir: &Path) -> Result<Option<(PathBuf, Tables)>, String> {
    #[derive(serde::Deserialize)]
    struct ProjectFile {
        warehouse: Option<Tables>,
    }
    let Some(path) = vexil_compiler::conventions::project_file(dir) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let file: ProjectFile = toml::from_str(&text)
        .map_err(|e| format!("in `{}`: `warehouse`: {}", path.display(), e.message()))?;
    let Some(tables) = file.warehouse else {
        return Ok(None);
    };
    tables
        .validate()
        .map_err(|e| format!("in `{}`: {e}", path.display()))?;
    Ok(Some((path, tables)))
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// A directory of `.flag` files.
    dir: PathBuf,
    /// The experiment to analyse.
    experiment: String,
    /// The event store written by `vexil ingest`: an SQLite file, or a
    /// `postgres://` URL.
    #[arg(long, value_name = "STORE", required_unless_present = "sql")]
    events: Option<PathBuf>,
    /// Print the metric query instead of analysing: the portable SQL that
    /// defines the sums the store computes, with its parameters and
    /// columns, for a warehouse whose sums then go to `vexil stats`
    /// (honours `--no-cuped`).
    #[arg(long, conflicts_with_all = ["events", "html"])]
    sql: bool,
    /// With `--sql`: the query in this dialect, with the experiment's and
    /// the events' names written in, to paste into the warehouse.
    #[arg(long, value_enum, requires = "sql")]
    dialect: Option<DialectArg>,
    /// With `--events`: analyse the team's own tables that `[warehouse]` in
    /// vexil.toml maps, in that database, instead of Vexil's tables.
    #[arg(long, requires = "events")]
    warehouse: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write a self-contained HTML report (forest plot, cumulative
    /// lift by day).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Significance level (default: the experiment's planning alpha, or 0.05).
    #[arg(long)]
    alpha: Option<f64>,
    /// Multiple-testing correction across primary and secondary metrics ×
    /// variants.
    #[arg(long, value_enum, default_value_t = CorrectionArg::Holm)]
    correction: CorrectionArg,
    /// Do not adjust for the pre-exposure covariate (CUPED).
    #[arg(long)]
    no_cuped: bool,
    /// Sequential testing: always-valid p-values and confidence sequences
    /// (mixture SPRT), so that the results may be looked at every day.
    #[arg(long)]
    sequential: bool,
    /// Tuning of the mixture SPRT: the sample size at which the confidence
    /// sequence is tightest (GrowthBook's default).
    #[arg(long, value_name = "N", default_value_t = vexil_analytics::DEFAULT_SEQUENTIAL_TUNING, requires = "sequential")]
    sequential_tuning: f64,
}

pub(crate) fn find_experiment<'a>(
    bundle: &'a vexil_ir::Bundle,
    name: &str,
) -> Result<&'a vexil_ir::Experiment, String> {
    bundle
        .experiments
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = bundle.experiments.iter().map(|e| e.name.as_str()).collect();
            if names.is_empty() {
                format!("no experiment `{name}`: the repository declares none")
            } else {
                format!("no experiment `{name}`; experiments: {}", names.join(", "))
            }
        })
}

pub fn analyze(args: &AnalyzeArgs) -> Result<ExitCode, String> {
    let bundle = match load_bundle(&args.dir)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let experiment = find_experiment(&bundle, &args.experiment)?;
    let mapped = warehouse_tables(&args.dir)?;
    if args.sql {
        let tables = mapped.as_ref().map(|(path, t)| (path.as_path(), t));
        sql::print(
            experiment,
            !args.no_cuped,
            args.format,
            args.dialect.map(Dialect::from),
            tables,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.warehouse && mapped.is_none() {
        return Err(format!(
            "--warehouse reads the tables `[warehouse]` maps in vexil.toml, and `{}` has no such table in its project file",
            args.dir.display()
        ));
    }
    let Some(events) = &args.events else {
        return Err("give the event store: `--events STORE` (or `--sql` for the query)".into());
    };
    if let Some(alpha) = args.alpha {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(format!(
                "invalid --alpha `{alpha}`: it must lie strictly between 0 and 1"
            ));
        }
    }
    if !(args.sequential_tuning.is_finite() && args.sequential_tuning > 0.0) {
        return Err(format!(
            "invalid --sequential-tuning `{}`: it is a positive number of units",
            args.sequential_tuning
        ));
    }
    let store = Store::open_existing(events).map_err(|e| e.to_string())?;
    let options = AnalysisOptions {
        alpha: args.alpha,
        correction: match args.correction {
            CorrectionArg::Holm => Some(Correction::Holm),
            CorrectionArg::Bh => Some(Correction::Bh),
            CorrectionArg::None => None,
        },
        cuped: !args.no_cuped,
        sequential: args.sequential.then_some(args.sequential_tuning),
    };
    let mut report = match mapped.filter(|_| args.warehouse) {
        Some((_, tables)) => {
            let specs: Vec<MetricSpec> = experiment
                .metrics
                .iter()
                .map(|m| MetricSpec::from_ir(m, options.cuped))
                .collect();
            let aggregates = store
                .aggregate_tables(&experiment.name, &specs, &tables)
                .map_err(|e| e.to_string())?;
            report_from(experiment, &specs, &aggregates, &options)
        }
        None => analyze_experiment(&store, experiment, &options).map_err(|e| e.to_string())?,
    };
    if report.variants.iter().all(|v| v.units == 0) {
        return Ok(nothing_to_analyse(&mut report, store.path(), args));
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::page(&report))
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        ),
        Format::Text => print!("{}", table::render(&report, color_enabled())),
    }
    if let Some(path) = &args.html {
        if args.format == Format::Text {
            println!("wrote {}", path.display());
        }
    }
    Ok(if report.usable() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// No unit in any declared variant: say so instead of a table of empty
/// rows, an SRM check over zero units and a correction over zero
/// comparisons; the JSON report keeps its shape with nothing analysed.
/// Exit status 1, as for any data that cannot support a decision.
fn nothing_to_analyse(report: &mut Report, store: &Path, args: &AnalyzeArgs) -> ExitCode {
    report.srm = None;
    report.metrics.clear();
    report.timeline.clear();
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("{}: {e}", paint("error", Style::Error)),
        },
        Format::Text => print!(
            "{}",
            table::render_empty(report, &store.display().to_string(), color_enabled())
        ),
    }
    if let Some(path) = &args.html {
        eprintln!(
            "{}: `{}` not written: there is nothing to report",
            paint("warning", Style::Error),
            path.display()
        );
    }
    ExitCode::from(1)
}

// ---------------------------------------------------------------- simulate

#[derive(Args)]
pub struct SimulateArgs {
    /// A directory of `.flag` files.
    dir: PathBuf,
    /// The experiment to simulate (with `--rollout`: the flag whose
    /// guarded staged rule is rolled out).
    experiment: String,
    /// Roll out the flag's guarded staged rule instead, through the
    /// runtime and the monitor's checks, `--runs` times; prints how each
    /// ended (effects and baselines name guardrails, `--units` is new
    /// units an hour).
    #[arg(long)]
    rollout: bool,
    /// With `--rollout`: how many rollouts, with seeds from `--seed` on.
    #[arg(long, default_value_t = 1, requires = "rollout")]
    runs: u64,
    /// Distinct units that visit (the audience, traffic and layer decide
    /// which of them are enrolled).
    #[arg(long, default_value_t = 10_000)]
    units: u64,
    /// Days over which units first arrive.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// A true relative effect, `METRIC=LIFT` in every treatment or
    /// `METRIC@VARIANT=LIFT` in one (`conversion=5%`, `page-load@one-page=-0.1`).
    #[arg(long, value_name = "METRIC=LIFT")]
    effect: Vec<String>,
    /// The control's conversion rate, per-unit mean or numerator per
    /// denominator event of a metric, `METRIC=VALUE` (default: the planning
    /// baseline for the primary metric, else 10%, 50 or 1.5).
    #[arg(long, value_name = "METRIC=VALUE")]
    baseline: Vec<String>,
    /// Where to write the JSON Lines; `-` writes standard output; a
    /// `postgres://` URL ingests them into that event store as they are
    /// simulated (as `vexil ingest` would).
    #[arg(
        short,
        long,
        value_name = "FILE.jsonl",
        required_unless_present = "rollout"
    )]
    output: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day, a date like 2026-12-01 or an RFC 3339 timestamp
    /// (default: the experiment's `start`).
    #[arg(long, value_name = "DATE")]
    start: Option<String>,
    /// Also write metric events of units that were never enrolled.
    #[arg(long)]
    bystanders: bool,
}

/// `vexil simulate --rollout`: `--runs` rollouts of the flag's guarded
/// staged rule, one line each, then how many were rolled back, at which
/// stages, and the median number of units served the new experience
/// before the action.
fn simulate_rollouts(
    args: &SimulateArgs,
    bundle: vexil_ir::ValidBundle,
) -> Result<ExitCode, String> {
    use vexil_events::simulate::{simulate_rollout, RolloutOptions};
    let pairs = |list: &[String], what: &str| {
        list.iter()
            .map(|b| assignment(b, what))
            .collect::<Result<Vec<_>, _>>()
    };
    let mut options = RolloutOptions {
        flag: args.experiment.clone(),
        units_per_hour: args.units,
        effects: pairs(&args.effect, "--effect")?,
        baselines: pairs(&args.baseline, "--baseline")?,
        check_every: 3_600_000_000,
        monitor: vexil_events::rollout::MonitorOptions::default(),
        seed: args.seed,
    };
    let mut stopped: Vec<u64> = Vec::new();
    let mut stages: Vec<usize> = Vec::new();
    for run in 0..args.runs.max(1) {
        options.seed = args.seed + run;
        let r = simulate_rollout(bundle.clone(), &options)?;
        if args.runs <= 20 {
            println!(
                "seed {}: {}{}, {} of {} units served the new experience, {}",
                options.seed,
                r.outcome,
                match (&r.stage, &r.guard) {
                    (Some(s), Some(g)) => format!(" at stage {s} by `{g}`"),
                    _ => String::new(),
                },
                thousands(r.exposed_new),
                thousands(r.units),
                vexil_words::count(r.checks, "check")
            );
        }
        if r.outcome != "completed" {
            stopped.push(r.exposed_new);
            stages.extend(r.stage);
        }
    }
    stopped.sort_unstable();
    let runs = args.runs.max(1);
    let median = stopped.get(stopped.len() / 2).copied();
    let mut by_stage: Vec<String> = Vec::new();
    if let Some(&last) = stages.iter().max() {
        for s in 1..=last {
            let n = stages.iter().filter(|&&x| x == s).count();
            if n > 0 {
                by_stage.push(format!("{n} at stage {s}"));
            }
        }
    }
    println!(
        "{} of {} stopped ({:.1}%){}{}",
        stopped.len(),
        vexil_words::count(runs, "rollout"),
        100.0 * stopped.len() as f64 / runs as f64,
        if by_stage.is_empty() {
            String::new()
        } else {
            format!(": {}", by_stage.join(", "))
        },
        match median {
            Some(m) => format!(
                "; median units served the new experience before the action: {}",
                thousands(m)
            ),
            None => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_effect(text: &str) -> Result<Effect, String> {
    let (target, lift) = assignment(text, "--effect")?;
    let (metric, variant) = match target.split_once('@') {
        Some((m, v)) => (m.to_string(), Some(v.to_string())),
        None => (target, None),
    };
    Ok(Effect {
        metric,
        variant,
        lift,
    })
}

pub fn simulate(args: &SimulateArgs) -> Result<ExitCode, String> {
    let bundle = match load_bundle(&args.dir)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    if args.rollout {
        return simulate_rollouts(args, bundle);
    }
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    find_experiment(&bundle, &args.experiment)?;
    let effects = args
        .effect
        .iter()
        .map(|e| parse_effect(e))
        .collect::<Result<Vec<_>, _>>()?;
    let baselines = args
        .baseline
        .iter()
        .map(|b| assignment(b, "--baseline"))
        .collect::<Result<Vec<_>, _>>()?;
    let start = args
        .start
        .as_deref()
        .map(|s| crate::commands::time_option(s, "--start"))
        .transpose()?;
    let options = SimulationOptions {
        units: args.units,
        days: args.days,
        effects,
        baselines,
        seed: args.seed,
        bystanders: args.bystanders,
        start,
    };
    if Store::is_url(&output) {
        return simulate_into_store(bundle, args, &output, &options);
    }
    let to_stdout = output.as_os_str() == "-";
    let out: Box<dyn Write + Send> = if to_stdout {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    } else {
        let file = std::fs::File::create(&output)
            .map_err(|e| format!("cannot write `{}`: {e}", output.display()))?;
        Box::new(std::io::BufWriter::new(file))
    };
    let summary = run_simulation(bundle, &args.experiment, &options, out)?;
    let text = summary_text(&summary, &output.display().to_string());
    // The summary goes where the data does not.
    if to_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `vexil simulate -o postgres://...`: the lines go through a pipe to an
/// ingestion into the store, which runs beside the simulation.
fn simulate_into_store(
    bundle: vexil_ir::ValidBundle,
    args: &SimulateArgs,
    output: &Path,
    options: &SimulationOptions,
) -> Result<ExitCode, String> {
    let mut store = Store::open(output).map_err(|e| e.to_string())?;
    let (reader, writer) =
        std::io::pipe().map_err(|e| format!("cannot start the ingestion: {e}"))?;
    let (summary, ingested) = std::thread::scope(|scope| {
        let ingestion = scope.spawn(|| {
            let reader = std::io::BufReader::with_capacity(1 << 20, reader);
            store.ingest_reader(reader, Path::new("simulation"))
        });
        let out: Box<dyn Write + Send> = Box::new(std::io::BufWriter::new(writer));
        // Returning drops the pipe's writer: the ingestion sees the end.
        let summary = run_simulation(bundle, &args.experiment, options, out);
        let ingested = match ingestion.join() {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("the ingestion stopped unexpectedly".to_string()),
        };
        (summary, ingested)
    });
    // The store's error explains a simulation cut short by a closed pipe.
    let ingested = ingested?;
    let summary = summary?;
    let mut text = summary_text(&summary, &store.path().display().to_string());
    text.push_str(&format!(
        "{}: {} and {} added, {}\n",
        store.path().display(),
        many(ingested.exposures, "exposure"),
        many(ingested.tracks, "metric event"),
        many(ingested.duplicates, "duplicate")
    ));
    print!("{text}");
    Ok(if ingested.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What a simulation wrote, and each event's model, in words.
fn summary_text(summary: &vexil_events::simulate::SimulationSummary, output: &str) -> String {
    let enrolled: Vec<String> = summary
        .enrolled
        .iter()
        .map(|(v, n)| format!("{v} {}", thousands(*n)))
        .collect();
    let mut text = format!(
        "simulated {} over {} from {}: enrolled {}; wrote {} and {} to {}\n",
        many(summary.units, "unit"),
        vexil_words::count(summary.days, "day"),
        vexil_ir::value::format_timestamp(summary.start)
            .get(..10)
            .unwrap_or_default(),
        enrolled.join(", "),
        many(summary.exposures, "exposure"),
        many(summary.events, "metric event"),
        output
    );
    for m in &summary.models {
        let lifts: Vec<String> = summary
            .enrolled
            .iter()
            .zip(&m.lifts)
            .filter(|(_, l)| **l != 0.0)
            .map(|((v, _), l)| format!("{:+}% in {v}", l * 100.0))
            .collect();
        let truth = if lifts.is_empty() {
            "no effect".to_string()
        } else {
            lifts.join(", ")
        };
        text.push_str(&format!(
            "  {} ({}): {}; true effect: {truth}\n",
            m.event,
            m.metric,
            model_words(&m.model)
        ));
    }
    text
}

fn model_words(model: &vexil_events::simulate::Model) -> String {
    use vexil_events::simulate::Model;
    match model {
        Model::Conversion { rate, window, .. } => format!(
            "converts at {:.3}% within {}",
            rate * 100.0,
            vexil_words::days(*window as f64 / vexil_events::DAY as f64)
        ),
        Model::Count {
            per_unit,
            value_mean,
            ..
        } => {
            let events = if *per_unit == 1.0 { "event" } else { "events" };
            if *value_mean == 1.0 {
                format!("{per_unit} {events} per unit, without values")
            } else {
                format!("{per_unit} {events} per unit, mean value {value_mean}")
            }
        }
        Model::PerDenominator {
            per_denominator,
            denominator,
        } => format!("{per_denominator} per `{denominator}` event"),
    }
}
