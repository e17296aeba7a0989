//! Prometheus metrics (`GET /metrics`, OpenMetrics text): evaluations by
//! flag, variant and reason; errors by code; request latency per endpoint;
//! the served version and when it was loaded; refused reloads; open event
//! streams. Label values come from the loaded flags and a fixed set of
//! codes, never from request input, so their number stays bounded.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, RwLock};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use rustc_hash::FxHashMap;

use vexil_ir::{Bundle, Reason};
use vexil_runtime::Target;

use crate::errors::ApiError;
use crate::state::App;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Evaluation {
    flag: String,
    variant: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Endpoint {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Unknown {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Poll {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Hook {
    hook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Version {
    version: String,
}

type LatencyHistogram = Family<Endpoint, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    evaluations: Family<Evaluation, Counter>,
    errors: Family<Code, Counter>,
    latency: LatencyHistogram,
    /// Each endpoint's histogram, resolved once: a request looks its
    /// route up by reference (FxHash, nothing allocated); the histogram
    /// shares its buckets with the family's.
    latency_by_endpoint: RwLock<FxHashMap<Box<str>, Histogram>>,
    /// Requests answered, every endpoint (the histograms do not tell
    /// their counts outside the registry's text).
    answered: AtomicU64,
    version: Family<Version, Gauge>,
    loaded_at: Gauge<f64, AtomicU64>,
    reload_failures: Counter,
    polls: Family<Poll, Counter>,
    unknown_context_names: Family<Unknown, Counter>,
    sse_clients: Gauge,
    connections_open: Gauge,
    connections_refused: Counter,
    events_accepted: Counter,
    events_rejected: Counter,
    webhook_deliveries: Family<Hook, Counter>,
    webhook_failures: Family<Hook, Counter>,
    webhook_position: Family<Hook, Gauge>,
}

/// Counts a connection as open while it lives.
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vexil");
        let evaluations = Family::<Evaluation, Counter>::default();
        registry.register(
            "evaluations",
            "Flag and experiment evaluations served, by flag, variant and reason",
            evaluations.clone(),
        );
        let errors = Family::<Code, Counter>::default();
        registry.register(
            "errors",
            "Refused requests and failed evaluations, by OpenFeature error code or refusal",
            errors.clone(),
        );
        let latency =
            LatencyHistogram::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by endpoint",
            latency.clone(),
        );
        let version = Family::<Version, Gauge>::default();
        registry.register(
            "served_version",
            "The served version's id (the value is always 1)",
            version.clone(),
        );
        let loaded_at = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "served_version_loaded_timestamp_seconds",
            "When the served version was swapped in, in seconds since the epoch",
            loaded_at.clone(),
        );
        let reload_failures = Counter::default();
        registry.register(
            "reload_failures",
            "Changes to the flags refused because they did not compile or their tests failed, \
             and failed fetches of a bundle URL",
            reload_failures.clone(),
        );
        let polls = Family::<Poll, Counter>::default();
        registry.register(
            "source_polls",
            "Polls of a bundle URL, by result: not_modified (304), changed (a new body), error",
            polls.clone(),
        );
        let unknown_context_names = Family::<Unknown, Counter>::default();
        registry.register(
            "context_unknown_names",
            "Names in request contexts that the schema does not declare (ignored), by kind: \
             context or field",
            unknown_context_names.clone(),
        );
        let sse_clients = Gauge::default();
        registry.register("sse_clients", "Event streams open now", sse_clients.clone());
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "HTTP connections open now",
            connections_open.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections answered 503 because `limits.max_connections` were open",
            connections_refused.clone(),
        );
        let events_accepted = Counter::default();
        registry.register(
            "events_accepted",
            "Events taken by POST /v1/events and committed (duplicates of stored events included)",
            events_accepted.clone(),
        );
        let events_rejected = Counter::default();
        registry.register(
            "events_rejected",
            "Events refused by POST /v1/events (malformed or invalid)",
            events_rejected.clone(),
        );
        let webhook_deliveries = Family::<Hook, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Audit entries delivered to a webhook (answered 2xx), by hook",
            webhook_deliveries.clone(),
        );
        let webhook_failures = Family::<Hook, Counter>::default();
        registry.register(
            "webhook_failures",
            "Failed webhook delivery attempts (retried), by hook",
            webhook_failures.clone(),
        );
        let webhook_position = Family::<Hook, Gauge>::default();
        registry.register(
            "webhook_position",
            "The id of the last audit entry a webhook has taken, by hook",
            webhook_position.clone(),
        );
        Metrics {
            registry,
            webhook_deliveries,
            webhook_failures,
            webhook_position,
            evaluations,
            errors,
            latency,
            latency_by_endpoint: RwLock::default(),
            answered: AtomicU64::new(0),
            version,
            loaded_at,
            reload_failures,
            polls,
            unknown_context_names,
            sse_clients,
            connections_open,
            connections_refused,
            events_accepted,
            events_rejected,
        }
    }

    /// One more open connection, until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections_open.inc();
        ConnectionGuard(self.connections_open.clone())
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub fn evaluated(&self, flag: &str, variant: Option<&str>, reason: &str) {
        self.evaluations
            .get_or_create(&Evaluation {
                flag: flag.to_string(),
                variant: variant.unwrap_or_default().to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Count one evaluation of `target` through the version's resolved
    /// counters: after the first of each (flag, variant, reason), nothing
    /// is allocated or hashed. A variant the version does not declare is
    /// counted by its labels, as [`evaluated`](Metrics::evaluated) does.
    /// The usage rollups' cell is counted beside it, when they are on.
    pub fn evaluated_in(
        &self,
        counters: &EvalCounters,
        usage: &crate::usage::Usage,
        target: Target,
        e: &vexil_runtime::Evaluation<'_>,
    ) {
        let Some((counters, row, column)) = counters.locate(target, e.variant, e.reason) else {
            self.evaluated(e.key, e.variant, e.reason.as_str());
            if counters.usage_on {
                let rule = e
                    .rule
                    .map(|(i, name)| name.map_or(format!("#{}", i + 1), str::to_string));
                let outcome = crate::usage::outcome(e.reason, e.error);
                usage.count_odd(
                    e.key,
                    e.variant.unwrap_or_default(),
                    rule.as_deref().unwrap_or_default(),
                    outcome,
                );
            }
            return;
        };
        if let Some(cell) = counters.cells.get(row * Reason::ALL.len() + column) {
            cell.get_or_init(|| {
                let label = Evaluation {
                    flag: e.key.to_string(),
                    variant: e.variant.unwrap_or_default().to_string(),
                    reason: e.reason.as_str().to_string(),
                };
                (*self.evaluations.get_or_create(&label)).clone()
            })
            .inc();
        }
        if let Some(cells) = &counters.usage {
            let outcome = crate::usage::outcome(e.reason, e.error);
            if !cells.count(row, e.rule.map(|(i, _)| i), outcome) {
                let rule = e
                    .rule
                    .map(|(i, name)| name.map_or(format!("#{}", i + 1), str::to_string));
                usage.count_odd(
                    e.key,
                    e.variant.unwrap_or_default(),
                    rule.as_deref().unwrap_or_default(),
                    outcome,
                );
            }
        }
    }

    pub fn error(&self, code: &str) {
        self.errors
            .get_or_create(&Code {
                code: code.to_string(),
            })
            .inc();
    }

    /// Count a refusal, and pass it on.
    pub fn refuse(&self, e: ApiError) -> ApiError {
        self.error(e.metric_code());
        e
    }

    pub fn served(&self, version: &str, loaded_at_micros: i64) {
        self.version.clear();
        self.version
            .get_or_create(&Version {
                version: version.to_string(),
            })
            .set(1);
        self.loaded_at.set(loaded_at_micros as f64 / 1e6);
    }

    pub fn reload_failed(&self) {
        self.reload_failures.inc();
    }

    /// The event writer's counts of the server's own exposures.
    pub fn register_recorder(&mut self, counters: &crate::recorder::Counters) {
        self.registry.register(
            "exposures_recorded",
            "Exposures of experiments evaluated through OFREP committed to the event store \
             (once per experiment, variant and unit while remembered)",
            counters.exposures_recorded.clone(),
        );
        self.registry.register(
            "exposures_dropped",
            "Exposures dropped because the event writer's queue was full",
            counters.exposures_dropped.clone(),
        );
    }

    pub fn webhook_delivered(&self, hook: &str) {
        self.webhook_deliveries
            .get_or_create(&Hook { hook: hook.into() })
            .inc();
    }

    pub fn webhook_failed(&self, hook: &str) {
        self.webhook_failures
            .get_or_create(&Hook { hook: hook.into() })
            .inc();
    }

    pub fn webhook_position(&self, hook: &str, position: u64) {
        self.webhook_position
            .get_or_create(&Hook { hook: hook.into() })
            .set(i64::try_from(position).unwrap_or(i64::MAX));
    }

    /// A `POST /v1/events` answered.
    pub fn events(&self, accepted: u64, rejected: u64) {
        self.events_accepted.inc_by(accepted);
        self.events_rejected.inc_by(rejected);
    }

    /// A poll of a bundle URL: `not_modified`, `changed` or `error`.
    /// Unknown contexts and fields in a request's context.
    pub fn unknown_names(&self, (contexts, fields): (u64, u64)) {
        if contexts > 0 {
            self.unknown_context_names
                .get_or_create(&Unknown { kind: "context" })
                .inc_by(contexts);
        }
        if fields > 0 {
            self.unknown_context_names
                .get_or_create(&Unknown { kind: "field" })
                .inc_by(fields);
        }
    }

    pub fn polled(&self, result: &'static str) {
        self.polls.get_or_create(&Poll { result }).inc();
    }

    /// One more open stream, until the guard is dropped.
    pub fn stream_opened(&self) -> StreamGuard {
        self.sse_clients.inc();
        StreamGuard {
            gauge: self.sse_clients.clone(),
        }
    }

    pub fn open_streams(&self) -> i64 {
        self.sse_clients.get()
    }

    /// Requests answered since start, on every endpoint.
    pub(crate) fn requests_answered(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time one answer on `endpoint` (a route, so their number is bounded).
    pub fn observe(&self, endpoint: &str, seconds: f64) {
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Observed under the map's read lock: no clone of the histogram's
        // `Arc` (two atomic read-modify-writes on a line every request
        // thread shares) per request.
        if let Ok(m) = self.latency_by_endpoint.read() {
            if let Some(h) = m.get(endpoint) {
                h.observe(seconds);
                return;
            }
        }
        let label = Endpoint {
            endpoint: endpoint.to_string(),
        };
        let h = (*self.latency.get_or_create(&label)).clone();
        h.observe(seconds);
        if let Ok(mut m) = self.latency_by_endpoint.write() {
            m.insert(endpoint.into(), h);
        }
    }

    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// One version's evaluation counters, resolved on first use: per flag and
/// experiment, a cell for each (variant, reason). A counter handed out by
/// the family shares its value, so `/metrics` shows the same counts.
pub struct EvalCounters {
    flags: Box<[TargetCounters]>,
    experiments: Box<[TargetCounters]>,
    /// Whether usage rollups are counted.
    usage_on: bool,
}

struct TargetCounters {
    /// The flag's or experiment's name.
    key: Box<str>,
    /// The target's variant names; slot row 0 is "no variant", row `i + 1`
    /// is `variants[i]`.
    variants: Box<[Box<str>]>,
    /// `row * Reason::ALL.len() + reason`.
    cells: Box<[OnceLock<Counter>]>,
    /// Its usage rollup cells, when they are on.
    usage: Option<crate::usage::TargetUsage>,
}

impl EvalCounters {
    /// The counters of `bundle`'s flags and experiments; with `usage`,
    /// the usage rollups' cells too.
    pub fn new(bundle: &Bundle, usage: bool) -> EvalCounters {
        let named = |key: &str, names: Vec<&str>, rules: &[vexil_ir::Rule]| {
            let mut unique: Vec<Box<str>> = Vec::new();
            for name in names {
                if !unique.iter().any(|u| &**u == name) {
                    unique.push(name.into());
                }
            }
            let rows = unique.len() + 1;
            TargetCounters {
                key: key.into(),
                cells: (0..rows * Reason::ALL.len())
                    .map(|_| OnceLock::new())
                    .collect(),
                variants: unique.into(),
                usage: usage.then(|| crate::usage::TargetUsage::new(rules, rows)),
            }
        };
        EvalCounters {
            flags: bundle
                .flags
                .iter()
                .map(|f| {
                    named(
                        &f.name,
                        f.values
                            .iter()
                            .filter_map(|v| v.variant.as_deref())
                            .collect(),
                        &f.rules,
                    )
                })
                .collect(),
            experiments: bundle
                .experiments
                .iter()
                .map(|x| {
                    named(
                        &x.name,
                        x.variants.iter().map(|v| v.name.as_str()).collect(),
                        &[],
                    )
                })
                .collect(),
            usage_on: usage,
        }
    }

    /// The target's counters, the variant's row and the reason's column.
    fn locate(
        &self,
        target: Target,
        variant: Option<&str>,
        reason: Reason,
    ) -> Option<(&TargetCounters, usize, usize)> {
        let counters = match target {
            Target::Flag(i) => self.flags.get(i as usize)?,
            Target::Experiment(i) => self.experiments.get(i as usize)?,
        };
        let row = match variant {
            None => 0,
            Some(name) => 1 + counters.variants.iter().position(|v| &**v == name)?,
        };
        let column = Reason::ALL.iter().position(|r| *r == reason)?;
        Some((counters, row, column))
    }

    /// Whether the usage rollups' cells are counted.
    pub(crate) fn usage_on(&self) -> bool {
        self.usage_on
    }

    /// Read and reset the usage cells: (flag, variant, rule label,
    /// outcome column, count) for each non-zero one.
    pub(crate) fn drain_usage(&self, mut out: impl FnMut(&str, &str, &str, usize, u64)) {
        for t in self.flags.iter().chain(self.experiments.iter()) {
            if let Some(usage) = &t.usage {
                usage.drain(|row, rule, column, count| {
                    let variant = match row.checked_sub(1) {
                        None => "",
                        Some(v) => t.variants.get(v).map_or("", |v| &**v),
                    };
                    out(&t.key, variant, rule, column, count);
                });
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Counts an open event stream while it lives.
pub struct StreamGuard {
    gauge: Gauge,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// `GET /metrics`.
pub async fn render(State(app): State<Arc<App>>) -> Response {
    match app.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => {
            ApiError::from_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}
