//! Differential test: random well-typed bundles and contexts, evaluated by
//! the interpreter and by compiled code, must give identical `Outcome`s
//! (value, reason, rule, error code, detail) for every flag and experiment.
//! Every generated bundle must pass validation (a refused one is a
//! generator bug); what validation refuses is the mutation test's subject
//! (`tests/mutations`).
//!
//! CI runs 10,000 cases (each a fresh bundle, compiled, and 12 contexts at
//! 3 times), in two tests of 5,000 that run in parallel: compiling with
//! Cranelift's verifier in a debug build is most of the time. More:
//!
//! ```sh
//! PROPTEST_CASES=1000000 cargo test --release -p vexil-runtime --test differential
//! ```

#![cfg(feature = "jit")]
// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

mod gen;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use vexil_runtime::ir::validate;
use vexil_runtime::{BackendChoice, Snapshot, Target};

use gen::{CaseGen, NOWS};

const CONTEXTS: usize = 12;
const TIMES_PER_CONTEXT: usize = 3;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Compare both backends on one generated case; `Err` describes a mismatch.
fn check(seed: u64, size: usize) -> Result<(), String> {
    let mut g = CaseGen::new(seed, size);
    let bundle = validate(g.bundle()).map_err(|e| format!("generated an invalid bundle: {e}"))?;
    // Each backend behind a snapshot of its own; `outcome` is the
    // backend's answer as it computed it.
    let interp = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1)
        .map_err(|e| format!("the interpreter fails: {e}"))?;
    let jit = Snapshot::new(bundle.clone(), BackendChoice::Jit, None, 1)
        .map_err(|e| format!("the JIT fails: {e:?}"))?;
    let layout = interp.layout();
    for c in 0..CONTEXTS {
        let ctx = g.context(layout);
        for _ in 0..TIMES_PER_CONTEXT {
            let now = g.rng.pick(NOWS);
            for i in 0..bundle.flags.len() as u32 {
                let t = Target::Flag(i);
                let (want, got) = (interp.outcome(t, &ctx, now), jit.outcome(t, &ctx, now));
                if want != got {
                    return Err(format!(
                        "flag {i}, context {c} {ctx:?}, now {now}:\n  interpreter {want:?}\n  jit         {got:?}\nbundle: {}",
                        bundle.to_json()
                    ));
                }
            }
            for i in 0..bundle.experiments.len() as u32 {
                let t = Target::Experiment(i);
                let (want, got) = (interp.outcome(t, &ctx, now), jit.outcome(t, &ctx, now));
                if want != got {
                    return Err(format!(
                        "experiment {i}, context {c} {ctx:?}, now {now}:\n  interpreter {want:?}\n  jit         {got:?}\nbundle: {}",
                        bundle.to_json()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Half of the cases; the two halves run as two tests, in parallel.
fn run_half() {
    let config = Config {
        cases: cases().div_ceil(2),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(any::<u64>(), 0usize..8), |(seed, size)| {
        check(seed, size).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn compiled_code_equals_the_interpreter() {
    run_half();
}

#[test]
fn compiled_code_equals_the_interpreter_again() {
    run_half();
}

/// Seeds that once disagreed, kept as plain tests.
#[test]
fn known_seeds_agree() {
    for (seed, size) in [(0u64, 0usize), (1, 7), (42, 5)] {
        if let Err(e) = check(seed, size) {
            panic!("seed {seed} size {size}: {e}");
        }
    }
}

/// `Bundle::flags_reading_clock` on random bundles: a flag it leaves out
/// (the engine then does not read the clock for it) gives the same outcome
/// at every time. Interpreter only, so cheap: 2,000 bundles.
#[test]
fn flags_off_the_clock_do_not_depend_on_it() {
    let config = Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let marked = std::cell::Cell::new((0usize, 0usize));
    let result = runner.run(&(any::<u64>(), 0usize..8), |(seed, size)| {
        let mut g = CaseGen::new(seed, size);
        let bundle = validate(g.bundle())
            .map_err(|e| TestCaseError::fail(format!("generated an invalid bundle: {e}")))?;
        let reads = bundle.flags_reading_clock();
        let interp = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1)
            .map_err(|e| TestCaseError::fail(format!("the interpreter fails: {e}")))?;
        let on = reads.iter().filter(|r| **r).count();
        let (a, b) = marked.get();
        marked.set((a + on, b + reads.len() - on));
        for _ in 0..4 {
            let ctx = g.context(interp.layout());
            for (i, _) in reads.iter().enumerate().filter(|(_, r)| !**r) {
                let t = Target::Flag(i as u32);
                let first = interp.outcome(t, &ctx, 0);
                for now in NOWS {
                    let got = interp.outcome(t, &ctx, *now);
                    prop_assert_eq!(got, first, "flag {} at {}: {}", i, now, bundle.to_json());
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator makes both kinds, so the property is not vacuous.
    let (on, off) = marked.get();
    eprintln!("{on} flags read the clock, {off} do not");
    assert!(
        on > 100 && off > 100,
        "{on} flags read the clock, {off} do not"
    );
}

/// The generator makes staged rollouts, and at the times the comparison
/// uses they serve some units and turn others away, so the comparison
/// above covers them (interpreter only: this counts, it compares nothing).
#[test]
fn the_generator_makes_staged_rollouts_that_serve_and_turn_away() {
    use vexil_runtime::ir::RuleResult;
    let (mut staged, mut served, mut passed) = (0usize, 0usize, 0usize);
    for seed in 0..300u64 {
        let mut g = CaseGen::new(seed, 4);
        let bundle = validate(g.bundle()).unwrap();
        let interp = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1).unwrap();
        let contexts: Vec<_> = (0..6).map(|_| g.context(interp.layout())).collect();
        for (i, f) in bundle.flags.iter().enumerate() {
            for (r, rule) in f.rules.iter().enumerate() {
                if !matches!(rule.result, RuleResult::Staged { .. }) {
                    continue;
                }
                staged += 1;
                for ctx in &contexts {
                    for now in NOWS {
                        let o = interp.outcome(Target::Flag(i as u32), ctx, *now);
                        match o.rule {
                            Some(m) if m == r as u32 => served += 1,
                            Some(m) if m > r as u32 => passed += 1,
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    eprintln!("{staged} staged rules: {served} served by one, {passed} passed on");
    assert!(
        staged > 50 && served > 50 && passed > 10,
        "{staged} staged rules: {served} served by one, {passed} passed on"
    );
}
