//! What Vexil's evaluation costs around the evaluation itself:
//! - `context/build`: a context of the workload's eight fields from typed
//!   values (field handles resolved once), allocation included;
//!   `context/build-reuse` the same into a cleared context; and
//!   `context/from-json` the runtime's generic JSON path from a request;
//! - `jit/compile-1000`: compiling a bundle of 1,000 flags to machine code
//!   (and `interp/prepare-1000`, the interpreter's preparation of it);
//! - `api/…`: a flag through the calls a service makes, by name on the
//!   `Engine` (current snapshot, clock, name lookup, typed value or owned
//!   details, exposure), on the JIT, contexts built before timing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vexil_bench::user::UserRecord;
use vexil_bench::vexil::{fill, workload_bundle, UserFields};
use vexil_bench::Workload;
use vexil_runtime::internals::{Interpreter, Jit};
use vexil_runtime::ir::ValidBundle;
use vexil_runtime::{
    BackendChoice, Engine, EngineOptions, Exposure, ExposureSink, OverrideAction, OverrideInfo,
    OverrideSpec, Snapshot,
};

fn context(c: &mut Criterion) {
    let (Ok(bundle), Ok(workload)) = (workload_bundle(), Workload::load()) else {
        return eprintln!("cannot load the workload");
    };
    let Ok(snapshot) = Snapshot::new(bundle, BackendChoice::Interpreter, None, 1) else {
        return eprintln!("cannot load the workload's flags");
    };
    let Ok(fields) = UserFields::resolve(&snapshot) else {
        return eprintln!("the workload's schema lacks a field");
    };
    let layout = snapshot.layout().clone();
    // Typed values, converted ahead of timing: what a service holding a
    // user record in its own types has.
    struct Typed {
        id: String,
        email: String,
        country: String,
        plan: u32,
        age: i64,
        app_version: semver::Version,
        beta: bool,
        created_at: i64,
    }
    let users: Vec<Typed> = workload
        .users
        .iter()
        .filter_map(|u| {
            let r = UserRecord::parse(&u.request).ok()?;
            Some(Typed {
                id: r.id.into_owned(),
                email: r.email.into_owned(),
                country: r.country.into_owned(),
                plan: match r.plan.as_ref() {
                    "free" => 0,
                    "pro" => 1,
                    _ => 2,
                },
                age: r.age,
                app_version: semver::Version::parse(&r.app_version).ok()?,
                beta: r.beta,
                created_at: vexil_runtime::ir::value::parse_timestamp(&r.created_at).ok()?,
            })
        })
        .collect();
    if users.is_empty() {
        return;
    }
    let set = |ctx: &mut vexil_runtime::Context, u: &Typed| {
        ctx.set_str(fields.id, &u.id);
        ctx.set_str(fields.email, &u.email);
        ctx.set_str(fields.country, &u.country);
        ctx.set_enum_index(fields.plan, u.plan);
        ctx.set_int(fields.age, u.age);
        ctx.set_semver(fields.app_version, &u.app_version);
        ctx.set_bool(fields.beta, u.beta);
        ctx.set_timestamp(fields.created_at, u.created_at);
    };
    let mut group = c.benchmark_group("context");
    group.bench_function("build", |b| {
        let mut i = 0;
        b.iter(|| {
            let u = &users[i % users.len()];
            i += 1;
            let mut ctx = layout.context();
            set(&mut ctx, black_box(u));
            ctx
        });
    });
    group.bench_function("build-reuse", |b| {
        let mut i = 0;
        let mut ctx = layout.context();
        b.iter(|| {
            let u = &users[i % users.len()];
            i += 1;
            ctx.clear();
            set(&mut ctx, black_box(u));
            black_box(&ctx);
        });
    });
    group.bench_function("from-record", |b| {
        // The workload's JSON path: serde into a borrowed record, then
        // the typed builder (semver and timestamp parsed).
        let mut i = 0;
        b.iter(|| {
            let u = &workload.users[i % workload.users.len()];
            i += 1;
            let mut ctx = layout.context();
            if let Ok(r) = UserRecord::parse(black_box(&u.request)) {
                fill(&mut ctx, &fields, &r);
            }
            ctx
        });
    });
    group.bench_function("from-json", |b| {
        // The runtime's generic path: `{"user": {..}}` through serde_json.
        let requests: Vec<String> = workload
            .users
            .iter()
            .map(|u| format!("{{\"user\":{}}}", u.request))
            .collect();
        let mut i = 0;
        b.iter(|| {
            let r = &requests[i % requests.len()];
            i += 1;
            layout.context_from_json_str(black_box(r))
        });
    });
    group.finish();
}

