//! The server's state: the version being served, an immutable [`Served`]
//! behind an atomic pointer that a reload swaps whole, and what the last
//! reload attempt did. Handlers take one `Served` per request and answer
//! from it alone, so a request never sees two versions.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use vexil_runtime::Snapshot;

use crate::auth::Keys;
use crate::config::Config;
use crate::limit::Limiter;
use crate::mapping::Mapping;
use crate::metrics::Metrics;
use crate::recorder::Recorder;

/// One loaded version, ready to answer requests.
pub struct Served {
    pub snapshot: Arc<Snapshot>,
    pub mapping: Mapping,
    /// A digest of the compiled bundle: equal bundles have equal ids, on
    /// every server, so it can stand in ETags and change events.
    pub version: String,
    /// When it was swapped in, in microseconds since the epoch.
    pub loaded_at: i64,
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
    pub keys: Keys,
    pub limiter: Limiter,
    pub metrics: Metrics,
    source: Mutex<SourceInfo>,
    served: ArcSwap<Served>,
    last_attempt: Mutex<Option<Attempt>>,
    changes: watch::Sender<Change>,
    /// Turns true when the server begins to shut down (ends event streams).
    stopping: watch::Sender<bool>,
    /// The event store's writer; none when `events_db` is not set.
    recorder: Option<Arc<Recorder>>,
}

impl App {
    /// The state for a first version; `Err` when the configuration does
    /// not fit its schema.
    pub fn new(config: Config, source: SourceInfo, snapshot: Arc<Snapshot>) -> Result<App, String> {
        let served = serve(&config, snapshot)?;
        let metrics = Metrics::new();
        metrics.served(&served.version, served.loaded_at);
        let change = Change {
            version: served.version.clone(),
            loaded_at: served.loaded_at / 1_000_000,
        };
        Ok(App {
            keys: Keys::new(&config.keys),
            limiter: Limiter::new(config.rate_limit.as_ref()),
            metrics,
            source: Mutex::new(source),
            served: ArcSwap::from_pointee(served),
            last_attempt: Mutex::new(None),
            changes: watch::channel(change).0,
            stopping: watch::channel(false).0,
            recorder: None,
            config,
        })
    }

    /// Take events (`POST /v1/events`, exposures) into `recorder`'s store.
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> App {
        self.metrics.register_recorder(&recorder.counters);
        self.recorder = Some(recorder);
        self
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
        match serve(&self.config, snapshot) {
            Ok(served) => {
                let version = served.version.clone();
                let change = Change {
                    version: version.clone(),
                    loaded_at: served.loaded_at / 1_000_000,
                };
                self.metrics.served(&version, served.loaded_at);
                self.served.store(Arc::new(served));
                // No receiver is fine: no stream is open.
                let _ = self.changes.send(change);
                tracing::info!(version = %version, "serving a new version");
                self.attempted(Some(version), None);
            }
            Err(e) => self.refused(&e),
        }
    }

    /// A new version was refused; the current one keeps serving.
    pub fn refused(&self, error: &str) {
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

fn serve(config: &Config, snapshot: Arc<Snapshot>) -> Result<Served, String> {
    let bundle = snapshot.bundle();
    let mapping = Mapping::new(
        &bundle.schema,
        snapshot.layout(),
        config.targeting_context.as_deref(),
        config.default_context.as_deref(),
    )?;
    let digest = Sha256::digest(bundle.to_json().as_bytes());
    let version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(Served {
        snapshot,
        mapping,
        version,
        loaded_at: vexil_runtime::now(),
    })
}
