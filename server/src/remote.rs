//! A bundle URL source: `vexil build` output published to any static host
//! or object store, which a fleet of servers follows. Polled every
//! `poll_interval_ms` (±10% jitter, so a fleet does not poll in step) with
//! `If-None-Match`, so an unchanged bundle costs a 304. Each fetch has a
//! timeout and a size limit. A failed fetch, or a bundle that does not
//! validate or whose tests fail, keeps the last good version serving.
//!
//! URLs may carry credentials (a signed object-store URL): they are logged
//! and shown without their query and user information.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use vexil_runtime::Engine;

use crate::cache::Cache;
use crate::state::App;

/// Whether a source names a URL rather than a file or directory.
pub fn is_url(source: &str) -> bool {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The URL without what may be secret: user information and query.
pub fn redacted(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    shown.to_string()
}

/// What a poll found.
pub enum Fetched {
    /// 304: the bundle has not changed since the last one judged.
    NotModified,
    /// A new body, to be judged; its `ETag` is recorded with
    /// [`Remote::judged`] once it has been.
    Changed { text: String, etag: Option<String> },
}

/// One bundle URL and the `ETag` of the last body judged.
pub struct Remote {
    url: reqwest::Url,
    shown: String,
    client: reqwest::Client,
    etag: Option<String>,
    max_bytes: usize,
}

impl Remote {
    /// `ca_file`: PEM certificates trusted for HTTPS besides the bundled
    /// roots (a private CA, a self-signed host).
    pub fn new(
        url: &str,
        timeout: Duration,
        max_bytes: usize,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Remote, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad bundle URL: {e}"))?;
        let shown = redacted(&parsed);
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("vexil-serve/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = ca_file {
            let pem = std::fs::read(file)
                .map_err(|e| format!("cannot read `ca_file` `{}`: {e}", file.display()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "`ca_file` `{}` holds no usable PEM certificate: {e}",
                    file.display()
                )
            })?;
            if certificates.is_empty() {
                return Err(format!(
                    "`ca_file` `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
                    file.display()
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Remote {
            url: parsed,
            shown,
            client,
            etag: None,
            max_bytes,
        })
    }

    /// The URL as it may be shown.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Ask for the bundle, with the last judged `ETag`.
    pub async fn fetch(&self) -> Result<Fetched, String> {
        let mut request = self.client.get(self.url.clone());
        if let Some(etag) = &self.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let fail =
            |e: reqwest::Error| format!("cannot fetch `{}`: {}", self.shown, e.without_url());
        let response = request.send().await.map_err(fail)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(format!("`{}` answered {status}", self.shown));
        }
        let too_large = || {
            format!(
                "`{}`: the bundle is larger than `limits.bundle_bytes` ({} bytes)",
                self.shown, self.max_bytes
            )
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes as u64) {
            return Err(too_large());
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(fail)?;
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body)
            .map_err(|_| format!("`{}`: the bundle is not UTF-8 text", self.shown))?;
        Ok(Fetched::Changed { text, etag })
    }

    /// A body was judged (served or refused): ask again only when it changes.
    pub fn judged(&mut self, etag: Option<String>) {
        self.etag = etag;
    }
}

/// Validate, test and install a fetched bundle, then cache it. Blocking
/// (tests run, code is compiled). A failed cache write is logged and does
/// not refuse the version.
pub fn install(engine: &Engine, text: &str, cache: Option<&Cache>) -> Result<(), String> {
    let bundle = vexil_ir::Bundle::from_json(text).map_err(|e| e.to_string())?;
    engine.install(bundle).map_err(|e| e.to_string())?;
    store(cache, text);
    Ok(())
}

/// Write a version swapped in to the cache.
pub fn store(cache: Option<&Cache>, text: &str) {
    if let Some(cache) = cache {
        if let Err(e) = cache.write(text) {
            tracing::warn!(error = %e, "the served bundle could not be cached");
        }
    }
}

/// `interval` ± 10%.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::random_range(0.9..=1.1))
}

/// Poll until aborted, publishing every version the engine accepts.
pub async fn poll(
    mut remote: Remote,
    engine: Arc<Engine>,
    app: Arc<App>,
    cache: Option<Cache>,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(jittered(interval)).await;
        let (text, etag) = match remote.fetch().await {
            Ok(Fetched::NotModified) => {
                app.metrics.polled("not_modified");
                continue;
            }
            Ok(Fetched::Changed { text, etag }) => {
                app.metrics.polled("changed");
                (text, etag)
            }
            Err(e) => {
                app.metrics.polled("error");
                app.refused(&e);
                continue;
            }
        };
        let (engine_, cache_) = (engine.clone(), cache.clone());
        let installed =
            tokio::task::spawn_blocking(move || install(&engine_, &text, cache_.as_ref())).await;
        match installed {
            Ok(Ok(())) => {
                app.set_source_kind("url");
                app.publish(engine.snapshot());
            }
            Ok(Err(e)) => app.refused(&format!("`{}`: {e}", remote.shown())),
            Err(e) => app.refused(&format!("loading the bundle failed: {e}")),
        }
        // Judged either way: a broken bundle is reported once, not on
        // every poll, and the next change to it is fetched.
        remote.judged(etag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://flags.example/bundle.json"));
        assert!(is_url("HTTP://127.0.0.1:9/b.json"));
        assert!(!is_url("examples/shop"));
        assert!(!is_url("http"));
    }

    #[test]
    fn secrets_in_urls_are_not_shown() {
        let url = reqwest::Url::parse("https://user:pw@store.example/b.json?X-Signature=abc")
            .expect("url");
        let shown = redacted(&url);
        assert!(!shown.contains("pw") && !shown.contains("abc"), "{shown}");
        assert!(shown.contains("store.example/b.json"), "{shown}");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(1000));
            assert!((900..=1100).contains(&d.as_millis()), "{d:?}");
        }
    }
}
