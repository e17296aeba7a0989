//! `@vexil/node`: Vexil's runtime inside a Node.js process, as an N-API
//! addon. Flags are compiled and evaluated in the process (no HTTP), from a
//! directory of `.flag` files (checked, tested and reloaded when they
//! change), a bundle file (`vexil build`), or a `vexil serve` followed like
//! any embedded follower (`GET /v1/bundle` and its change stream).
//!
//! Contexts and answers cross the boundary as JSON text: `JSON.stringify`
//! and `JSON.parse` are the fastest way through N-API for nested objects,
//! and the context is read against the schema of the very snapshot that
//! evaluates it. The JavaScript half (`index.js`) wraps this in a class
//! and an OpenFeature server provider. Every exported function turns a
//! panic into a JavaScript exception (`catch_unwind`): a bug here cannot
//! take the Node process down.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use napi::{Error, Result};
use napi_derive::napi;
use vexil_follow::{FollowOptions as Follow, Follower, Key};
use vexil_runtime::{
    BackendChoice, BundleSource, DedupSink, Engine, EngineOptions, Exposure, ExposureSink,
    LoadError, NewVersion, OwnedExposure, Snapshot, Watcher,
};

/// Events kept for `takeEvents` or the sender before the oldest are dropped.
const EXPOSURES_KEPT: usize = 100_000;
/// Recent assignments remembered, so a unit's repeated evaluations of an
/// experiment give one exposure (as `vexil serve` records them).
const EXPOSURES_DEDUP: usize = 100_000;

/// How a directory or bundle file is opened.
#[napi(object)]
#[derive(Default)]
pub struct OpenOptions {
    /// How often the source is checked for changes, in milliseconds
    /// (default 1000; 0 never checks: `reload()` does).
    pub watch_ms: Option<u32>,
    /// Run the flags' `test` blocks before a version is loaded: one whose
    /// tests fail is refused and the last good one stays (default: true).
    pub run_tests: Option<bool>,
    /// `"auto"` (default: the interpreter answers while machine code is
    /// compiled in the background), `"jit"` or `"interpreter"`.
    pub backend: Option<String>,
    /// Keep events for `takeEvents`: experiments' exposures (once per
    /// unit, variant and experiment) and `track`'s metric events (default:
    /// false).
    pub events: Option<bool>,
}

/// A `vexil serve` to follow.
#[napi(object)]
pub struct FollowOptions {
    /// Its base URL, such as `http://127.0.0.1:8080`.
    pub server: String,
    /// A `server` key (a client key is refused: the bundle holds every rule).
    pub key: String,
    /// A file keeping the last version received, to start from when the
    /// server is unreachable at start.
    pub cache: Option<String>,
    /// How long to wait for the server at start before the cache, in
    /// milliseconds (default 5000).
    pub start_timeout_ms: Option<u32>,
    /// `"auto"`, `"jit"` or `"interpreter"`, as for `open`.
    pub backend: Option<String>,
    /// Keep events for `takeEvents`, as for `open`.
    pub events: Option<bool>,
    /// Send the events (exposures, once per unit, variant and experiment,
    /// and `track`'s) to the server's `POST /v1/events` with the key,
    /// every second and when the flags close (default: false).
    pub send_events: Option<bool>,
}

/// The events kept for `takeEvents` or the sender, exposures deduplicated
/// first.
type Exposures = Arc<DedupSink<Kept>>;

/// Events waiting (in `POST /v1/events`'s JSON), the oldest dropped past
/// [`EXPOSURES_KEPT`] (and counted).
#[derive(Default)]
struct Kept {
    events: Mutex<VecDeque<serde_json::Value>>,
    dropped: AtomicU64,
}

impl Kept {
    fn push(&self, event: serde_json::Value) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() >= EXPOSURES_KEPT {
            events.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        events.push_back(event);
    }
}

impl ExposureSink for Kept {
    fn record(&self, exposure: &Exposure<'_>) {
        self.push(event_json(&exposure.to_owned()));
    }
}

/// Where the engine's exposures go when they are kept: deduplicated, then
/// kept. Shared so that the flags can drain it.
fn exposure_sink(on: Option<bool>) -> (Option<Arc<dyn ExposureSink>>, Option<Exposures>) {
    if on != Some(true) {
        return (None, None);
    }
    let sink = Arc::new(DedupSink::new(Kept::default(), EXPOSURES_DEDUP));
    (Some(sink.clone()), Some(sink))
}

