//! The guard of every change to how the store computes an analysis: a fixed
//! simulated store (the realistic mix of `fixtures/mix.flag`: most units
//! and events in no experiment analysed, two experiments sharing the users,
//! a third on devices, plus hand-written edge cases) is analysed with
//! several options, and every number must equal the recorded one to a
//! relative 1e-9 (summation order may change, nothing else).
//!
//! The recorded results are `fixtures/same_results.json`, written by the
//! query this guard was introduced with. Record them again only for a
//! change that is meant to change results, and say so in its commit:
//! `VEXIL_BLESS=1 cargo test -p vexil-events --test same_results`.
//!
//! The PostgreSQL store must give the same recorded results from the same
//! input (to the same 1e-9): `vexil analyze` says the same on both.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vexil_analytics::Correction;
use vexil_events::simulate::{simulate, Effect, SimulationOptions};
use vexil_events::{analyze_experiment, AnalysisOptions, MetricSpec, DAY};

const RELATIVE: f64 = 1e-9;

fn bundle() -> vexil_ir::ValidBundle {
    let mut project = vexil_compiler::Project::new();
    project.set_source("mix.flag", include_str!("fixtures/mix.flag").to_string());
    project.bundle(false).expect("mix.flag compiles")
}

fn simulated(experiment: &str, units: u64, seed: u64, bystanders: bool) -> Vec<u8> {
    let options = SimulationOptions {
        units,
        days: 14,
        effects: vec![Effect {
            metric: "conversion".into(),
            variant: None,
            lift: 0.1,
        }],
        baselines: vec![("conversion".into(), 0.2)],
        seed,
        bystanders,
        start: None,
    };
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    simulate(bundle(), experiment, &options, Buffer(out.clone())).expect("simulates");
    let bytes = out.lock().expect("not poisoned").clone();
    bytes
}

