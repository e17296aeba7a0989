//! The server's state: the version being served, an immutable [`Served`]
//! behind an atomic pointer that a reload swaps whole, and what the last
//! reload attempt did. Handlers take one `Served` per request and answer
//! from it alone, so a request never sees two versions.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use vexil_runtime::Snapshot;

use crate::auth::Keys;
use crate::config::Config;
use crate::limit::Limiter;
use crate::mapping::Mapping;
use crate::metrics::{EvalCounters, Metrics};
use crate::overrides::Control;
use crate::recorder::Recorder;

/// One loaded version, ready to answer requests.
pub struct Served {
    /// The version with the overrides laid over it: what requests see.
    pub snapshot: Arc<Snapshot>,
    /// The version as compiled, without overrides.
    pub base: Arc<Snapshot>,
    /// The overrides laid over it.
    pub overrides: Arc<vexil_control::OverrideState>,
    pub mapping: Mapping,
    /// A digest of the compiled bundle: equal bundles have equal ids, on
    /// every server, so it can stand in ETags and change events.
    pub bundle_version: String,
    /// The compiled bundle as JSON, for followers (`GET /v1/bundle`).
    pub bundle_json: Box<serde_json::value::RawValue>,
    /// What clients see as the version: the bundle's digest, then
    /// `-o` and the override state's version once overrides were ever set
    /// (a change of either is a change of what is served).
    pub version: String,
    /// When it was swapped in, in microseconds since the epoch.
    pub loaded_at: i64,
    /// Its evaluation counters, resolved once per flag, variant and reason
    /// (and the usage rollups' cells), shared with the usage flusher.
    pub counters: Arc<EvalCounters>,
}

/// A change of the served version, as the event stream announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub version: String,
    /// Seconds since the epoch.
    pub loaded_at: i64,
}

/// The last reload attempt, for `/status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Attempt {
    /// RFC 3339.
    pub at: String,
    pub ok: bool,
    /// The version swapped in, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the new version was refused: rendered diagnostics or failing tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the flags come from.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// The path, or the URL without its query and user information.
    pub path: String,
    /// `directory`, `bundle`, `url`, or `cache` (a URL source whose served
    /// version came from the local cache, because the URL was unreachable
    /// or broken at start and has not served a good version since).
    pub kind: &'static str,
    /// The bundle cache's file, for a URL source with a cache.
    pub cache: Option<String>,
}

pub struct App {
    pub config: Config,
    pub control: Control,
    /// Serialises building a new `Served` (a reload, an override change),
    /// so that neither undoes the other.
    publishing: Mutex<()>,
    pub keys: Keys,
    pub limiter: Limiter,
    pub metrics: Metrics,
    /// The usage rollups' counts, until the flusher writes them.
    pub usage: crate::usage::Usage,
    source: Mutex<SourceInfo>,
    served: ArcSwap<Served>,
    last_attempt: Mutex<Option<Attempt>>,
    changes: watch::Sender<Change>,
    /// Turns true when the server begins to shut down (ends event streams).
    stopping: watch::Sender<bool>,
    /// The event store's writer; none when `events_db` is not set.
    recorder: Option<Arc<Recorder>>,
    /// Where audit entries are delivered.
    pub webhooks: crate::webhooks::Webhooks,
    /// What the rollout monitor acted on: (flag, stage, guard or "").
    notified: Mutex<std::collections::HashSet<(String, String, i64, String)>>,
    /// Where a swap sends the version it replaced, to be freed off the
    /// request threads.
    retired: Retired,
}

