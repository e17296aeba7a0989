//! The Health page (system impact): the version served and where it came
//! from, reload history and failures with their diagnostics (the audit
//! log's), and the traffic figures `/metrics` serves: requests per second,
//! latency percentiles by endpoint, errors by code, event-stream clients,
//! events taken and refused.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use vexil_control::{AuditKind, AuditQuery};

use super::flags::count;
use super::page::{self, Nav};
use super::readings::{self, Sample};
use super::session::User;
use super::Dashboard;
use crate::state::App;

/// How often the request count is sampled, and how many samples are kept
/// (a minute's worth).
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const SAMPLES: usize = 13;

/// Requests answered, sampled every few seconds, for a rate over the last
/// minute.
#[derive(Default)]
pub struct Rate {
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

impl Rate {
    fn record(&self, answered: u64) {
        if let Ok(mut s) = self.samples.lock() {
            s.push_back((Instant::now(), answered));
            while s.len() > SAMPLES {
                s.pop_front();
            }
        }
    }

    /// Requests per second between the oldest sample and now.
    fn per_second(&self, answered_now: u64) -> Option<f64> {
        let s = self.samples.lock().ok()?;
        let (at, then) = s.front()?;
        let seconds = at.elapsed().as_secs_f64();
        (seconds >= 1.0).then(|| answered_now.saturating_sub(*then) as f64 / seconds)
    }
}

/// Sample the request count until the server stops.
pub fn sample(app: Arc<App>, rate: Arc<Rate>) {
    let mut stopping = app.stopping();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => rate.record(app.metrics.requests_answered()),
                _ = stopping.changed() => return,
            }
        }
    });
}

/// A percentile of a cumulative histogram: the upper bound of the first
/// bucket holding it (`None` above the last finite bound).
fn percentile(buckets: &[(f64, f64)], total: f64, q: f64) -> Option<f64> {
    let rank = q * total;
    buckets
        .iter()
        .find(|(_, cumulative)| *cumulative >= rank)
        .map(|(le, _)| *le)
        .filter(|le| le.is_finite())
}

fn millis(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s < 0.001 => format!("≤ {:.2} ms", s * 1000.0),
        Some(s) => format!("≤ {:.1} ms", s * 1000.0),
        None => "above the last bucket".to_string(),
    }
}

/// An endpoint's latency histogram: (upper bound, cumulative count) by
/// bucket, and the count of requests.
type Latency = (Vec<(f64, f64)>, f64);

