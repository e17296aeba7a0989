//! `vexil serve`: the evaluation server. It answers OpenFeature's Remote
//! Evaluation Protocol (OFREP 0.3.0) from compiled flags, follows their
//! source (a watched directory of `.flag` files, or a bundle file), swaps in
//! only versions that compile and pass their own tests, and tells clients
//! of each swap on a server-sent event stream.
//!
//! [`start`] binds and serves until [`Running::stop`]; [`run`] is the
//! command: start, then stop on SIGTERM or Ctrl-C, draining requests.

mod admin;
mod auth;
mod bundle;
mod cache;
mod config;
mod dashboard;
mod envelope;
mod errors;
mod events;
mod keys;
mod limit;
mod listen;
mod mapping;
mod metrics;
mod ofrep;
mod ops;
mod overrides;
mod recorder;
mod remote;
mod request_json;
mod rollouts;
mod router;
mod source;
mod state;
mod stream;
mod usage;
mod usage_api;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::{hash_secret, KeyEntry, Scope};
pub use config::{
    Clock, Config, Cors, Events, Limits, RateLimit, Rollouts, Sse, Usage, DEFAULT_CACHE_DIR,
    DEFAULT_EVENTS_DB,
};
pub use dashboard::DashboardConfig;
pub use webhooks::WebhookConfig;

/// Why the server did not start.
#[derive(Debug)]
pub enum ServeError {
    /// The flags do not load: they do not compile, their tests fail, or the
    /// source cannot be read. The message holds the rendered diagnostics.
    Flags(String),
    /// The configuration or the invocation is unusable.
    Config(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Flags(e) | ServeError::Config(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ServeError {}

/// A server listening and answering.
pub struct Running {
    addr: SocketAddr,
    app: Arc<state::App>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    // Dropped last: stops following the source.
    _follower: source::Follower,
}

impl Running {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Check every guarded rollout now (by the configured clock) and act on
    /// each breach, as the monitor does on its schedule: the statuses
    /// after acting, as JSON (`GET /v1/rollouts`' `rollouts`).
    pub async fn check_rollouts(&self) -> serde_json::Value {
        let statuses = rollouts::check(&self.app, self.app.now()).await;
        serde_json::to_value(statuses).unwrap_or_default()
    }

    /// Stop accepting, end the event streams, and wait for requests in
    /// flight (at most `limits.shutdown_grace_ms`).
    pub async fn stop(mut self) {
        self.app.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let grace = Duration::from_millis(self.app.config.limits.shutdown_grace_ms);
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(Ok(Ok(()))) => tracing::info!("stopped"),
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "the server failed"),
            Ok(Err(e)) => tracing::error!(error = %e, "the server task failed"),
            Err(_) => {
                tracing::warn!("requests still in flight after the grace period; stopping anyway");
                self.task.abort();
            }
        }
        // The usage counted since the last flush (requests have drained).
        if self.app.config.usage.enabled {
            usage::flush(&self.app).await;
        }
        // Commit the exposures still queued.
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(recorder) = app.recorder() {
                recorder.close();
            }
        })
        .await;
    }
}

