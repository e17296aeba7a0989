//! `POST /v1/events`: exposure and track events from clients and services,
//! in the JSON Lines format `vexil ingest` reads (one event per line) or as
//! a JSON array of the same objects. Each event is checked alone: a bad one
//! is rejected with its index and reason and the good ones are kept. The
//! answer comes once the good ones are committed (see `recorder.rs`).
//!
//! Statuses: 200 every event accepted; 207 some accepted, some rejected;
//! 400 none accepted (or no events, or a body that is not a JSON array nor
//! lines); 413 over the body limit; 503 `UNAVAILABLE` with `Retry-After`
//! when the store cannot write (nothing of the batch stored). Duplicates (an
//! event already stored, by its id) count as accepted: sending a batch
//! again after a lost answer is safe.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use vexil_events::{parse_event, Event, MAX_REPORTED_ERRORS};

use crate::auth::Authorized;
use crate::errors::{read_body, ApiError};
use crate::state::App;

/// Seconds a client is asked to wait when the store cannot write.
const STORE_RETRY_SECS: u64 = 2;

/// A rejected event.
struct Rejected {
    /// Its position among the body's events, from 0.
    index: usize,
    /// Its line in a JSON Lines body, from 1.
    line: Option<usize>,
    reason: String,
}

/// `POST /v1/events`.
pub async fn intake(
    State(app): State<Arc<App>>,
    // Any key: client code reports what it showed.
    _caller: Authorized,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match take(&app, body).await {
        Ok(response) => response,
        Err(e) => app.metrics.refuse(e).into_response(),
    }
}

async fn take(app: &App, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let Some(recorder) = app.recorder() else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            ..ApiError::parse("the events intake is off: this server has no `events_db`")
        });
    };
    let bytes = read_body(body, app.config.limits.body_bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::parse(format!("the request body is not UTF-8 text: {e}")))?;
    let (events, positions, mut rejected, total) = parse_body(text)?;
    if total == 0 {
        return Err(ApiError::parse(
            "no events: send one JSON object per line, or a JSON array of them",
        ));
    }
    let report = if events.is_empty() {
        None
    } else {
        Some(recorder.append(events).await.map_err(|e| ApiError {
            // The whole batch was rolled back: sending it again later is
            // safe (duplicates count as accepted).
            retry_after: Some(STORE_RETRY_SECS),
            ..ApiError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                format!("the event store cannot write; nothing was stored, send the events again later: {e}"),
            )
        })?)
    };
    let (stored, duplicates) = report
        .as_ref()
        .map_or((0, 0), |r| (r.exposures + r.tracks, r.duplicates));
    if let Some(report) = &report {
        // The store's own checks, numbered within what it was given.
        for error in &report.errors {
            let at = usize::try_from(error.line).unwrap_or(0).saturating_sub(1);
            if let Some(&(index, line)) = positions.get(at) {
                rejected.push(Rejected {
                    index,
                    line,
                    reason: error.reason.clone(),
                });
            }
        }
    }
    let rejected_count = total as u64 - stored - duplicates;
    let accepted = stored + duplicates;
    app.metrics.events(accepted, rejected_count);
    rejected.sort_by_key(|r| r.index);
    rejected.truncate(MAX_REPORTED_ERRORS);
    let errors: Vec<Value> = rejected
        .iter()
        .map(|r| match r.line {
            Some(line) => json!({ "index": r.index, "line": line, "reason": r.reason }),
            None => json!({ "index": r.index, "reason": r.reason }),
        })
        .collect();
    let mut body = json!({
        "accepted": accepted,
        "stored": stored,
        "duplicates": duplicates,
        "rejected": rejected_count,
        "errors": errors,
    });
    let status = if rejected_count == 0 {
        StatusCode::OK
    } else if accepted > 0 {
        StatusCode::MULTI_STATUS
    } else {
        // An error body too, as every other refusal has.
        if let Some(members) = body.as_object_mut() {
            members.insert("errorCode".into(), "PARSE_ERROR".into());
            members.insert(
                "errorDetails".into(),
                format!("every event was rejected ({rejected_count})").into(),
            );
        }
        StatusCode::BAD_REQUEST
    };
    Ok((status, Json(body)).into_response())
}

/// Events parsed, where each came from (index, line), those rejected, and
/// how many the body held.
type Parsed = (
    Vec<Event>,
    Vec<(usize, Option<usize>)>,
    Vec<Rejected>,
    usize,
);

fn parse_body(text: &str) -> Result<Parsed, ApiError> {
    let mut events = Vec::new();
    let mut positions = Vec::new();
    let mut rejected = Vec::new();
    let mut take = |index: usize, line: Option<usize>, item: &str| match parse_event(item) {
        Ok(event) => {
            events.push(event);
            positions.push((index, line));
        }
        Err(reason) => rejected.push(Rejected {
            index,
            line,
            reason,
        }),
    };
    let total = if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| ApiError::parse(format!("the body is not a JSON array of events: {e}")))?;
        for (index, item) in items.iter().enumerate() {
            take(index, None, item.get());
        }
        items.len()
    } else {
        let mut index = 0;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            take(index, Some(n + 1), line);
            index += 1;
        }
        index
    };
    Ok((events, positions, rejected, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_arrays_give_the_same_events_and_positions() {
        let good = r#"{"type":"track","event":"buy","unit":"u-1","time":1}"#;
        let bad = r#"{"type":"track","event":"buy","unit":"u-1"}"#;
        let lines = format!("{good}\n\n{bad}\n{good}\n");
        let (events, positions, rejected, total) = parse_body(&lines).expect("parses");
        assert_eq!((events.len(), total), (2, 3));
        assert_eq!(positions, vec![(0, Some(1)), (2, Some(4))]);
        assert_eq!((rejected[0].index, rejected[0].line), (1, Some(3)));
        assert!(
            rejected[0].reason.contains("`time`"),
            "{}",
            rejected[0].reason
        );

        let array = format!("[{good}, {bad}, {good}]");
        let (events, positions, rejected, total) = parse_body(&array).expect("parses");
        assert_eq!((events.len(), total), (2, 3));
        assert_eq!(positions, vec![(0, None), (2, None)]);
        assert_eq!((rejected[0].index, rejected[0].line), (1, None));
    }

    #[test]
    fn a_broken_array_is_refused_whole() {
        assert!(parse_body("[{\"type\": ").is_err());
    }
}
