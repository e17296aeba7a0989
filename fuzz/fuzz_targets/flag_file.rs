//! One `.flag` file, any bytes: whatever it holds, nothing panics; its
//! diagnostics render (text and JSON); if it compiles, the interpreter and
//! the JIT give the same outcome for every flag and experiment, for an
//! empty context and for the one each `test` block builds, at several
//! times, and the same test results; and the formatter's output formats to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vexil_compiler::Project;
use vexil_runtime::testing::run_tests;
use vexil_runtime::{BackendChoice, Snapshot};

fuzz_target!(|data: &[u8]| {
    let mut project = Project::new();
    project.set_source_bytes("fuzz.flag", data);
    let diagnostics = project.diagnostics();
    let _ = project.render(&diagnostics, false);
    let _ = project.render_json(&diagnostics);
    if let Ok(bundle) = project.bundle(true) {
        let tests = bundle.tests.clone();
        let interp = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1)
            .expect("the interpreter loads every valid bundle");
        let jit = Snapshot::new(bundle, BackendChoice::Jit, None, 1)
            .expect("the JIT loads every valid bundle");
        let times = [i64::MIN, -1, 0, 1_796_212_800_000_000, i64::MAX];
        let empty = interp
            .layout()
            .context_from_json_str("{}")
            .expect("an empty context is a context");
        for (name, target) in interp.targets() {
            for &now in &times {
                assert_eq!(
                    interp.outcome(target, &empty, now),
                    jit.outcome(target, &empty, now),
                    "{name} at {now}, empty context"
                );
            }
        }
        for &now in &times {
            assert_eq!(
                run_tests(&interp, &tests, now),
                run_tests(&jit, &tests, now),
                "test results at {now}"
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(formatted) = vexil_fmt::format_source(text) {
            let again = vexil_fmt::format_source(&formatted).expect("formatted text formats");
            assert_eq!(again, formatted, "formatting is idempotent");
        }
    }
});