/// 1,000 flags over the workload's schema, in the shapes of F2, F3, F4 and
/// F6, with constants varied so that no two flags are alike.
pub fn thousand_flags() -> Option<ValidBundle> {
    let schema =
        std::fs::read_to_string(vexil_bench::workload::crate_path("workload/workload.flag"))
            .ok()?;
    let context_end = schema.find("/// F1")?;
    let mut text = schema[..context_end].to_string();
    let countries = [
        "US", "GB", "DE", "FR", "CA", "AU", "NL", "SE", "JP", "BR", "ES", "IT", "PL", "PT",
    ];
    for i in 0..1000 {
        let list: Vec<String> = (0..10)
            .map(|j| format!("\"{}\"", countries[(i + j) % countries.len()]))
            .collect();
        let list = list.join(", ");
        let body = match i % 4 {
            0 => format!(
                "flag f{i}: bool {{\n  kind release\n  default false\n  rule when (user.country in [{list}] and user.plan == pro) or user.email ends_with \"@example{i}.com\" => true\n}}\n"
            ),
            1 => format!(
                "flag f{i}: bool {{\n  kind release\n  default false\n  rule => {}% by user.id\n}}\n",
                i % 100
            ),
            2 => format!(
                "flag f{i}: bool {{\n  kind release\n  default false\n  rule when user.app_version >= 2.{}.0 and user.beta => true\n}}\n",
                i % 10
            ),
            _ => format!(
                "flag f{i}: string {{\n  kind release\n  default \"default\"\n  rule when user.plan == enterprise and user.beta => \"ent-beta\"\n  rule when user.email starts_with \"qa{i}+\" => \"qa\"\n  rule when user.age >= 13 and user.age < 18 => \"minor\"\n  rule when user.app_version < 1.{}.0 => \"legacy-client\"\n  rule when user.country in [{list}] and user.plan == pro => \"pro-intl\"\n  rule when user.created_at > 2025-06-01T00:00:00Z and user.plan == free => \"new-free\"\n  rule when user.age >= {} => \"senior\"\n  rule when user.app_version >= 3.0.0 and user.beta => \"next-beta\"\n  rule when user.email ends_with \"@example.com\" and user.country == \"US\" => \"example-us\"\n  rule when user.country in [{list}] and user.age >= 30 and user.age <= 45 => \"core-intl\"\n}}\n",
                i % 10,
                60 + i % 10
            ),
        };
        text.push_str(&body);
    }
    let mut project = vexil_compiler::Project::new();
    project.set_source("thousand.flag", text);
    match project.bundle(false) {
        Ok(bundle) if bundle.flags.len() == 1000 => Some(bundle),
        Ok(_) => None,
        Err(d) => {
            eprintln!("{}", project.render(&d, false));
            None
        }
    }
}

fn compile(c: &mut Criterion) {
    let Some(bundle) = thousand_flags() else {
        return eprintln!("cannot build the 1,000-flag bundle");
    };
    let mut group = c.benchmark_group("jit");
    group.sample_size(20);
    group.bench_function("compile-1000", |b| {
        b.iter(|| Jit::new(black_box(&bundle)).ok());
    });
    group.finish();
    let mut group = c.benchmark_group("interp");
    group.sample_size(20);
    group.bench_function("prepare-1000", |b| {
        b.iter(|| Interpreter::new(black_box(&bundle)));
    });
    group.finish();
}

/// An exposure sink that only counts, so that the bench measures what
/// emitting costs the evaluation and not a store.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicU64);

