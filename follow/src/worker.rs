//! The follower's thread: fetch on every change announced (and on a
//! jittered poll), swap each new version into the engine with its
//! overrides in one step, cache it, and reconnect with backoff while the
//! server is away. Nothing here runs on an evaluation's path.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use vexil_runtime::ir::Bundle;
use vexil_runtime::{Engine, EngineOptions};

use crate::cache::Cache;
use crate::server::{Client, FetchError, Fetched, Payload};
use crate::{Event, FollowError, FollowOptions, Origin, Shared};

/// The first wait before reconnecting, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

pub struct Worker {
    client: Client,
    cache: Option<Cache>,
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    /// The server's version last judged (loaded or refused): asked with
    /// `If-None-Match`.
    etag: Option<String>,
    /// The bundle in force (its digest and JSON: the server leaves it out
    /// of answers while it serves it), and the override state's version.
    bundle_version: String,
    bundle_json: Box<serde_json::value::RawValue>,
    overrides_version: u64,
    /// The change stream's path, from the last answer.
    stream: Option<String>,
    connected: bool,
    poll_interval: Duration,
}

/// Why a connection ended.
enum Lost {
    /// The server did not answer a request (or refused it).
    Server(String),
    /// The change stream ended or broke (why, for the status); the server
    /// may well be there.
    Stream(String),
}

impl Worker {
    /// Start from the server's answer; the cache is written.
    pub fn from_server(
        mut payload: Payload,
        client: Client,
        cache: Option<Cache>,
        options: &FollowOptions,
        shared: Arc<Shared>,
    ) -> Result<Worker, FollowError> {
        let engine = load(&payload, &options.engine)?;
        let mut worker = Worker::new(client, cache, engine, shared, &payload, options);
        worker.stream = payload.event_stream.take();
        worker.connected = true;
        worker.shared.update(|s| s.connected = true);
        worker.loaded(payload, true, Origin::Server);
        Ok(worker)
    }

    /// Start from the cache, because the server did not give a version
    /// that loads (`why`); `why` is the error when there is no cache.
    pub fn from_cache(
        cache: Option<Cache>,
        client: Client,
        options: &FollowOptions,
        shared: Arc<Shared>,
        why: FollowError,
    ) -> Result<Worker, FollowError> {
        let Some(cache) = cache else {
            return Err(why);
        };
        let Some(mut payload) = cache
            .read()
            .map_err(|e| FollowError::Load(format!("{why}; {e}")))?
        else {
            return Err(FollowError::Unavailable(format!(
                "{why}; and nothing is cached yet"
            )));
        };
        // Overrides that expired while the process was down are lifted,
        // as the server would have lifted them.
        let now = jiff::Timestamp::now();
        payload
            .overrides
            .overrides
            .retain(|o| o.expires_at.is_none_or(|at| at > now));
        let engine = load(&payload, &options.engine)
            .map_err(|e| FollowError::Load(format!("{why}; the cached flags: {e}")))?;
        let saved_at = payload.saved_at.unwrap_or(now);
        let mut worker = Worker::new(client, cache.into(), engine, shared, &payload, options);
        worker
            .shared
            .update(|s| s.last_error = Some(why.to_string()));
        // Not written back: the cache keeps the server's answer.
        worker.loaded_without_caching(&payload, true, Origin::Cache { saved_at });
        Ok(worker)
    }

