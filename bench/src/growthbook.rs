//! GrowthBook's Rust SDK, `growthbook-rust`, on `peer-configs/growthbook.json`.
//!
//! The engine is the SDK's evaluator, `GrowthBook::check`, over the features
//! payload. It is the object `GrowthBookClient` wraps; the client's
//! `feature_result` clones this whole object (every feature and its rules)
//! on each call before checking, which measures the clone more than the
//! evaluation, so the bench calls the evaluator directly (see README). A
//! user becomes the SDK's attribute list: `age` an integer, `beta` a boolean,
//! the other fields strings, `id` being the rules' hash attribute.

use std::collections::HashMap;

use growthbook_rust::dto::GrowthBookFeature;
use growthbook_rust::growthbook::GrowthBook as GrowthBookEvaluator;
use growthbook_rust::model_public::{GrowthBookAttribute, GrowthBookAttributeValue};
use serde_json::Value;

use crate::engine::{BenchError, WorkloadEngine};
use crate::user::UserRecord;
use crate::workload::{read_peer_config, Answer, Flag};

pub struct GrowthBook {
    evaluator: GrowthBookEvaluator,
}

impl GrowthBook {
    /// Loads `peer-configs/growthbook.json`, the `features` object of a
    /// GrowthBook SDK payload.
    pub fn load() -> Result<GrowthBook, BenchError> {
        let text = read_peer_config("growthbook.json")?;
        let features: HashMap<String, GrowthBookFeature> =
            serde_json::from_str(&text).map_err(|source| BenchError::Json {
                what: String::from("peer-configs/growthbook.json"),
                source,
            })?;
        if let Some(missing) = Flag::ALL
            .iter()
            .find(|flag| !features.contains_key(flag.key()))
        {
            return Err(BenchError::Config {
                engine: Self::NAME,
                message: format!("feature `{}` is missing", missing.key()),
            });
        }
        Ok(GrowthBook {
            evaluator: GrowthBookEvaluator {
                forced_variations: None,
                features,
                attributes: None,
                sticky_bucket_service: None,
                saved_groups: HashMap::new(),
            },
        })
    }
}

/// The GrowthBook attributes of one user, in the `Option` form `check` takes.
pub fn attributes_of(record: &UserRecord<'_>) -> Option<Vec<GrowthBookAttribute>> {
    let text = |key: &str, value: &str| {
        GrowthBookAttribute::new(
            key.to_owned(),
            GrowthBookAttributeValue::String(value.to_owned()),
        )
    };
    Some(vec![
        text("id", &record.id),
        text("email", &record.email),
        text("country", &record.country),
        text("plan", &record.plan),
        GrowthBookAttribute::new(
            String::from("age"),
            GrowthBookAttributeValue::Int(record.age),
        ),
        text("app_version", &record.app_version),
        GrowthBookAttribute::new(
            String::from("beta"),
            GrowthBookAttributeValue::Bool(record.beta),
        ),
        text("created_at", &record.created_at),
    ])
}

impl WorkloadEngine for GrowthBook {
    const NAME: &'static str = "growthbook";
    type Context = Option<Vec<GrowthBookAttribute>>;

    fn prepare(&self, request: &str) -> Result<Self::Context, BenchError> {
        Ok(attributes_of(&UserRecord::parse(request)?))
    }

    fn evaluate(&self, flag: Flag, attributes: &Self::Context) -> Answer {
        match self.evaluator.check(flag.key(), attributes).value {
            Value::Bool(value) => Answer::Bool(value),
            Value::String(name) => Answer::from_variant_name(&name),
            _ => Answer::Unexpected,
        }
    }
}