/// What keeps a source followed while the flags are open.
enum Following {
    Nothing,
    Watching(#[expect(dead_code, reason = "held for its Drop, which stops the watcher")] Watcher),
    Server(Follower),
}

/// A followed server's state.
#[napi(object)]
pub struct ServerStatus {
    /// The server's version in force (the bundle's digest, `-oN` for its
    /// overrides).
    pub version: String,
    /// Whether the server answers now.
    pub connected: bool,
    /// Whether the version came from the cache file (the server was
    /// unreachable at start and has not answered since).
    pub from_cache: bool,
    /// The last error talking to the server, if any.
    pub last_error: Option<String>,
}

/// Flags open in this process.
#[napi]
pub struct Flags {
    engine: Arc<Engine>,
    following: Mutex<Following>,
    /// The last reload that failed, rendered (diagnostics, failed tests).
    last_error: Arc<Mutex<Option<String>>>,
    exposures: Option<Exposures>,
    /// Sends the kept events to the followed server, when asked to.
    sender: Mutex<Option<Sender>>,
}

fn backend(name: Option<&str>) -> Result<BackendChoice> {
    match name.unwrap_or("auto") {
        "auto" => Ok(BackendChoice::Auto),
        "jit" => Ok(BackendChoice::Jit),
        "interpreter" => Ok(BackendChoice::Interpreter),
        other => Err(Error::from_reason(format!(
            "no backend `{other}`: it is \"auto\", \"jit\" or \"interpreter\""
        ))),
    }
}

fn load_error(e: LoadError) -> Error {
    Error::from_reason(e.to_string())
}

#[napi]
impl Flags {
    /// Open a directory of `.flag` files or a bundle file, and follow it.
    #[napi(factory, catch_unwind)]
    pub fn open(path: String, options: Option<OpenOptions>) -> Result<Flags> {
        let options = options.unwrap_or_default();
        let (exposure_sink, exposures) = exposure_sink(options.events);
        let engine_options = EngineOptions {
            backend: backend(options.backend.as_deref())?,
            exposure_sink,
            run_tests: options.run_tests.unwrap_or(true),
        };
        let path = PathBuf::from(path);
        let engine = if path.is_dir() {
            Engine::from_dir(&path, engine_options)
        } else {
            BundleFile::open(&path).and_then(|(source, first)| {
                Ok(Engine::from_bundle(first, engine_options)?.with_source(source))
            })
        }
        .map_err(load_error)?;
        let engine = Arc::new(engine);
        let last_error = Arc::new(Mutex::new(None));
        let following = match options.watch_ms.unwrap_or(1000) {
            0 => Following::Nothing,
            ms => {
                let errors = last_error.clone();
                Following::Watching(engine.watch(
                    Duration::from_millis(u64::from(ms)),
                    move |result| {
                        let mut last = errors.lock().unwrap_or_else(|e| e.into_inner());
                        *last = result.err().map(|e| e.to_string());
                    },
                ))
            }
        };
        Ok(Flags {
            engine,
            following: Mutex::new(following),
            last_error,
            exposures,
            sender: Mutex::new(None),
        })
    }

    /// Follow a `vexil serve`: its flags and overrides, changes within
    /// milliseconds over its change stream.
    #[napi(factory, catch_unwind)]
    pub fn follow(options: FollowOptions) -> Result<Flags> {
        let key = options.key.clone();
        let mut follow = Follow::new(options.server, Key::new(options.key));
        follow.cache = options.cache.map(PathBuf::from);
        if let Some(ms) = options.start_timeout_ms {
            follow.start_timeout = Duration::from_millis(u64::from(ms));
        }
        follow.engine.backend = backend(options.backend.as_deref())?;
        let send = options.send_events == Some(true);
        let (exposure_sink, exposures) = exposure_sink(Some(send || options.events == Some(true)));
        follow.engine.exposure_sink = exposure_sink;
        let events_url = format!("{}/v1/events", follow.server.trim_end_matches('/'));
        let follower = Follower::start(follow).map_err(|e| Error::from_reason(e.to_string()))?;
        let sender = match (&exposures, send) {
            (Some(kept), true) => Some(Sender::start(kept.clone(), events_url, key)?),
            _ => None,
        };
        Ok(Flags {
            engine: follower.engine().clone(),
            following: Mutex::new(Following::Server(follower)),
            last_error: Arc::new(Mutex::new(None)),
            exposures,
            sender: Mutex::new(sender),
        })
    }