impl App {
    /// The state for a first version; `Err` when the configuration does
    /// not fit its schema.
    pub fn new(
        config: Config,
        source: SourceInfo,
        snapshot: Arc<Snapshot>,
        control: Control,
    ) -> Result<App, String> {
        let served = serve(&config, snapshot, control.state())?;
        for problem in served.problems() {
            control.report_unapplied(&problem.target, &problem.message);
        }
        control.audit(
            vexil_control::NewEntry::new(vexil_control::AuditKind::VersionSwapped, "system")
                .reason(format!("server started on {}", source.path))
                .change(
                    None,
                    Some(serde_json::json!({ "version": served.bundle_version })),
                ),
        );
        let metrics = Metrics::new();
        metrics.served(&served.version, served.loaded_at);
        let usage = crate::usage::Usage::default();
        usage.track(served.counters.clone());
        let change = Change {
            version: served.version.clone(),
            loaded_at: served.loaded_at / 1_000_000,
        };
        Ok(App {
            keys: Keys::new(&config.keys),
            limiter: Limiter::new(config.rate_limit.as_ref()),
            metrics,
            usage,
            source: Mutex::new(source),
            served: ArcSwap::from_pointee(served),
            control,
            publishing: Mutex::new(()),
            last_attempt: Mutex::new(None),
            changes: watch::channel(change).0,
            stopping: watch::channel(false).0,
            recorder: None,
            webhooks: crate::webhooks::Webhooks::default(),
            notified: Mutex::new(std::collections::HashSet::new()),
            retired: Retired::start(),
            config,
        })
    }

    /// Take events (`POST /v1/events`, exposures) into `recorder`'s store.
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> App {
        self.metrics.register_recorder(&recorder.counters);
        self.recorder = Some(recorder);
        self
    }

    /// The time now, by the configured clock (the system's outside tests).
    pub fn now(&self) -> i64 {
        self.config.clock.now()
    }

    /// Whether this server's rollout monitor acted on the stage of `flag`'s
    /// rule `rule` that starts at `starts` (for `guard`: a notification's;
    /// `""`: a rollback, pause or hold); marks it. Only a memory of this
    /// process, for the entries its audit writer has not committed yet;
    /// the audit log is the memory that survives a restart
    /// (`rollouts::acted`).
    pub fn rollouts_acted(&self, flag: &str, rule: &str, starts: i64, guard: &str) -> bool {
        self.notified
            .lock()
            .map(|mut n| {
                !n.insert((
                    flag.to_string(),
                    rule.to_string(),
                    starts,
                    guard.to_string(),
                ))
            })
            .unwrap_or(false)
    }

