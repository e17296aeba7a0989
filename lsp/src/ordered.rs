//! Document changes, taken in the order they were read.
//!
//! tower-lsp-server runs handlers concurrently (up to a limit), so a
//! `didChange` handler is not guaranteed to run before a later request's,
//! and it waits for a free slot behind slow requests. This wrapper sits
//! between the transport and the service: `call` runs in the read loop,
//! one message at a time, so changes reach the writer in exactly the order
//! the editor sent them, and at once, which cancels the slow requests
//! (salsa cancellation) instead of queueing behind them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidChangeWorkspaceFoldersParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams,
};
use tower_lsp_server::ExitedError;
use tower_service::Service;

use crate::host::{path_of, Change};
use crate::writer::Writer;

type Reply = Pin<Box<dyn Future<Output = Result<Option<Response>, ExitedError>> + Send>>;

pub struct Ordered<S> {
    inner: S,
    writer: Writer,
}

impl<S> Ordered<S> {
    pub fn new(inner: S, writer: Writer) -> Ordered<S> {
        Ordered { inner, writer }
    }
}

impl<S> Service<Request> for Ordered<S>
where
    S: Service<Request, Response = Option<Response>, Error = ExitedError>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = Reply;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match changes(&request) {
            Some(changes) => {
                for change in changes {
                    self.writer.change(change);
                }
                Box::pin(std::future::ready(Ok(None)))
            }
            None => Box::pin(self.inner.call(request)),
        }
    }
}

fn params<T: DeserializeOwned>(request: &Request) -> Option<T> {
    serde_json::from_value(request.params()?.clone()).ok()
}

/// The workspace changes a notification carries; `None` for any other
/// message, which goes to the language server as usual.
fn changes(request: &Request) -> Option<Vec<Change>> {
    if request.id().is_some() {
        return None;
    }
    let changes = match request.method() {
        "textDocument/didOpen" => {
            let p: DidOpenTextDocumentParams = params(request)?;
            vec![Change::Open {
                uri: p.text_document.uri,
                text: p.text_document.text,
            }]
        }
        "textDocument/didChange" => {
            let p: DidChangeTextDocumentParams = params(request)?;
            vec![Change::Edit {
                uri: p.text_document.uri,
                changes: p.content_changes,
            }]
        }
        "textDocument/didClose" => {
            let p: DidCloseTextDocumentParams = params(request)?;
            vec![Change::Close {
                uri: p.text_document.uri,
            }]
        }
        "workspace/didChangeWatchedFiles" => {
            let p: DidChangeWatchedFilesParams = params(request)?;
            p.changes
                .into_iter()
                .map(|e| Change::Disk { uri: e.uri })
                .collect()
        }
        "workspace/didChangeWorkspaceFolders" => {
            let p: DidChangeWorkspaceFoldersParams = params(request)?;
            let removed = p
                .event
                .removed
                .into_iter()
                .map(|f| Change::RemoveRoot(path_of(&f.uri).into()));
            let added = p
                .event
                .added
                .into_iter()
                .map(|f| Change::AddRoot(path_of(&f.uri).into()));
            removed.chain(added).collect()
        }
        _ => return None,
    };
    Some(changes)
}
