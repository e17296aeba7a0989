//! Starting a real server on a loopback port, and speaking HTTP to it.
#![allow(dead_code)]

pub mod contract;

use std::path::{Path, PathBuf};

use serde_json::Value;
use vexil_server::{hash_secret, Config, KeyEntry, Running, Scope};

/// The example repository every client test evaluates.
pub fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop")
}

/// A copy of the shop in a temporary directory, to edit.
pub fn shop_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(shop()).expect("shop") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "flag") {
            let to = dir.path().join(path.file_name().expect("name"));
            std::fs::copy(&path, to).expect("copy");
        }
    }
    dir
}

pub fn config(source: &Path) -> Config {
    Config {
        source: Some(source.to_path_buf()),
        listen: "127.0.0.1:0".parse().expect("addr"),
        watch_interval_ms: 20,
        data_dir: Some(data_dir()),
        ..Config::default()
    }
}

/// Keys as the configuration holds them: each name, scope and secret.
pub fn key_entries(keys: &[(&str, Scope, &str)]) -> Vec<KeyEntry> {
    keys.iter()
        .map(|&(name, scope, secret)| KeyEntry {
            name: name.into(),
            scope,
            sha256: hash_secret(secret),
        })
        .collect()
}

/// The shop with two keys: `client-secret` (client scope, named `web`) and
/// `server-secret` (server scope, named `backend`).
pub fn keyed() -> Config {
    let mut c = config(&shop());
    c.keys = key_entries(&[
        ("web", Scope::Client, "client-secret"),
        ("backend", Scope::Server, "server-secret"),
    ]);
    c
}

/// A fresh data directory under the target directory's scratch space
/// (the override store's SQLite file goes there).
pub fn data_dir() -> PathBuf {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "server-data-{}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ))
}

pub struct Server {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start(config: Config) -> Server {
    let running = vexil_server::start(config)
        .await
        .expect("the server starts");
    let base = format!("http://{}", running.addr());
    Server {
        running,
        base,
        http: reqwest::Client::new(),
    }
}

/// A full shop context, nested by context name.
pub fn shopper(id: &str) -> Value {
    serde_json::json!({
        "user": {
            "id": id, "email": "eva@gmail.com", "tier": "gold", "orders": 3,
            "lifetime_spend": 120.5, "beta": false, "terms_version": "2.1.0",
            "created_at": "2024-01-01T00:00:00Z", "roles": []
        },
        "env": { "name": "production", "region": "eu-west-1" },
        "device": { "platform": "ios", "os_version": "17.4.0", "app_version": "5.6.0", "model": "iPhone15,2" },
        "location": { "country": "US", "city": "Berlin" }
    })
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST a JSON body; (status, headers, body as JSON or Null).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.post_raw(path, body.to_string(), &[]).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.post(self.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        contract::check("POST", path, status, &headers, &text);
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, headers, json)
    }

    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        contract::check("GET", path, status, &headers, &text);
        (status, headers, text)
    }

    /// Any request, its answer checked against the contracts
    /// (`contract::check`); (status, headers, body text).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.request(method.clone(), self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.expect("request");
        read_checked(method.as_str(), path, res).await
    }

    /// A dashboard page, signed in with `key` (any key in development
    /// mode); (status, HTML).
    pub async fn admin_page(&self, key: &str, path: &str) -> (u16, String) {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = http
            .post(self.url("/admin/login"))
            .form(&[("key", key)])
            .send()
            .await
            .expect("sign in");
        let cookie = res
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string();
        let res = http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("page");
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }

    /// Open the event stream a bulk response named; asserts it opened.
    pub async fn stream(&self, bulk: &Value) -> reqwest::Response {
        let uri = bulk["eventStreams"][0]["endpoint"]["requestUri"]
            .as_str()
            .expect("an event stream");
        let res = self.http.get(self.url(uri)).send().await.expect("stream");
        assert_eq!(res.status().as_u16(), 200);
        contract::check_head("GET", uri, 200, res.headers());
        res
    }

    pub async fn evaluate(&self, flag: &str, context: &Value) -> (u16, Value) {
        let (status, _, body) = self
            .post(
                &format!("/ofrep/v1/evaluate/flags/{flag}"),
                &serde_json::json!({ "context": context }),
            )
            .await;
        (status, body)
    }
}

/// A response read whole and checked against the contracts
/// (`contract::check`), for requests a test builds itself; (status,
/// headers, body text).
pub async fn read_checked(
    method: &str,
    path: &str,
    res: reqwest::Response,
) -> (u16, reqwest::header::HeaderMap, String) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    contract::check(method, path, status, &headers, &text);
    (status, headers, text)
}

/// Poll `check` until it holds; fails the test after 60 seconds (a loaded
/// two-core machine compiles a version slowly).
pub async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Read an event stream until a whole `refetchEvaluation` message has
/// arrived (60 seconds at most); the text read.
pub async fn next_refetch(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
) -> String {
    use futures_util::StreamExt;
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(text.contains("refetchEvaluation") && text.ends_with("\n\n")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, stream.next())
            .await
            .expect("an event in time");
        text.push_str(&String::from_utf8_lossy(
            &chunk.expect("open").expect("bytes"),
        ));
    }
    text
}
