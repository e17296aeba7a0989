//! Staged rollouts: the share served follows the stages as the evaluation
//! time passes, a later stage only adds units, the interpreter and the JIT
//! agree at every moment, `test` blocks can expect a stage, and a pinned
//! percentage (an override) stops the stages.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use vexil_runtime::testing::{render_failures, run_tests};
use vexil_runtime::{BackendChoice, OverrideAction, OverrideInfo, OverrideSpec, Snapshot};

const FLAGS: &str = r#"
flag checkout: bool {
  kind release
  default false
  expires 2027-06-01
  rule staff: when user.email ends_with "@shop.example" => true
  rule ramp: from 2026-12-10T09:00:00Z until 2027-03-01 => 1% for 1h, 5% for 1d, 25% for 2d, 100% by user.id
}

flag layout: string {
  kind release
  variants { classic = "classic"  dense = "dense" }
  default classic
  rule ramp: from 2026-12-10 => dense for 10% for 12h, 50% by user salt "layout-2"
}

test "before the ramp nobody outside staff" {
  context { user { id: "u-1", email: "a@b.c" } }
  now 2026-12-10T08:59:59Z
  expect checkout == false
  expect checkout stage 0
  expect checkout stage 0%
}

test "the second stage starts an hour in" {
  context { user { id: "u-1" } }
  now 2026-12-10T10:00:00Z
  expect checkout stage 2
  expect checkout stage 5%
}

test "the last stage after three days and an hour" {
  context { user { id: "u-1", email: "a@b.c" } }
  now 2026-12-13T10:00:00Z
  expect checkout stage 4
  expect checkout stage 100%
  expect checkout == true
  expect checkout rule ramp
  expect checkout reason SPLIT
}

test "a rollout that serves a variant" {
  now 2026-12-10T11:59:59Z
  expect layout stage 10%
}
"#;

/// The stage boundaries of `checkout`'s ramp, each with its share.
const STAGES: [(&str, &str, f64); 5] = [
    ("before", "2026-12-10T08:59:59Z", 0.0),
    ("1%", "2026-12-10T09:00:00Z", 0.01),
    ("5%", "2026-12-10T10:00:00Z", 0.05),
    ("25%", "2026-12-11T10:00:00Z", 0.25),
    ("100%", "2026-12-13T10:00:00Z", 1.0),
];

fn backends() -> Vec<BackendChoice> {
    let mut b = vec![BackendChoice::Interpreter];
    if vexil_runtime::jit_status().is_ok() {
        b.push(BackendChoice::Jit);
    }
    b
}

