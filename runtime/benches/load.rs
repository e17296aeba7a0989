//! Loading a big repository: how soon the first answer comes, and how long
//! until every flag runs as compiled code.
//!
//! - `load/first-answer-10000`: a 10,000-flag bundle's JSON text read,
//!   validated and loaded with `BackendChoice::Auto` (tiered), and one
//!   flag evaluated: what a restarting service or `vexil eval` waits for;
//! - `load/compiled-10000`: the same, then `wait_compiled`: until every
//!   flag runs as machine code, compiled by the background workers;
//! - `load/eager-10000`: the same bundle loaded with `BackendChoice::Jit`
//!   (everything compiled on the loading thread before the load returns),
//!   and one flag evaluated: the first answer before tiered loading.
//! - `steady/{eager,tiered}/F`: once compiled, one `Snapshot::outcome` of
//!   flag `F` on a snapshot compiled eagerly and on one compiled in the
//!   background (after `wait_compiled`): the same code behind the same
//!   entry-point slot, so the same cost.
//!
//! `cargo bench -p vexil-runtime --bench load`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vexil_runtime::ir::Bundle;
use vexil_runtime::{BackendChoice, Snapshot};

const FLAGS: usize = 10_000;

/// A repository of `FLAGS` flags in the workload's shapes (string
/// suffixes, enums and ints, semantic versions, list membership, segments,
/// prerequisites, rollouts), built by the compiler, as JSON text.
fn bundle_json() -> Option<String> {
    let mut text = String::from(
        "context user {\n  key id: string\n  email: string\n  country: string\n  plan: enum { free, pro, enterprise }\n  age: int\n  app_version: semver\n  roles: list<string>\n  beta: bool\n}\n\
         segment staff {\n  user.email iends_with \"@shop.example\" or \"staff\" in user.roles\n}\n\
         segment adults {\n  user.age >= 18 and user.country in [\"US\", \"CA\", \"DE\", \"FR\"]\n}\n",
    );
    for i in 0..FLAGS {
        let body = match i % 6 {
            0 => format!("  rule r: when user.email ends_with \"@{}.example\" => true\n", i % 13),
            1 => format!(
                "  rule r: when user.plan == pro and user.age > {} => true\n  rule s: when staff => true\n",
                i % 90
            ),
            2 => format!("  rule r: when user.app_version >= {}.{}.0 => true\n", i % 7, i % 5),
            3 => "  rule r: when \"beta\" in user.roles or adults => true\n".to_string(),
            4 => format!("  requires f{}\n  rule r: when user.beta => true\n", i - 1),
            _ => format!("  rule r: when adults => {}% by user.id\n", i % 100),
        };
        text.push_str(&format!(
            "flag f{i}: bool {{\n  kind release\n  default false\n{body}}}\n"
        ));
    }
    let mut project = vexil_compiler::Project::new();
    project.set_source("flags.flag", text);
    match project.bundle(false) {
        Ok(bundle) if bundle.flags.len() == FLAGS => Some(bundle.to_json()),
        Ok(_) => None,
        Err(d) => {
            eprintln!("{}", project.render(&d, false));
            None
        }
    }
}

fn first_answer(json: &str, choice: BackendChoice) -> Snapshot {
    let bundle = Bundle::from_json(json).expect("the bundle is valid");
    let snapshot = Snapshot::new(bundle, choice, None, 1).expect("loads");
    let ctx = snapshot
        .layout()
        .context_from_json_str(r#"{"user": {"id": "u-1", "email": "a@3.example", "age": 30}}"#)
        .expect("a context");
    black_box(snapshot.bool_value("f5000", &ctx, 0, false));
    snapshot
}

fn load(c: &mut Criterion) {
    let Some(json) = bundle_json() else {
        return eprintln!("cannot build the 10,000-flag bundle");
    };
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // The snapshot is dropped outside the timing: dropping stops its
    // workers, which waits for the parts they are compiling.
    group.bench_function("first-answer-10000", |b| {
        b.iter_with_large_drop(|| first_answer(&json, BackendChoice::Auto));
    });
    group.bench_function("compiled-10000", |b| {
        b.iter_with_large_drop(|| {
            let snapshot = first_answer(&json, BackendChoice::Auto);
            snapshot.wait_compiled().expect("compiles");
            snapshot
        });
    });
    group.bench_function("eager-10000", |b| {
        b.iter_with_large_drop(|| first_answer(&json, BackendChoice::Jit));
    });
    group.finish();
}

fn steady(c: &mut Criterion) {
    let Some(json) = bundle_json() else {
        return eprintln!("cannot build the 10,000-flag bundle");
    };
    let eager = first_answer(&json, BackendChoice::Jit);
    let tiered = first_answer(&json, BackendChoice::Auto);
    tiered.wait_compiled().expect("compiles");
    let ctx = eager
        .layout()
        .context_from_json_str(
            r#"{"user": {"id": "u-1", "email": "a@3.example", "age": 30, "plan": "pro", "country": "US", "roles": ["beta"], "app_version": "2.1.0", "beta": true}}"#,
        )
        .expect("a context");
    let mut group = c.benchmark_group("steady");
    // f5000: an email suffix; f5001: an enum, an int and a segment; f5003:
    // list membership or a segment.
    for flag in ["f5000", "f5001", "f5003"] {
        for (name, snapshot) in [("eager", &eager), ("tiered", &tiered)] {
            let target = snapshot.target(flag).expect("a flag");
            group.bench_function(format!("{name}/{flag}"), |b| {
                b.iter(|| snapshot.outcome(black_box(target), black_box(&ctx), 0));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, load, steady);
criterion_main!(benches);
