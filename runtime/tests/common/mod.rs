//! Compile a source string and evaluate it: the shared helpers of the
//! runtime's tests.

#![allow(dead_code)]

use vexil_compiler::Project;
use vexil_runtime::ir::ValidBundle;
use vexil_runtime::{BackendChoice, Details, EngineOptions, Snapshot};

pub const SCHEMA: &str = r#"
context user {
  key id: string
  email: string
  country: string
  plan: enum { free, pro, enterprise }
  age: int
  score: float
  app_version: semver
  beta: bool
  created_at: timestamp
  roles: list<string>
  lucky: list<int>
  company: string?
}

context env {
  name: enum { development, staging, production }
}
"#;

/// `SCHEMA` plus `source`, compiled (with its `test` blocks when
/// `with_tests`); panics with the rendered diagnostics if it does not
/// compile.
pub fn bundle_with(source: &str, with_tests: bool) -> ValidBundle {
    let mut project = Project::new();
    project.set_source("schema.flag", SCHEMA.to_string());
    project.set_source("test.flag", source.to_string());
    match project.bundle(with_tests) {
        Ok(b) => b,
        Err(d) => panic!("does not compile:\n{}", project.render(&d, false)),
    }
}

/// A snapshot of `SCHEMA` plus `source`, on the given backend; panics if
/// it does not compile.
pub fn snapshot_with(source: &str, backend: BackendChoice) -> Snapshot {
    Snapshot::new(bundle_with(source, true), backend, None, 1).expect("loads")
}

pub fn snapshot(source: &str) -> Snapshot {
    snapshot_with(source, BackendChoice::Interpreter)
}

/// Evaluate `flag` for a JSON context at `now` (RFC 3339).
pub fn eval(snapshot: &Snapshot, flag: &str, context: &str, now: &str) -> Details {
    let ctx = snapshot
        .layout()
        .context_from_json_str(context)
        .expect("context JSON");
    let now = vexil_ir::value::parse_timestamp(now).expect("time");
    snapshot.evaluate(flag, &ctx, now).to_details_of(flag)
}

pub const NOW: &str = "2026-11-24T12:00:00Z";

/// A bool flag `f` with one rule `when CONDITION => true`, default false.
pub fn condition_flag(condition: &str) -> String {
    format!("flag f: bool {{\n  kind release\n  default false\n  rule r: when {condition} => true\n}}\n")
}

/// Whether CONDITION matches for the context: `Some(true)` matched,
/// `Some(false)` did not, `None` the evaluation was an error.
pub fn matches(condition: &str, context: &str) -> Option<bool> {
    let s = snapshot(&condition_flag(condition));
    let d = eval(&s, "f", context, NOW);
    if d.error_code.is_some() {
        return None;
    }
    Some(d.value == Some(serde_json::Value::Bool(true)))
}

pub fn options() -> EngineOptions {
    EngineOptions::default()
}
