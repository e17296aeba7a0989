//! `Prepared`: a flag or experiment resolved once for a hot path serves
//! exactly the value `Snapshot::outcome` serves, on both backends, for
//! fixed flags, compiled flags, experiments, contexts of another layout
//! and targets that are not there; and it keeps its version's code alive
//! after the engine has moved on. Contexts cloned, or cleared and filled
//! again, evaluate as built (compiled code reads their text and list items
//! through addresses the context keeps). Runs in both builds.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use vexil_runtime::{
    BackendChoice, Engine, EngineOptions, ErrorCode, FlagValue, Reason, Snapshot, Target,
};

const FLAGS: &str = r#"
flag fixed: string {
  kind release
  default "always"
}

flag off: bool {
  kind operational
  enabled false
  default true
  rule r: when user.beta => false
}

flag tiered: string {
  kind release
  default "none"
  rule us: when user.country in ["US", "CA"] and user.plan == pro => "us-pro"
  rule qa: when user.email starts_with "qa+" => "qa"
  rule de: when user.country == "DE" => "de"
  rule half: => "half" for 50% by user.id
}

experiment colours: string {
  unit user.id
  traffic 100%
  audience user.age >= 18
  variants {
    red = "red" 50%
    blue = "blue" 50%
  }
  control red
}
"#;

fn backends() -> Vec<BackendChoice> {
    let mut b = vec![BackendChoice::Interpreter];
    if vexil_runtime::jit_status().is_ok() {
        b.push(BackendChoice::Jit);
    }
    b
}

/// Users covering every rule, a missing field and an invalid one.
fn contexts(s: &Snapshot) -> Vec<vexil_runtime::Context> {
    let layout = s.layout();
    let field = |name: &str| layout.field("user", name).unwrap();
    let mut out = Vec::new();
    let rows: &[(&str, &str, &str, &str, i64)] = &[
        ("u1", "a@x.io", "US", "pro", 30),
        ("u2", "qa+1@x.io", "US", "free", 17),
        ("u3", "b@x.io", "DE", "free", 40),
        ("u4", "c@x.io", "CA", "pro", 70),
        ("u5", "d@x.io", "USA", "pro", 22),
        ("u6", "qa", "D", "enterprise", 18),
        ("u7", "e@x.io", "", "pro", 5),
    ];
    for (i, (id, email, country, plan, age)) in rows.iter().enumerate() {
        let mut ctx = layout.context();
        ctx.set_str(field("id"), id);
        ctx.set_str(field("email"), email);
        ctx.set_str(field("country"), country);
        ctx.set_parsed(layout, field("plan"), plan);
        ctx.set_int(field("age"), *age);
        ctx.set_bool(field("beta"), i % 2 == 0);
        out.push(ctx);
    }
    let mut missing = layout.context();
    missing.set_str(field("id"), "u8");
    out.push(missing);
    let mut invalid = layout.context();
    invalid.set_str(field("id"), "u9");
    invalid.set_invalid(field("country"));
    out.push(invalid);
    out
}

#[test]
fn a_prepared_target_serves_the_outcome_value_on_both_backends() {
    for backend in backends() {
        let s = Arc::new(snapshot_with(FLAGS, backend));
        let ctxs = contexts(&s);
        let mut seen = std::collections::BTreeSet::new();
        for (name, target) in s.targets().map(|(n, t)| (n.to_string(), t)) {
            let p = s.prepare(target);
            assert_eq!(p.target(), target);
            for ctx in &ctxs {
                let now = vexil_runtime::now();
                let want = s.outcome(target, ctx, now);
                assert_eq!(
                    p.value_index(ctx, now),
                    want.value,
                    "{backend:?} {name} {ctx:?}"
                );
                assert_eq!(p.outcome(ctx, now), want);
                let e = s.evaluate_target(target, ctx, now);
                assert_eq!(p.value(ctx, now), e.value, "{backend:?} {name}");
                seen.insert((name.clone(), format!("{:?}", e.value)));
            }
        }
        // The users reach every value of `tiered`, not only its default.
        for v in ["us-pro", "qa", "de", "half", "none"] {
            let value = format!("{:?}", Some(&FlagValue::String(v.into())));
            assert!(
                seen.contains(&("tiered".to_string(), value)),
                "{backend:?}: no user got {v}: {seen:?}"
            );
        }
    }
}

#[test]
fn a_context_of_another_layout_is_served_the_default() {
    for backend in backends() {
        let s = Arc::new(snapshot_with(
            &FLAGS.replace("user.age >= 18", "user.country == \"FR\""),
            backend,
        ));
        // Same schema, so the same layout: change it to get another one.
        let mut project = vexil_compiler::Project::new();
        project.set_source("s.flag", "context thing {\n  key id: string\n}\n".into());
        project.set_source(
            "g.flag",
            "flag g: bool {\n  kind release\n  default false\n}\n".into(),
        );
        let foreign = Snapshot::new(project.bundle(false).unwrap(), backend, None, 1).unwrap();
        assert_ne!(foreign.layout().id(), s.layout().id());
        let ctx = foreign.layout().context();
        let tiered = s.target("tiered").unwrap();
        let colours = s.target("colours").unwrap();
        // The outcome names the error and serves the default (the
        // experiment's control), as the handle does.
        let out = s.outcome(tiered, &ctx, 0);
        assert_eq!(out.error, Some(ErrorCode::InvalidContext), "{backend:?}");
        assert_eq!(out.reason, Reason::Error);
        let tiered_default = s.bundle().flags[match tiered {
            Target::Flag(i) => i as usize,
            Target::Experiment(_) => unreachable!(),
        }]
        .default;
        assert_eq!(out.value, tiered_default);
        assert_eq!(s.prepare(tiered).value_index(&ctx, 0), tiered_default);
        let control = s.bundle().experiments[0].control;
        assert_eq!(s.outcome(colours, &ctx, 0).value, control);
        assert_eq!(s.prepare(colours).value_index(&ctx, 0), control);
        assert_eq!(
            s.prepare(s.target("fixed").unwrap()).value(&ctx, 0),
            Some(&FlagValue::String("always".into()))
        );
    }
}

