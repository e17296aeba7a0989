//! One harness drives every evaluation backend over the same cases: the
//! `test` blocks of each flag repository below must pass on each backend,
//! and for every test's context (and at a few times around it) every flag
//! and experiment must give the interpreter's exact `Outcome`.

#![cfg(feature = "jit")]
// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use vexil_runtime::ir::{Bundle, ValidBundle};
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

fn bundle(relative: &str) -> ValidBundle {
    let project = vexil_compiler::Project::from_dir(&repo(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"));
    match project.bundle(true) {
        Ok(bundle) => bundle,
        Err(diagnostics) => panic!("{}", project.render(&diagnostics, false)),
    }
}

fn snapshot(bundle: &ValidBundle, choice: BackendChoice) -> Snapshot {
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

/// A bundle built by hand: one `user` context with a string key.
fn bare_bundle() -> Bundle {
    use vexil_runtime::ir::*;
    Bundle {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        schema: Schema {
            contexts: vec![ContextSchema {
                name: "user".into(),
                key: Some(0),
                fields: vec![
                    FieldSchema {
                        name: "id".into(),
                        ty: FieldType::String,
                        optional: false,
                        slot: 0,
                        doc: None,
                    },
                    FieldSchema {
                        name: "version".into(),
                        ty: FieldType::Semver,
                        optional: false,
                        slot: 1,
                        doc: None,
                    },
                ],
                doc: None,
            }],
            slot_count: 2,
        },
        segments: Vec::new(),
        flags: Vec::new(),
        experiments: Vec::new(),
        layers: Vec::new(),
        tests: Vec::new(),
    }
}

fn bool_flag(
    name: String,
    prerequisites: Vec<vexil_runtime::ir::Prerequisite>,
) -> vexil_runtime::ir::Flag {
    use vexil_runtime::ir::*;
    Flag {
        name,
        kind: FlagKind::Release,
        value_type: ValueType::Bool,
        enabled: true,
        enabled_when: None,
        values: vec![
            ServedValue {
                value: FlagValue::Bool(false),
                variant: None,
            },
            ServedValue {
                value: FlagValue::Bool(true),
                variant: None,
            },
        ],
        default: 1,
        prerequisites,
        rules: Vec::new(),
        meta: Metadata::default(),
    }
}

#[test]
fn prerequisites_chained_too_deeply_fail_alike() {
    use vexil_runtime::ir::*;
    let mut bundle = bare_bundle();
    for i in 0..80u32 {
        let prerequisites = if i == 0 {
            Vec::new()
        } else {
            vec![Prerequisite {
                flag: i - 1,
                negated: false,
                expect: PrerequisiteValue::Value(FlagValue::Bool(true)),
            }]
        };
        bundle.flags.push(bool_flag(format!("f{i}"), prerequisites));
    }
    let bundle = validate(bundle).unwrap();
    let snapshots: Vec<Snapshot> = BACKENDS.iter().map(|c| snapshot(&bundle, *c)).collect();
    let ctx = snapshots[0].layout().context();
    let mut general = 0;
    for (name, target) in snapshots[0].targets() {
        let want = snapshots[0].outcome(target, &ctx, DEFAULT_NOW);
        let got = snapshots[1].outcome(target, &ctx, DEFAULT_NOW);
        assert_eq!(got, want, "{name}");
        general += usize::from(want.error == Some(ErrorCode::General));
    }
    // Flags 65 and deeper chain past the limit.
    assert_eq!(general, 80 - 65);
}

/// What the backends once refused each on their own, validation refuses
/// now, for both: they take only a validated bundle.
#[test]
fn programs_the_backends_cannot_run_are_refused_by_validation() {
    use vexil_runtime::ir::*;
    let rule = |condition: Expr| Rule {
        name: None,
        condition,
        result: RuleResult::Serve(1),
        guardrails: None,
    };
    let huge = Semver::parse("4294967296.0.0").unwrap();
    let conditions = [
        // A regex that does not compile.
        Expr::StringOp {
            lhs: Operand::Field(0),
            op: StringOp::Matches,
            case_insensitive: false,
            rhs: Operand::Const(Const::String("(".into())),
        },
        // A version that does not pack.
        Expr::Compare {
            lhs: Operand::Field(1),
            op: CompareOp::Ge,
            rhs: Operand::Const(Const::Semver(huge)),
        },
        // Two constants.
        Expr::Compare {
            lhs: Operand::Const(Const::Int(1)),
            op: CompareOp::Eq,
            rhs: Operand::Const(Const::Int(1)),
        },
    ];
    for condition in conditions {
        let mut bundle = bare_bundle();
        let mut flag = bool_flag("f".into(), Vec::new());
        // Disabled: the rule never runs, and is still refused.
        flag.enabled = false;
        flag.rules.push(rule(condition.clone()));
        bundle.flags.push(flag);
        match validate(bundle) {
            Err(BundleError::Invalid { .. }) => {}
            Err(e) => panic!("{condition:?}: {e}"),
            Ok(_) => panic!("validation accepts {condition:?}"),
        }
    }
}

#[test]
fn a_context_of_another_layout_is_refused_alike() {
    let workload = bundle("bench/workload");
    let other = vexil_runtime::ir::validate(bare_bundle()).unwrap();
    let foreign = Snapshot::new(other, BackendChoice::Interpreter, None, 1)
        .unwrap()
        .layout()
        .context();
    let outcomes: Vec<Vec<vexil_runtime::Outcome>> = BACKENDS
        .iter()
        .map(|c| {
            let s = snapshot(&workload, *c);
            s.targets()
                .map(|(_, t)| s.outcome(t, &foreign, DEFAULT_NOW))
                .collect()
        })
        .collect();
    assert_eq!(outcomes[0], outcomes[1]);
    assert!(outcomes[1]
        .iter()
        .all(|o| o.error == Some(vexil_runtime::ErrorCode::InvalidContext)));
}

#[test]
fn auto_uses_compiled_code_here() {
    let s = snapshot(&bundle("bench/workload"), BackendChoice::Auto);
    assert_eq!(s.backend_name(), "jit");
}

/// Rules that test the same leaves: the compiled code computes a leaf once
/// per flag and reuses it in later rules, across a rule without a fast
/// path (a regex), a percentage rollout that can fall through, and an
/// optional field that may be missing.
#[test]
fn leaves_shared_between_rules_give_the_interpreters_outcome() {
    let source = r#"
context user {
  key id: string
  country: string
  plan: enum { free, pro, enterprise }
  age: int
  beta: bool
  email: string
  team: string?
}

flag shared: string {
  kind release
  default "none"
  rule a: when user.country in ["DE", "FR", "PL"] and user.plan == pro => "a"
  rule b: when user.email matches "^qa[0-9]+@" and user.beta => "b"
  rule c: when user.beta and user.age >= 30 => "c" for 50% by user.id
  rule d: when user.team == "core" and user.country in ["DE", "FR", "PL"] => "d"
  rule e: when user.age >= 30 and not user.beta => "e"
  rule f: when user.country in ["DE", "FR", "PL"] or user.team == "core" => "f"
  rule g: when user.plan == pro and user.age >= 30 => "g"
}
"#;
    let mut project = vexil_compiler::Project::new();
    project.set_source("shared.flag", source.to_string());
    let bundle = project
        .bundle(true)
        .unwrap_or_else(|d| panic!("{}", project.render(&d, false)));
    let snapshots: Vec<Snapshot> = BACKENDS.iter().map(|c| snapshot(&bundle, *c)).collect();
    let layout = snapshots[0].layout();
    let field = |name: &str| layout.field("user", name).unwrap();
    let target = snapshots[0].target("shared").unwrap();
    let mut served = std::collections::BTreeSet::new();
    let mut n = 0;
    for country in ["DE", "US", "PL"] {
        for plan in ["free", "pro"] {
            for age in [20, 30, 45] {
                for beta in [false, true] {
                    for email in ["qa1@x.io", "a@x.io"] {
                        for team in [None, Some("core"), Some("web")] {
                            for id in ["u1", "u2", "u3", "u4"] {
                                let mut ctx = layout.context();
                                ctx.set_str(field("id"), id);
                                ctx.set_str(field("country"), country);
                                ctx.set_parsed(layout, field("plan"), plan);
                                ctx.set_int(field("age"), age);
                                ctx.set_bool(field("beta"), beta);
                                ctx.set_str(field("email"), email);
                                if let Some(team) = team {
                                    ctx.set_str(field("team"), team);
                                }
                                let want = snapshots[0].outcome(target, &ctx, DEFAULT_NOW);
                                let got = snapshots[1].outcome(target, &ctx, DEFAULT_NOW);
                                assert_eq!(got, want, "{ctx:?}");
                                served.insert(want.rule);
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // Every rule, and the default, is reached by some context.
    assert_eq!(served.len(), 8, "{served:?} of {n}");
}
