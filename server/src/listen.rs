//! Accepting connections and serving HTTP/1 on them. `axum::serve` gives
//! hyper no timer, so a client that connects and never finishes its
//! headers (or keeps an idle connection) would hold it forever, and it
//! takes every connection offered. Here:
//!
//! - hyper's header read timeout (`limits.header_read_timeout_ms`): a
//!   request's headers, and an idle keep-alive connection's next request,
//!   must arrive within it, or the connection is closed;
//! - at most `limits.max_connections` connections are open; one more is
//!   answered `503` with `Retry-After` and OFREP's error body, and closed;
//! - an accept error (out of file descriptors) is logged and retried after
//!   a pause, never fatal;
//! - `TCP_NODELAY` on every connection: a response written in two
//!   segments would otherwise wait for the client's delayed ACK (up to
//!   40 ms on Linux);
//! - graceful shutdown: stop accepting, let each connection finish the
//!   request it is answering, then close.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};
use tower::ServiceExt;

use crate::state::App;

/// How long to wait after an accept error before accepting again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// How long a refused connection is given to take its `503`.
const REFUSE_WAIT: Duration = Duration::from_millis(500);

/// What each connection is held to.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Raise this process's open-file limit to its hard limit (as Go's runtime
/// does), and bring `configured` connections under it with room for the
/// server's own files, saying so if that lowers it.
pub fn usable_connections(configured: usize) -> usize {
    const OWN_FILES: u64 = 256;
    let Some(files) = raise_open_files() else {
        return configured.max(1);
    };
    let room = usize::try_from(files.saturating_sub(OWN_FILES)).unwrap_or(usize::MAX);
    if configured > room {
        tracing::warn!(
            configured,
            open_files = files,
            "`limits.max_connections` is more than this process may open files for; \
             allowing {room} (raise the open-file limit, `ulimit -n`, to allow more)"
        );
        return room.max(1);
    }
    configured.max(1)
}

/// The open-file limit after raising the soft limit to the hard one.
#[cfg(unix)]
fn raise_open_files() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    // `rlim_t` is not u64 everywhere.
    #[allow(clippy::unnecessary_cast)]
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
fn raise_open_files() -> Option<u64> {
    None
}

/// Serve `router` on `listener` until `stop` fires (or is dropped), then
/// shut every connection down gracefully and return once all have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    app: Arc<App>,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    // Each connection holds a receiver: `closing` tells them to shut down,
    // and its `closed()` resolves once every one has ended.
    let (closing, close) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if per_connection(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection; retrying shortly");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                let (router, close) = (router.clone(), close.clone());
                let counted = app.metrics.connection_opened();
                tokio::spawn(async move {
                    connection(tcp, addr, router, limits.header_read_timeout, close).await;
                    drop((permit, counted));
                });
            }
            Err(_) => {
                app.metrics.connection_refused();
                tokio::spawn(refuse(tcp));
            }
        }
    }
    drop(listener);
    drop(close);
    let _ = closing.send(true);
    closing.closed().await;
    Ok(())
}

/// An accept error that concerns only the connection being accepted.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    mut close: watch::Receiver<bool>,
) {
    let service =
        TowerToHyperService::new(router.map_request(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(addr));
            req
        }));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(tcp), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %addr, "connection ended with an error");
            }
            return;
        }
        _ = close.changed() => conn.as_mut().graceful_shutdown(),
    }
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, %addr, "connection ended with an error");
    }
}

/// The answer to a connection over the limit: its request's head is read
/// first (a client that gets an answer before it has sent its request may
/// take it for a broken connection), for `REFUSE_WAIT` at most, then the
/// `503` is written and the connection closed.
async fn refuse(mut tcp: TcpStream) {
    const BODY: &str = r#"{"errorCode":"GENERAL","errorDetails":"the server has too many open connections; retry shortly"}"#;
    const HEAD_MAX: usize = 16 * 1024;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(REFUSE_WAIT, async {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_MAX {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(REFUSE_WAIT, async {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await?;
        // Read what the client still sends (a body) until it closes, so
        // that closing does not reset the connection before the answer is
        // read.
        let mut buf = [0u8; 4096];
        while tcp.read(&mut buf).await? > 0 {}
        Ok::<_, io::Error>(())
    })
    .await;
}