/// Load the flags, bind, and serve in the background.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    let path: PathBuf = config.source.clone().ok_or_else(|| {
        ServeError::Config(
            "no flags to serve: give a directory, a bundle file or a bundle URL".to_string(),
        )
    })?;
    config.dashboard.check().map_err(ServeError::Config)?;
    config.dashboard.check_paths().map_err(ServeError::Config)?;
    let dev_mode = config.keys.is_empty();
    if dev_mode && !config.listen.ip().is_loopback() {
        return Err(ServeError::Config(format!(
            "refusing to listen on `{}` without API keys: anyone who can reach it could read every flag; \
             configure keys (`[[keys]]` in the config file or `VEXIL_KEYS`), or listen on a loopback address such as 127.0.0.1",
            config.listen
        )));
    }
    // The event store first: the engine's exposures go to it.
    let recorder = match &config.events_db {
        Some(db) => {
            let (db, queue) = (db.clone(), config.events.queue);
            let opened = tokio::task::spawn_blocking(move || recorder::Recorder::open(&db, queue))
                .await
                .map_err(|e| ServeError::Config(e.to_string()))?
                .map_err(ServeError::Config)?;
            Some(Arc::new(opened))
        }
        None => None,
    };
    let sink = recorder
        .as_ref()
        .map(|r| r.exposure_sink(config.events.exposure_dedup));
    let mut opened = source::open_configured(&config, &path, sink)
        .await
        .map_err(ServeError::Flags)?;
    // The override and audit store: the server does not start without it,
    // so that it never serves without the overrides in force.
    let spec = config.store_spec();
    let store = vexil_control::open(&spec)
        .await
        .map_err(|e| ServeError::Config(format!("cannot open the override store: {e}")))?;
    let overrides = store
        .state()
        .await
        .map_err(|e| ServeError::Config(format!("cannot read the overrides: {e}")))?;
    tracing::info!(store = %store.describe(), overrides = overrides.overrides.len(), "override store open");
    // Before anything is appended: a new hook starts at the log's end.
    let webhooks = webhooks::Webhooks::open(&config.webhooks, store.as_ref())
        .await
        .map_err(ServeError::Config)?;
    let control = overrides::Control::new(store, overrides);
    let mut app = state::App::new(
        config,
        opened.info.clone(),
        opened.engine.snapshot(),
        control,
    )
    .map_err(ServeError::Config)?;
    if let Some(recorder) = recorder {
        app = app.with_recorder(recorder);
    }
    app.webhooks = webhooks;
    let app = Arc::new(app);
    // The keys created at run time, before the first request.
    if !keys::refresh(&app).await {
        return Err(ServeError::Config(
            "cannot read the API keys from the override store".to_string(),
        ));
    }
    tokio::spawn(keys::follow(app.clone()));
    tokio::spawn(overrides::follow(app.clone()));
    tokio::spawn(rollouts::follow(app.clone()));
    if app.config.usage.enabled {
        tokio::spawn(usage::follow(app.clone()));
    }
    app.webhooks.start(&app).map_err(ServeError::Config)?;
    let listener = TcpListener::bind(app.config.listen).await.map_err(|e| {
        ServeError::Config(format!("cannot listen on `{}`: {e}", app.config.listen))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Config(format!("cannot listen: {e}")))?;
    let interval = Duration::from_millis(app.config.watch_interval_ms.max(10));
    let poll_interval = Duration::from_millis(app.config.poll_interval_ms.max(1));
    let follower = source::follow(&mut opened, app.clone(), interval, poll_interval);
    let (stop, stopped) = oneshot::channel::<()>();
    let service = router::router(app.clone());
    let limits = listen::ConnectionLimits {
        max_connections: listen::usable_connections(app.config.limits.max_connections),
        header_read_timeout: Duration::from_millis(app.config.limits.header_read_timeout_ms.max(1)),
    };
    let task = tokio::spawn(listen::serve(
        listener,
        service,
        limits,
        app.clone(),
        stopped,
    ));
    let served = app.served();
    let source = app.source();
    tracing::info!(
        %addr,
        source = %source.path,
        kind = source.kind,
        version = %served.version,
        backend = served.snapshot.backend_name(),
        "serving OFREP at http://{addr}/ofrep/v1"
    );
    if dev_mode {
        tracing::warn!(
            "DEVELOPMENT MODE: no API keys are configured, so every request is allowed. \
             This is only allowed on a loopback address; configure keys before exposing the server"
        );
    }
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        task,
        _follower: follower,
    })
}

/// The command: serve until SIGTERM or Ctrl-C, then drain and stop.
pub fn run(config: Config) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Config(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        // Listen before starting: a signal sent once the server says it
        // serves must stop it gracefully, not kill it.
        let signals = Signals::listen();
        let running = start(config).await?;
        signals.recv().await;
        tracing::info!("shutting down: draining requests in flight");
        running.stop().await;
        Ok(())
    })
}

/// SIGTERM and SIGINT (Ctrl-C), registered when made.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    #[cfg(unix)]
    async fn recv(self) {
        async fn next(signal: Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = next(self.term) => {},
            _ = next(self.interrupt) => {},
        }
    }

    #[cfg(not(unix))]
    async fn recv(self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Structured logs on standard error, filtered by `RUST_LOG` (default: the
/// server's own `info` lines, and warnings from everything else; the
/// compiler and the code generator are chatty at `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,vexil_server=info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
