//! How long each dashboard page takes to answer for a large repository:
//! `vexil serve` started in-process on a loopback port over the directory
//! given (`bench/dashboard/run.sh` generates 10,000 flags), its control
//! store seeded with a week of hourly usage rollups for every flag through
//! the store's own API, then each page requested in turn (signed in, as a
//! browser would) and timed from request to the last byte. Loopback HTTP
//! is included, so the figures are an upper bound of the render time.
//!
//! `cargo run --release -p vexil-server --example dashboard_pages -- DIR [ROUNDS]`
//! (`USAGE=0` in the environment: no rollups, to see what they cost;
//! `STORE=postgres://...`: the control store in that PostgreSQL database,
//! which should be empty, instead of SQLite in a temporary directory)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use vexil_control::UsageCount;

const HOURS: i64 = 7 * 24;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: dashboard_pages DIR [ROUNDS]")?);
    let rounds: usize = args.next().map_or(Ok(20), |r| r.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(dir, rounds))
}

/// The flags' names, read back from the bundle the server serves.
async fn flag_names(
    http: &reqwest::Client,
    base: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let bundle: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/v1/bundle"))
            .send()
            .await?
            .text()
            .await?,
    )?;
    let names = bundle["bundle"]["flags"]
        .as_array()
        .or_else(|| bundle["flags"].as_array())
        .ok_or("no flags in the bundle")?
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
    Ok(names)
}

async fn seed_usage(store: &str, flags: &[String]) -> Result<usize, Box<dyn std::error::Error>> {
    let store = vexil_control::open(store).await?;
    let now = Timestamp::now();
    let first = vexil_control::hour_of(now - SignedDuration::from_hours(HOURS));
    store.begin_usage(first).await?;
    let mut rows = 0;
    for h in 0..HOURS {
        let hour = first + SignedDuration::from_hours(h);
        let counts: Vec<UsageCount> = flags
            .iter()
            .enumerate()
            .flat_map(|(i, flag)| {
                // Two variants a flag an hour, a few hundred evaluations.
                [("true", "r0", "TARGETING_MATCH"), ("false", "", "DEFAULT")].map(
                    |(variant, rule, reason)| UsageCount {
                        hour,
                        flag: flag.clone(),
                        variant: variant.into(),
                        reason: reason.into(),
                        rule: rule.into(),
                        error: String::new(),
                        count: 100 + (i as u64 * 7 + h as u64) % 300,
                    },
                )
            })
            .collect();
        rows += counts.len();
        store.add_usage(counts, hour).await?;
    }
    Ok(rows)
}

