//! Tiered loading (`BackendChoice::Auto`): the load answers at once with
//! the interpreter while workers compile the flags, each swapped in when
//! ready. Outcomes must be the interpreter's exactly before, during and
//! after the compilation; a reload during it is safe; dropping the engine
//! stops its workers.
//!
//! The tests share one process-wide count of running workers, so they run
//! one at a time (`SERIAL`).

#![cfg(feature = "jit")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use vexil_runtime::ir::ValidBundle;
use vexil_runtime::{
    compile_workers_running, BackendChoice, Context, Engine, EngineOptions, Outcome, Snapshot,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `n` flags in several shapes (comparisons, string operators, lists,
/// segments, prerequisites, rollouts, splits), enough that compiling them
/// takes many parts.
fn many_flags(n: usize, salt: &str) -> String {
    let mut s = String::from(
        "segment adults {\n  user.age >= 18\n}\n\
         segment staff {\n  user.email iends_with \"@shop.example\" or \"staff\" in user.roles\n}\n\
         segment staff_adults {\n  staff and adults and user.country in [\"US\", \"CA\", \"DE\"]\n}\n",
    );
    for i in 0..n {
        let body = match i % 8 {
            0 => format!("  rule r: when user.age > {} => true\n", i % 90),
            1 => format!(
                "  rule r: when user.email ends_with \"{}.example\" or user.country == \"US\" => true\n",
                i % 7
            ),
            2 => "  rule r: when staff_adults => true\n  rule s: when adults and user.plan == pro => false\n".to_string(),
            3 => format!("  rule r: when user.app_version >= {}.{}.0 => true\n", i % 5, i % 3),
            4 => format!("  rule r: when {} in user.lucky or \"admin\" in user.roles => true\n", i % 10),
            5 => format!("  rule r: when user.beta => {}% by user.id salt \"{salt}{i}\"\n", i % 100),
            6 => format!("  requires f{}\n  rule r: when user.created_at < now => true\n", i - 1),
            _ => format!(
                "  rule r: when user.score > 0.{} and user.company is set => true\n  rule s: when not staff => true\n",
                i % 10
            ),
        };
        s.push_str(&format!(
            "flag f{i}: bool {{\n  kind release\n  default false\n{body}}}\n"
        ));
    }
    s
}

fn contexts(layout: &vexil_runtime::Layout) -> Vec<Context> {
    [
        r#"{}"#,
        r#"{"user": {"id": "u1", "email": "a@shop.example", "age": 40, "country": "US", "roles": ["staff"], "plan": "pro"}}"#,
        r#"{"user": {"id": "u2", "email": "b@3.example", "age": 12, "country": "DE", "app_version": "3.1.0", "lucky": [3, 7]}}"#,
        r#"{"user": {"id": "u3", "email": "c@x.org", "age": 70, "beta": true, "score": 0.9, "company": "acme", "created_at": "2020-01-01T00:00:00Z"}}"#,
        r#"{"user": {"id": "u4", "age": "forty", "roles": ["admin"], "app_version": "1.0.0-rc.1", "beta": true}}"#,
        r#"{"user": {"id": "u5", "email": "d@shop.example", "age": 18, "country": "CA", "plan": "enterprise", "score": 0.1}, "env": {"name": "production"}}"#,
    ]
    .iter()
    .map(|text| layout.context_from_json_str(text).unwrap())
    .collect()
}

/// Every target's outcome on every context, on `snapshot`.
fn outcomes(snapshot: &Snapshot, contexts: &[Context]) -> Vec<Outcome> {
    let mut all = Vec::new();
    for ctx in contexts {
        for (_, target) in snapshot.targets() {
            all.push(snapshot.outcome(target, ctx, 1_796_464_800_000_000));
        }
    }
    all
}

fn bundle(n: usize, salt: &str) -> ValidBundle {
    bundle_with(&many_flags(n, salt), false)
}

#[test]
fn outcomes_are_the_interpreters_before_during_and_after_compilation() {
    let _serial = serial();
    let bundle = bundle(400, "a");
    let reference = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1).unwrap();
    let ctxs = contexts(reference.layout());
    let expected = outcomes(&reference, &ctxs);

    let tiered = Snapshot::new(bundle.clone(), BackendChoice::Auto, None, 1).unwrap();
    assert_eq!(tiered.backend_name(), "jit");
    // Compared over and over while the workers swap code in.
    let mut rounds_while_compiling = 0;
    loop {
        let compiled_before = tiered.is_compiled();
        assert_eq!(outcomes(&tiered, &ctxs), expected);
        if compiled_before {
            break;
        }
        rounds_while_compiling += 1;
    }
    assert_eq!(tiered.wait_compiled(), Ok(()));
    assert!(tiered.is_compiled());
    assert_eq!(tiered.why_interpreted(), None);
    assert_eq!(outcomes(&tiered, &ctxs), expected);
    // And the same as the code compiled in one piece at load.
    let eager = Snapshot::new(bundle, BackendChoice::Jit, None, 1).unwrap();
    assert!(eager.is_compiled());
    assert_eq!(outcomes(&eager, &ctxs), expected);
    eprintln!("{rounds_while_compiling} rounds compared while compiling");
}

#[test]
fn prepared_targets_agree_during_and_after_compilation() {
    let _serial = serial();
    let bundle = bundle(200, "p");
    let reference = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1).unwrap();
    let ctxs = contexts(reference.layout());
    let tiered = Arc::new(Snapshot::new(bundle, BackendChoice::Auto, None, 1).unwrap());
    let early: Vec<_> = tiered.targets().map(|(_, t)| tiered.prepare(t)).collect();
    tiered.wait_compiled().unwrap();
    let late: Vec<_> = tiered.targets().map(|(_, t)| tiered.prepare(t)).collect();
    for ctx in &ctxs {
        for ((e, l), (_, t)) in early.iter().zip(&late).zip(reference.targets()) {
            let want = reference.outcome(t, ctx, 0).value;
            assert_eq!(e.value_index(ctx, 0), want);
            assert_eq!(l.value_index(ctx, 0), want);
        }
    }
}