fn total(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// `GET /admin/health`.
pub async fn page(State(dashboard): State<Arc<Dashboard>>, user: User) -> Response {
    let app = &dashboard.app;
    let served = app.served();
    let source = app.source();
    let samples = readings::samples(app);
    let answered = app.metrics.requests_answered();
    let rate = dashboard.rate.per_second(answered);
    // Latency by endpoint: (le, cumulative) per endpoint, and the count.
    let mut latency: BTreeMap<&str, Latency> = BTreeMap::new();
    for s in &samples {
        let Some(endpoint) = s.label("endpoint") else {
            continue;
        };
        let entry = latency.entry(endpoint).or_default();
        match s.name.as_str() {
            "vexil_http_request_duration_seconds_bucket" => {
                let le = s.label("le").and_then(|l| l.parse::<f64>().ok());
                if let Some(le) = le {
                    entry.0.push((le, s.value));
                }
            }
            "vexil_http_request_duration_seconds_count" => entry.1 = s.value,
            _ => {}
        }
    }
    let errors: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == "vexil_errors_total")
        .collect();
    let error_total: f64 = errors.iter().map(|s| s.value).sum();
    let history = app
        .control
        .store
        .audit(&AuditQuery::default())
        .await
        .map(|entries| {
            let mut reloads: Vec<_> = entries
                .into_iter()
                .filter(|e| matches!(e.kind, AuditKind::VersionSwapped | AuditKind::ReloadFailed))
                .collect();
            reloads.reverse();
            reloads.truncate(20);
            reloads
        });
    let last = app.last_attempt();
    let body = html! {
        h1 { "Health" }
        section.cards {
            div.card { h2 { "Serving" } p.big { code { (served.version) } }
                p { "from " (source.kind) " " code { (source.path) } }
                p { "since " (page::time_micros(served.loaded_at)) }
                p { "backend: " (served.snapshot.backend_name()) } }
            div.card { h2 { "Requests per second" } p.big { (rate.map_or("measuring…".to_string(), |r| format!("{r:.1}"))) }
                p { (count(answered as f64)) " answered since start" } }
            div.card { h2 { "Errors" } p.big { (count(error_total)) }
                p { (format!("{:.2}%", 100.0 * error_total / (answered as f64).max(1.0))) " of requests" } }
            div.card { h2 { "Event-stream clients" } p.big { (count(total(&samples, "vexil_sse_clients"))) } }
            div.card { h2 { "Events" }
                p { (count(total(&samples, "vexil_events_accepted_total"))) " ingested, "
                    (count(total(&samples, "vexil_events_rejected_total"))) " rejected" }
                p { (count(total(&samples, "vexil_exposures_recorded_total"))) " exposures recorded, "
                    (count(total(&samples, "vexil_exposures_dropped_total"))) " dropped" } }
            div.card { h2 { "Reloads refused" } p.big { (count(total(&samples, "vexil_reload_failures_total"))) } }
        }
        @if let Some(a) = &last {
            @if !a.ok {
                section.failure { h2 { "The last reload failed (" (a.at) ")" }
                    p { "The version above keeps serving." }
                    pre.diagnostics { (a.error.as_deref().unwrap_or("")) } }
            }
        }
        section {
            h2 { "Latency by endpoint" }
            table.latency {
                thead { tr { th { "Endpoint" } th.num { "Requests" } th.num { "p50" } th.num { "p95" } th.num { "p99" } } }
                tbody { @for (endpoint, (buckets, n)) in &latency {
                    tr { td { code { (endpoint) } } td.num { (count(*n)) }
                        td.num { (millis(percentile(buckets, *n, 0.50))) }
                        td.num { (millis(percentile(buckets, *n, 0.95))) }
                        td.num { (millis(percentile(buckets, *n, 0.99))) } }
                } }
            }
        }
        section {
            h2 { "Errors by code" }
            @if errors.is_empty() { p { "None." } } @else {
                table { thead { tr { th { "Code" } th.num { "Count" } } }
                    tbody { @for e in &errors { tr { td { code { (e.label("code").unwrap_or("")) } } td.num { (count(e.value)) } } } } }
            }
        }
        section {
            h2 { "Reload history" }
            @match &history {
                Ok(entries) if entries.is_empty() => { p { "No reloads yet." } }
                Ok(entries) => {
                    table.reloads { thead { tr { th { "When" } th { "Result" } th { "Detail" } } }
                        tbody { @for e in entries {
                            tr { td.when { (page::time(e.at)) }
                                td { @if e.kind == AuditKind::ReloadFailed { span.status.expired { "refused" } } @else { span.status.live { "swapped in" } } }
                                td { @if e.kind == AuditKind::ReloadFailed { pre.diagnostics { (e.reason.as_deref().unwrap_or("")) } }
                                     @else { (e.reason.as_deref().unwrap_or("")) } } }
                        } } }
                }
                Err(e) => { p.error { "The audit log cannot be read: " (e) } }
            }
        }
    };
    super::html(
        StatusCode::OK,
        page::shell("Health", &user, Nav::Health, app.keys.is_empty(), body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentile_is_the_first_bucket_that_holds_its_rank() {
        let buckets = [
            (0.001, 50.0),
            (0.002, 90.0),
            (0.004, 99.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(percentile(&buckets, 100.0, 0.5), Some(0.001));
        assert_eq!(percentile(&buckets, 100.0, 0.95), Some(0.004));
        assert_eq!(percentile(&buckets, 100.0, 0.999), None);
    }
}
