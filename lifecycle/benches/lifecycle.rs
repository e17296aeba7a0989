//! The lifecycle's speed on generated inputs (`bench/lifecycle/generate.py`,
//! see BENCHMARKS.md, "Flag lifecycle"): the work of `vexil refs`, `vexil
//! diff` and `vexil inventory` through the library, timed with a wall
//! clock, one warm-up run then `RUNS` (default 5). Not a test: run with
//! `cargo bench -p vexil-lifecycle --bench lifecycle -- DIR`, DIR holding
//! `tree/`, `flags/` and `history/` as generate.py writes them.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vexil_compiler::Project;
use vexil_lifecycle::{diff, inventory, refs, revision, History};

fn time(name: &str, runs: usize, mut work: impl FnMut() -> String) {
    let what = work();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(work());
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<44} fastest {:>8.3} s, median {:>8.3} s ({runs} runs; {what})",
        times[0].as_secs_f64(),
        times[(runs - 1) / 2].as_secs_f64()
    );
}

fn project(dir: &Path) -> Project {
    let mut project = Project::from_dir(dir).unwrap();
    project.set_today(None);
    project
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is the directory.
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/vexil-lifecycle-bench"));
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);

    let tree = dir.join("tree");
    if tree.exists() {
        let bundle = project(&tree.join("flags")).bundle(false).unwrap();
        let keys = vexil_lifecycle::refs::keys(&bundle);
        let app = [tree.join("app")];
        time("refs: 100,000 files, 500 flags", runs, || {
            let found = refs(&keys, &app).unwrap();
            format!(
                "{} files, {} references, {} undeclared",
                found.files,
                found
                    .flags
                    .iter()
                    .map(|f| f.references.len())
                    .sum::<usize>(),
                found.undeclared.len()
            )
        });
    }

    let flags = dir.join("flags");
    if flags.exists() {
        time("diff: two 10,000-flag repositories", runs, || {
            let old = revision::sources_in(&flags.join("old")).unwrap();
            let new = revision::sources_in(&flags.join("new")).unwrap();
            format!("{} changes", diff(&old, &new).len())
        });
    }

    let history = dir.join("history");
    if history.exists() {
        let today = vexil_compiler::today();
        time("inventory: 200 flags, 1,000 commits of git", runs, || {
            let project = project(&history);
            let bundle = project.bundle(false).unwrap();
            let blame = History::of(project.paths());
            let entries = inventory(&bundle, |p| project.source(p), &blame, today);
            format!("{} entries", entries.len())
        });
    }
}
