//! Run-time overrides, on both backends: a kill switch serves the default
//! with reason DISABLED, a forced value or variant serves everyone, a
//! pinned rollout keeps its buckets (raising it only adds units), a stopped
//! experiment serves its control without exposures; details name the
//! override; one that names what this version lacks is reported, never
//! applied to something else; other flags are untouched.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use vexil_runtime::{
    BackendChoice, MemorySink, OverrideAction, OverrideInfo, OverrideSpec, Reason, Snapshot,
};

const FLAGS: &str = r#"
flag checkout: bool { kind release  default false  rule ramp: => 20% by user.id }
flag colour: string {
  kind operational
  variants { red = "red"  blue = "blue" }
  default red
  rule pro: when user.plan == pro => blue
}
flag limit: int { kind operational  default 10  rule pro: when user.plan == pro => 100 }
flag uses-checkout: bool { kind release  default false  requires checkout  rule all: when user.beta => true }
experiment colours: string {
  unit user.id
  traffic 100%
  variants { a = "a" 50%  b = "b" 50% }
  control a
}
"#;

fn spec(target: &str, action: OverrideAction) -> OverrideSpec {
    OverrideSpec {
        target: target.to_string(),
        action,
        info: OverrideInfo {
            actor: "alice".into(),
            reason: "incident 42".into(),
            since: "2026-12-07T03:00:00Z".into(),
        },
    }
}

fn backends() -> Vec<BackendChoice> {
    let mut b = vec![BackendChoice::Interpreter];
    if vexil_runtime::jit_status().is_ok() {
        b.push(BackendChoice::Jit);
    }
    b
}

