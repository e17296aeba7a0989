//! Which backend a snapshot runs on, and why: `BackendChoice::Auto` takes
//! compiled code when this build and host can run it and otherwise uses
//! the interpreter and says why. Runs in both builds (with and without the
//! `jit` feature; CI runs both).

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use vexil_runtime::{jit_status, BackendChoice, Engine, EngineOptions, LoadError, Snapshot};

const FLAG: &str =
    "flag f: bool {\n  kind release\n  default false\n  rule r: when user.beta => true\n}\n";

fn bundle() -> vexil_runtime::ir::ValidBundle {
    bundle_with(FLAG, false)
}

#[test]
fn auto_runs_compiled_code_where_it_can_and_says_why_not_elsewhere() {
    let s = Snapshot::new(bundle(), BackendChoice::Auto, None, 1).unwrap();
    match jit_status() {
        Ok(()) => {
            assert_eq!(s.backend_name(), "jit");
            assert_eq!(s.why_interpreted(), None);
        }
        Err(why) => {
            assert_eq!(s.backend_name(), "interpreter");
            assert_eq!(s.why_interpreted(), Some(why.as_str()));
        }
    }
    #[cfg(not(feature = "jit"))]
    assert!(jit_status().unwrap_err().contains("no `jit` feature"));
    #[cfg(all(
        feature = "jit",
        any(target_arch = "x86_64", target_arch = "aarch64"),
        not(windows)
    ))]
    assert_eq!(jit_status(), Ok(()));
}

#[test]
fn the_interpreter_on_request_and_the_jit_or_an_error() {
    let s = Snapshot::new(bundle(), BackendChoice::Interpreter, None, 1).unwrap();
    assert_eq!(s.backend_name(), "interpreter");
    assert_eq!(s.why_interpreted(), Some("the interpreter was chosen"));

    let jit = Snapshot::new(bundle(), BackendChoice::Jit, None, 1);
    match (jit_status(), jit) {
        (Ok(()), Ok(s)) => {
            assert_eq!(s.backend_name(), "jit");
            assert_eq!(s.why_interpreted(), None);
        }
        (Err(_), Err(LoadError::JitUnavailable(_))) => {}
        (status, Ok(s)) => panic!("{status:?} but loaded on {}", s.backend_name()),
        (status, Err(e)) => panic!("{status:?} but failed with {e}"),
    }

    let engine = Engine::from_bundle(bundle(), EngineOptions::default()).unwrap();
    assert_eq!(engine.why_interpreted(), jit_status().err());
}
