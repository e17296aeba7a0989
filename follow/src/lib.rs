//! An embedded [`Engine`] that follows a `vexil serve` server instead of a
//! directory: it fetches the compiled bundle and the overrides
//! (`GET /v1/bundle`, with ETags), subscribes to the server's change stream
//! to fetch again at once (with a jittered poll as a safety net), compiles
//! each version locally through the engine's normal load path, and lays
//! the overrides over it. Evaluation stays in-process: no flag is ever
//! evaluated over the network. When the server is unreachable the last
//! version keeps serving and the follower reconnects with backoff; with a
//! cache file, a process started during an outage starts from its last
//! flags, and says so ([`Origin::Cache`]).
//!
//! The server key is a secret: it is sent in a header marked sensitive
//! and never appears in a message, a log line or the cache.

#![warn(missing_docs)]

mod cache;
mod server;
mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use vexil_runtime::{Engine, EngineOptions, LoadError};

/// A `server` (or `admin`) key's secret. Shown nowhere: its `Debug` hides it.
#[derive(Clone)]
pub struct Key(String);

impl Key {
    /// The key whose secret is `secret`.
    pub fn new(secret: impl Into<String>) -> Key {
        Key(secret.into())
    }

    fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<secret>)")
    }
}

/// A function told of every [`Event`], on the follower's thread.
pub type OnEvent = Arc<dyn Fn(&Event) + Send + Sync>;

/// What to follow and how.
#[derive(Clone)]
pub struct FollowOptions {
    /// The server's base URL, such as `http://127.0.0.1:8080`.
    pub server: String,
    /// A `server` key (client keys are refused: the bundle holds every rule).
    pub key: Key,
    /// A file keeping the last version received (written atomically), to
    /// start from when the server is unreachable at start.
    pub cache: Option<PathBuf>,
    /// How often to ask the server even without a change announced (±10%).
    pub poll_interval: Duration,
    /// How long [`Follower::start`] waits for the server before starting
    /// from the cache (or failing without one).
    pub start_timeout: Duration,
    /// How long a change stream may stay silent (the server sends a
    /// keep-alive every 15 s by default) before it is taken as broken.
    pub stream_idle_timeout: Duration,
    /// The largest response accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// How the engine evaluates (backend, exposure sink, tests).
    pub engine: EngineOptions,
    /// Called on the follower's thread with every [`Event`].
    pub on_event: Option<OnEvent>,
}

impl FollowOptions {
    /// Follow `server` with `key`, with the defaults: no cache, a poll
    /// every 30 s, 5 s to start, 45 s of silence, 64 MiB.
    pub fn new(server: impl Into<String>, key: Key) -> FollowOptions {
        FollowOptions {
            server: server.into(),
            key,
            cache: None,
            poll_interval: Duration::from_secs(30),
            start_timeout: Duration::from_secs(5),
            stream_idle_timeout: Duration::from_secs(45),
            max_bundle_bytes: 64 << 20,
            engine: EngineOptions::default(),
            on_event: None,
        }
    }
}

/// Where the version in force came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The server.
    Server,
    /// The cache file, written at `saved_at`, because the server was
    /// unreachable at start and has not answered since.
    Cache {
        /// When the server's version was written to the cache.
        saved_at: jiff::Timestamp,
    },
}

/// What the follower did, for a service's logs and metrics.
#[derive(Clone, Debug)]
pub enum Event {
    /// A version is in force: the first one, or a change (of the flags,
    /// of the overrides, or both).
    Loaded {
        /// The server's version (the bundle's digest, then `-oN` for the
        /// override state).
        version: String,
        /// Whether the flags changed (recompiled), not only the overrides.
        flags_changed: bool,
        /// How many overrides are laid over the flags.
        overrides: usize,
        /// Where it came from.
        origin: Origin,
    },
    /// The server answers (again).
    Connected,
    /// The server stopped answering; the last version keeps serving and
    /// the follower reconnects with backoff.
    Disconnected {
        /// Why.
        error: String,
    },
    /// The server sent flags that do not load here; the last version keeps
    /// serving (its overrides still apply).
    Refused {
        /// The refused version.
        version: String,
        /// Why.
        error: String,
    },
    /// The cache file could not be written; serving goes on.
    CacheFailed {
        /// Why.
        error: String,
    },
}

/// The follower's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The server's version in force.
    pub version: String,
    /// Where it came from.
    pub origin: Origin,
    /// Whether the server answered the last request.
    pub connected: bool,
    /// The last error, until the server answers again.
    pub last_error: Option<String>,
}

/// Why a follower did not start.
#[derive(Debug)]
pub enum FollowError {
    /// The options are unusable (the URL, the cache file).
    Config(String),
    /// The server refused the key (401 or 403).
    Refused(String),
    /// The server is unreachable and there is no usable cache.
    Unavailable(String),
    /// The flags received (or cached) do not load.
    Load(String),
}