impl ExposureSink for Counting {
    fn record(&self, exposure: &Exposure<'_>) {
        black_box(exposure);
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn api(c: &mut Criterion) {
    let (Ok(bundle), Ok(workload)) = (workload_bundle(), Workload::load()) else {
        return eprintln!("cannot load the workload");
    };
    let sink = std::sync::Arc::new(Counting::default());
    let options = EngineOptions {
        backend: BackendChoice::Jit,
        exposure_sink: Some(sink.clone()),
        ..EngineOptions::default()
    };
    let Ok(engine) = Engine::from_bundle(bundle, options) else {
        return eprintln!("cannot load the workload's flags on the JIT");
    };
    let snapshot = engine.snapshot();
    let Ok(fields) = UserFields::resolve(&snapshot) else {
        return eprintln!("the workload's schema lacks a field");
    };
    let contexts: Vec<vexil_runtime::Context> = workload
        .users
        .iter()
        .filter_map(|u| {
            let r = UserRecord::parse(&u.request).ok()?;
            let mut ctx = snapshot.layout().context();
            fill(&mut ctx, &fields, &r);
            Some(ctx)
        })
        .collect();
    if contexts.is_empty() {
        return;
    }
    let mut group = c.benchmark_group("api");
    let mut round_robin = |id: &str, f: &dyn Fn(&vexil_runtime::Context)| {
        group.bench_function(id, |b| {
            let mut i = 0;
            b.iter(|| {
                let ctx = &contexts[i % contexts.len()];
                i += 1;
                f(black_box(ctx))
            });
        });
    };
    // The parts of a by-name call, for the record.
    round_robin("parts/clock", &|_| {
        black_box(vexil_runtime::ir::value::now_micros());
    });
    round_robin("parts/name-lookup", &|_| {
        black_box(snapshot.target(black_box("semver-gate")));
    });
    round_robin("parts/snapshot-load", &|_| {
        black_box(engine.current().version());
    });
    round_robin("F4/bool_value", &|ctx| {
        black_box(engine.bool_value("semver-gate", ctx, false));
    });
    round_robin("F6/string_value", &|ctx| {
        black_box(engine.string_value("ten-rules", ctx, "default"));
    });
    round_robin("F6/evaluate", &|ctx| {
        black_box(engine.evaluate("ten-rules", ctx));
    });
    let f5_ran = std::cell::Cell::new(false);
    round_robin("F5/evaluate", &|ctx| {
        f5_ran.set(true);
        black_box(engine.evaluate("experiment-3way", ctx));
    });
    // A target prepared once per version: the hot path's handle.
    let Some(gate) = snapshot.target("semver-gate").map(|t| snapshot.prepare(t)) else {
        return eprintln!("no flag `semver-gate`");
    };
    round_robin("F4/prepared/value", &|ctx| {
        black_box(gate.value(ctx, 0));
    });
    round_robin("F4/prepared/value_index", &|ctx| {
        // Widened: a `u32` black-boxed into half of the stack slot that
        // the closure's epilogue then pops whole stalls store forwarding
        // (`perf` showed 75% of the time on that `ret`, 5.2 ns in all).
        black_box(u64::from(gate.value_index(ctx, 0)));
    });
    group.finish();
    // The same users without `beta`, a required field: compiled code
    // starts over in the flag's exact twin instead of its fast path.
    let without_beta: Vec<vexil_runtime::Context> = contexts
        .iter()
        .map(|ctx| {
            let mut ctx = ctx.clone();
            ctx.unset(fields.beta);
            ctx
        })
        .collect();
    c.bench_function("api/F4/prepared/value_index/missing-required", |b| {
        let mut i = 0;
        b.iter(|| {
            let ctx = &without_beta[i % without_beta.len()];
            i += 1;
            black_box(gate.value_index(black_box(ctx), 0))
        });
    });
    // F5 enrols the audience: the sink saw exposures, so they were emitted
    // (when a filter let F5 run).
    assert!(!f5_ran.get() || sink.0.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

/// Issue 14's cost of overrides: F4 on an engine where two other flags
/// are overridden (by name, which checks the override table, and prepared,
/// which does not), and an overridden flag, whose prepared handle is a
/// constant like a flag without rules (`static-on`, F1).
fn overrides(c: &mut Criterion) {
    let (Ok(bundle), Ok(workload)) = (workload_bundle(), Workload::load()) else {
        return eprintln!("cannot load the workload");
    };
    let options = EngineOptions {
        backend: BackendChoice::Jit,
        ..EngineOptions::default()
    };
    let Ok(engine) = Engine::from_bundle(bundle, options) else {
        return eprintln!("cannot load the workload's flags on the JIT");
    };
    let info = || OverrideInfo {
        actor: "bench".to_string(),
        reason: "measuring".to_string(),
        since: "2026-12-07T09:00:00Z".to_string(),
    };
    engine.set_overrides(vec![
        OverrideSpec {
            target: "targeted".to_string(),
            action: OverrideAction::Off,
            info: info(),
        },
        OverrideSpec {
            target: "rollout-25".to_string(),
            action: OverrideAction::Value(serde_json::Value::Bool(true)),
            info: info(),
        },
    ]);
    let snapshot = engine.snapshot();
    let Ok(fields) = UserFields::resolve(&snapshot) else {
        return eprintln!("the workload's schema lacks a field");
    };
    let contexts: Vec<vexil_runtime::Context> = workload
        .users
        .iter()
        .filter_map(|u| {
            let r = UserRecord::parse(&u.request).ok()?;
            let mut ctx = snapshot.layout().context();
            fill(&mut ctx, &fields, &r);
            Some(ctx)
        })
        .collect();
    if contexts.is_empty() {
        return;
    }
    let prepared = |name: &str| snapshot.target(name).map(|t| snapshot.prepare(t));
    let (Some(gate), Some(off), Some(fixed)) = (
        prepared("semver-gate"),
        prepared("targeted"),
        prepared("static-on"),
    ) else {
        return eprintln!("the workload lacks a flag");
    };
    let mut group = c.benchmark_group("overrides");
    let mut round_robin = |id: &str, f: &dyn Fn(&vexil_runtime::Context)| {
        group.bench_function(id, |b| {
            let mut i = 0;
            b.iter(|| {
                let ctx = &contexts[i % contexts.len()];
                i += 1;
                f(black_box(ctx))
            });
        });
    };
    round_robin("F4/bool_value", &|ctx| {
        black_box(engine.bool_value("semver-gate", ctx, false));
    });
    round_robin("F4/prepared/value_index", &|ctx| {
        black_box(u64::from(gate.value_index(ctx, 0)));
    });
    round_robin("F2-off/bool_value", &|ctx| {
        black_box(engine.bool_value("targeted", ctx, false));
    });
    round_robin("F2-off/prepared/value_index", &|ctx| {
        black_box(u64::from(off.value_index(ctx, 0)));
    });
    round_robin("F1-constant/prepared/value_index", &|ctx| {
        black_box(u64::from(fixed.value_index(ctx, 0)));
    });
    group.finish();
    // The override is in charge: the flag serves its default.
    assert!(!engine.bool_value("targeted", &contexts[0], true));
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = context, compile, api, overrides
}
criterion_main!(benches);
