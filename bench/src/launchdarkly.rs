//! LaunchDarkly's evaluation core, `launchdarkly-server-sdk-evaluation`, on
//! `peer-configs/launchdarkly.json`.
//!
//! The crate is the engine inside LaunchDarkly's Rust server SDK: flags are
//! its `Flag` data model, deserialized from the flag JSON the service sends,
//! and evaluation is its `evaluate(store, flag, context, None)`. The engine is
//! its own in-memory `Store`, as the SDK's is; the hot path looks the flag up
//! by key and evaluates it by reference. A user becomes a `user`-kind
//! `Context` keyed by `id` (what percentage rollouts hash by default), with
//! `age` a number, `beta` a boolean and the other fields strings.

use std::collections::HashMap;

use launchdarkly_server_sdk_evaluation::{
    evaluate, Context, ContextBuilder, Flag as LdFlag, FlagValue, Segment, Store,
};

use crate::engine::{BenchError, WorkloadEngine};
use crate::user::UserRecord;
use crate::workload::{read_peer_config, Answer, Flag};

pub struct LaunchDarkly {
    flags: HashMap<String, LdFlag>,
}

impl LaunchDarkly {
    /// Loads `peer-configs/launchdarkly.json`, a map from flag key to flag.
    pub fn load() -> Result<LaunchDarkly, BenchError> {
        let text = read_peer_config("launchdarkly.json")?;
        let flags: HashMap<String, LdFlag> =
            serde_json::from_str(&text).map_err(|source| BenchError::Json {
                what: String::from("peer-configs/launchdarkly.json"),
                source,
            })?;
        if let Some(missing) = Flag::ALL
            .iter()
            .find(|flag| !flags.contains_key(flag.key()))
        {
            return Err(BenchError::Config {
                engine: Self::NAME,
                message: format!("flag `{}` is missing", missing.key()),
            });
        }
        Ok(LaunchDarkly { flags })
    }
}

/// Evaluation asks the store only for prerequisite flags and segments, which
/// the workload does not use; it is answered all the same.
impl Store for LaunchDarkly {
    fn flag(&self, flag_key: &str) -> Option<LdFlag> {
        self.flags.get(flag_key).cloned()
    }

    fn segment(&self, _segment_key: &str) -> Option<Segment> {
        None
    }
}

/// The LaunchDarkly context of one user.
pub fn context_of(record: &UserRecord<'_>) -> Result<Context, BenchError> {
    ContextBuilder::new(record.id.as_ref())
        .set_string("email", record.email.as_ref())
        .set_string("country", record.country.as_ref())
        .set_string("plan", record.plan.as_ref())
        // LaunchDarkly numbers are f64; ages are far inside its exact range.
        .set_float("age", record.age as f64)
        .set_string("app_version", record.app_version.as_ref())
        .set_bool("beta", record.beta)
        .set_string("created_at", record.created_at.as_ref())
        .build()
        .map_err(|message| BenchError::Field {
            field: "id",
            value: format!("{}: {message}", record.id),
        })
}

impl WorkloadEngine for LaunchDarkly {
    const NAME: &'static str = "launchdarkly";
    type Context = Context;

    fn prepare(&self, request: &str) -> Result<Context, BenchError> {
        context_of(&UserRecord::parse(request)?)
    }

    fn evaluate(&self, flag: Flag, context: &Context) -> Answer {
        let Some(ld_flag) = self.flags.get(flag.key()) else {
            return Answer::Unexpected;
        };
        match evaluate(self, ld_flag, context, None).value {
            Some(FlagValue::Bool(value)) => Answer::Bool(*value),
            Some(FlagValue::Str(name)) => Answer::from_variant_name(name),
            Some(_) | None => Answer::Unexpected,
        }
    }
}