impl std::fmt::Display for FollowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FollowError::Config(e)
            | FollowError::Refused(e)
            | FollowError::Unavailable(e)
            | FollowError::Load(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for FollowError {}

impl From<LoadError> for FollowError {
    fn from(e: LoadError) -> FollowError {
        FollowError::Load(e.to_string())
    }
}

/// What the follower's thread and its owner share.
struct Shared {
    status: Mutex<Status>,
    on_event: Option<OnEvent>,
}

impl Shared {
    fn tell(&self, event: Event) {
        match &event {
            Event::Loaded {
                version, origin, ..
            } => match origin {
                Origin::Server => tracing::info!(%version, "following a new version"),
                Origin::Cache { saved_at } => tracing::warn!(
                    %version, %saved_at,
                    "the server is unreachable: starting from the cached flags"
                ),
            },
            Event::Connected => tracing::info!("the server answers"),
            Event::Disconnected { error } => tracing::warn!(
                %error,
                "the server is unreachable; the last version keeps serving"
            ),
            Event::Refused { version, error } => tracing::warn!(
                %version, %error,
                "the server's flags do not load here; the last version keeps serving"
            ),
            Event::CacheFailed { error } => {
                tracing::warn!(%error, "the flags could not be cached")
            }
        }
        if let Some(on_event) = &self.on_event {
            on_event(&event);
        }
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut status);
    }
}

/// An engine following a server. Evaluate with [`engine`](Follower::engine);
/// dropping the follower stops following (the engine keeps its last version).
pub struct Follower {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Load the server's current version (or, when the server does not
    /// answer within [`FollowOptions::start_timeout`], the cached one) and
    /// follow the server on a thread of its own. Fails when the server
    /// refuses the key, or when neither the server nor the cache gives a
    /// version that loads.
    pub fn start(options: FollowOptions) -> Result<Follower, FollowError> {
        let client = server::Client::new(&options)?;
        let shared = Arc::new(Shared {
            status: Mutex::new(Status {
                version: String::new(),
                origin: Origin::Server,
                connected: false,
                last_error: None,
            }),
            on_event: options.on_event.clone(),
        });
        // Everything asynchronous runs on the follower's own thread, so
        // that `start` may be called from any thread, async or not.
        let (started, first) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("vexil-follow".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let e = format!("cannot start the follower's runtime: {e}");
                        let _ = started.send(Err(FollowError::Config(e)));
                        return;
                    }
                };
                let worker = runtime.block_on(first_version(client, &options, thread_shared));
                match worker {
                    Ok(worker) => {
                        let _ = started.send(Ok(worker.engine()));
                        runtime.block_on(worker.run(stopped));
                    }
                    Err(e) => {
                        let _ = started.send(Err(e));
                    }
                }
            })
            .map_err(|e| FollowError::Config(format!("cannot start the follower's thread: {e}")))?;
        let engine = first.recv().map_err(|_| {
            FollowError::Config("the follower's thread stopped before it started".into())
        })??;
        Ok(Follower {
            engine,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The engine: evaluate with it (or keep its snapshots); it always
    /// holds the last version that loaded.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// What is in force, from where, and whether the server answers.
    pub fn status(&self) -> Status {
        self.shared
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The first version: the server's, or the cache's when the server does
/// not give one that loads in time.
async fn first_version(
    client: server::Client,
    options: &FollowOptions,
    shared: Arc<Shared>,
) -> Result<worker::Worker, FollowError> {
    let cache = options.cache.clone().map(cache::Cache::new);
    let first = tokio::time::timeout(options.start_timeout, client.fetch(None, None))
        .await
        .unwrap_or_else(|_| {
            Err(server::FetchError::Unreachable(format!(
                "{} did not answer within {} ms",
                client.shown(),
                options.start_timeout.as_millis()
            )))
        });
    match first {
        Ok(server::Fetched::Changed(payload)) => {
            let from_server = worker::Worker::from_server(
                payload,
                client.clone(),
                cache.clone(),
                options,
                shared.clone(),
            );
            match from_server {
                Ok(w) => Ok(w),
                Err(e) => worker::Worker::from_cache(cache, client, options, shared, e),
            }
        }
        Ok(server::Fetched::NotModified) => Err(FollowError::Unavailable(format!(
            "{} answered 304 to a first request",
            client.shown()
        ))),
        // A wrong key is a mistake to fix, not an outage to ride out.
        Err(server::FetchError::Refused(e)) => Err(FollowError::Refused(e)),
        Err(server::FetchError::Unreachable(e)) => {
            worker::Worker::from_cache(cache, client, options, shared, FollowError::Unavailable(e))
        }
    }
}
