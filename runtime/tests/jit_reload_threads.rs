//! Compiled code under concurrent reloads: several threads evaluate every
//! flag and experiment while another installs new versions (each compiled
//! anew, the previous one's code freed once its last reader lets go). Every
//! evaluation must give exactly what the interpreter gives for the version
//! the reader holds.

#![cfg(feature = "jit")]
// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use vexil_runtime::ir::{validate, ValidBundle};
use vexil_runtime::testing::test_context;
use vexil_runtime::{BackendChoice, Context, Engine, EngineOptions, Outcome, Snapshot};

fn workload() -> ValidBundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/workload");
    let project = vexil_compiler::Project::from_dir(&dir).unwrap();
    project.bundle(true).unwrap()
}

/// The other version: every flag switched off, and the experiment limited
/// to the first half of its traffic.
fn switched_off(bundle: ValidBundle) -> ValidBundle {
    let mut bundle = bundle.into_inner();
    for f in &mut bundle.flags {
        f.enabled = false;
    }
    for x in &mut bundle.experiments {
        x.enrolment_range = (0, 50_000);
    }
    validate(bundle).unwrap()
}

/// What the interpreter says for each test context, for one version.
fn expected(bundle: &ValidBundle, contexts: &[Context], now: i64) -> Vec<Vec<Outcome>> {
    let s = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 0).unwrap();
    contexts
        .iter()
        .map(|ctx| s.targets().map(|(_, t)| s.outcome(t, ctx, now)).collect())
        .collect()
}

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Engine>();
    // A snapshot of `BackendChoice::Jit` holds the machine code.
    check::<Snapshot>();
    // Built on one thread, evaluated on another.
    check::<vexil_runtime::Context>();
}

#[test]
fn readers_see_whole_versions_while_compiled_code_is_swapped() {
    let on = workload();
    let off = switched_off(on.clone());
    let now = 1_796_464_800_000_000;
    let engine = Arc::new(
        Engine::from_bundle(
            on.clone(),
            EngineOptions {
                backend: BackendChoice::Jit,
                exposure_sink: None,
                ..EngineOptions::default()
            },
        )
        .unwrap(),
    );
    assert_eq!(engine.backend_name(), "jit");
    let layout = engine.current().layout().clone();
    let contexts: Vec<Context> = on.tests.iter().map(|t| test_context(&layout, t)).collect();
    // Version 1 is `on`; installs alternate `off`, `on`, `off`, …
    let expect = [
        expected(&off, &contexts, now),
        expected(&on, &contexts, now),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicUsize::new(0));
    let contexts = Arc::new(contexts);
    let expect = Arc::new(expect);
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let (engine, stop, checked) = (engine.clone(), stop.clone(), checked.clone());
            let (contexts, expect) = (contexts.clone(), expect.clone());
            std::thread::spawn(move || {
                let mut i = r;
                while !stop.load(Ordering::Relaxed) {
                    let snapshot = engine.current();
                    let want = &expect[(snapshot.version() % 2) as usize];
                    let c = i % contexts.len();
                    for (k, (name, target)) in snapshot.targets().enumerate() {
                        let got = snapshot.outcome(target, &contexts[c], now);
                        assert_eq!(
                            got,
                            want[c][k],
                            "version {}, {name}, context {c}",
                            snapshot.version()
                        );
                    }
                    checked.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();

    for n in 0..60 {
        let bundle = if n % 2 == 0 { off.clone() } else { on.clone() };
        let version = engine.install(bundle).unwrap();
        assert_eq!(version, n + 2);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(checked.load(Ordering::Relaxed) > 0);
}