    /// The event store's writer, when there is a store.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_deref()
    }

    /// Where the served version came from.
    pub fn source(&self) -> SourceInfo {
        match self.source.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The source now serves from `kind` (a URL source leaving its cache).
    pub fn set_source_kind(&self, kind: &'static str) {
        if let Ok(mut s) = self.source.lock() {
            if s.kind != kind {
                tracing::info!(
                    from = s.kind,
                    to = kind,
                    "the served version's origin changed"
                );
            }
            s.kind = kind;
        }
    }

    /// The version to answer a request from.
    pub fn served(&self) -> Arc<Served> {
        self.served.load_full()
    }

    /// Swap in a version the engine accepted (it compiled and its tests
    /// passed). Refused, and the current one kept, if the configuration
    /// does not fit its schema.
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        let _one = self.publishing.lock();
        let before = self.served();
        match serve(&self.config, snapshot, self.control.state()) {
            Ok(served) => {
                let version = served.version.clone();
                self.control.audit(
                    vexil_control::NewEntry::new(
                        vexil_control::AuditKind::VersionSwapped,
                        "system",
                    )
                    .reason(format!("a new version of {}", self.source().path))
                    .change(
                        Some(serde_json::json!({ "version": before.bundle_version })),
                        Some(summary(&before.base, &served)),
                    ),
                );
                self.swap(served);
                tracing::info!(version = %version, "serving a new version");
                self.attempted(Some(version), None);
            }
            Err(e) => self.refused(&e),
        }
    }

    /// Lay a newer override state over the version served (an older or
    /// equal one changes nothing).
    pub fn apply_overrides(&self, state: vexil_control::OverrideState) {
        let _one = self.publishing.lock();
        if !self.control.remember(state) {
            return;
        }
        let before = self.served();
        match serve(&self.config, before.base.clone(), self.control.state()) {
            Ok(served) => {
                tracing::info!(
                    overrides = served.overrides.overrides.len(),
                    version = served.overrides.version,
                    "serving new overrides"
                );
                self.swap(served);
            }
            Err(e) => tracing::error!(error = %e, "cannot apply the overrides"),
        }
    }

    /// Swap `served` in and announce it.
    fn swap(&self, served: Served) {
        for problem in served.problems() {
            self.control
                .report_unapplied(&problem.target, &problem.message);
        }
        let change = Change {
            version: served.version.clone(),
            loaded_at: served.loaded_at / 1_000_000,
        };
        self.metrics.served(&served.version, served.loaded_at);
        self.usage.track(served.counters.clone());
        let old = self.served.swap(Arc::new(served));
        self.retired.retire(old);
        // No receiver is fine: no stream is open.
        let _ = self.changes.send(change);
    }

    /// Free `old` on the retire thread (below the request threads'
    /// priority) once nothing else holds it.
    pub(crate) fn retire(&self, old: impl Retiring + 'static) {
        self.retired.retire(old);
    }

    /// A new version was refused; the current one keeps serving.
    pub fn refused(&self, error: &str) {
        self.control.audit(
            vexil_control::NewEntry::new(vexil_control::AuditKind::ReloadFailed, "system")
                .reason(truncate(error, 4000)),
        );
        self.metrics.reload_failed();
        tracing::warn!(
            error = %error,
            "a change to the flags was refused; the last good version keeps serving"
        );
        self.attempted(None, Some(error.to_string()));
    }

    fn attempted(&self, version: Option<String>, error: Option<String>) {
        let attempt = Attempt {
            at: vexil_ir::value::format_timestamp(vexil_runtime::now()),
            ok: error.is_none(),
            version,
            error,
        };
        if let Ok(mut last) = self.last_attempt.lock() {
            *last = Some(attempt);
        }
    }

    pub fn last_attempt(&self) -> Option<Attempt> {
        self.last_attempt.lock().ok().and_then(|a| a.clone())
    }

    /// Changes of the served version, for an event stream.
    pub fn changes(&self) -> watch::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Becomes true when the server stops.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    pub fn stop(&self) {
        let _ = self.stopping.send(true);
    }
}

fn serve(
    config: &Config,
    base: Arc<Snapshot>,
    overrides: Arc<vexil_control::OverrideState>,
) -> Result<Served, String> {
    let bundle = base.bundle();
    let mapping = Mapping::new(
        &bundle.schema,
        base.layout(),
        config.targeting_context.as_deref(),
        config.default_context.as_deref(),
    )?;
    let json = bundle.to_json();
    let digest = Sha256::digest(json.as_bytes());
    let bundle_version = crate::auth::hex(&digest[..8]);
    let version = match overrides.version {
        0 => bundle_version.clone(),
        n => format!("{bundle_version}-o{n}"),
    };
    let counters = Arc::new(EvalCounters::new(bundle, config.usage.enabled));
    Ok(Served {
        snapshot: Arc::new(base.with_overrides(&overrides.specs())),
        base,
        overrides,
        mapping,
        bundle_version,
        bundle_json: serde_json::value::RawValue::from_string(json)
            .map_err(|e| format!("the bundle's JSON does not read back: {e}"))?,
        version,
        loaded_at: vexil_runtime::now(),
        counters,
    })
}

impl Served {
    /// The overrides that do not apply to this version.
    pub fn problems(&self) -> &[vexil_runtime::OverrideProblem] {
        self.snapshot
            .overrides()
            .map(|o| o.problems())
            .unwrap_or_default()
    }

    /// Why the override of `flag` does not apply, if it does not.
    pub fn problem(&self, flag: &str) -> Option<&str> {
        self.problems()
            .iter()
            .find(|p| p.target == flag)
            .map(|p| p.message.as_str())
    }
}