fn user(id: &str, plan: &str) -> String {
    format!(r#"{{"user": {{"id": "{id}", "plan": "{plan}", "beta": true}}}}"#)
}

#[test]
fn off_serves_the_default_with_reason_disabled_and_names_the_override() {
    for backend in backends() {
        let base = snapshot_with(FLAGS, backend);
        let s = base.with_overrides(&[spec("colour", OverrideAction::Off)]);
        let d = eval(&s, "colour", &user("u1", "pro"), NOW);
        assert_eq!(d.value, Some(json!("red")), "{backend:?}");
        assert_eq!(d.variant.as_deref(), Some("red"));
        assert_eq!(d.reason, Reason::Disabled);
        assert_eq!(d.rule, None);
        let info = d.overridden.expect("the override is named");
        assert_eq!(info.actor, "alice");
        assert_eq!(info.reason, "incident 42");
        assert_eq!(
            serde_json::to_value(eval(&s, "colour", &user("u1", "pro"), NOW)).unwrap()["override"]
                ["since"],
            "2026-12-07T03:00:00Z"
        );
        // Other flags: as compiled, with no override in their details.
        let other = eval(&s, "limit", &user("u1", "pro"), NOW);
        assert_eq!(other.value, Some(json!(100)));
        assert_eq!(other.overridden, None);
        // The snapshot it came from is unchanged.
        let before = eval(&base, "colour", &user("u1", "pro"), NOW);
        assert_eq!(before.value, Some(json!("blue")));
        assert_eq!(before.overridden, None);
    }
}

#[test]
fn a_forced_value_or_variant_serves_everyone() {
    for backend in backends() {
        let s = snapshot_with(FLAGS, backend).with_overrides(&[
            spec("colour", OverrideAction::Variant("blue".into())),
            spec("limit", OverrideAction::Value(json!(5))),
            spec("checkout", OverrideAction::Value(json!(true))),
        ]);
        for id in ["u1", "u2", "u3"] {
            let c = eval(&s, "colour", &user(id, "free"), NOW);
            assert_eq!((c.value, c.reason), (Some(json!("blue")), Reason::Static));
            // 5 is not a value the flag has: the override's own.
            let l = eval(&s, "limit", &user(id, "pro"), NOW);
            assert_eq!((l.value, l.reason), (Some(json!(5)), Reason::Static));
            assert_eq!(
                eval(&s, "checkout", &user(id, "free"), NOW).value,
                Some(json!(true))
            );
        }
        // Typed getters and prepared handles see the override too.
        let ctx = s
            .layout()
            .context_from_json_str(&user("u1", "pro"))
            .unwrap();
        assert_eq!(s.int_value("limit", &ctx, 0, -1), 5);
        let s = Arc::new(s);
        let colour = s.prepare(s.target("colour").unwrap());
        assert_eq!(
            colour.value(&ctx, 0),
            Some(&vexil_runtime::FlagValue::String("blue".into()))
        );
    }
}

#[test]
fn a_pinned_rollout_keeps_its_buckets() {
    for backend in backends() {
        let base = snapshot_with(FLAGS, backend);
        let at = |percent: f64| {
            base.with_overrides(&[spec(
                "checkout",
                OverrideAction::Rollout {
                    rule: "ramp".into(),
                    percent,
                },
            )])
        };
        let (ten, twenty, fifty) = (at(10.0), at(20.0), at(50.0));
        let mut counts = [0; 4];
        for i in 0..2000 {
            let u = user(&format!("user-{i}"), "free");
            let on = |s: &Snapshot| eval(s, "checkout", &u, NOW).value == Some(json!(true));
            let (t, w, f, git) = (on(&ten), on(&twenty), on(&fifty), on(&base));
            // Raising the percentage only adds units.
            assert!(!t || w, "{i}: on at 10% but not at 20%");
            assert!(!w || f, "{i}: on at 20% but not at 50%");
            // Pinned at the percentage in git: exactly git's answer.
            assert_eq!(w, git, "{i}");
            for (n, on) in counts.iter_mut().zip([t, w, f, git]) {
                *n += usize::from(on);
            }
        }
        assert!(counts[0] < counts[1] && counts[1] < counts[2], "{counts:?}");
        let d = eval(&fifty, "checkout", &user("user-1", "free"), NOW);
        assert!(d.overridden.is_some());
    }
}

#[test]
fn a_stopped_experiment_serves_its_control_and_records_no_exposure() {
    for backend in backends() {
        let sink = Arc::new(MemorySink::default());
        let base =
            Snapshot::new(bundle_with(FLAGS, false), backend, Some(sink.clone()), 1).unwrap();
        let ctx = |id: &str| {
            base.layout()
                .context_from_json_str(&user(id, "free"))
                .unwrap()
        };
        for i in 0..20 {
            base.evaluate("colours", &ctx(&format!("u{i}")), 1);
        }
        assert_eq!(sink.take().len(), 20);
        let stopped = base.with_overrides(&[spec("colours", OverrideAction::StopEnrolment)]);
        for i in 0..20 {
            let e = stopped.evaluate("colours", &ctx(&format!("u{i}")), 1);
            assert_eq!(e.variant, Some("a"));
            assert_eq!(e.reason, Reason::Default);
            assert!(e.overridden.is_some());
        }
        assert!(
            sink.take().is_empty(),
            "no exposures once enrolment stopped"
        );
    }
}

#[test]
fn overrides_that_do_not_fit_this_version_are_reported_and_not_applied() {
    let s = snapshot(FLAGS);
    let cases = [
        (
            spec("gone", OverrideAction::Off),
            "no flag or experiment named `gone`",
        ),
        (
            spec("colour", OverrideAction::Variant("green".into())),
            "no variant `green` (its variants: `red`, `blue`)",
        ),
        (
            spec("limit", OverrideAction::Value(json!("ten"))),
            "`limit` serves int values; `\"ten\"` is not one",
        ),
        (
            spec(
                "checkout",
                OverrideAction::Rollout {
                    rule: "gone".into(),
                    percent: 5.0,
                },
            ),
            "no rule named `gone` (its named rules: `ramp`)",
        ),
        (
            spec(
                "colour",
                OverrideAction::Rollout {
                    rule: "pro".into(),
                    percent: 5.0,
                },
            ),
            "rule `pro` of `colour` is not a percentage rollout",
        ),
        (
            spec(
                "checkout",
                OverrideAction::Rollout {
                    rule: "ramp".into(),
                    percent: 120.0,
                },
            ),
            "between 0 and 100",
        ),
        (
            spec("checkout", OverrideAction::StopEnrolment),
            "only an experiment's enrolment can be stopped",
        ),
        (
            spec("colours", OverrideAction::Value(json!("a"))),
            "force one of its variants by name",
        ),
    ];
    for (spec, expected) in cases {
        let o = s.with_overrides(std::slice::from_ref(&spec));
        let problems = o.overrides().unwrap().problems();
        assert_eq!(problems.len(), 1, "{spec:?}");
        assert!(
            problems[0].message.contains(expected),
            "{}",
            problems[0].message
        );
        assert!(o.overrides().unwrap().is_empty());
        // Nothing else is changed in its place.
        for flag in ["colour", "limit", "checkout", "colours"] {
            let u = user("u1", "pro");
            assert_eq!(eval(&o, flag, &u, NOW), eval(&s, flag, &u, NOW));
        }
    }
}

/// A chain of prerequisites: `gate` ← `uses-gate` ← `uses-uses-gate`, and
/// `loner`, which requires nothing overridden.
const CHAIN: &str = r#"
flag gate: bool { kind release  default false  rule ramp: => 20% by user.id }
flag uses-gate: bool { kind release  default false  requires gate  rule all: when user.beta => true }
flag uses-uses-gate: string {
  kind release
  variants { old = "old"  new = "new" }
  default old
  requires uses-gate
  rule all: => new
}
flag needs-gate-off: bool { kind operational  default false  requires gate != true  rule all: => true }
flag loner: int { kind operational  default 10  rule pro: when user.plan == pro => 100 }
"#;

#[test]
fn prerequisites_see_an_overridden_flag_through_a_chain() {
    for backend in backends() {
        let base = snapshot_with(CHAIN, backend);
        let off = base.with_overrides(&[spec("gate", OverrideAction::Off)]);
        let on = base.with_overrides(&[spec("gate", OverrideAction::Value(json!(true)))]);
        let full = base.with_overrides(&[spec(
            "gate",
            OverrideAction::Rollout {
                rule: "ramp".into(),
                percent: 100.0,
            },
        )]);
        let mut in_git = 0;
        for i in 0..300 {
            let u = user(&format!("user-{i}"), "free");
            let git = eval(&base, "uses-gate", &u, NOW).value == Some(json!(true));
            in_git += usize::from(git);
            // The gate switched off: its dependents fall through to their
            // defaults as if git had it off, naming the failed prerequisite,
            // and no override in their own details.
            let d = eval(&off, "uses-gate", &u, NOW);
            assert_eq!(
                (d.value, d.reason),
                (Some(json!(false)), Reason::Default),
                "{backend:?} {i}"
            );
            assert_eq!(d.prerequisite_failed.as_deref(), Some("gate"));
            assert_eq!(d.overridden, None);
            let d = eval(&off, "uses-uses-gate", &u, NOW);
            assert_eq!(d.value, Some(json!("old")), "{backend:?} {i}");
            assert_eq!(d.prerequisite_failed.as_deref(), Some("uses-gate"));
            let d = eval(&off, "needs-gate-off", &u, NOW);
            assert_eq!(d.value, Some(json!(true)), "{backend:?} {i}");
            // Forced on, or its rollout pinned at 100%: everyone passes.
            for s in [&on, &full] {
                assert_eq!(eval(s, "uses-gate", &u, NOW).value, Some(json!(true)));
                let d = eval(s, "uses-uses-gate", &u, NOW);
                assert_eq!(
                    (d.value, d.reason),
                    (Some(json!("new")), Reason::TargetingMatch)
                );
                assert_eq!(eval(s, "needs-gate-off", &u, NOW).value, Some(json!(false)));
            }
            // A flag that requires nothing overridden: as compiled.
            assert_eq!(
                eval(&off, "loner", &user("x", "pro"), NOW).value,
                Some(json!(100))
            );
        }
        // The chain was not trivially on or off in git.
        assert!(in_git > 0 && in_git < 300, "{in_git}");
        // Only the overridden flag counts as overridden (drift).
        let gate = off.target("gate").unwrap();
        let dependent = off.target("uses-gate").unwrap();
        assert!(off.is_overridden(gate));
        assert!(!off.is_overridden(dependent));
        assert_eq!(off.overrides().unwrap().len(), 1);
    }
}

#[test]
fn a_dependent_with_its_own_override_keeps_it_and_prepared_handles_see_the_prerequisite() {
    for backend in backends() {
        let base = snapshot_with(CHAIN, backend);
        let s = Arc::new(base.with_overrides(&[
            spec("gate", OverrideAction::Value(json!(true))),
            spec("uses-gate", OverrideAction::Off),
        ]));
        let u = user("user-7", "free");
        // `uses-gate` is off by its own override; `uses-uses-gate` sees
        // that, not the gate forced on.
        let d = eval(&s, "uses-gate", &u, NOW);
        assert_eq!((d.value, d.reason), (Some(json!(false)), Reason::Disabled));
        assert!(d.overridden.is_some());
        assert_eq!(
            eval(&s, "uses-uses-gate", &u, NOW).value,
            Some(json!("old"))
        );
        // A prepared handle on a dependent goes through the same path.
        let ctx = s.layout().context_from_json_str(&u).unwrap();
        let only_gate = Arc::new(base.with_overrides(&[spec("gate", OverrideAction::Off)]));
        for i in 0..100 {
            let u = user(&format!("user-{i}"), "free");
            let ctx = only_gate.layout().context_from_json_str(&u).unwrap();
            let h = only_gate.prepare(only_gate.target("uses-gate").unwrap());
            assert_eq!(
                h.value(&ctx, 0),
                Some(&vexil_runtime::FlagValue::Bool(false))
            );
        }
        let h = s.prepare(s.target("uses-uses-gate").unwrap());
        assert_eq!(
            h.value(&ctx, 0),
            Some(&vexil_runtime::FlagValue::String("old".into()))
        );
    }
}

#[test]
fn an_engine_lays_its_overrides_over_every_version_it_loads() {
    use vexil_runtime::{Engine, EngineOptions};
    let engine = Engine::from_bundle(bundle_with(FLAGS, false), EngineOptions::default()).unwrap();
    let colour = |e: &Engine| eval(&e.snapshot(), "colour", &user("u1", "pro"), NOW);
    assert_eq!(colour(&engine).reason, Reason::TargetingMatch);

    engine.set_overrides(vec![spec("colour", OverrideAction::Off)]);
    assert_eq!(colour(&engine).reason, Reason::Disabled);
    assert_eq!(engine.overrides().len(), 1);

    // A new version keeps the overrides in force.
    let changed = FLAGS.replace("=> 100 }", "=> 200 }");
    engine.install(bundle_with(&changed, false)).unwrap();
    assert_eq!(colour(&engine).reason, Reason::Disabled);
    let limit = eval(&engine.snapshot(), "limit", &user("u1", "pro"), NOW);
    assert_eq!(limit.value, Some(json!(200)));

    // Installed together, a version and its overrides replace both.
    let forced = spec("limit", OverrideAction::Value(json!(7)));
    engine
        .install_with_overrides(bundle_with(FLAGS, false), vec![forced])
        .unwrap();
    assert_eq!(colour(&engine).reason, Reason::TargetingMatch);
    let limit = eval(&engine.snapshot(), "limit", &user("u1", "pro"), NOW);
    assert_eq!(limit.value, Some(json!(7)));

    // No overrides: the version as loaded.
    engine.set_overrides(Vec::new());
    let limit = eval(&engine.snapshot(), "limit", &user("u1", "pro"), NOW);
    assert_eq!(limit.value, Some(json!(100)));
    assert!(engine.snapshot().overrides().is_none());
}