    /// One flag or experiment for a context (JSON text of an object of
    /// contexts, `{"user": {"id": "u-1"}}`): the answer as JSON text (key,
    /// value, variant, reason, rule, errorCode, errorMessage...).
    #[napi(catch_unwind)]
    pub fn evaluate_json(&self, flag: String, context: String) -> Result<String> {
        let snapshot = self.engine.current();
        let ctx = read_context(&snapshot, &context)?;
        let details = snapshot
            .evaluate(&flag, &ctx, vexil_runtime::now())
            .to_details_of(&flag);
        serde_json::to_string(&details).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// Every flag and experiment for a context (only those marked
    /// `client` with `client_only`), as JSON text of an object keyed by
    /// name.
    #[napi(catch_unwind)]
    pub fn evaluate_all_json(&self, context: String, client_only: Option<bool>) -> Result<String> {
        self.with_json(context)?.evaluate_all_json(client_only)
    }

    /// A context read once, to evaluate many flags for (a request's): the
    /// version loaded now answers all of them, even if another loads
    /// meanwhile.
    #[napi(catch_unwind)]
    pub fn with_json(&self, context: String) -> Result<WithContext> {
        let snapshot = self.engine.snapshot();
        let ctx = read_context(&snapshot, &context)?;
        Ok(WithContext { snapshot, ctx })
    }

    /// The events kept since the last call (with `events: true`), as
    /// JSON text of an array of events in `vexil ingest`'s and `POST
    /// /v1/events`'s format, oldest first; throws without the option.
    #[napi(catch_unwind)]
    pub fn take_events_json(&self) -> Result<String> {
        let Some(sink) = &self.exposures else {
            return Err(Error::from_reason(
                "events are not kept: open the flags with `events: true`",
            ));
        };
        if self
            .sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Err(Error::from_reason(
                "events are sent to the server (`sendEvents: true`), not taken",
            ));
        }
        let events: Vec<serde_json::Value> = sink
            .inner()
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        serde_json::to_string(&events).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// Queue a metric event (`vexil ingest`'s `track` line, the time now)
    /// with the exposures: `event` and `unit` non-empty, `value` finite if
    /// given. Throws when events are not kept or the event is not valid.
    #[napi(catch_unwind)]
    pub fn track(&self, event: String, unit: String, value: Option<f64>) -> Result<()> {
        let Some(sink) = &self.exposures else {
            return Err(Error::from_reason(
                "events are not kept: open the flags with `events: true` or `sendEvents: true`",
            ));
        };
        if event.is_empty() || unit.is_empty() {
            return Err(Error::from_reason(
                "a metric event needs an event name and a unit",
            ));
        }
        let mut line = serde_json::json!({
            "type": "track",
            "event": event,
            "unit": unit,
            "time": vexil_runtime::now(),
        });
        if let Some(v) = value {
            if !v.is_finite() {
                return Err(Error::from_reason(format!(
                    "the event's value {v} is not a finite number"
                )));
            }
            line["value"] = serde_json::json!(v);
        }
        sink.inner().push(line);
        Ok(())
    }

    /// Events dropped because `takeEvents` was not called often enough
    /// (more than 100,000 waiting).
    #[napi(getter, catch_unwind)]
    pub fn events_dropped(&self) -> f64 {
        self.exposures
            .as_ref()
            .map_or(0.0, |s| s.inner().dropped.load(Ordering::Relaxed) as f64)
    }

    /// The names of every flag and experiment, flags first.
    #[napi(catch_unwind)]
    pub fn keys(&self) -> Vec<String> {
        self.engine
            .current()
            .targets()
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// The flags and experiments marked `client` (what a browser may see:
    /// a server-rendered page's bootstrap holds these only).
    #[napi(catch_unwind)]
    pub fn client_keys(&self) -> Vec<String> {
        let snapshot = self.engine.current();
        let bundle = snapshot.bundle();
        let flags = bundle.flags.iter().map(|f| (&f.name, &f.meta));
        let experiments = bundle.experiments.iter().map(|x| (&x.name, &x.meta));
        flags
            .chain(experiments)
            .filter(|(_, meta)| meta.client)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Check the source for a change now and load it: the new version's
    /// number, or `null` when nothing changed. Throws (keeping the running
    /// version) when the new version does not compile or its tests fail.
    #[napi(catch_unwind)]
    pub fn reload(&self) -> Result<Option<u32>> {
        match self.engine.reload() {
            Ok(r) => Ok(r.version.map(|v| v as u32)),
            Err(e) => {
                let text = e.to_string();
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.clone());
                Err(Error::from_reason(text))
            }
        }
    }

    /// The loaded version's number (1 at open, one more at each change).
    #[napi(getter, catch_unwind)]
    pub fn version(&self) -> u32 {
        self.engine.current().version() as u32
    }

    /// Why the last reload was refused (its diagnostics or failed tests),
    /// or `null` if it loaded; the previous version kept serving.
    #[napi(getter, catch_unwind)]
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The followed server's state (`null` unless opened with `follow`).
    #[napi(getter, catch_unwind)]
    pub fn server(&self) -> Option<ServerStatus> {
        let following = self.following.lock().unwrap_or_else(|e| e.into_inner());
        let Following::Server(follower) = &*following else {
            return None;
        };
        let status = follower.status();
        Some(ServerStatus {
            version: status.version,
            connected: status.connected,
            from_cache: status.origin != vexil_follow::Origin::Server,
            last_error: status.last_error,
        })
    }

    /// Whether every flag runs as machine code yet.
    #[napi(getter, catch_unwind)]
    pub fn compiled(&self) -> bool {
        self.engine.current().is_compiled()
    }

    /// Events sent to the server so far, and the last sending error
    /// (`null` unless opened with `sendEvents`).
    #[napi(getter, catch_unwind)]
    pub fn events_sent(&self) -> Option<SentStatus> {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let sender = sender.as_ref()?;
        let state = sender.state.lock().unwrap_or_else(|e| e.into_inner());
        Some(SentStatus {
            sent: state.sent as f64,
            last_error: state.last_error.clone(),
        })
    }

    /// Stop following the source (and send the events still waiting);
    /// the flags keep their last version.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        *self.following.lock().unwrap_or_else(|e| e.into_inner()) = Following::Nothing;
        if let Some(sender) = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take() {
            sender.stop();
        }
    }
}

/// One context, read against one version.
#[napi]
pub struct WithContext {
    snapshot: Arc<Snapshot>,
    ctx: vexil_runtime::Context,
}

#[napi]
impl WithContext {
    /// One flag or experiment, as JSON text (as `Flags.evaluateJson`).
    #[napi(catch_unwind)]
    pub fn evaluate_json(&self, flag: String) -> Result<String> {
        let details = self
            .snapshot
            .evaluate(&flag, &self.ctx, vexil_runtime::now())
            .to_details_of(&flag);
        serde_json::to_string(&details).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// Every flag and experiment (only those marked `client` with
    /// `client_only`), as JSON text of an object keyed by name.
    #[napi(catch_unwind)]
    pub fn evaluate_all_json(&self, client_only: Option<bool>) -> Result<String> {
        let snapshot = &self.snapshot;
        let bundle = snapshot.bundle();
        let client = |target: vexil_runtime::Target| match target {
            vexil_runtime::Target::Flag(i) => {
                bundle.flags.get(i as usize).is_some_and(|f| f.meta.client)
            }
            vexil_runtime::Target::Experiment(i) => bundle
                .experiments
                .get(i as usize)
                .is_some_and(|x| x.meta.client),
        };
        let only_client = client_only == Some(true);
        let now = vexil_runtime::now();
        let answers: Vec<(&str, vexil_runtime::Details)> = snapshot
            .targets()
            .filter(|(_, target)| !only_client || client(*target))
            .map(|(name, target)| {
                let details = snapshot
                    .evaluate_target(target, &self.ctx, now)
                    .to_details();
                (name, details)
            })
            .collect();
        serde_json::to_string(&Answers(&answers)).map_err(|e| Error::from_reason(e.to_string()))
    }
}

/// What the event sender has done.
#[napi(object)]
pub struct SentStatus {
    /// Events the server acknowledged.
    pub sent: f64,
    /// The last failure to send (kept until a send succeeds).
    pub last_error: Option<String>,
}

#[derive(Default)]
struct SentState {
    sent: u64,
    last_error: Option<String>,
}

/// A thread sending the kept events to `POST /v1/events` every second;
/// a failed send puts them back (the oldest dropped past the bound).
struct Sender {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: Arc<Mutex<SentState>>,
}

impl Sender {
    fn start(kept: Exposures, url: String, key: String) -> Result<Sender> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::from_reason(format!("cannot make the events' HTTP client: {e}")))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let state = Arc::new(Mutex::new(SentState::default()));
        let (stopping, shared) = (stop.clone(), state.clone());
        let thread = std::thread::Builder::new()
            .name("vexil-events".into())
            .spawn(move || loop {
                let last = stopping.load(Ordering::Relaxed);
                send_once(&client, &url, &key, kept.inner(), &shared);
                if last {
                    break;
                }
                std::thread::park_timeout(Duration::from_secs(1));
            })
            .map_err(|e| Error::from_reason(format!("cannot start the events' thread: {e}")))?;
        Ok(Sender {
            stop,
            thread: Some(thread),
            state,
        })
    }

