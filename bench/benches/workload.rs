//! The workload bench: every engine, every flag, users visited round-robin.
//!
//! Benchmark ids, for `summarize.py` and any other script:
//! - `ENGINE/FLAG`: one evaluation on a context built before timing;
//! - `ENGINE/FLAG/json`: parse the user's JSON request, build the engine's
//!   context, evaluate;
//! - `ENGINE/all`: all six flags for one prepared user (one iteration is six
//!   evaluations).
//!
//! Defaults are 1 s warm-up and 2 s measurement per benchmark, and no plots
//! (drawing them takes longer than measuring), so the run fits in a few
//! minutes on two cores. Criterion's own flags override them
//! (`-- --warm-up-time 3 --measurement-time 5`, `-- --plotting-backend
//! plotters` for the HTML report), and a filter picks a subset
//! (`-- native/`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vexil_bench::growthbook::GrowthBook;
use vexil_bench::launchdarkly::LaunchDarkly;
use vexil_bench::native::Native;
use vexil_bench::vexil::{Interp, Jit};
use vexil_bench::yggdrasil::Yggdrasil;
use vexil_bench::{BenchError, Flag, Workload, WorkloadEngine};

fn workload(c: &mut Criterion) {
    let workload = match Workload::load() {
        Ok(workload) if !workload.users.is_empty() => workload,
        Ok(_) => return eprintln!("the workload has no users"),
        Err(error) => return eprintln!("cannot load the workload: {error}"),
    };
    // An engine that fails to load is reported and skipped so the others
    // still run.
    bench_engine(c, Native::load(), &workload);
    bench_engine(c, Interp::load(), &workload);
    bench_engine(c, Jit::load(), &workload);
    bench_engine(c, Yggdrasil::load(), &workload);
    bench_engine(c, LaunchDarkly::load(), &workload);
    bench_engine(c, GrowthBook::load(), &workload);
}

fn bench_engine<E: WorkloadEngine>(
    c: &mut Criterion,
    engine: Result<E, BenchError>,
    workload: &Workload,
) {
    let engine = match engine {
        Ok(engine) => engine,
        Err(error) => return eprintln!("skipping {}: {error}", E::NAME),
    };
    let contexts = match workload.prepare(&engine) {
        Ok(contexts) => contexts,
        Err(error) => return eprintln!("skipping {}: {error}", E::NAME),
    };
    let requests: Vec<&str> = workload
        .users
        .iter()
        .map(|user| user.request.as_str())
        .collect();

    let mut group = c.benchmark_group(E::NAME);
    for flag in Flag::ALL {
        group.bench_function(flag.id(), |b| {
            let mut users = RoundRobin::new(&contexts);
            b.iter(|| engine.evaluate(flag, black_box(users.next())));
        });
    }
    for flag in Flag::ALL {
        group.bench_function(format!("{}/json", flag.id()), |b| {
            let mut users = RoundRobin::new(&requests);
            b.iter(|| engine.evaluate_request(flag, black_box(users.next())));
        });
    }
    group.bench_function("all", |b| {
        let mut users = RoundRobin::new(&contexts);
        b.iter(|| engine.evaluate_all(black_box(users.next())));
    });
    group.finish();
}

/// Hands out the users in order, starting over at the end, so every
/// evaluation sees a different user and no branch predictor learns one.
struct RoundRobin<'a, T> {
    items: &'a [T],
    next: usize,
}

impl<'a, T> RoundRobin<'a, T> {
    /// `items` must not be empty; `workload` checks the user count first.
    fn new(items: &'a [T]) -> Self {
        RoundRobin { items, next: 0 }
    }

    fn next(&mut self) -> &'a T {
        // In bounds: `next` starts at 0, `items` is not empty and `next`
        // wraps before reaching its length.
        let item = &self.items[self.next];
        self.next += 1;
        if self.next == self.items.len() {
            self.next = 0;
        }
        item
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = workload
}
criterion_main!(benches);
