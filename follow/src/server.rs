//! Talking to the server: `GET /v1/bundle` with `If-None-Match`, and the
//! change stream its answer names. Messages name the server by its URL
//! without user information or query, never the key or the stream token.

use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, ETAG, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{FollowError, FollowOptions};

/// What `GET /v1/bundle` answers, and what the cache keeps.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The served version: the bundle's digest, then `-oN`.
    pub version: String,
    /// The bundle's digest alone.
    pub bundle_version: String,
    pub bundle: Box<RawValue>,
    pub overrides: vexil_control::OverrideState,
    /// The change stream's path and query (with this key's token): never
    /// cached.
    #[serde(default, skip_serializing)]
    pub event_stream: Option<String>,
    /// When it was cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_at: Option<jiff::Timestamp>,
}

/// The answer as sent: the bundle is left out when the caller holds it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    version: String,
    bundle_version: String,
    #[serde(default)]
    bundle: Option<Box<RawValue>>,
    overrides: vexil_control::OverrideState,
    #[serde(default)]
    event_stream: Option<String>,
}

pub enum Fetched {
    NotModified,
    Changed(Payload),
}

pub enum FetchError {
    /// The key was refused (401, 403): retrying will not help.
    Refused(String),
    /// Anything else: the server is away, overloaded, or answered nonsense.
    Unreachable(String),
}

impl FetchError {
    pub fn message(&self) -> &str {
        match self {
            FetchError::Refused(e) | FetchError::Unreachable(e) => e,
        }
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL, ending in `/`.
    base: Url,
    shown: String,
    auth: HeaderValue,
    max_bytes: usize,
    request_timeout: std::time::Duration,
}

impl Client {
    pub fn new(options: &FollowOptions) -> Result<Client, FollowError> {
        let mut base = Url::parse(options.server.trim()).map_err(|e| {
            FollowError::Config(format!(
                "`{}` is not a server URL such as http://127.0.0.1:8080: {e}",
                options.server
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(FollowError::Config(format!(
                "the server URL must be http or https, not `{}`",
                base.scheme()
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let shown = shown(&base);
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", options.key.secret())).map_err(|_| {
                FollowError::Config("the key holds characters a header cannot carry".into())
            })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            // A stream silent for longer than this is broken.
            .read_timeout(options.stream_idle_timeout)
            .build()
            .map_err(|e| FollowError::Config(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            shown,
            auth,
            max_bytes: options.max_bundle_bytes,
            request_timeout: options
                .start_timeout
                .max(std::time::Duration::from_secs(10)),
        })
    }

    /// The server, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn url(&self, path: &str) -> Result<Url, FetchError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| FetchError::Unreachable(format!("a bad path `{path}`: {e}")))
    }

    /// `GET /v1/bundle`, conditional on `etag`. `have`: the bundle held
    /// (its digest and JSON): the server leaves it out of its answer while
    /// it still serves it, and it is put back here.
    pub async fn fetch(
        &self,
        etag: Option<&str>,
        have: Option<(&str, &RawValue)>,
    ) -> Result<Fetched, FetchError> {
        let mut url = self.url("v1/bundle")?;
        if let Some((digest, _)) = have {
            url.query_pairs_mut().append_pair("have", digest);
        }
        let mut request = self
            .http
            .get(url)
            .timeout(self.request_timeout)
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, format!("\"{etag}\""));
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let body = response.text().await.unwrap_or_default();
            return Err(FetchError::Refused(format!(
                "{} refused the key ({status}): following needs a `server` key. {}",
                self.shown,
                detail(&body)
            )));
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(FetchError::Unreachable(format!(
                "{} answered {status} to GET /v1/bundle. {}",
                self.shown,
                detail(&body)
            )));
        }
        let too_large = || {
            FetchError::Unreachable(format!(
                "{}: the bundle is larger than {} bytes",
                self.shown, self.max_bytes
            ))
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
            let chunk = chunk.map_err(|e| self.unreachable(&e))?;
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            FetchError::Unreachable(format!(
                "{}: GET /v1/bundle answered something else than a bundle: {e}",
                self.shown
            ))
        })?;
        let bundle = match (answer.bundle, have) {
            (Some(bundle), _) => bundle,
            (None, Some((digest, held))) if digest == answer.bundle_version => held.to_owned(),
            (None, _) => {
                return Err(FetchError::Unreachable(format!(
                    "{}: GET /v1/bundle left out a bundle ({}) this process does not hold",
                    self.shown, answer.bundle_version
                )))
            }
        };
        let payload = Payload {
            version: answer.version,
            bundle_version: answer.bundle_version,
            bundle,
            overrides: answer.overrides,
            event_stream: answer.event_stream,
            saved_at: None,
        };
        if let Some(etag) = etag {
            if etag.trim_matches('"') != payload.version {
                return Err(FetchError::Unreachable(format!(
                    "{}: the ETag {etag} does not name the version {}",
                    self.shown, payload.version
                )));
            }
        }
        Ok(Fetched::Changed(payload))
    }

    /// Open the change stream at `path` (with its token): a stream of
    /// events, each meaning "something changed".
    pub async fn stream(
        &self,
        path: &str,
    ) -> Result<impl Stream<Item = Result<(), String>> + use<>, FetchError> {
        let url = self.url(path)?;
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Unreachable(format!(
                "{} answered {status} to the change stream",
                self.shown
            )));
        }
        use eventsource_stream::Eventsource;
        let shown = self.shown.clone();
        Ok(response.bytes_stream().eventsource().map(move |event| {
            event
                .map(|_| ())
                .map_err(|e| format!("{shown}: the change stream broke: {}", chain(&e)))
        }))
    }

    fn unreachable(&self, e: &reqwest::Error) -> FetchError {
        FetchError::Unreachable(format!("{}: {}", self.shown, chain(e)))
    }
}

/// An error with its causes, without any URL (a URL may carry a token).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = match e.downcast_ref::<reqwest::Error>() {
        Some(r) => {
            // `without_url` takes the error by value; describe it by kind.
            if r.is_timeout() {
                "timed out".to_string()
            } else if r.is_connect() {
                "cannot connect".to_string()
            } else if r.is_body() || r.is_decode() {
                "the response broke off".to_string()
            } else {
                "the request failed".to_string()
            }
        }
        None => e.to_string(),
    };
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The `details` of an error body, when it has one.
fn detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorDetails")
                .and_then(|d| d.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// `url` without user information, query or fragment.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_shown_without_secrets() {
        let url = Url::parse("https://user:pw@flags.example/base/?token=abc").expect("url");
        let text = shown(&url);
        assert_eq!(text, "https://flags.example/base");
    }
}