    /// Send what waits one last time, then end the thread.
    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }
}

/// One batch (at most 10,000 events) to the server; put back on failure.
fn send_once(
    client: &reqwest::blocking::Client,
    url: &str,
    key: &str,
    kept: &Kept,
    state: &Mutex<SentState>,
) {
    let batch: Vec<serde_json::Value> = {
        let mut events = kept.events.lock().unwrap_or_else(|e| e.into_inner());
        let n = events.len().min(10_000);
        events.drain(..n).collect()
    };
    if batch.is_empty() {
        return;
    }
    let body = serde_json::Value::Array(batch.clone()).to_string();
    let result = client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send();
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    match result {
        // 200 all stored, 207 some refused (invalid: not sent again), 400
        // none valid.
        Ok(r) if r.status().is_success() || r.status().as_u16() == 400 => {
            state.sent += batch.len() as u64;
            state.last_error = None;
        }
        other => {
            state.last_error = Some(match other {
                Ok(r) => format!("the server answered {}", r.status()),
                Err(e) => format!("the server could not be reached: {e}"),
            });
            // Put them back, in order, ahead of newer ones.
            let mut events = kept.events.lock().unwrap_or_else(|e| e.into_inner());
            for e in batch.into_iter().rev() {
                if events.len() >= EXPOSURES_KEPT {
                    kept.dropped.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                events.push_front(e);
            }
        }
    }
}

/// An exposure as `POST /v1/events` and `vexil ingest` take it.
fn event_json(e: &OwnedExposure) -> serde_json::Value {
    serde_json::json!({
        "type": "exposure",
        "experiment": e.experiment,
        "variant": e.variant,
        "unit": e.unit,
        "time": e.time,
    })
}

/// Answers keyed by name, written as a JSON object.
struct Answers<'a>(&'a [(&'a str, vexil_runtime::Details)]);

impl serde::Serialize for Answers<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, details)| (name, details)))
    }
}

