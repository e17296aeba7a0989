//! A user request as it arrives: the workload's JSON object, parsed with
//! serde without converting any field.
//!
//! Every engine's path from JSON starts here, so the parsing cost is the same
//! for all of them and their `.../json` figures differ only by how each
//! builds its own context. Strings borrow from the request when they hold no
//! escapes, as a service parsing a request body would arrange.

use std::borrow::Cow;

use serde::Deserialize;

use crate::engine::BenchError;

#[derive(Debug, Clone, Deserialize)]
pub struct UserRecord<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub email: Cow<'a, str>,
    #[serde(borrow)]
    pub country: Cow<'a, str>,
    #[serde(borrow)]
    pub plan: Cow<'a, str>,
    pub age: i64,
    /// A semver string, `M.m.p`.
    #[serde(borrow)]
    pub app_version: Cow<'a, str>,
    pub beta: bool,
    /// An RFC 3339 timestamp.
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
}

impl<'a> UserRecord<'a> {
    pub fn parse(request: &'a str) -> Result<UserRecord<'a>, BenchError> {
        serde_json::from_str(request).map_err(|source| BenchError::Json {
            what: String::from("user request"),
            source,
        })
    }
}
