//! The event store's speed targets (issues 5 and 20), on simulated data
//! from the experiments of `tests/fixtures/mix.flag`:
//!
//! * `ingest/all-enrolled`: a JSON Lines file of about a million lines,
//!   every unit enrolled in `checkout`, into a new store;
//! * `ingest/realistic`: a million lines of the realistic mix (below) into
//!   a new store;
//! * `analyze/all-enrolled`: `analyze_experiment` of `checkout` over ten
//!   million events, every one from an enrolled unit;
//! * `analyze/realistic`: `layout` over ten million events of the realistic
//!   mix: `layout` enrols a tenth of the users, and every user's metric
//!   events are there (so nine in ten events come from units it never
//!   enrolled); `shipping` enrols another tenth of the same users;
//! * `analyze/realistic-double-outsiders`: the same store with as many
//!   events again from users that `layout` never enrolled (the devices of
//!   `elsewhere`, renamed to users whose events sit between the enrolled
//!   users' in key order): the time should follow the enrolled units, not
//!   the events.
//!
//! Building a ten-million store takes minutes; each is kept in Cargo's
//! target temp directory and reused (a store is kept only once complete).
//! Building the realistic one prints the ingestion rate of ten million lines
//! into a growing store, the ingestion figure.
//!
//! `VEXIL_EVENTS_BENCH_SCALE=0.1` scales every data set (for quick
//! iteration; figures for BENCHMARKS.md are taken at 1).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vexil_events::simulate::{simulate, Effect, SimulationOptions};
use vexil_events::{analyze_experiment, AnalysisOptions, Store, SCHEMA_VERSION};

const FLAGS: &str = include_str!("../tests/fixtures/mix.flag");

fn bundle() -> vexil_ir::ValidBundle {
    let mut project = vexil_compiler::Project::new();
    project.set_source("mix.flag", FLAGS.to_string());
    project.bundle(false).expect("the bench flags compile")
}