fn user(i: usize) -> String {
    format!(r#"{{"user": {{"id": "user-{i}", "email": "u{i}@example.com"}}}}"#)
}

fn on(s: &Snapshot, i: usize, now: &str) -> bool {
    eval(s, "checkout", &user(i), now).value == Some(json!(true))
}

#[test]
fn the_share_follows_the_stages_and_a_stage_only_adds_units() {
    const UNITS: usize = 4000;
    for backend in backends() {
        let s = snapshot_with(FLAGS, backend);
        let mut before: Vec<bool> = vec![false; UNITS];
        for (name, now, share) in STAGES {
            let now_on: Vec<bool> = (0..UNITS).map(|i| on(&s, i, now)).collect();
            for i in 0..UNITS {
                assert!(
                    !before[i] || now_on[i],
                    "{backend:?}: user-{i} left the rollout at stage {name}"
                );
            }
            let served = now_on.iter().filter(|x| **x).count() as f64 / UNITS as f64;
            // Binomial spread at 4000 units: within 2.5 points of the share.
            assert!(
                (served - share).abs() <= 0.025,
                "{backend:?} at stage {name}: {served} served, expected about {share}"
            );
            before = now_on;
        }
        // `until` ends the rule: nobody but staff afterwards.
        assert!((0..200).all(|i| !on(&s, i, "2027-03-01T00:00:00Z")));
        // A unit inside the rollout is served by the rule, reason SPLIT.
        let d = eval(&s, "checkout", &user(1), "2026-12-13T10:00:00Z");
        assert_eq!(d.reason.as_str(), "SPLIT");
    }
}

/// `until T` gives a stage its end time: the same stage start times, so the
/// same bundle, as the durations that reach the same times.
#[test]
fn stages_given_by_their_end_times_lower_to_the_same_stages() {
    let by_duration = bundle_with(FLAGS, false);
    let until = FLAGS.replace(
        "1% for 1h, 5% for 1d, 25% for 2d, 100%",
        "1% until 2026-12-10T10:00:00Z, 5% for 1d, 25% until 2026-12-13T10:00:00Z, 100%",
    );
    assert_ne!(until, FLAGS);
    let by_end = bundle_with(&until, false);
    let stages = |b: &vexil_ir::ValidBundle| {
        let flag = b.flags.iter().find(|f| f.name == "checkout").unwrap();
        match &flag.rules[1].result {
            vexil_ir::RuleResult::Staged { stages, .. } => stages.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(stages(&by_duration), stages(&by_end));
    assert_eq!(stages(&by_end).len(), 4);
}

// Compares the two backends: only in builds that have the JIT (the
// interpreter-only configuration of scripts/test.sh has none to compare).
#[cfg(feature = "jit")]
#[test]
fn interpreter_and_jit_agree_at_every_moment() {
    if vexil_runtime::jit_status().is_err() {
        panic!("the JIT is not available on this machine; this test compares it");
    }
    let interp = snapshot_with(FLAGS, BackendChoice::Interpreter);
    let jit = snapshot_with(FLAGS, BackendChoice::Jit);
    let start = vexil_ir::value::parse_timestamp("2026-12-10T09:00:00Z").unwrap();
    // Around each boundary (a microsecond either side) and in between.
    let mut times = vec![i64::MIN, 0, i64::MAX];
    for offset_h in [0i64, 1, 25, 73] {
        let t = start + offset_h * 3_600_000_000;
        times.extend([t - 1, t, t + 1]);
    }
    for i in 0..300 {
        let ctx = interp.layout().context_from_json_str(&user(i)).unwrap();
        for &t in &times {
            for (name, target) in interp.targets() {
                assert_eq!(
                    interp.outcome(target, &ctx, t),
                    jit.outcome(target, &ctx, t),
                    "{name} for user-{i} at {t}"
                );
            }
        }
    }
}

#[test]
fn tests_expect_the_stage_and_fail_on_the_wrong_one() {
    let bundle = bundle_with(FLAGS, true);
    for backend in backends() {
        let s = snapshot_with(FLAGS, backend);
        let results = run_tests(&s, &bundle.tests, 0);
        assert!(
            results.iter().all(|r| r.passed()),
            "{}",
            render_failures(&results)
        );
    }
    let wrong = format!(
        "{FLAGS}\ntest \"wrong stage\" {{\n  now 2026-12-10T10:00:00Z\n  expect checkout stage 3\n  expect checkout stage 1%\n  expect layout stage 1\n}}\ntest \"not yet\" {{\n  now 2026-12-09T10:00:00Z\n  expect layout stage 1\n}}\n"
    );
    let bundle = bundle_with(&wrong, true);
    let s = snapshot_with(&wrong, BackendChoice::Interpreter);
    let results = run_tests(&s, &bundle.tests, 0);
    let failed = render_failures(&results);
    assert!(failed.contains("expect checkout: stage 3"), "{failed}");
    assert!(failed.contains("got stage 2 (5%)"), "{failed}");
    assert!(failed.contains("expect checkout: stage 1%"), "{failed}");
    assert!(
        failed.contains("expect layout: stage 1\n       got stage 0 (not started)"),
        "{failed}"
    );
    // `stage 1` of `layout` holds at 10:00 in the first test.
    assert_eq!(
        results.iter().filter(|r| !r.passed()).count(),
        2,
        "{failed}"
    );
}

#[test]
fn a_pinned_percentage_stops_the_stages() {
    for backend in backends() {
        let base = snapshot_with(FLAGS, backend);
        let pinned = base.with_overrides(&[OverrideSpec {
            target: "checkout".into(),
            action: OverrideAction::Rollout {
                rule: "ramp".into(),
                percent: 0.0,
            },
            info: OverrideInfo {
                actor: "monitor".into(),
                reason: "guardrail breach".into(),
                since: "2026-12-11T12:00:00Z".into(),
            },
        }]);
        assert!(pinned.overrides().unwrap().problems().is_empty());
        let late = "2026-12-13T10:00:00Z";
        assert!((0..300).any(|i| on(&base, i, late)));
        assert!((0..300).all(|i| !on(&pinned, i, late)), "{backend:?}");
        // Staff keep their rule.
        let staff = r#"{"user": {"id": "x", "email": "ana@shop.example"}}"#;
        assert_eq!(
            eval(&pinned, "checkout", staff, late).value,
            Some(json!(true))
        );
    }
}