/// What a new version changed, by flag and experiment name.
fn summary(before: &Snapshot, after: &Served) -> serde_json::Value {
    use std::collections::BTreeMap;
    let items = |s: &Snapshot| -> BTreeMap<String, String> {
        let b = s.bundle();
        b.flags
            .iter()
            .map(|f| (f.name.clone(), serde_json::to_string(f).unwrap_or_default()))
            .chain(
                b.experiments
                    .iter()
                    .map(|x| (x.name.clone(), serde_json::to_string(x).unwrap_or_default())),
            )
            .collect()
    };
    let (old, new) = (items(before), items(&after.base));
    let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
    let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    let changed: Vec<&String> = new
        .iter()
        .filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v))
        .map(|(k, _)| k)
        .collect();
    serde_json::json!({
        "version": after.bundle_version,
        "added": added,
        "removed": removed,
        "changed": changed,
    })
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Frees replaced versions on a thread of its own, below the request
/// threads' priority. Freeing a large version (10,000 compiled flags: their
/// code, tables and bundle, or its evaluation counters after their last
/// usage flush) takes milliseconds; without this, whichever request (or
/// the flusher, on a request thread) let go of it last would pay for it.
struct Retired {
    to: Option<mpsc::Sender<Box<dyn Retiring>>>,
}

/// Something to free on the retire thread once nothing else uses it.
pub(crate) trait Retiring: Send {
    /// Whether someone else still holds it (a request answering from it).
    fn in_use(&self) -> bool;
}

impl<T: Send + Sync> Retiring for Arc<T> {
    fn in_use(&self) -> bool {
        Arc::strong_count(self) > 1
    }
}

impl<T: Retiring> Retiring for Vec<T> {
    fn in_use(&self) -> bool {
        self.iter().any(Retiring::in_use)
    }
}

/// How long a replaced version may stay in use before it is freed by its
/// last user after all: requests end within their timeout.
const RETIRE_WAIT: Duration = Duration::from_secs(30);

impl Retired {
    fn start() -> Retired {
        let (to, from) = mpsc::channel::<Box<dyn Retiring>>();
        let spawned = std::thread::Builder::new()
            .name("vexil-retire".to_string())
            .spawn(move || {
                vexil_runtime::lower_this_thread();
                // Ends when the `App` (the sender) is dropped.
                while let Ok(old) = from.recv() {
                    let since = Instant::now();
                    // A request answering from it holds a reference; wait
                    // for it to finish, so that the last one is ours.
                    while old.in_use() && since.elapsed() < RETIRE_WAIT {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    drop(old);
                }
            });
        match spawned {
            Ok(_) => Retired { to: Some(to) },
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the thread that frees replaced versions; requests will");
                Retired { to: None }
            }
        }
    }

    fn retire(&self, old: impl Retiring + 'static) {
        if let Some(to) = &self.to {
            // A send fails only if the thread is gone: `old` then drops here.
            let _ = to.send(Box::new(old));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records which thread dropped it.
    struct Version {
        dropped_on: Arc<Mutex<Option<String>>>,
    }

    impl Drop for Version {
        fn drop(&mut self) {
            let name = std::thread::current().name().map(str::to_string);
            *self.dropped_on.lock().expect("not poisoned") = name.or(Some(String::new()));
        }
    }

    #[test]
    fn a_replaced_version_is_freed_on_the_retire_thread_once_unused() {
        let retired = Retired::start();
        let dropped_on = Arc::new(Mutex::new(None));
        let old = Arc::new(Version {
            dropped_on: dropped_on.clone(),
        });
        // A request still answering from it.
        let in_use = old.clone();
        retired.retire(old);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(*dropped_on.lock().expect("not poisoned"), None);
        drop(in_use);
        let since = Instant::now();
        while dropped_on.lock().expect("not poisoned").is_none() {
            assert!(since.elapsed() < Duration::from_secs(10), "never freed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            dropped_on.lock().expect("not poisoned").as_deref(),
            Some("vexil-retire")
        );
    }
}