fn scale() -> f64 {
    std::env::var("VEXIL_EVENTS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

fn scaled(units: u64) -> u64 {
    ((units as f64 * scale()).round() as u64).max(100)
}

/// One simulation appended to a JSON Lines file.
struct Part {
    experiment: &'static str,
    units: u64,
    seed: u64,
    bystanders: bool,
}

/// Simulates `parts` into a new file at `path`; returns the lines written.
fn simulate_into(path: &Path, parts: &[Part]) -> u64 {
    let _ = std::fs::remove_file(path);
    let mut lines = 0;
    for part in parts {
        let options = SimulationOptions {
            units: part.units,
            days: 28,
            effects: vec![Effect {
                metric: "conversion".into(),
                variant: None,
                lift: 0.05,
            }],
            baselines: vec![("conversion".into(), 0.2)],
            seed: part.seed,
            bystanders: part.bystanders,
            start: None,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("bench file");
        let out = std::io::BufWriter::new(file);
        let summary = simulate(bundle(), part.experiment, &options, out).expect("simulates");
        lines += summary.exposures + summary.events;
    }
    lines
}

fn tmp() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vexil-events-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

/// About 13 lines per unit, every unit enrolled.
fn all_enrolled(units: u64, seed: u64) -> Vec<Part> {
    vec![Part {
        experiment: "checkout",
        units,
        seed,
        bystanders: false,
    }]
}

/// About 12 lines per user: `layout` with the events of every user, then
/// the exposures and events of `shipping`'s users.
fn realistic(users: u64) -> Vec<Part> {
    vec![
        Part {
            experiment: "layout",
            units: users,
            seed: 3,
            bystanders: true,
        },
        Part {
            experiment: "shipping",
            units: users,
            seed: 4,
            bystanders: false,
        },
    ]
}

/// Devices of `elsewhere` with their events: outsiders to `layout`.
fn outsiders(devices: u64) -> Vec<Part> {
    vec![Part {
        experiment: "elsewhere",
        units: devices,
        seed: 5,
        bystanders: true,
    }]
}

fn ingest_bench(c: &mut Criterion, name: &str, parts: &[Part]) {
    let dir = tmp();
    let file = dir.join(format!("ingest-{name}.jsonl"));
    let lines = simulate_into(&file, parts);
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(lines));
    group.bench_function(name, |b| {
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

fn ingest(c: &mut Criterion) {
    ingest_bench(c, "all-enrolled", &all_enrolled(scaled(77_000), 1));
    ingest_bench(c, "realistic", &realistic(scaled(82_000)));
}

/// Ingests `file` into `store`, printing the rate.
fn timed_ingest(store: &mut Store, file: &Path) {
    let started = Instant::now();
    let report = store.ingest_file(file).expect("ingests");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.rejected, 0, "{:?}", report.errors);
    eprintln!(
        "ingested {} lines into `{}` in {seconds:.1} s: {:.0} lines/s",
        report.lines,
        store.path().display(),
        report.lines as f64 / seconds
    );
}

/// The store `name`, built by `build` unless a complete one is kept.
fn kept_store(name: &str, build: impl FnOnce(&Path)) -> Store {
    let dir = tmp();
    let tag = format!("v{SCHEMA_VERSION}-x{}", scale());
    let path = dir.join(format!("{name}-{tag}.db"));
    let done = dir.join(format!("{name}-{tag}.done"));
    if done.exists() {
        if let Ok(store) = Store::open_existing(&path) {
            return store;
        }
    }
    let _ = std::fs::remove_file(&done);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    build(&path);
    std::fs::File::create(&done).expect("marks the store complete");
    Store::open_existing(&path).expect("the built store")
}

fn simulate_file(name: &str, parts: &[Part]) -> PathBuf {
    let file = tmp().join(format!("{name}.jsonl"));
    let started = Instant::now();
    let lines = simulate_into(&file, parts);
    eprintln!(
        "simulated {lines} lines for `{name}` in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    file
}

fn all_enrolled_store() -> Store {
    kept_store("all-enrolled", |path| {
        let file = simulate_file("all-enrolled", &all_enrolled(scaled(770_000), 2));
        timed_ingest(&mut Store::open(path).expect("store"), &file);
        let _ = std::fs::remove_file(&file);
    })
}

fn realistic_store() -> Store {
    kept_store("realistic", |path| {
        let file = simulate_file("realistic", &realistic(scaled(816_000)));
        timed_ingest(&mut Store::open(path).expect("store"), &file);
        let _ = std::fs::remove_file(&file);
    })
}

/// Renames the devices of `file` to users no experiment of the users
/// enrols (`17` becomes `u-17-o`), so that their events sit between the
/// enrolled users' in the store's key order, as real outsiders' do.
fn as_outsider_users(file: &Path) {
    let text = std::fs::read_to_string(file).expect("reads the outsiders");
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    const UNIT: &str = "\"unit\":\"";
    for line in text.lines() {
        let start = line.find(UNIT).expect("every line has a unit") + UNIT.len();
        let end = start + line[start..].find('"').expect("a closed unit");
        out.push_str(&line[..start]);
        out.push_str("u-");
        out.push_str(&line[start..end]);
        out.push_str("-o");
        out.push_str(&line[end..]);
        out.push('\n');
    }
    std::fs::write(file, out).expect("writes the outsiders");
}

/// The realistic store, then as many again events from outsiders.
fn doubled_store() -> Store {
    let realistic = realistic_store();
    let source = realistic.path().to_path_buf();
    drop(realistic);
    kept_store("realistic-plus-outsiders", |path| {
        std::fs::copy(&source, path).expect("copies the realistic store");
        let file = simulate_file("outsiders", &outsiders(scaled(740_000)));
        as_outsider_users(&file);
        timed_ingest(&mut Store::open(path).expect("store"), &file);
        let _ = std::fs::remove_file(&file);
    })
}

fn analyze_bench(c: &mut Criterion, name: &str, experiment: &str, store: fn() -> Store) {
    let bundle = bundle();
    let experiment = bundle
        .experiments
        .iter()
        .find(|e| e.name == experiment)
        .expect("the bench experiment")
        .clone();
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    let mut kept: Option<Store> = None;
    group.bench_function(name, |b| {
        let store = kept.get_or_insert_with(|| {
            let store = store();
            let (exposures, events) = store.counts().expect("counts");
            let _ = writeln!(
                std::io::stderr(),
                "`{name}`: {exposures} exposures and {events} metric events"
            );
            store
        });
        b.iter(|| {
            let report = analyze_experiment(store, &experiment, &AnalysisOptions::default())
                .expect("analyses");
            assert!(report.usable(), "{:?}", report.problems);
        });
    });
    group.finish();
}

fn analyze(c: &mut Criterion) {
    analyze_bench(c, "all-enrolled", "checkout", all_enrolled_store);
    analyze_bench(c, "realistic", "layout", realistic_store);
    analyze_bench(c, "realistic-double-outsiders", "layout", doubled_store);
}

criterion_group!(benches, ingest, analyze);
criterion_main!(benches);
