//! `vexil lsp`: the language server, over stdio.
//!
//! Built on the compiler's salsa database: one writer thread applies
//! document changes in order (`writer.rs`, fed by `ordered.rs`), requests
//! are answered from snapshots that salsa cancels when a change arrives
//! (`handlers.rs`), and after each change diagnostics are recomputed and
//! republished for the files whose diagnostics changed (`publish.rs`).
//! The analyses themselves live in `vexil-ide`; this crate only speaks the
//! protocol.

mod convert;
mod handlers;
pub mod host;
mod ordered;
pub mod publish;
mod server;
mod writer;

pub use convert::LspPositions;
pub use host::{Change, Host, Snapshot};
pub use publish::{Diagnostics, Publisher};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tower_lsp_server::{LspService, Server};

use crate::ordered::Ordered;
use crate::server::Backend;
use crate::writer::Writer;

/// Serves one client on `input`/`output` until it exits. Must run inside a
/// multi-threaded tokio runtime (queries run on its blocking pool).
pub async fn serve<I, O>(input: I, output: O)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let runtime = tokio::runtime::Handle::current();
    let (service, socket) = LspService::new(|client| {
        let (results, mut incoming) = mpsc::unbounded_channel::<Diagnostics>();
        // The client drops notifications sent before the server is
        // initialized (tower-lsp suppresses them), and the publisher would
        // count them as shown: the first diagnostics, those of the files on
        // disk, wait for `initialized`.
        let (ready, mut initialized) = watch::channel(false);
        let writer = Writer::spawn(Host::new(), runtime.clone(), move |snapshot| {
            let _ = results.send(publish::compute(snapshot));
        });
        // Publishing is ordered by revision, and each message is sent only
        // when a file's diagnostics changed.
        let publisher_client = client.clone();
        runtime.spawn(async move {
            if initialized.wait_for(|done| *done).await.is_err() {
                return;
            }
            let mut publisher = Publisher::default();
            while let Some(next) = incoming.recv().await {
                for (uri, diagnostics) in publisher.update(next) {
                    publisher_client
                        .publish_diagnostics(uri, diagnostics, None)
                        .await;
                }
            }
        });
        // A day passes: expiry warnings move with it.
        let clock = writer.clone();
        runtime.spawn(async move {
            let mut today = vexil_compiler::today();
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                let now = vexil_compiler::today();
                if now != today {
                    today = now;
                    clock.change(Change::Today(now));
                }
            }
        });
        Backend::new(client, writer, ready)
    });
    let writer = service.inner().writer.clone();
    Server::new(input, output, socket)
        .serve(Ordered::new(service, writer))
        .await;
}

/// `vexil lsp`: serves the editor on standard input and output.
pub fn run_stdio() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the language server's runtime: {e}"))?;
    runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
    // The writer and the clock may still hold the runtime's handles.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
