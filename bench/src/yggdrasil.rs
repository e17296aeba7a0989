//! Unleash's evaluation core, `unleash-yggdrasil`, on `peer-configs/unleash.json`.
//!
//! The engine holds one `EngineState` fed the flags as a full client-features
//! response, as the crate's README shows. A user becomes an Unleash
//! `Context`: `id` as `userId` (what the rollout and variant stickiness hash),
//! every other field as a string property, which is the only kind of
//! property Unleash has. Boolean flags are `is_enabled`; F5 and F6 are
//! `get_variant`, whose "disabled" answer stands for the flag's fallback.

use std::collections::HashMap;

use unleash_types::client_features::{ClientFeatures, Context};
use unleash_yggdrasil::{EngineState, UpdateMessage};

use crate::engine::{BenchError, WorkloadEngine};
use crate::user::UserRecord;
use crate::workload::{read_peer_config, Answer, Flag};

pub struct Yggdrasil {
    state: EngineState,
    /// Yggdrasil's "external values" for custom strategies; the workload has
    /// none, and the API takes them by reference on every call.
    no_external_values: Option<HashMap<String, bool>>,
}

impl Yggdrasil {
    /// Loads `peer-configs/unleash.json`. A strategy that does not compile is
    /// an error here, not a flag that silently evaluates to off.
    pub fn load() -> Result<Yggdrasil, BenchError> {
        let text = read_peer_config("unleash.json")?;
        let features: ClientFeatures =
            serde_json::from_str(&text).map_err(|source| BenchError::Json {
                what: String::from("peer-configs/unleash.json"),
                source,
            })?;
        let state = EngineState::default();
        if let Some(warnings) = state.take_state(UpdateMessage::FullResponse(features)) {
            let message = warnings
                .iter()
                .map(|warning| format!("{}: {}", warning.toggle_name, warning.message))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(BenchError::Config {
                engine: Self::NAME,
                message,
            });
        }
        Ok(Yggdrasil {
            state,
            no_external_values: None,
        })
    }
}

/// The Unleash context of one user.
pub fn context_of(record: &UserRecord<'_>) -> Context {
    let properties = HashMap::from([
        (String::from("email"), record.email.clone().into_owned()),
        (String::from("country"), record.country.clone().into_owned()),
        (String::from("plan"), record.plan.clone().into_owned()),
        (String::from("age"), record.age.to_string()),
        (
            String::from("app_version"),
            record.app_version.clone().into_owned(),
        ),
        (String::from("beta"), record.beta.to_string()),
        (
            String::from("created_at"),
            record.created_at.clone().into_owned(),
        ),
    ]);
    Context {
        user_id: Some(record.id.clone().into_owned()),
        session_id: None,
        environment: None,
        app_name: None,
        current_time: None,
        remote_address: None,
        properties: Some(properties),
    }
}

impl WorkloadEngine for Yggdrasil {
    const NAME: &'static str = "yggdrasil";
    type Context = Context;

    fn prepare(&self, request: &str) -> Result<Context, BenchError> {
        Ok(context_of(&UserRecord::parse(request)?))
    }

    fn evaluate(&self, flag: Flag, context: &Context) -> Answer {
        match flag {
            Flag::F1 | Flag::F2 | Flag::F3 | Flag::F4 => Answer::Bool(self.state.is_enabled(
                flag.key(),
                context,
                &self.no_external_values,
            )),
            Flag::F5 | Flag::F6 => {
                let variant = self
                    .state
                    .get_variant(flag.key(), context, &self.no_external_values);
                if variant.feature_enabled && variant.enabled {
                    Answer::from_variant_name(&variant.name)
                } else {
                    flag.fallback()
                }
            }
        }
    }
}