#[test]
fn a_target_not_in_the_snapshot_is_not_found() {
    for backend in backends() {
        let s = Arc::new(snapshot_with(FLAGS, backend));
        let ctx = s.layout().context();
        for target in [Target::Flag(99), Target::Experiment(7)] {
            let p = s.prepare(target);
            assert_eq!(p.outcome(&ctx, 0).error, Some(ErrorCode::FlagNotFound));
            assert_eq!(p.value_index(&ctx, 0), 0);
            assert_eq!(p.value(&ctx, 0), None);
        }
    }
}

#[test]
fn a_handle_keeps_its_version_alive_after_reloads() {
    let bundle = bundle_with(FLAGS, false);
    for backend in backends() {
        let engine = Engine::from_bundle(
            bundle.clone(),
            EngineOptions {
                backend,
                ..EngineOptions::default()
            },
        )
        .unwrap();
        let first = engine.snapshot();
        let p = first.prepare(first.target("tiered").unwrap());
        let ctxs = contexts(&first);
        let before: Vec<u32> = ctxs.iter().map(|c| p.value_index(c, 0)).collect();
        drop(first);
        // Each install replaces the engine's snapshot; the first one now
        // lives only in the handle.
        for _ in 0..3 {
            engine.install(bundle.clone()).unwrap();
        }
        assert_eq!(engine.current().version(), 4);
        assert_eq!(p.snapshot().version(), 1);
        let after: Vec<u32> = ctxs.iter().map(|c| p.value_index(c, 0)).collect();
        assert_eq!(before, after, "{backend:?}");
    }
}

#[test]
fn a_handle_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<vexil_runtime::Prepared>();
}

const LIST_FLAGS: &str = r#"
flag by_lists: string {
  kind release
  default "none"
  rule admin: when "admin" in user.roles and user.email ends_with "@example.com" => "admin"
  rule seven: when 7 in user.lucky => "seven"
  rule pre: when user.app_version < 2.0.0 => "old"
  rule long: when user.company starts_with "Initech" => "initech"
}
"#;

/// A context owns its strings, list items and pre-releases, and compiled
/// code is handed their addresses: a clone must point at its own copies
/// (it is used here after the original is dropped), and a context cleared
/// and refilled at the new ones.
#[test]
fn a_cloned_or_refilled_context_evaluates_as_built() {
    // email, roles, lucky numbers, app version, company
    type Row = (
        &'static str,
        &'static [&'static str],
        &'static [i64],
        &'static str,
        &'static str,
    );
    let rows: &[Row] = &[
        ("a@example.com", &["user", "admin"], &[1], "2.1.0", "Acme"),
        ("b@example.com", &["user"], &[3, 7], "2.1.0", "Acme"),
        ("c@example.org", &["admin"], &[], "2.0.0-rc.1", "Acme"),
        (
            "d@example.org",
            &[],
            &[],
            "2.0.0",
            "Initech Global Holdings",
        ),
        ("e@example.org", &[], &[], "2.0.0", "Acme"),
    ];
    let want = ["admin", "seven", "old", "initech", "none"];
    for backend in backends() {
        let s = Arc::new(snapshot_with(LIST_FLAGS, backend));
        let layout = s.layout();
        let field = |name: &str| layout.field("user", name).unwrap();
        let fill = |ctx: &mut vexil_runtime::Context, row: &Row| {
            let (email, roles, lucky, version, company) = *row;
            ctx.set_str(field("id"), "u");
            ctx.set_str(field("email"), email);
            ctx.set_str_list(field("roles"), roles.iter().copied());
            let lucky: Vec<String> = lucky.iter().map(i64::to_string).collect();
            ctx.set_list_parsed(layout, field("lucky"), lucky.iter().map(String::as_str));
            ctx.set_semver(
                field("app_version"),
                &semver::Version::parse(version).unwrap(),
            );
            ctx.set_str(field("company"), company);
        };
        let target = s.target("by_lists").unwrap();
        let p = s.prepare(target);
        let served = |ctx: &vexil_runtime::Context| {
            let v = p.value(ctx, 0).cloned();
            assert_eq!(v, s.evaluate_target(target, ctx, 0).value.cloned());
            v
        };
        let mut reused = layout.context();
        for (row, want) in rows.iter().zip(want) {
            let mut original = layout.context();
            fill(&mut original, row);
            let copy = original.clone();
            drop(original);
            let want = Some(FlagValue::String(want.to_string()));
            assert_eq!(served(&copy), want, "{backend:?} clone of {row:?}");
            reused.clear();
            fill(&mut reused, row);
            assert_eq!(served(&reused), want, "{backend:?} refilled {row:?}");
        }
    }
}
