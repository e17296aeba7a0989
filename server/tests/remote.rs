//! A bundle URL source against a real HTTP server on loopback (a static
//! host with ETags): versions published there are followed, broken ones
//! refused, 304s counted; the local cache starts a server whose URL fails.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{shopper, start, wait_for};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A static host: serves `bundle.json` from a directory with a strong ETag
/// (its contents' digest) and answers `If-None-Match` with 304.
struct Host {
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    not_modified: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

struct HostState {
    file: PathBuf,
    not_modified: Arc<AtomicUsize>,
}

async fn serve_file(State(host): State<Arc<HostState>>, headers: HeaderMap) -> Response {
    let Ok(bytes) = std::fs::read(&host.file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{:x}\"", Sha256::digest(&bytes));
    let asked = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if asked == Some(etag.as_str()) {
        host.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::ETAG, etag)], bytes).into_response()
}

impl Host {
    async fn start() -> Host {
        let dir = tempfile::tempdir().expect("tmp");
        let not_modified = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(HostState {
            file: dir.path().join("bundle.json"),
            not_modified: not_modified.clone(),
        });
        let app = axum::Router::new()
            .route("/bundle.json", axum::routing::get(serve_file))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Host {
            dir,
            addr,
            not_modified,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/bundle.json?sig=s3cret", self.addr)
    }

    /// Publish a bundle: written whole, then renamed into place.
    fn publish(&self, text: &str) {
        let tmp = self.dir.path().join("bundle.tmp");
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, self.dir.path().join("bundle.json")).expect("rename");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The shop's bundle, with its tests, after `edits` to its catalog.
fn shop_bundle(edits: &[(&str, &str)]) -> String {
    let dir = common::shop_copy();
    let path = dir.path().join("catalog.flag");
    let mut text = std::fs::read_to_string(&path).expect("read");
    for (from, to) in edits {
        assert!(text.contains(from), "the shop changed: `{from}` is gone");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&path, text).expect("write");
    let project = vexil_compiler::Project::from_dir(dir.path()).expect("project");
    project
        .bundle(true)
        .map_err(|d| project.render(&d, false))
        .expect("the edited shop compiles")
        .to_json()
}

const FIVE: &[(&str, &str)] = &[
    ("  default 4\n", "  default 5\n"),
    (
        "  expect recommendation-slots == 4\n",
        "  expect recommendation-slots == 5\n",
    ),
];

/// Six, but the shop's test still expects five: the tests fail.
const SIX_UNTESTED: &[(&str, &str)] = &[
    ("  default 4\n", "  default 6\n"),
    (
        "  expect recommendation-slots == 4\n",
        "  expect recommendation-slots == 5\n",
    ),
];

fn config(url: &str, cache_dir: Option<&Path>) -> vexil_server::Config {
    let mut c = common::config(Path::new(url));
    c.poll_interval_ms = 50;
    c.cache_dir = cache_dir.map(Path::to_path_buf);
    c
}

async fn slots(server: &common::Server) -> Value {
    let context = json!({ "user": { "id": "u-1001", "email": "vera@gmail.com", "roles": [], "tier": "bronze", "lifetime_spend": 80.0 } });
    let (status, body) = server.evaluate("recommendation-slots", &context).await;
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

async fn status(server: &common::Server) -> Value {
    let (_, _, text) = server.get("/status", &[]).await;
    serde_json::from_str(&text).expect("json")
}

#[tokio::test]
async fn a_published_bundle_is_followed_and_a_broken_one_refused() {
    let host = Host::start().await;
    host.publish(&shop_bundle(&[]));
    let server = start(config(&host.url(), None)).await;
    assert_eq!(slots(&server).await, 4);
    let s = status(&server).await;
    assert_eq!(s["source"]["kind"], "url");
    let shown = s["source"]["path"].as_str().expect("path");
    assert!(
        !shown.contains("s3cret"),
        "the URL's query is shown: {shown}"
    );

    // Unchanged: polls are answered 304, and counted.
    wait_for("a 304", || async {
        host.not_modified.load(Ordering::SeqCst) >= 2
    })
    .await;
    let (_, _, metrics) = server.get("/metrics", &[]).await;
    assert!(
        metrics.contains("vexil_source_polls_total{result=\"not_modified\"}"),
        "{metrics}"
    );

    // v2 is swapped in, and announced on the event stream.
    let (_, _, bulk) = server
        .post(
            "/ofrep/v1/evaluate/flags",
            &json!({ "context": shopper("u-1") }),
        )
        .await;
    let mut stream = server.stream(&bulk).await.bytes_stream();
    host.publish(&shop_bundle(FIVE));
    let event = common::next_refetch(&mut stream).await;
    assert!(event.contains("data: "), "{event}");
    assert_eq!(slots(&server).await, 5);
    let v2 = status(&server).await["version"].clone();

    // A bundle whose tests fail is refused: v2 keeps serving.
    host.publish(&shop_bundle(SIX_UNTESTED));
    wait_for("the refused bundle", || async {
        status(&server).await["lastReload"]["ok"] == false
    })
    .await;
    let s = status(&server).await;
    assert_eq!(s["version"], v2);
    let error = s["lastReload"]["error"].as_str().expect("why").to_string();
    assert!(error.contains("tests fail"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    assert_eq!(slots(&server).await, 5);

    // So is a body that is no bundle at all.
    host.publish("{ not a bundle");
    wait_for("the second refusal", || async {
        let (_, _, m) = server.get("/metrics", &[]).await;
        m.contains("vexil_reload_failures_total 2")
    })
    .await;
    assert_eq!(status(&server).await["version"], v2);
    assert_eq!(slots(&server).await, 5);

    // A host that stops answering: a failed fetch, counted; v2 stays.
    std::fs::remove_file(host.dir.path().join("bundle.json")).expect("rm");
    wait_for("a failed fetch", || async {
        let (_, _, m) = server.get("/metrics", &[]).await;
        m.contains("vexil_source_polls_total{result=\"error\"}")
    })
    .await;
    let s = status(&server).await;
    assert!(
        s["lastReload"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{s}"
    );
    assert_eq!(slots(&server).await, 5);
    server.running.stop().await;
}

#[tokio::test]
async fn an_unreachable_url_starts_from_the_cache_then_follows_the_url() {
    let cache = tempfile::tempdir().expect("tmp");
    let host = Host::start().await;
    host.publish(&shop_bundle(&[]));
    // A first server caches what it serves.
    let server = start(config(&host.url(), Some(cache.path()))).await;
    assert_eq!(slots(&server).await, 4);
    let cached = status(&server).await["source"]["cache"]
        .as_str()
        .expect("a cache file")
        .to_string();
    assert!(Path::new(&cached).is_file(), "{cached}");
    server.running.stop().await;

    // The host is down: a new server starts from the cache, and says so.
    std::fs::remove_file(host.dir.path().join("bundle.json")).expect("rm");
    let server = start(config(&host.url(), Some(cache.path()))).await;
    assert_eq!(slots(&server).await, 4);
    assert_eq!(status(&server).await["source"]["kind"], "cache");

    // The host is back with a new version: followed, out of the cache.
    host.publish(&shop_bundle(FIVE));
    wait_for("the URL's version", || async { slots(&server).await == 5 }).await;
    assert_eq!(status(&server).await["source"]["kind"], "url");
    server.running.stop().await;

    // The cache now holds that version: a host serving a broken bundle
    // still starts a server, on it.
    host.publish(&shop_bundle(SIX_UNTESTED));
    let server = start(config(&host.url(), Some(cache.path()))).await;
    assert_eq!(slots(&server).await, 5);
    assert_eq!(status(&server).await["source"]["kind"], "cache");
    server.running.stop().await;
}

#[tokio::test]
async fn an_unreachable_url_without_a_cache_does_not_start() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("http://127.0.0.1:{port}/bundle.json");
    let empty = tempfile::tempdir().expect("tmp");
    for cache in [None, Some(empty.path())] {
        match vexil_server::start(config(&url, cache)).await {
            Err(vexil_server::ServeError::Flags(message)) => {
                assert!(message.contains("cannot fetch"), "{message}");
                assert!(message.contains("cache"), "{message}");
            }
            Err(other) => panic!("expected a source error, got {other}"),
            Ok(_) => panic!("nothing to serve, yet it started"),
        }
    }
}

/// A static host over HTTPS on loopback, with a certificate for
/// `localhost` issued by a private CA made here (rcgen); answers every
/// request with `body`. Returns its port, the CA's PEM, and its task.
async fn tls_host(body: String) -> (u16, String, tokio::task::JoinHandle<()>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .expect("tls config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                // A refused handshake (a client that does not trust the CA)
                // just ends the connection.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(buf.get(..n).unwrap_or_default()),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca_cert.pem(), task)
}

#[tokio::test]
async fn an_https_url_is_fetched_with_the_ca_file_and_refused_without_it() {
    let (port, ca_pem, task) = tls_host(shop_bundle(&[
        ("  default 4\n", "  default 5\n"),
        (
            "  expect recommendation-slots == 4\n",
            "  expect recommendation-slots == 5\n",
        ),
    ]))
    .await;
    let url = format!("https://localhost:{port}/bundle.json");

    // Without the CA: the certificate is not trusted, and nothing starts.
    match vexil_server::start(config(&url, None)).await {
        Err(vexil_server::ServeError::Flags(message)) => {
            assert!(message.contains("cannot fetch"), "{message}");
        }
        Err(other) => panic!("expected a source error, got {other}"),
        Ok(_) => panic!("an untrusted certificate was accepted"),
    }

    // With the CA in `ca_file`: fetched and served.
    let dir = tempfile::tempdir().expect("tmp");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).expect("write");
    let mut c = config(&url, None);
    c.ca_file = Some(ca_file);
    let server = start(c).await;
    assert_eq!(slots(&server).await, 5);
    assert_eq!(status(&server).await["source"]["kind"], "url");
    server.running.stop().await;

    // A `ca_file` that holds no certificate is refused clearly.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").expect("write");
    let mut c = config(&url, None);
    c.ca_file = Some(bad);
    match vexil_server::start(c).await {
        Err(e) => assert!(e.to_string().contains("ca_file"), "{e}"),
        Ok(_) => panic!("a bad ca_file was accepted"),
    }
    task.abort();
}
