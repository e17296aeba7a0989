//! Mutation test: validation decides every refusal. Random corruptions of
//! valid bundles (`mutate.rs`) are either refused by `vexil_ir::validate`
//! or, if accepted, load on both backends (which refuse nothing) and
//! evaluate without panicking, with equal outcomes and details for every
//! flag and experiment.
//!
//! Tests build with debug assertions, and both backends `debug_assert!`
//! on every shape validation excludes: a rule missing from validation
//! shows here as a panic (or as a difference between the backends). The
//! test also checks it is not vacuous: a good share of the corruptions is
//! refused, and a good share accepted.
//!
//! ```sh
//! MUTATION_CASES=100000 cargo test --release -p vexil-runtime --test mutations
//! ```

#![cfg(feature = "jit")]
// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "../differential/gen.rs"]
#[allow(dead_code)]
mod gen;
mod mutate;

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use vexil_runtime::ir::{validate, Bundle, FieldType};
use vexil_runtime::{BackendChoice, Snapshot};

use gen::{CaseGen, FieldInfo, Rng, NOWS};
use mutate::Kind;

const CONTEXTS: usize = 6;

fn cases() -> u32 {
    std::env::var("MUTATION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

/// What became of one case's corruptions.
enum Verdict {
    Refused(Vec<Kind>),
    Accepted(Vec<Kind>),
}

/// The fields of a schema, as the context generator takes them: contexts
/// for a corrupted bundle are built from its own schema, so that every
/// value is set with its field's type.
fn fields_of(b: &Bundle) -> Vec<FieldInfo> {
    b.schema
        .contexts
        .iter()
        .flat_map(|c| {
            c.fields.iter().map(|f| FieldInfo {
                slot: f.slot,
                ty: f.ty.clone(),
                context: c.name.clone(),
                name: f.name.clone(),
            })
        })
        // A list of lists takes no values (the checker never makes one).
        .filter(|f| !matches!(&f.ty, FieldType::List(item) if matches!(**item, FieldType::List(_))))
        .collect()
}

/// Corrupt one generated bundle, validate it, and run what is accepted on
/// both backends; `Err` describes a failure.
fn check(seed: u64, size: usize) -> Result<Verdict, String> {
    let mut g = CaseGen::new(seed, size);
    let mut bundle = g.bundle();
    if let Err(e) = validate(bundle.clone()) {
        return Err(format!("generated an invalid bundle: {e}"));
    }
    let mut rng = Rng::new(seed.rotate_left(29) ^ 0x6a09_e667_f3bc_c908);
    let kinds: Vec<Kind> = (0..1 + rng.below(3))
        .filter_map(|_| mutate::mutate(&mut bundle, &mut rng))
        .collect();
    let valid = match validate(bundle) {
        Ok(valid) => valid,
        Err(_) => return Ok(Verdict::Refused(kinds)),
    };
    let interp = Snapshot::new(valid.clone(), BackendChoice::Interpreter, None, 1)
        .map_err(|e| format!("the interpreter refuses a valid bundle: {e}"))?;
    let jit = Snapshot::new(valid.clone(), BackendChoice::Jit, None, 1)
        .map_err(|e| format!("the JIT refuses a valid bundle: {e}"))?;
    g.fields = fields_of(&valid);
    for c in 0..CONTEXTS {
        let ctx = g.context(interp.layout());
        let now = g.rng.pick(NOWS);
        for (name, target) in interp.targets() {
            let (want, got) = (
                interp.outcome(target, &ctx, now),
                jit.outcome(target, &ctx, now),
            );
            if want != got {
                return Err(format!(
                    "{name} after {kinds:?}, context {c} {ctx:?}, now {now}:\n  interpreter {want:?}\n  jit         {got:?}\nbundle: {}",
                    valid.to_json()
                ));
            }
        }
        let want: Vec<_> = interp
            .evaluate_all(&ctx, now)
            .iter()
            .map(|e| e.to_details())
            .collect();
        let got: Vec<_> = jit
            .evaluate_all(&ctx, now)
            .iter()
            .map(|e| e.to_details())
            .collect();
        if want != got {
            return Err(format!(
                "details after {kinds:?}, context {c}:\n  interpreter {want:?}\n  jit         {got:?}"
            ));
        }
    }
    Ok(Verdict::Accepted(kinds))
}

/// How many cases were refused and accepted, in all and per kind of
/// corruption they had.
#[derive(Default)]
struct Tally {
    refused: usize,
    accepted: usize,
    by_kind: BTreeMap<Kind, (usize, usize)>,
}

#[test]
fn corrupted_bundles_are_refused_or_run_alike_on_both_backends() {
    let config = Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let tally = RefCell::new(Tally::default());
    let result = runner.run(&(any::<u64>(), 0usize..8), |(seed, size)| {
        let verdict = check(seed, size).map_err(TestCaseError::fail)?;
        let mut tally = tally.borrow_mut();
        let (kinds, refused) = match &verdict {
            Verdict::Refused(kinds) => (kinds, true),
            Verdict::Accepted(kinds) => (kinds, false),
        };
        if refused {
            tally.refused += 1;
        } else {
            tally.accepted += 1;
        }
        for kind in kinds {
            let entry = tally.by_kind.entry(*kind).or_default();
            if refused {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let tally = tally.into_inner();
    let (refused, accepted) = (tally.refused, tally.accepted);
    eprintln!("{refused} corrupted bundles refused, {accepted} accepted and run alike");
    eprintln!("corruption: in cases refused / accepted");
    for (kind, (refused, accepted)) in &tally.by_kind {
        eprintln!("  {kind:?}: {refused} / {accepted}");
    }
    let runs = refused + accepted;
    assert!(
        refused * 4 >= runs && accepted * 10 >= runs,
        "not a test: {refused} refused, {accepted} accepted"
    );
    // Every kind was tried, and the kinds that break a rule most of the
    // time were refused often.
    for kind in mutate::KINDS {
        let (refused, accepted) = tally.by_kind.get(kind).copied().unwrap_or_default();
        assert!(
            refused + accepted > 0,
            "{kind:?} never applied in {runs} cases"
        );
    }
    for kind in [Kind::Version, Kind::Pattern, Kind::SlotIndex, Kind::Split] {
        let (refused, accepted) = tally.by_kind.get(&kind).copied().unwrap_or_default();
        assert!(
            refused > accepted / 2,
            "{kind:?}: only {refused} refused, {accepted} accepted"
        );
    }
}

/// Seeds that once failed, kept as plain tests.
#[test]
fn known_seeds_are_refused_or_run_alike() {
    for (seed, size) in [(12_940_714_698_673_172_246_u64, 0usize)] {
        if let Err(e) = check(seed, size) {
            panic!("seed {seed} size {size}: {e}");
        }
    }
}
