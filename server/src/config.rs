//! The server's configuration: a TOML file (`--config`), the command line
//! and the `VEXIL_KEYS` environment variable, merged into one [`Config`].
//! Every limit has a default; a secret is hashed as soon as it is read.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::{hash_secret, KeyEntry, Scope};

/// Everything the server needs to start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A directory of `.flag` files, or a bundle file written by `vexil build`.
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// The address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The context whose key field `targetingKey` fills (default: the first
    /// context that declares a key).
    #[serde(default)]
    pub targeting_context: Option<String>,
    /// The context whose fields a flat OFREP context's other top-level keys
    /// fill (default: the targeting context).
    #[serde(default)]
    pub default_context: Option<String>,
    /// The URL clients reach this server at (`https://flags.example.com`),
    /// when it differs from the one they call (a reverse proxy with a path
    /// prefix). Event stream URLs are then absolute.
    #[serde(default)]
    pub public_url: Option<String>,
    /// How often the source is checked for changes, in milliseconds.
    #[serde(default = "default_watch_ms")]
    pub watch_interval_ms: u64,
    /// How often a bundle URL is polled, in milliseconds (each wait drawn
    /// within ±10% of it, so a fleet does not poll in step).
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Where the last good bundle of a URL source is kept, to start from
    /// when the URL is unreachable or broken. `vexil serve` defaults it to
    /// `.vexil-cache` in the data directory; none: no cache.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// PEM certificates to trust, besides Mozilla's bundled roots, when
    /// fetching an HTTPS bundle URL (a private CA, a self-signed host).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The event store that `POST /v1/events` and the server's own
    /// exposures append to (the store `vexil analyze` reads): an SQLite
    /// file, or a `postgres://` URL. `vexil serve`
    /// defaults it to `vexil-events.db` in the data directory; none: the
    /// intake is off and no exposures are recorded.
    #[serde(default)]
    pub events_db: Option<PathBuf>,
    /// How the event writer queues and deduplicates.
    #[serde(default)]
    pub events: Events,
    /// The rollout monitor (`[rollouts]`).
    #[serde(default)]
    pub rollouts: Rollouts,
    /// The clock evaluations and the rollout monitor read; the system's
    /// unless a test sets another (never from the file).
    #[serde(skip)]
    pub clock: Clock,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub cors: Cors,
    /// Per-key request limits; none when absent.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub sse: Sse,
    /// API keys, stored as SHA-256 hashes of their secrets.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// Where the server keeps its state (overrides and the audit log, in
    /// `vexil.db`) unless `store` says otherwise, and, unless they are set,
    /// the bundle cache and the event store. `vexil serve` defaults it to
    /// `.vexil` beside the config file, else in the working directory.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The override and audit store: a `postgres://` URL (a fleet of
    /// servers sharing one database), or the path of a SQLite file.
    /// Default: `vexil.db` in `data_dir`.
    #[serde(default)]
    pub store: Option<String>,
    /// Where audit entries are delivered (`[[webhooks]]`).
    #[serde(default)]
    pub webhooks: Vec<crate::webhooks::WebhookConfig>,
    /// The admin dashboard under `/admin` (`[dashboard]`).
    #[serde(default)]
    pub dashboard: crate::dashboard::DashboardConfig,
    /// Usage rollups kept in the store (`[usage]`).
    #[serde(default)]
    pub usage: Usage,
}

/// Sizes and waits every request is held to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request body, in bytes (413 above).
    pub body_bytes: usize,
    /// How deeply a request's JSON may nest (400 `INVALID_CONTEXT` deeper).
    pub context_depth: usize,
    /// How many JSON values a request's context may hold in all.
    pub context_values: usize,
    /// How long a request may take, in milliseconds (408 after).
    pub request_timeout_ms: u64,
    /// How long a client may take to send a request's headers, and an idle
    /// keep-alive connection to start its next request, in milliseconds
    /// (the connection is closed after).
    pub header_read_timeout_ms: u64,
    /// The most connections open at once; one more is answered 503 (with
    /// `Retry-After`) and closed.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// The largest bundle a URL source may serve, in bytes.
    pub bundle_bytes: usize,
    /// How long fetching a bundle URL may take, in milliseconds.
    pub fetch_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 64 * 1024,
            context_depth: 8,
            context_values: 1_000,
            request_timeout_ms: 5_000,
            header_read_timeout_ms: 30_000,
            max_connections: 10_000,
            shutdown_grace_ms: 10_000,
            bundle_bytes: 64 * 1024 * 1024,
            fetch_timeout_ms: 10_000,
        }
    }
}

/// The event writer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Events {
    /// Jobs (a request's events, or one exposure) waiting for the writer;
    /// exposures that find it full are dropped and counted.
    pub queue: usize,
    /// (experiment, variant, unit) triples remembered so that each is
    /// recorded once; the oldest are forgotten first.
    pub exposure_dedup: usize,
}