    fn new(
        client: Client,
        cache: Option<Cache>,
        engine: Engine,
        shared: Arc<Shared>,
        payload: &Payload,
        options: &FollowOptions,
    ) -> Worker {
        Worker {
            client,
            cache,
            engine: Arc::new(engine),
            shared,
            etag: Some(payload.version.clone()),
            bundle_version: payload.bundle_version.clone(),
            bundle_json: payload.bundle.clone(),
            overrides_version: payload.overrides.version,
            stream: None,
            connected: false,
            poll_interval: options.poll_interval,
        }
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// Follow until `stop` fires (or its sender is dropped).
    pub async fn run(mut self, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let lost = tokio::select! {
                _ = &mut stop => return,
                lost = self.session() => lost,
            };
            match lost {
                Lost::Server(error) => {
                    if self.connected {
                        self.connected = false;
                        backoff = BACKOFF_MIN;
                        let shown = error.clone();
                        self.shared.update(|s| {
                            s.connected = false;
                            s.last_error = Some(shown);
                        });
                        self.shared.tell(Event::Disconnected { error });
                    } else {
                        self.shared.update(|s| s.last_error = Some(error));
                    }
                }
                // Try again at once, once: the server may have closed the
                // stream alone (a restart of its listener, a proxy).
                Lost::Stream(error) => {
                    backoff = BACKOFF_MIN;
                    self.shared.update(|s| s.last_error = Some(error));
                }
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(jittered(backoff, 0.5)) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: catch up, subscribe, catch up again (a change made
    /// between the two is not lost), then fetch on every event and poll.
    async fn session(&mut self) -> Lost {
        if let Err(e) = self.refresh().await {
            return e;
        }
        let Some(path) = self.stream.clone() else {
            return Lost::Server(format!("{} named no change stream", self.client.shown()));
        };
        let mut events = match self.client.stream(&path).await {
            Ok(events) => Box::pin(events),
            Err(e) => return Lost::Server(e.message().to_string()),
        };
        if let Err(e) = self.refresh().await {
            return e;
        }
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Lost::Stream(e),
                    None => return Lost::Stream(format!(
                        "{} closed the change stream",
                        self.client.shown()
                    )),
                },
                _ = tokio::time::sleep(jittered(self.poll_interval, 0.1)) => {}
            }
            if let Err(e) = self.refresh().await {
                return e;
            }
        }
    }

    /// Ask the server for a newer version and take it.
    async fn refresh(&mut self) -> Result<(), Lost> {
        let have = (self.bundle_version.as_str(), &*self.bundle_json);
        let fetched = self.client.fetch(self.etag.as_deref(), Some(have)).await;
        match fetched {
            Ok(Fetched::NotModified) => {
                self.answered();
                Ok(())
            }
            Ok(Fetched::Changed(mut payload)) => {
                self.answered();
                if let Some(stream) = payload.event_stream.take() {
                    self.stream = Some(stream);
                }
                self.apply(payload);
                Ok(())
            }
            Err(FetchError::Refused(e) | FetchError::Unreachable(e)) => Err(Lost::Server(e)),
        }
    }

    fn answered(&mut self) {
        if !self.connected {
            self.connected = true;
            self.shared.update(|s| {
                s.connected = true;
                s.last_error = None;
            });
            self.shared.tell(Event::Connected);
        }
    }

    /// Swap in what changed: the flags and the overrides together.
    fn apply(&mut self, payload: Payload) {
        self.etag = Some(payload.version.clone());
        let flags_changed = payload.bundle_version != self.bundle_version;
        let specs = payload.overrides.specs();
        if flags_changed {
            let installed = Bundle::from_json(payload.bundle.get())
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    self.engine
                        .install_with_overrides(b, specs.clone())
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = installed {
                // The overrides still apply to the version in force (a kill
                // switch must not wait for the flags to load).
                self.engine.set_overrides(specs);
                self.overrides_version = payload.overrides.version;
                self.shared.tell(Event::Refused {
                    version: payload.version,
                    error,
                });
                return;
            }
            self.bundle_version = payload.bundle_version.clone();
            self.bundle_json = payload.bundle.clone();
        } else if payload.overrides.version != self.overrides_version {
            self.engine.set_overrides(specs);
        }
        self.overrides_version = payload.overrides.version;
        self.loaded(payload, flags_changed, Origin::Server);
    }

    /// A version is in force: cache it, say so.
    fn loaded(&mut self, mut payload: Payload, flags_changed: bool, origin: Origin) {
        if let Some(cache) = &self.cache {
            if let Err(error) = cache.write(&mut payload) {
                self.shared.tell(Event::CacheFailed { error });
            }
        }
        self.loaded_without_caching(&payload, flags_changed, origin);
    }

    fn loaded_without_caching(&mut self, payload: &Payload, flags_changed: bool, origin: Origin) {
        let (version, shown) = (payload.version.clone(), origin.clone());
        self.shared.update(|s| {
            s.version = version;
            s.origin = shown;
        });
        self.shared.tell(Event::Loaded {
            version: payload.version.clone(),
            flags_changed,
            overrides: payload.overrides.overrides.len(),
            origin,
        });
    }
}

/// An engine holding `payload`'s flags with its overrides.
fn load(payload: &Payload, options: &EngineOptions) -> Result<Engine, FollowError> {
    let bundle = Bundle::from_json(payload.bundle.get()).map_err(|e| {
        FollowError::Load(format!(
            "the flags of version {} do not load: {e}",
            payload.version
        ))
    })?;
    let engine = Engine::from_bundle(bundle, options.clone())?;
    engine.set_overrides(payload.overrides.specs());
    Ok(engine)
}

/// `interval` less up to `spread` of it, at random: a fleet does not ask
/// in step.
fn jittered(interval: Duration, spread: f64) -> Duration {
    interval.mul_f64(rand::random_range((1.0 - spread)..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_spread() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(1000), 0.1);
            assert!((900..=1000).contains(&d.as_millis()), "{d:?}");
        }
    }
}
