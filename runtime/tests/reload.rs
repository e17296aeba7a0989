//! Hot reload: a good edit swaps in atomically; a broken edit keeps the last
//! good version and reports its diagnostics.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vexil_runtime::{Engine, EngineOptions, LoadError};

fn flags(default: &str) -> String {
    format!("context user {{\n  key id: string\n}}\n\nflag greeting: string {{\n  kind release\n  default \"{default}\"\n}}\n")
}

fn greeting(engine: &Engine) -> String {
    let snapshot = engine.current();
    let ctx = snapshot.layout().context();
    snapshot.string_value("greeting", &ctx, 0, "fallback")
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("flags.flag"), text).expect("write");
}

#[test]
fn a_broken_edit_keeps_the_last_good_version() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), &flags("hello"));
    let engine = Engine::from_dir(dir.path(), EngineOptions::default()).expect("loads");
    assert_eq!(greeting(&engine), "hello");
    assert_eq!(engine.current().version(), 1);

    // Nothing changed: nothing to do.
    assert_eq!(engine.reload().expect("reload").version, None);

    // A broken edit: the running flags stay, the diagnostics explain.
    write(
        dir.path(),
        &flags("hola").replace("kind release", "kind relase"),
    );
    match engine.reload() {
        Err(LoadError::Compile { rendered, errors }) => {
            assert_eq!(errors, 1);
            assert!(rendered.contains("E0309"), "{rendered}");
            assert!(rendered.contains("did you mean `release`?"), "{rendered}");
        }
        other => panic!("expected compile errors, got {other:?}"),
    }
    assert_eq!(greeting(&engine), "hello");
    assert_eq!(engine.current().version(), 1);

    // A syntax error is no different.
    write(dir.path(), "flag greeting: string {");
    assert!(matches!(engine.reload(), Err(LoadError::Compile { .. })));
    assert_eq!(greeting(&engine), "hello");

    // Fixed: the new version is in.
    write(dir.path(), &flags("bonjour"));
    assert_eq!(engine.reload().expect("reload").version, Some(2));
    assert_eq!(greeting(&engine), "bonjour");

    // A file removed is a change too.
    std::fs::write(
        dir.path().join("extra.flag"),
        "flag extra: bool {\n  kind release\n  default true\n}\n",
    )
    .expect("write");
    assert_eq!(engine.reload().expect("reload").version, Some(3));
    std::fs::remove_file(dir.path().join("extra.flag")).expect("rm");
    assert_eq!(engine.reload().expect("reload").version, Some(4));
    assert!(engine.current().target("extra").is_none());
}