/// The context `text` holds, by `snapshot`'s schema. Only text that is not
/// a JSON object is refused; a declared context that is not an object, or
/// a field of the wrong type, marks its fields invalid, so that what
/// reads them answers `INVALID_CONTEXT` (as `vexil serve` does).
fn read_context(snapshot: &Snapshot, text: &str) -> Result<vexil_runtime::Context> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::from_reason(format!("the context is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::from_reason(
            "the context must be an object of contexts, like {\"user\": {\"id\": \"u-1\"}}",
        ));
    }
    Ok(snapshot.layout().context_from_json(&value))
}

/// A bundle file (`vexil build`), read again when it changes.
struct BundleFile {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

impl BundleFile {
    fn open(
        path: &Path,
    ) -> std::result::Result<(BundleFile, vexil_runtime::ir::ValidBundle), LoadError> {
        let mut file = BundleFile {
            path: path.to_path_buf(),
            seen: None,
        };
        match file.poll()? {
            Some(first) => Ok((file, first.bundle)),
            None => Err(LoadError::Io(format!("`{}` is empty", path.display()))),
        }
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }
}

impl BundleSource for BundleFile {
    fn poll(&mut self) -> std::result::Result<Option<NewVersion>, LoadError> {
        let stamp = self.stamp();
        if stamp.is_some() && stamp == self.seen {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| LoadError::Io(format!("cannot read `{}`: {e}", self.path.display())))?;
        let bundle = vexil_runtime::ir::Bundle::from_json(&text).map_err(LoadError::Bundle)?;
        self.seen = stamp;
        Ok(Some(NewVersion {
            bundle,
            warnings: String::new(),
        }))
    }
}