impl Default for Events {
    fn default() -> Events {
        Events {
            queue: 10_000,
            exposure_dedup: 100_000,
        }
    }
}

/// The rollout monitor: how often guarded rollouts are checked, and the
/// chance of a false breach over a whole rollout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rollouts {
    /// Milliseconds between checks.
    pub check_interval_ms: u64,
    /// The false-breach rate over a rollout, shared out over its stages
    /// and guardrails.
    pub alpha: f64,
    /// The sequential test's tuning: the units (both sides) at which its
    /// interval is tightest.
    pub tuning: f64,
}

impl Default for Rollouts {
    fn default() -> Rollouts {
        let monitor = vexil_events::rollout::MonitorOptions::default();
        Rollouts {
            check_interval_ms: 60_000,
            alpha: monitor.alpha,
            tuning: monitor.tuning,
        }
    }
}

/// Usage rollups: evaluation counts per flag, variant, reason, rule and
/// error code, written to the override store in hourly buckets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    /// Whether evaluations are counted into the store at all.
    pub enabled: bool,
    /// Milliseconds between writes of the counts to the store (and once
    /// more at a graceful stop): what a crash can lose.
    pub flush_interval_ms: u64,
    /// Days of hourly buckets kept; older ones are deleted.
    pub retention_days: u32,
}

impl Default for Usage {
    fn default() -> Usage {
        Usage {
            enabled: true,
            flush_interval_ms: 10_000,
            retention_days: 30,
        }
    }
}

/// The time in microseconds since the epoch: the system's, or a test's.
#[derive(Clone, Default)]
pub struct Clock(Option<std::sync::Arc<dyn Fn() -> i64 + Send + Sync>>);

impl Clock {
    /// A clock that reads `now` instead of the system's.
    pub fn fixed_by(now: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Some(std::sync::Arc::new(now)))
    }

    /// The time now.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(now) => now(),
            None => vexil_runtime::now(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(test)"
        } else {
            "Clock(system)"
        })
    }
}

/// Which browser origins may call the server.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cors {
    /// Origins such as `https://shop.example`, or `"*"` for any; empty:
    /// no cross-origin calls.
    #[serde(default)]
    pub origins: Vec<String>,
}

/// A token bucket per API key (per server, in development mode).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed in a burst above that rate.
    #[serde(default)]
    pub burst: Option<u32>,
}

/// The change stream.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sse {
    /// Seconds between keep-alive comments on an idle stream.
    pub keepalive_secs: u64,
    /// `inactivityDelaySec` announced to clients.
    pub inactivity_delay_secs: u64,
    /// Streams open at once; more are refused with 429.
    pub max_clients: usize,
    /// Reconnection delay suggested to clients, in milliseconds.
    pub retry_ms: u64,
}

impl Default for Sse {
    fn default() -> Sse {
        Sse {
            keepalive_secs: 15,
            inactivity_delay_secs: 120,
            max_clients: 10_000,
            retry_ms: 2_000,
        }
    }
}

/// Where `vexil serve` listens when neither the file nor the command line says.
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_watch_ms() -> u64 {
    250
}

fn default_poll_ms() -> u64 {
    10_000
}

/// The data directory's default cache, under [`Config::default_paths`].
pub const DEFAULT_CACHE_DIR: &str = ".vexil-cache";
/// The data directory's default event store.
pub const DEFAULT_EVENTS_DB: &str = "vexil-events.db";

impl Default for Config {
    fn default() -> Config {
        Config {
            source: None,
            listen: default_listen(),
            targeting_context: None,
            default_context: None,
            public_url: None,
            watch_interval_ms: default_watch_ms(),
            poll_interval_ms: default_poll_ms(),
            cache_dir: None,
            events_db: None,
            events: Events::default(),
            rollouts: Rollouts::default(),
            clock: Clock::default(),
            limits: Limits::default(),
            cors: Cors::default(),
            rate_limit: None,
            sse: Sse::default(),
            keys: Vec::new(),
            webhooks: Vec::new(),
            ca_file: None,
            data_dir: None,
            store: None,
            dashboard: crate::dashboard::DashboardConfig::default(),
            usage: Usage::default(),
        }
    }
}

