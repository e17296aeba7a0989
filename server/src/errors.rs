//! Every refusal as an OFREP error body: `{"key"?, "errorCode", "errorDetails"}`
//! with the status OFREP gives it. Errors are values until here, the edge.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An answer other than an evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The flag the request named, for single evaluations.
    pub key: Option<String>,
    /// An OpenFeature error code (`PARSE_ERROR`, `INVALID_CONTEXT`, ...).
    pub code: &'static str,
    pub details: String,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(rename = "errorCode")]
    code: &'a str,
    #[serde(rename = "errorDetails")]
    details: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, details: impl Into<String>) -> ApiError {
        ApiError {
            status,
            key: None,
            code,
            details: details.into(),
            retry_after: None,
        }
    }

    /// Any status, with a code of the write API (`STALE`, `UNAVAILABLE`..).
    pub fn status(status: StatusCode, code: &'static str, details: impl Into<String>) -> ApiError {
        ApiError::new(status, code, details)
    }

    pub fn parse(details: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "PARSE_ERROR", details)
    }

    pub fn invalid_context(details: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_CONTEXT", details)
    }

    pub fn not_found(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "FLAG_NOT_FOUND",
            format!("no flag or experiment named `{key}`"),
        )
        .for_key(key)
    }

    pub fn unauthorized(details: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "GENERAL", details)
    }

    pub fn forbidden(details: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "GENERAL", details)
    }

    pub fn too_many(details: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "GENERAL", details)
        }
    }

    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PARSE_ERROR",
            format!(
                "the request body is larger than {}",
                vexil_words::count(limit, "byte")
            ),
        )
    }

    /// A refusal the HTTP layers produced (no route, wrong method, timeout).
    pub fn from_status(status: StatusCode) -> ApiError {
        let details = match status {
            StatusCode::NOT_FOUND => "no such endpoint".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method".to_string(),
            StatusCode::REQUEST_TIMEOUT => "the request took too long".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "the body must be JSON".to_string(),
            s => s
                .canonical_reason()
                .unwrap_or("the request failed")
                .to_lowercase(),
        };
        let code = if status.is_client_error() {
            "PARSE_ERROR"
        } else {
            "GENERAL"
        };
        ApiError::new(status, code, details)
    }

    pub fn for_key(mut self, key: &str) -> ApiError {
        self.key = Some(key.to_string());
        self
    }

    /// The label metrics count this refusal under.
    pub fn metric_code(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            StatusCode::REQUEST_TIMEOUT => "TIMEOUT",
            _ => self.code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            key: self.key.as_deref(),
            code: self.code,
            details: &self.details,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A request body, or the refusal of it: 413 over the body limit, 400
/// when it cannot be read.
pub fn read_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::parse(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// Give an OFREP error body to any error response that has none (the body
/// limit's 413, the timeout's 408, a 404 or 405 from routing), so that
/// every refusal reads the same (the envelope applies it to every answer).
pub fn with_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // The dashboard's pages say what went wrong in HTML.
            v.starts_with("application/json")
                || v.starts_with("text/event-stream")
                || v.starts_with("text/html")
        });
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let mut replaced = ApiError::from_status(status).into_response();
        // Keep what the layer said beyond the body (`Allow`, CORS headers).
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                replaced.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return replaced;
    }
    response
}