/// A `Write` into shared memory (`simulate` takes its writer by value).
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Cases a simulation does not make: a unit in two variants, two first
/// exposures in the same microsecond (the id breaks the tie), a variant
/// the experiment does not declare, events exactly at the first exposure
/// and at the window's end, pre-exposure events, a producer id sent twice.
fn edge_lines() -> String {
    let t0 = 1_796_083_200_000_000_i64; // 2026-12-01T00:00:00Z
    let h = 3_600_000_000_i64;
    let lines = [
        json!({"type":"exposure","experiment":"layout","variant":"one-page","unit":"edge-mixed","time":t0 + h}),
        json!({"type":"exposure","experiment":"layout","variant":"multi-page","unit":"edge-mixed","time":t0 + 2 * h}),
        json!({"type":"track","event":"purchase","unit":"edge-mixed","time":t0 + 3 * h}),
        json!({"type":"exposure","experiment":"layout","variant":"one-page","unit":"edge-tie","time":t0 + h}),
        json!({"type":"exposure","id":"tie-2","experiment":"layout","variant":"one-page","unit":"edge-tie","time":t0 + h}),
        json!({"type":"track","event":"purchase","unit":"edge-tie","time":t0 + h}),
        json!({"type":"track","event":"purchase","unit":"edge-tie","time":t0 + h - 1}),
        json!({"type":"track","event":"payment_failed","unit":"edge-tie","time":t0 + h + DAY}),
        json!({"type":"track","event":"payment_failed","unit":"edge-tie","time":t0 + h + DAY - 1}),
        json!({"type":"exposure","experiment":"layout","variant":"three-page","unit":"edge-unknown","time":t0}),
        json!({"type":"track","event":"order_total","unit":"edge-unknown","value":12.5,"time":t0 + h}),
        json!({"type":"exposure","experiment":"shipping","variant":"date","unit":"edge-late","time":t0 + 5 * DAY}),
        json!({"type":"exposure","experiment":"shipping","variant":"date","unit":"edge-late","time":t0 + 2 * DAY}),
        json!({"type":"track","event":"order_total","unit":"edge-late","value":40.0,"time":t0 + 3 * DAY}),
        json!({"type":"track","event":"order_total","unit":"edge-late","value":7.25,"time":t0 + DAY}),
        json!({"type":"track","id":"o-1","event":"delivery_late","unit":"edge-late","time":t0 + 4 * DAY}),
        json!({"type":"track","id":"o-1","event":"delivery_late","unit":"edge-late","time":t0 + 6 * DAY}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// FNV-1a: a fingerprint of the simulated input, so that a change to the
/// simulator is reported as such rather than as changed results.
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn results(backend: support::Backend) -> Value {
    let mut input = simulated("layout", 3000, 11, true);
    input.extend(simulated("shipping", 3000, 12, false));
    input.extend(simulated("elsewhere", 1500, 13, true));
    input.extend(edge_lines().into_bytes());
    let mut store = support::fresh(backend);
    let ingested = store
        .ingest_reader(&input[..], Path::new("mix"))
        .expect("ingests");
    assert_eq!(ingested.rejected, 0, "{:?}", ingested.errors);

    let bundle = bundle();
    let option_sets = [
        ("default", AnalysisOptions::default()),
        (
            "no-cuped-no-correction",
            AnalysisOptions {
                cuped: false,
                correction: None,
                ..AnalysisOptions::default()
            },
        ),
        (
            "sequential-bh",
            AnalysisOptions {
                alpha: Some(0.01),
                correction: Some(Correction::Bh),
                sequential: Some(5000.0),
                ..AnalysisOptions::default()
            },
        ),
    ];
    let mut cases = Vec::new();
    for name in ["layout", "shipping"] {
        let experiment = bundle
            .experiments
            .iter()
            .find(|e| e.name == name)
            .expect("declared");
        for (label, options) in &option_sets {
            let specs: Vec<MetricSpec> = experiment
                .metrics
                .iter()
                .map(|m| MetricSpec::from_ir(m, options.cuped))
                .collect();
            let aggregates = store.aggregate(name, &specs).expect("aggregates");
            let report = analyze_experiment(&store, experiment, options).expect("analyses");
            cases.push(json!({
                "experiment": name,
                "options": label,
                "aggregates": aggregates,
                "report": report,
            }));
        }
    }
    json!({
        "input": {
            "bytes": input.len(),
            "fingerprint": fingerprint(&input),
            "report": ingested,
        },
        "cases": cases,
    })
}

/// Where `actual` differs from `expected` (numbers to a relative
/// `RELATIVE`, everything else exactly), as JSON paths.
fn differences(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => {
            let same = match (e.as_i64(), a.as_i64()) {
                (Some(e), Some(a)) => e == a,
                _ => {
                    let (e, a) = (e.as_f64().unwrap_or(f64::NAN), a.as_f64().unwrap_or(0.0));
                    (e - a).abs() <= RELATIVE * e.abs().max(a.abs())
                }
            };
            if !same {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                differences(e, a, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Object(e), Value::Object(a)) if e.len() == a.len() => {
            for (k, e) in e {
                match a.get(k) {
                    Some(a) => differences(e, a, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: expected {e}, got {a}")),
    }
}

fn recorded() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/same_results.json")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(recorded()).expect("the recorded results");
    serde_json::from_str(&text).expect("recorded results are JSON")
}

#[test]
fn postgres_gives_the_recorded_results_too() {
    let actual = results(support::Backend::Postgres);
    let expected = expected();
    assert_eq!(expected["input"], actual["input"]);
    assert_same_cases(&expected, &actual, "PostgreSQL: ");
}

/// Every case's numbers equal the recorded ones to `RELATIVE`.
fn assert_same_cases(expected: &Value, actual: &Value, store: &str) {
    let mut found = Vec::new();
    differences(&expected["cases"], &actual["cases"], "cases", &mut found);
    assert!(
        found.is_empty(),
        "{store}{} numbers differ from the recorded results, first ones:\n{}",
        found.len(),
        found
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_fixed_store_gives_the_recorded_results() {
    let actual = results(support::Backend::Sqlite);
    let path = recorded();
    if std::env::var_os("VEXIL_BLESS").is_some() {
        let text = serde_json::to_string(&actual).expect("serialises");
        std::fs::write(&path, text + "\n").expect("writes the fixture");
        return;
    }
    let expected = expected();
    assert_eq!(
        expected["input"], actual["input"],
        "the simulated input changed (the simulator, not the analysis): \
         check why before recording the results again"
    );
    assert_same_cases(&expected, &actual, "");
    // The guard guards something: the edge cases are in it, every metric
    // was analysed, and a result that moves by more than the tolerance is
    // caught.
    let layout = &actual["cases"][0]["report"];
    assert_eq!(layout["mixed_units"], 1);
    assert_eq!(layout["unknown_variants"][0][0], "three-page");
    for case in actual["cases"].as_array().expect("cases") {
        for m in case["report"]["metrics"].as_array().expect("metrics") {
            assert!(m.get("error").is_none(), "{m}");
        }
    }
    let mut moved = actual["cases"].clone();
    let value = &mut moved[0]["report"]["metrics"][0]["comparisons"][0]["value"];
    *value = json!(value.as_f64().expect("a value") * (1.0 + 1e-8));
    let mut caught = Vec::new();
    differences(&actual["cases"], &moved, "cases", &mut caught);
    assert_eq!(caught.len(), 1, "{caught:?}");
}