impl Config {
    /// Read a TOML configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut config = Config::parse(&text).map_err(|e| format!("`{}`: {e}", path.display()))?;
        // Paths in the file are relative to it.
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut config.cache_dir,
            &mut config.events_db,
            &mut config.data_dir,
            &mut config.ca_file,
        ] {
            // A `postgres://` event store is a URL, not a relative path.
            if let Some(p) = p
                .as_mut()
                .filter(|p| p.is_relative() && !vexil_events::Store::is_url(p))
            {
                *p = base.join(&*p);
            }
        }
        for hook in &mut config.webhooks {
            if let Some(p) = hook.secret_file.as_mut().filter(|p| p.is_relative()) {
                *p = base.join(&*p);
            }
        }
        for p in config.dashboard.code.iter_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
        Ok(config)
    }

    /// Fill the paths left unset with their defaults in `data_dir` (the
    /// config file's directory, else the working directory, for `vexil
    /// serve`): the bundle cache `.vexil-cache/` and the event store
    /// `vexil-events.db`.
    pub fn default_paths(&mut self, data_dir: &Path) {
        if self.cache_dir.is_none() {
            self.cache_dir = Some(data_dir.join(DEFAULT_CACHE_DIR));
        }
        if self.events_db.is_none() {
            self.events_db = Some(data_dir.join(DEFAULT_EVENTS_DB));
        }
    }

    /// The store to open: `store`, or `vexil.db` in the data directory.
    pub fn store_spec(&self) -> String {
        match &self.store {
            Some(spec) => spec.clone(),
            None => self
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".vexil"))
                .join("vexil.db")
                .display()
                .to_string(),
        }
    }

    /// Parse a TOML configuration.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Add keys from `VEXIL_KEYS`: `scope:name:secret` entries separated by
    /// commas. The secrets are hashed here and never kept.
    pub fn add_env_keys(&mut self, value: &str) -> Result<(), String> {
        for (i, entry) in value.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let mut parts = entry.splitn(3, ':');
            let (Some(scope), Some(name), Some(secret)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "`VEXIL_KEYS` entry {} is not `scope:name:secret`",
                    i + 1
                ));
            };
            let scope = Scope::parse(scope).ok_or_else(|| {
                format!(
                    "`VEXIL_KEYS` entry {} has scope `{scope}`: expected `client`, `server`, `viewer` or `admin`",
                    i + 1
                )
            })?;
            if secret.is_empty() {
                return Err(format!("`VEXIL_KEYS` entry {} has an empty secret", i + 1));
            }
            self.keys.push(KeyEntry {
                name: name.to_string(),
                scope,
                sha256: hash_secret(secret),
            });
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        for key in &self.keys {
            let ok = key.sha256.len() == 64 && key.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(format!(
                    "key `{}`: `sha256` must be 64 hexadecimal digits (the SHA-256 of the secret)",
                    key.name
                ));
            }
        }
        if self.rate_limit.as_ref().is_some_and(|r| r.per_second == 0) {
            return Err("`rate_limit.per_second` must be at least 1".to_string());
        }
        if self.poll_interval_ms == 0 {
            return Err("`poll_interval_ms` must be at least 1".to_string());
        }
        if self.sse.inactivity_delay_secs == 0 {
            return Err("`sse.inactivity_delay_secs` must be at least 1".to_string());
        }
        self.dashboard.check()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_a_file_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vexil.toml");
        std::fs::write(
            &file,
            "events_db = \"events.db\"\n[dashboard]\ncode = [\"../app/src\", \"/abs/web\"]\n",
        )
        .unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.events_db, Some(dir.path().join("events.db")));
        assert_eq!(
            config.dashboard.code,
            [dir.path().join("../app/src"), PathBuf::from("/abs/web")]
        );
    }

    #[test]
    fn a_full_file_parses() {
        let config = Config::parse(
            r#"
source = "flags"
listen = "0.0.0.0:9000"
targeting_context = "user"
default_context = "user"

[limits]
body_bytes = 1024

[cors]
origins = ["https://shop.example"]

[rate_limit]
per_second = 10
burst = 20

[[keys]]
name = "storefront"
scope = "client"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
"#,
        )
        .expect("parses");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.body_bytes, 1024);
        assert_eq!(config.limits.context_depth, 8);
        assert_eq!(config.keys.len(), 1);
        assert_eq!(config.keys.first().map(|k| k.scope), Some(Scope::Client));
    }

    #[test]
    fn a_bad_hash_or_unknown_setting_is_refused() {
        let bad =
            Config::parse("[[keys]]\nname = \"a\"\nscope = \"server\"\nsha256 = \"secret\"\n");
        assert!(bad.is_err_and(|e| e.contains("64 hexadecimal")));
        let unknown = Config::parse("listen_on = \"127.0.0.1:1\"\n");
        assert!(unknown.is_err_and(|e| e.contains("listen_on")));
    }

    #[test]
    fn env_keys_are_hashed() {
        let mut config = Config::default();
        config
            .add_env_keys("server:backend:s3cr:et, client:web:pub")
            .expect("parses");
        assert_eq!(config.keys.len(), 2);
        assert_eq!(
            config.keys.first().map(|k| k.sha256.clone()),
            Some(hash_secret("s3cr:et"))
        );
        assert!(config.add_env_keys("root:x:y").is_err());
        assert!(config.add_env_keys("admin:ops:z").is_ok());
        assert!(config.add_env_keys("server:x").is_err());
    }
}
