//! The change stream OFREP's `eventStreams` names: server-sent events, one
//! `refetchEvaluation` per swapped-in version (carrying its id as `etag`),
//! keep-alive comments in between, and the end of the stream on shutdown.
//! Browsers cannot send headers with `EventSource`, so the stream is opened
//! by a token in its URL, derived from the caller's key (never the secret).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::watch;

use crate::errors::ApiError;
use crate::metrics::StreamGuard;
use crate::state::{App, Change};

#[derive(Deserialize)]
pub struct StreamQuery {
    token: Option<String>,
}

/// `GET /ofrep/v1/event-stream`.
pub async fn events(State(app): State<Arc<App>>, Query(query): Query<StreamQuery>) -> Response {
    if let Err(e) = app.keys.stream_caller(query.token.as_deref()) {
        return app.metrics.refuse(e).into_response();
    }
    let max = app.config.sse.max_clients;
    if usize::try_from(app.metrics.open_streams()).is_ok_and(|open| open >= max) {
        let e = ApiError::too_many(format!("{max} event streams are open already"), 5);
        return app.metrics.refuse(e).into_response();
    }
    let open = Open {
        changes: app.changes(),
        stopping: app.stopping(),
        _guard: app.metrics.stream_opened(),
    };
    let hello = Event::default().retry(Duration::from_millis(app.config.sse.retry_ms));
    let changes = stream::unfold(open, |mut open| async move {
        let change = open.next().await?;
        Some((Ok::<Event, Infallible>(refetch(&change)), open))
    });
    let events = stream::once(async move { Ok(hello) }).chain(changes);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(app.config.sse.keepalive_secs)))
        .into_response()
}

/// One open stream's state.
struct Open {
    changes: watch::Receiver<Change>,
    stopping: watch::Receiver<bool>,
    _guard: StreamGuard,
}

impl Open {
    /// The next version swapped in; `None` when the server stops. Versions
    /// swapped faster than a client reads coalesce into the newest.
    async fn next(&mut self) -> Option<Change> {
        if *self.stopping.borrow() {
            return None;
        }
        tokio::select! {
            changed = self.changes.changed() => {
                changed.ok()?;
                Some(self.changes.borrow_and_update().clone())
            }
            _ = self.stopping.changed() => None,
        }
    }
}

fn refetch(change: &Change) -> Event {
    let data = serde_json::json!({
        "type": "refetchEvaluation",
        "etag": change.version,
        "lastModified": change.loaded_at,
    });
    Event::default()
        .event("message")
        .id(change.version.clone())
        .data(data.to_string())
}
