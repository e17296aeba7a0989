//! Reloading from a `BundleSource` of the service's own (a server, a
//! bundle file): what an engine without the `source` feature reloads from.
//! The engine asks the source, swaps in what it gives, and keeps the
//! running version when the source fails.

// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vexil_runtime::ir::ValidBundle;
use vexil_runtime::{BundleSource, Engine, EngineOptions, LoadError, NewVersion};

fn greeting_source(default: &str) -> String {
    format!("flag greeting: string {{\n  kind release\n  default \"{default}\"\n}}\n")
}

fn greeting_flags(default: &str) -> ValidBundle {
    common::bundle_with(&greeting_source(default), false)
}

fn greeting(engine: &Engine) -> String {
    let snapshot = engine.current();
    let ctx = snapshot.layout().context();
    snapshot.string_value("greeting", &ctx, 0, "fallback")
}

/// An engine serving `greeting_flags("hello")`, reloading from `source`,
/// to share with a watcher.
fn shared_engine(source: impl BundleSource + 'static) -> Arc<Engine> {
    Arc::new(
        Engine::from_bundle(greeting_flags("hello"), EngineOptions::default())
            .unwrap()
            .with_source(source),
    )
}

/// Wait (ten seconds at most) until the engine serves `expected`.
fn wait_for_greeting(engine: &Engine, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while greeting(engine) != expected {
        assert!(Instant::now() < deadline, "the watcher did not reload");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a poll answers.
type Answer = Result<Option<NewVersion>, LoadError>;

/// Answers each poll with the next scripted answer; nothing new after.
struct Scripted(Arc<Mutex<VecDeque<Answer>>>);

impl BundleSource for Scripted {
    fn poll(&mut self) -> Answer {
        self.0.lock().unwrap().pop_front().unwrap_or(Ok(None))
    }
}

fn version(default: &str, warnings: &str) -> Answer {
    Ok(Some(NewVersion {
        bundle: greeting_flags(default),
        warnings: warnings.to_string(),
    }))
}

#[test]
fn an_engine_without_a_source_says_so() {
    let engine = Engine::from_bundle(greeting_flags("hello"), EngineOptions::default()).unwrap();
    match engine.reload() {
        Err(LoadError::Io(message)) => assert!(message.contains("no source"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(engine.current().version(), 1);
}

#[test]
fn reload_swaps_in_what_the_source_gives_and_keeps_the_last_good_version() {
    let script = Arc::new(Mutex::new(VecDeque::from([
        Ok(None),
        version("hola", "warning: a warning"),
        Err(LoadError::Io("the server is down".to_string())),
        version("bonjour", ""),
    ])));
    let engine = Engine::from_bundle(greeting_flags("hello"), EngineOptions::default())
        .unwrap()
        .with_source(Scripted(script));
    assert_eq!(greeting(&engine), "hello");

    // Nothing new: nothing to do.
    assert_eq!(engine.reload().unwrap().version, None);
    assert_eq!(engine.current().version(), 1);

    // A new version, with its warnings passed on.
    let reloaded = engine.reload().unwrap();
    assert_eq!(reloaded.version, Some(2));
    assert_eq!(reloaded.warnings, "warning: a warning");
    assert_eq!(greeting(&engine), "hola");

    // The source fails: the running version stays.
    assert!(matches!(engine.reload(), Err(LoadError::Io(_))));
    assert_eq!(greeting(&engine), "hola");
    assert_eq!(engine.current().version(), 2);

    assert_eq!(engine.reload().unwrap().version, Some(3));
    assert_eq!(greeting(&engine), "bonjour");
}

#[test]
fn a_version_the_engine_refuses_keeps_the_last_good_version() {
    // With `run_tests`, a version whose own test fails is refused.
    let failing = format!(
        "{}\ntest \"greets\" {{\n  context {{\n    user {{ id: \"u1\" }}\n  }}\n  expect greeting == \"hello\"\n}}\n",
        greeting_source("hola")
    );
    let script = Arc::new(Mutex::new(VecDeque::from([Ok(Some(NewVersion {
        bundle: common::bundle_with(&failing, true),
        warnings: String::new(),
    }))])));
    let options = EngineOptions {
        run_tests: true,
        ..EngineOptions::default()
    };
    let engine = Engine::from_bundle(greeting_flags("hello"), options)
        .unwrap()
        .with_source(Scripted(script));
    assert!(matches!(
        engine.reload(),
        Err(LoadError::TestsFailed { failed: 1, .. })
    ));
    assert_eq!(greeting(&engine), "hello");
    assert_eq!(engine.current().version(), 1);
}

#[test]
fn the_watcher_polls_the_source_and_reports_changes() {
    let script = Arc::new(Mutex::new(VecDeque::new()));
    let engine = shared_engine(Scripted(script.clone()));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let watcher = engine.watch(Duration::from_millis(10), move |r| {
        seen.lock().unwrap().push(r.map(|r| r.version));
    });
    script.lock().unwrap().push_back(version("hola", ""));
    wait_for_greeting(&engine, "hola");
    drop(watcher);
    // Polls that found nothing new are not reported.
    let reports = reports.lock().unwrap();
    assert!(
        matches!(reports.as_slice(), [Ok(Some(2))]),
        "{:?}",
        reports.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>()
    );
}

/// Settled after two asks, with a version ready; logs every call.
struct Settling {
    asks: usize,
    log: Arc<Mutex<Vec<&'static str>>>,
    ready: Option<NewVersion>,
}

impl BundleSource for Settling {
    fn poll(&mut self) -> Answer {
        self.log.lock().unwrap().push("poll");
        Ok(self.ready.take())
    }

    fn settled(&mut self) -> bool {
        self.asks += 1;
        let settled = self.asks > 2;
        self.log
            .lock()
            .unwrap()
            .push(if settled { "settled" } else { "moving" });
        settled
    }
}

#[test]
fn the_watcher_waits_for_the_source_to_settle() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let engine = shared_engine(Settling {
        asks: 0,
        log: log.clone(),
        ready: version("hola", "").unwrap(),
    });
    let watcher = engine.watch(Duration::from_millis(10), |_| {});
    wait_for_greeting(&engine, "hola");
    drop(watcher);
    assert_eq!(
        log.lock().unwrap().get(..4),
        Some(&["moving", "moving", "settled", "poll"][..])
    );
    // A direct reload does not wait.
    assert_eq!(engine.reload().unwrap().version, None);
}