#[test]
fn the_watcher_reloads_on_change_and_reports_failures() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), &flags("one"));
    let engine = Arc::new(Engine::from_dir(dir.path(), EngineOptions::default()).expect("loads"));
    let reports: Arc<Mutex<Vec<bool>>> = Arc::default();
    let nices: Arc<Mutex<Vec<Option<i32>>>> = Arc::default();
    let sink = reports.clone();
    let nice_sink = nices.clone();
    let own_nice = vexil_runtime::this_thread_nice();
    let watcher = engine.watch(Duration::from_millis(20), move |r| {
        if let Ok(mut v) = sink.lock() {
            v.push(r.is_ok());
        }
        if let Ok(mut v) = nice_sink.lock() {
            v.push(vexil_runtime::this_thread_nice());
        }
    });
    write(dir.path(), &flags("two"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while greeting(&engine) != "two" {
        assert!(Instant::now() < deadline, "the watcher did not reload");
        std::thread::sleep(Duration::from_millis(10));
    }
    write(dir.path(), "not a flag file");
    while !reports.lock().expect("lock").contains(&false) {
        assert!(
            Instant::now() < deadline,
            "the failed reload was not reported"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(greeting(&engine), "two");
    drop(watcher);
    // Reloads ran on a thread below the caller's priority (Linux); the
    // caller's own thread kept its priority.
    assert_eq!(vexil_runtime::this_thread_nice(), own_nice);
    if cfg!(target_os = "linux") {
        let seen = nices.lock().expect("lock").clone();
        assert!(!seen.is_empty());
        for n in seen {
            assert!(n.is_some_and(|n| n >= vexil_runtime::LOW_NICE), "{n:?}");
        }
    }
}

#[test]
fn readers_see_whole_versions_while_reloads_swap_them() {
    let dir = tempfile::tempdir().expect("tmp");
    // Two flags that always change together: a reader must never see a mix.
    let pair = |v: u32| {
        format!(
            "context user {{\n  key id: string\n}}\nflag a: int {{\n  kind release\n  default {v}\n}}\nflag b: int {{\n  kind release\n  default {v}\n}}\n"
        )
    };
    write(dir.path(), &pair(0));
    let engine = Arc::new(Engine::from_dir(dir.path(), EngineOptions::default()).expect("loads"));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let s = engine.current();
                    let ctx = s.layout().context();
                    let (a, b) = (s.int_value("a", &ctx, 0, -1), s.int_value("b", &ctx, 0, -2));
                    assert_eq!(a, b, "a reader saw two versions at once");
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    for v in 1..=30 {
        write(dir.path(), &pair(v));
        engine.reload().expect("reload");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") > 0);
    }
    assert_eq!(
        engine
            .current()
            .int_value("a", &engine.current().layout().context(), 0, -1),
        30
    );
}

#[test]
fn with_run_tests_a_version_whose_tests_fail_is_refused() {
    let tested = |default: &str, expected: &str| {
        format!(
            "{}\ntest \"greets\" {{\n  context {{\n    user {{ id: \"u1\" }}\n  }}\n  expect greeting == \"{expected}\"\n}}\n",
            flags(default)
        )
    };
    let options = EngineOptions {
        run_tests: true,
        ..EngineOptions::default()
    };
    let dir = tempfile::tempdir().expect("tmp");

    // A repository whose tests fail does not load at all.
    write(dir.path(), &tested("hello", "bye"));
    match Engine::from_dir(dir.path(), options.clone()) {
        Err(LoadError::TestsFailed { failed, rendered }) => {
            assert_eq!(failed, 1);
            assert!(rendered.contains("FAIL greets"), "{rendered}");
            assert!(rendered.contains("got value \"hello\""), "{rendered}");
        }
        Err(other) => panic!("expected failing tests, got {other}"),
        Ok(_) => panic!("expected failing tests, got an engine"),
    }

    write(dir.path(), &tested("hello", "hello"));
    let engine = Engine::from_dir(dir.path(), options).expect("loads");
    assert_eq!(greeting(&engine), "hello");

    // An edit that compiles but breaks its own test keeps the last good version.
    write(dir.path(), &tested("hola", "hello"));
    assert!(matches!(
        engine.reload(),
        Err(LoadError::TestsFailed { failed: 1, .. })
    ));
    assert_eq!(greeting(&engine), "hello");

    // An edit that changes the value and its test together is installed.
    write(dir.path(), &tested("hola", "hola"));
    assert_eq!(engine.reload().expect("reload").version, Some(2));
    assert_eq!(greeting(&engine), "hola");
}

/// Issue 12: a file that turns into something other than UTF-8 is an
/// E0002 at its first bad byte, as `vexil check` says, and the last good
/// version stays; the watcher does not skip the file in silence.
#[test]
fn a_file_that_is_not_utf8_is_reported_not_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), &flags("hello"));
    let engine = Engine::from_dir(dir.path(), EngineOptions::default()).expect("loads");
    let mut latin1 = b"// Caf\xe9\n".to_vec();
    latin1.extend_from_slice(flags("hola").as_bytes());
    std::fs::write(dir.path().join("flags.flag"), &latin1).expect("write");
    match engine.reload() {
        Err(LoadError::Compile { rendered, errors }) => {
            assert_eq!(errors, 1, "{rendered}");
            assert!(
                rendered.contains(
                    "error[E0002]: this file is not valid UTF-8: byte `0xE9` at offset 6"
                ),
                "{rendered}"
            );
        }
        other => panic!("expected E0002, got {other:?}"),
    }
    assert_eq!(greeting(&engine), "hello");
}
