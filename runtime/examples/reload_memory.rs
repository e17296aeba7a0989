//! Reload compiled flags 10,000 times and watch resident memory: each
//! reload compiles a new snapshot to machine code and drops the old one,
//! whose code must be freed, so memory must level off, not grow.
//!
//! ```sh
//! cargo run --release -p vexil-runtime --example reload_memory [RELOADS]
//! ```
//!
//! Prints, every 1,000 reloads, the resident set from `/proc/self/statm`
//! (in pages) and `VmRSS` from `/proc/self/status` (in KiB). Linux only.

use std::path::Path;
use std::time::Instant;

use vexil_runtime::{BackendChoice, Engine, EngineOptions};

fn bundle(relative: &str) -> Result<vexil_runtime::ir::ValidBundle, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    let project = vexil_compiler::Project::from_dir(&dir).map_err(|e| e.to_string())?;
    project.bundle(false).map_err(|d| project.render(&d, false))
}

/// Resident pages, from the second field of `/proc/self/statm`.
fn statm_resident_pages() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// `VmRSS` in KiB, from `/proc/self/status`.
fn vm_rss_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reloads: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // Two versions, swapped in turn, as a repository changing back and forth.
    let versions = [bundle("examples/shop")?, bundle("bench/workload")?];
    let engine = Engine::from_bundle(
        versions[0].clone(),
        EngineOptions {
            backend: BackendChoice::Jit,
            exposure_sink: None,
            ..EngineOptions::default()
        },
    )?;
    println!("backend: {}", engine.backend_name());
    println!(
        "{:>8} {:>14} {:>12} {:>10}",
        "reloads", "statm pages", "VmRSS KiB", "seconds"
    );
    let start = Instant::now();
    let report = |n: usize| {
        println!(
            "{:>8} {:>14} {:>12} {:>10.1}",
            n,
            statm_resident_pages().map_or("?".to_string(), |p| p.to_string()),
            vm_rss_kib().map_or("?".to_string(), |k| k.to_string()),
            start.elapsed().as_secs_f64()
        );
    };
    report(0);
    for n in 1..=reloads {
        let version = &versions[n % versions.len()];
        engine.install(version.clone())?;
        // Evaluate once per version, so that the code is really used.
        let snapshot = engine.current();
        let ctx = snapshot.layout().context();
        for (_, target) in snapshot.targets() {
            std::hint::black_box(snapshot.outcome(target, &ctx, 0));
        }
        if n % 1_000 == 0 {
            report(n);
        }
    }
    Ok(())
}
