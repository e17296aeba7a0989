//! How long an experiment's dashboard page takes over a large event store,
//! with and without its analysis kept (BENCHMARKS.md, "Dashboard pages"):
//! `examples/shop`'s `checkout-layout` simulated for `UNITS` visiting units
//! (as `vexil simulate examples/shop checkout-layout --units UNITS` does)
//! and ingested once into the SQLite store given, then `vexil serve`
//! started in-process on that store, signed in, and each view timed as a
//! browser with scripts makes it (the page, then the analysis section its
//! script asks for when the page was answered before the analysis was
//! read): when the page was answered and when its analysis was shown,
//! alternating two servers (A B A B):
//!
//! - A, `analysis_cache_seconds = 0`, `?mode=fixed`: every view runs the
//!   analysis, as every view did before the page kept it (the fixed-horizon
//!   view is the analysis the page ran then);
//! - B, the default (60 s), the always-valid view: the first view runs it,
//!   the next ones within the minute reuse it.
//!
//! Each server also gets 8 views at once on a cold page (B: one analysis
//! shared by all; A: 8 analyses), and the store's `COUNT(*)` is timed (what
//! a count as the store's high-water mark would cost per view).
//!
//! `cargo run --release -p vexil-server --example experiment_page -- STORE [UNITS] [ROUNDS] [PAIRS]`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EXPERIMENT: &str = "checkout-layout";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: experiment_page STORE [UNITS] [ROUNDS] [PAIRS]";
    let store = PathBuf::from(args.next().ok_or(usage)?);
    let units: u64 = args.next().map_or(Ok(1_000_000), |r| r.parse())?;
    let rounds: usize = args.next().map_or(Ok(10), |r| r.parse())?;
    let pairs: usize = args.next().map_or(Ok(2), |r| r.parse())?;
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    if !store.exists() {
        fill(&shop, &store, units)?;
    }
    let started = Instant::now();
    let (exposures, events) = vexil_events::Store::open_existing(&store)?.counts()?;
    println!(
        "store {}: {exposures} exposures, {events} metric events; COUNT(*) of both tables took {:.1} ms",
        store.display(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("| server | view | first view answered | first analysis shown | median of the next {rounds} (shown) | p90 | 8 cold views at once (last shown) |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for _ in 0..pairs {
        for (keep, mode, name) in [
            (0, "?mode=fixed", "A: every view analyses"),
            (60, "", "B: kept 60 s"),
        ] {
            runtime.block_on(measure(&shop, &store, keep, mode, name, rounds))?;
        }
    }
    Ok(())
}

/// Simulates the experiment into a JSON Lines file beside the store, then
/// ingests it.
fn fill(shop: &Path, store: &Path, units: u64) -> Result<(), Box<dyn std::error::Error>> {
    let engine = vexil_runtime::Engine::from_dir(shop, Default::default())?;
    let bundle = engine.snapshot().bundle().clone();
    let lines = store.with_extension("jsonl");
    let started = Instant::now();
    let options = vexil_events::simulate::SimulationOptions {
        units,
        days: 14,
        effects: Vec::new(),
        baselines: Vec::new(),
        seed: 1,
        bystanders: false,
        start: None,
    };
    let out = std::io::BufWriter::new(std::fs::File::create(&lines)?);
    let summary = vexil_events::simulate::simulate(bundle, EXPERIMENT, &options, out)?;
    eprintln!(
        "simulated {units} units: {} exposures, {} metric events in {:.1?}",
        summary.exposures,
        summary.events,
        started.elapsed()
    );
    let started = Instant::now();
    let mut db = vexil_events::Store::open(store)?;
    let report = db.ingest_file(&lines)?;
    eprintln!(
        "ingested {} lines ({} rejected) in {:.1?}",
        report.lines,
        report.rejected,
        started.elapsed()
    );
    std::fs::remove_file(&lines)?;
    Ok(())
}

/// One view as a browser with scripts makes it: the page, then, if it was
/// answered before its analysis was read, the section its script asks
/// for. The time the page took, and the time until the analysis was shown.
async fn view(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let get = |path: String| async move {
        let res = http
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            return Err(format!("{path}: {status}").into());
        }
        Ok::<String, Box<dyn std::error::Error>>(body)
    };
    let page = get(path.to_string()).await?;
    let answered = t.elapsed();
    let marker = "<section id=\"analysis\" data-src=\"";
    let shown = match page.find(marker) {
        Some(at) => {
            let rest = &page[at + marker.len()..];
            let src = rest[..rest.find('"').ok_or("no end to data-src")?].replace("&amp;", "&");
            get(src).await?
        }
        None => page,
    };
    if !shown.contains("data-metric=\"conversion\"") {
        return Err(format!("{path}: no analysis shown").into());
    }
    Ok((answered, t.elapsed()))
}

async fn measure(
    shop: &Path,
    store: &Path,
    keep: u64,
    mode: &str,
    name: &str,
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let mut config = vexil_server::Config {
        source: Some(shop.to_path_buf()),
        listen: "127.0.0.1:0".parse()?,
        data_dir: Some(data.path().to_path_buf()),
        events_db: Some(store.to_path_buf()),
        ..vexil_server::Config::default()
    };
    config.dashboard.analysis_cache_seconds = keep;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);

    // Two servers in turn: one for the sequence of views, one for the
    // views at once, each starting with nothing kept.
    let running = vexil_server::start(config.clone()).await?;
    let base = format!("http://{}", running.addr());
    let cookie = sign_in(&http, &base).await?;
    let path = format!("/admin/experiments/{EXPERIMENT}{mode}");
    let (first_answered, first_shown) = view(&http, &base, &path, &cookie).await?;
    let mut next = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        next.push(view(&http, &base, &path, &cookie).await?.1);
    }
    running.stop().await;
    next.sort();
    let at = |q: f64| next[((next.len() - 1) as f64 * q).round() as usize];

    let running = vexil_server::start(config).await?;
    let base = format!("http://{}", running.addr());
    let cookie = sign_in(&http, &base).await?;
    let path = format!("/admin/experiments/{EXPERIMENT}{mode}");
    let started = Instant::now();
    let views: Vec<_> = (0..8)
        .map(|_| {
            let (http, base, path, cookie) =
                (http.clone(), base.clone(), path.clone(), cookie.clone());
            tokio::spawn(async move {
                view(&http, &base, &path, &cookie)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for v in views {
        v.await??;
    }
    let together = started.elapsed();
    running.stop().await;
    println!(
        "| {name} | `{}` | {} | {} | {} | {} | {} |",
        if mode.is_empty() {
            "always-valid"
        } else {
            mode
        },
        ms(first_answered),
        ms(first_shown),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(together)
    );
    Ok(())
}

/// Development mode (no keys, loopback): any key signs in as an admin.
async fn sign_in(http: &reqwest::Client, base: &str) -> Result<String, Box<dyn std::error::Error>> {
    let login = http
        .post(format!("{base}/admin/login"))
        .form(&[("key", "bench")])
        .send()
        .await?;
    Ok(login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_string())
}