#[test]
fn a_reload_during_compilation_is_safe_and_the_new_version_compiles() {
    let _serial = serial();
    let first = bundle(300, "x");
    let second = bundle(300, "y");
    let engine = Arc::new(Engine::from_bundle(first, EngineOptions::default()).unwrap());
    let reference = Snapshot::new(second.clone(), BackendChoice::Interpreter, None, 2).unwrap();
    let ctxs = contexts(reference.layout());
    let expected = outcomes(&reference, &ctxs);

    // Readers evaluate the whole time; the reload lands mid-compilation.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let snapshot = engine.snapshot();
                    let ctx = snapshot.layout().context();
                    for (_, t) in snapshot.targets() {
                        n += u64::from(snapshot.outcome(t, &ctx, 0).value);
                    }
                }
                n
            })
        })
        .collect();
    let was_compiling = !engine.current().is_compiled();
    engine.install(second).unwrap();
    let current = engine.snapshot();
    assert_eq!(outcomes(&current, &ctxs), expected);
    engine.wait_compiled().unwrap();
    assert_eq!(outcomes(&current, &ctxs), expected);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    eprintln!("the reload landed while compiling: {was_compiling}");
}

#[test]
fn dropping_the_engine_stops_its_workers() {
    let _serial = serial();
    let engine = Engine::from_bundle(bundle(2000, "d"), EngineOptions::default()).unwrap();
    let compiling = !engine.current().is_compiled();
    drop(engine);
    // The drop waits for the workers to finish the part in hand.
    assert_eq!(compile_workers_running(), 0);
    assert!(
        compiling,
        "2,000 flags compiled before the engine was dropped: this test did not test the drop"
    );
}
