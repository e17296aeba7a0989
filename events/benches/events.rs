//! The event store's two speed targets (issue 5), on simulated data:
//!
//! * `ingest/1M-lines`: a JSON Lines file of about a million exposures and
//!   metric events into a new store (target: 500,000 events a second);
//! * `analyze/10M-events`: `analyze_experiment` over a store of ten million
//!   events, every one from an exposed unit (target: under 10 seconds).
//!
//! Both data sets come from `simulate` on `BENCH_FLAGS` (all traffic
//! enrolled, the five kinds of metric the shop declares). The ten-million
//! store takes a minute or two to build, so it is kept in Cargo's target
//! temp directory and reused while its counts match.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vexil_events::simulate::{simulate, Effect, SimulationOptions};
use vexil_events::{analyze_experiment, AnalysisOptions, Store};

const BENCH_FLAGS: &str = r#"
context user {
  key id: string
}

experiment checkout: string {
  unit user.id
  start 2026-12-01
  end 2027-01-15
  variants {
    old = "old" 50%
    new = "new" 50%
  }
  control old
  metrics {
    primary conversion: conversion(purchase) within 7d increase
    secondary order-value: mean(order_total) increase
    secondary items-per-checkout: ratio(item_added, checkout_started) increase
    guardrail page-load: mean(page_load_ms) decrease threshold 10%
    guardrail payment-errors: conversion(payment_failed) within 1d decrease threshold 5%
  }
}
"#;

fn bundle() -> vexil_ir::ValidBundle {
    let mut project = vexil_compiler::Project::new();
    project.set_source("bench.flag", BENCH_FLAGS.to_string());
    project.bundle(false).expect("the bench flags compile")
}

/// Simulates `units` units into `path`; returns the lines written.
fn simulate_into(path: &Path, units: u64, days: u32, seed: u64) -> u64 {
    let options = SimulationOptions {
        units,
        days,
        effects: vec![Effect {
            metric: "conversion".into(),
            variant: None,
            lift: 0.05,
        }],
        baselines: vec![("conversion".into(), 0.2)],
        seed,
        bystanders: false,
        start: None,
    };
    let out = std::io::BufWriter::new(std::fs::File::create(path).expect("bench file"));
    let summary = simulate(bundle(), "checkout", &options, out).expect("simulates");
    summary.exposures + summary.events
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vexil-events-bench")
}

fn ingest(c: &mut Criterion) {
    let dir = tmp();
    std::fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join("ingest-1m.jsonl");
    // About 13 lines per unit.
    let lines = simulate_into(&file, 77_000, 14, 1);
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(lines));
    group.bench_function("1M-lines", |b| {
        b.iter_batched(
            || {
                let store = tempfile::NamedTempFile::new_in(&dir).expect("temp store");
                let path = store.path().to_path_buf();
                (store, Store::open(&path).expect("store"))
            },
            |(_keep, mut store)| {
                let report = store.ingest_file(&file).expect("ingests");
                assert_eq!(report.lines, lines);
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// The ten-million-event store, built once.
fn big_store() -> Store {
    const UNITS: u64 = 770_000;
    let dir = tmp();
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("analyze-{UNITS}-v1.db"));
    if let Ok(store) = Store::open_existing(&path) {
        if let Ok((exposures, events)) = store.counts() {
            if exposures + events >= 10_000_000 {
                return store;
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    let file = dir.join("analyze-10m.jsonl");
    let started = Instant::now();
    let lines = simulate_into(&file, UNITS, 28, 2);
    eprintln!(
        "simulated {lines} lines in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(lines >= 10_000_000, "only {lines} lines");
    let mut store = Store::open(&path).expect("store");
    let started = Instant::now();
    let report = store.ingest_file(&file).expect("ingests");
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "ingested {} lines into a growing store in {seconds:.1} s: {:.0} lines/s",
        report.lines,
        report.lines as f64 / seconds
    );
    let _ = std::fs::remove_file(&file);
    store
}

fn analyze(c: &mut Criterion) {
    let store = big_store();
    let bundle = bundle();
    let experiment = bundle
        .experiments
        .first()
        .expect("the bench experiment")
        .clone();
    let (exposures, events) = store.counts().expect("counts");
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(exposures + events));
    group.bench_function("10M-events", |b| {
        b.iter(|| {
            let report = analyze_experiment(&store, &experiment, &AnalysisOptions::default())
                .expect("analyses");
            assert!(report.usable(), "{:?}", report.problems);
        });
    });
    group.finish();
}

criterion_group!(benches, ingest, analyze);
criterion_main!(benches);