async fn run(dir: PathBuf, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let mut config = vexil_server::Config {
        source: Some(dir.clone()),
        listen: "127.0.0.1:0".parse()?,
        data_dir: Some(data.path().to_path_buf()),
        ..vexil_server::Config::default()
    };
    config.watch_interval_ms = 60_000;
    config.store = std::env::var("STORE").ok().filter(|s| !s.is_empty());
    let started = Instant::now();
    let running = vexil_server::start(config.clone()).await?;
    eprintln!("started on {} in {:.1?}", dir.display(), started.elapsed());
    let base = format!("http://{}", running.addr());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let flags = flag_names(&http, &base).await?;
    running.stop().await;

    // A week of hourly rollups for every flag, written through the store
    // the server keeps them in, then the server started again on it.
    let seeding = Instant::now();
    let store = match &config.store {
        Some(url) => url.clone(),
        None => data.path().join("vexil.db").to_string_lossy().to_string(),
    };
    let rows = if std::env::var("USAGE").is_ok_and(|v| v == "0") {
        0
    } else {
        seed_usage(&store, &flags).await?
    };
    eprintln!(
        "seeded {rows} usage rows ({} flags × {HOURS} hours × 2 variants) in {:.1?}",
        flags.len(),
        seeding.elapsed()
    );
    let running = vexil_server::start(config).await?;
    let base = format!("http://{}", running.addr());

    // Development mode (no keys, loopback): any key signs in as an admin.
    let login = http
        .post(format!("{base}/admin/login"))
        .form(&[("key", "bench")])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_string();
    let middle = &flags[flags.len() / 2];
    let pages = [
        "/admin/flags".to_string(),
        "/admin/flags?q=flag-1&status=live".to_string(),
        format!("/admin/flags/{middle}"),
        "/admin/experiments".to_string(),
        "/admin/rollouts".to_string(),
        "/admin/why".to_string(),
        "/admin/schedule".to_string(),
        "/admin/audit".to_string(),
        "/admin/health".to_string(),
    ];
    println!("| page | bytes | median | p90 | max |");
    println!("|---|---:|---:|---:|---:|");
    // The Flags page's own parts (its `Server-Timing`), in ms per round.
    let mut parts: Vec<(String, Vec<f64>)> = Vec::new();
    for page in &pages {
        let mut times: Vec<Duration> = Vec::with_capacity(rounds);
        let mut bytes = 0;
        for round in 0..rounds + 2 {
            let t = Instant::now();
            let res = http
                .get(format!("{base}{page}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = res.status();
            let timing = res
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = res.bytes().await?;
            let took = t.elapsed();
            if let (Some(timing), true) = (timing, page == "/admin/flags" && round >= 2) {
                for part in timing.split(", ") {
                    let Some((name, ms)) = part.split_once(";dur=") else {
                        continue;
                    };
                    let ms: f64 = ms.parse().unwrap_or(f64::NAN);
                    match parts.iter_mut().find(|(n, _)| n == name) {
                        Some((_, v)) => v.push(ms),
                        None => parts.push((name.to_string(), vec![ms])),
                    }
                }
            }
            if !status.is_success() {
                return Err(format!("{page}: {status}").into());
            }
            bytes = body.len();
            // The first two warm caches and connections.
            if round >= 2 {
                times.push(took);
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "| `{page}` | {bytes} | {:.1} ms | {:.1} ms | {:.1} ms |",
            at(0.5).as_secs_f64() * 1e3,
            at(0.9).as_secs_f64() * 1e3,
            at(1.0).as_secs_f64() * 1e3
        );
    }
    println!();
    println!("| `/admin/flags`, its parts (Server-Timing) | median | max |");
    println!("|---|---:|---:|");
    for (name, mut ms) in parts {
        ms.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} ms | {:.1} ms |",
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        );
    }
    running.stop().await;
    if rows > 0 {
        store_reads(&store, rounds).await?;
    }
    Ok(())
}

/// The Flags page's store read alone, both ways, alternating: every
/// flag's last 24 hours from the window's sums (what the page reads), and
/// summed from the hourly buckets (bounded above, the query does not use
/// the window: what the page read before migration 6).
async fn store_reads(store: &str, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let store = vexil_control::open(store).await?;
    let now = Timestamp::now();
    let since = vexil_control::hour_of(now - SignedDuration::from_hours(24));
    let query = |bounded: bool| vexil_control::UsageQuery {
        since: Some(since),
        until: bounded.then(|| now + SignedDuration::from_hours(1)),
        flag: None,
        totals_only: true,
    };
    let mut times = [Vec::new(), Vec::new()];
    let mut sums = [0u64, 0u64];
    for _ in 0..rounds.max(1) {
        for (i, bounded) in [false, true].into_iter().enumerate() {
            let t = Instant::now();
            let report = store.usage(&query(bounded)).await?;
            times[i].push(t.elapsed());
            sums[i] = report.counts.iter().map(|c| c.count).sum();
        }
    }
    if sums[0] != sums[1] {
        return Err(format!(
            "the window's sums {} differ from the buckets' {}",
            sums[0], sums[1]
        )
        .into());
    }
    println!();
    println!("| every flag's last 24 hours, from the store | median | max |");
    println!("|---|---:|---:|");
    for (i, what) in ["the window's sums", "the buckets summed"]
        .iter()
        .enumerate()
    {
        times[i].sort();
        let t = &times[i];
        println!(
            "| {what} | {:.1} ms | {:.1} ms |",
            t[t.len() / 2].as_secs_f64() * 1e3,
            t[t.len() - 1].as_secs_f64() * 1e3
        );
    }
    Ok(())
}
