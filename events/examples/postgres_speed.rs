//! The PostgreSQL store's speed next to SQLite's (issue 19), on the issue's
//! own data: `checkout-layout` of `examples/shop` simulated over UNITS
//! units and 28 days (8,500,000 units give about ten million lines),
//! written once to a JSON Lines file, then ingested into each store given
//! and analysed there (5 metrics, CUPED, Holm), each analysis three times,
//! then the portable metric query run once (`aggregate_sql`).
//!
//! ```text
//! cargo run --release -p vexil-events --example postgres_speed -- \
//!     UNITS DIR STORE...      # STORE: an SQLite file or a postgres:// URL (empty)
//! ```
//!
//! DIR keeps the JSON Lines file between runs. Figures: BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use vexil_events::simulate::{simulate, SimulationOptions};
use vexil_events::{analyze_experiment, AnalysisOptions, MetricSpec, Store};

const EXPERIMENT: &str = "checkout-layout";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: postgres_speed UNITS DIR STORE...");
        std::process::exit(2);
    }
    let units: u64 = args[0].parse().expect("UNITS is a number");
    let dir = PathBuf::from(&args[1]);
    std::fs::create_dir_all(&dir).expect("DIR can be created");
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    let bundle = vexil_compiler::Project::from_dir(&shop)
        .expect("examples/shop loads")
        .bundle(false)
        .expect("examples/shop compiles");
    let experiment = bundle
        .experiments
        .iter()
        .find(|e| e.name == EXPERIMENT)
        .cloned()
        .expect("the shop declares checkout-layout");

    let file = dir.join(format!("shop-{units}.jsonl"));
    if !file.exists() {
        let partial = dir.join("partial.jsonl");
        let out = std::io::BufWriter::new(std::fs::File::create(&partial).unwrap());
        let options = SimulationOptions {
            units,
            days: 28,
            effects: Vec::new(),
            baselines: Vec::new(),
            seed: 1,
            bystanders: false,
            start: None,
        };
        let started = Instant::now();
        let summary = simulate(bundle.clone(), EXPERIMENT, &options, out).expect("simulates");
        std::fs::rename(&partial, &file).unwrap();
        println!(
            "simulated {} lines ({} exposures, {} metric events) in {:.1} s",
            summary.exposures + summary.events,
            summary.exposures,
            summary.events,
            started.elapsed().as_secs_f64()
        );
    }

    for store in &args[2..] {
        let mut opened = Store::open(Path::new(store)).expect("the store opens");
        let name = opened.path().display().to_string();
        let started = Instant::now();
        let report = opened.ingest_file(&file).expect("ingests");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: ingested {} lines ({} added, {} duplicates) in {seconds:.2} s: {:.0} lines/s",
            report.lines,
            report.exposures + report.tracks,
            report.duplicates,
            report.lines as f64 / seconds
        );
        drop(opened);
        let opened = Store::open_existing(Path::new(store)).expect("the store opens");
        for run in 1..=3 {
            let started = Instant::now();
            let analysis = analyze_experiment(&opened, &experiment, &AnalysisOptions::default())
                .expect("analyses");
            let units: u64 = analysis.variants.iter().map(|v| v.units).sum();
            println!(
                "{name}: analysis {run} of {EXPERIMENT} ({units} units): {:.2} s",
                started.elapsed().as_secs_f64()
            );
        }
        // The portable query the store's fold replaces, for comparison.
        let specs: Vec<MetricSpec> = experiment
            .metrics
            .iter()
            .map(|m| MetricSpec::from_ir(m, true))
            .collect();
        let started = Instant::now();
        let portable = opened.aggregate_sql(EXPERIMENT, &specs).expect("runs");
        let seconds = started.elapsed().as_secs_f64();
        let folded = opened.aggregate(EXPERIMENT, &specs).expect("folds");
        assert_eq!(portable.cells.len(), folded.cells.len());
        println!("{name}: the portable query alone: {seconds:.2} s");
    }
}
