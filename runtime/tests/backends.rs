//! One harness drives every evaluation backend over the same cases: the
//! `test` blocks of each flag repository below must pass on each backend,
//! and for every test's context (and at a few times around it) every flag
//! and experiment must give the interpreter's exact `Outcome`.

#![cfg(feature = "jit")]
// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use vexil_runtime::ir::Bundle;
use vexil_runtime::testing::{run_tests, test_context};
use vexil_runtime::{BackendChoice, Snapshot, Target};

/// The backends under test, the interpreter (the reference) first.
const BACKENDS: [BackendChoice; 2] = [BackendChoice::Interpreter, BackendChoice::Jit];

/// 2026-12-05T10:00:00Z: when tests without `now` run, so that results do
/// not depend on the day the suite runs.
const DEFAULT_NOW: i64 = 1_796_464_800_000_000;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn bundle(relative: &str) -> Bundle {
    let project = vexil_compiler::Project::from_dir(&repo(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"));
    match project.bundle(true) {
        Ok(bundle) => bundle,
        Err(diagnostics) => panic!("{}", project.render(&diagnostics, false)),
    }
}

fn snapshot(bundle: &Bundle, choice: BackendChoice) -> Snapshot {
    Snapshot::new(bundle.clone(), choice, None, 1)
        .unwrap_or_else(|e| panic!("{choice:?} does not load: {e}"))
}

/// Every `test` block passes on every backend, and every target gives the
/// same outcome on every backend for every test context.
fn check_repository(relative: &str) {
    let bundle = bundle(relative);
    assert!(!bundle.tests.is_empty(), "{relative} has no tests");
    let snapshots: Vec<Snapshot> = BACKENDS.iter().map(|c| snapshot(&bundle, *c)).collect();
    assert_eq!(snapshots[0].backend_name(), "interpreter");
    assert_eq!(snapshots[1].backend_name(), "jit");

    for s in &snapshots {
        let results = run_tests(s, &bundle.tests, DEFAULT_NOW);
        let failed: Vec<String> = results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| format!("{}: {:?}", r.name, r.failures))
            .collect();
        assert!(
            failed.is_empty(),
            "{relative} on {}: {} of {} tests fail:\n{}",
            s.backend_name(),
            failed.len(),
            results.len(),
            failed.join("\n")
        );
    }

    let reference = &snapshots[0];
    let mut compared = 0usize;
    for test in &bundle.tests {
        let ctx = test_context(reference.layout(), test);
        let now = test.now.unwrap_or(DEFAULT_NOW);
        // Also a day, a month and a year away, to cross time windows.
        let day = 86_400_000_000;
        for t in [now, now - day, now + day, now + 30 * day, now - 365 * day] {
            for (name, target) in reference.targets() {
                let want = reference.outcome(target, &ctx, t);
                for other in &snapshots[1..] {
                    let got = other.outcome(target, &ctx, t);
                    assert_eq!(
                        got,
                        want,
                        "{relative}, test `{}`, {name} at {t}: {} differs",
                        test.name,
                        other.backend_name()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 0);
}

#[test]
fn shop_example_is_equal_on_every_backend() {
    check_repository("examples/shop");
}

#[test]
fn bench_workload_is_equal_on_every_backend() {
    check_repository("bench/workload");
}

#[test]
fn targets_resolve_the_same_on_every_backend() {
    let bundle = bundle("bench/workload");
    let s = snapshot(&bundle, BackendChoice::Jit);
    assert!(matches!(s.target("targeted"), Some(Target::Flag(_))));
    assert!(matches!(
        s.target("experiment-3way"),
        Some(Target::Experiment(_))
    ));
}
