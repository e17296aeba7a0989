//! The extension point: what an engine must do to take part in the bench.
//!
//! An engine is measured on three operations, each on its own native context
//! type: evaluating one flag for a context built before timing, evaluating one
//! flag starting from the user's JSON request (parse, build the context,
//! evaluate), and evaluating all six flags for one user.
//!
//! Adding an engine (for example Vexil's `interp` or `jit` evaluators) takes
//! three steps:
//! 1. a module here with a type implementing [`WorkloadEngine`], whose
//!    `Context` is whatever that evaluator consumes on its hot path;
//! 2. two tests in `tests/correctness.rs` calling `check_engine` and
//!    `check_f5_split` with it;
//! 3. one `bench_engine(c, Engine::load(), &workload)` line in
//!    `benches/workload.rs`.

use std::fmt;
use std::path::PathBuf;

use crate::workload::{Answer, Flag};

/// One engine under measurement.
pub trait WorkloadEngine {
    /// First segment of the engine's benchmark ids (`NAME/F2`, `NAME/all`),
    /// so that results of every engine can be compared by script.
    const NAME: &'static str;

    /// The engine's own per-user context, built ahead of timing by
    /// [`WorkloadEngine::prepare`].
    type Context;

    /// Builds the engine's context from one user's JSON request, as a
    /// service would on receiving it.
    fn prepare(&self, request: &str) -> Result<Self::Context, BenchError>;

    /// Evaluates `flag` for a prepared context: the hot path of a service
    /// that already holds the context.
    fn evaluate(&self, flag: Flag, context: &Self::Context) -> Answer;

    /// Evaluates `flag` starting from the user's JSON request.
    ///
    /// The default is [`prepare`](WorkloadEngine::prepare) followed by
    /// [`evaluate`](WorkloadEngine::evaluate); an engine with a cheaper path
    /// from JSON (one that skips building a full context) overrides it.
    fn evaluate_request(&self, flag: Flag, request: &str) -> Result<Answer, BenchError> {
        let context = self.prepare(request)?;
        Ok(self.evaluate(flag, &context))
    }

    /// Evaluates all six flags for one user, in [`Flag::ALL`] order.
    ///
    /// The default evaluates them one by one; an engine that shares work
    /// between flags of one user overrides it.
    fn evaluate_all(&self, context: &Self::Context) -> [Answer; 6] {
        Flag::ALL.map(|flag| self.evaluate(flag, context))
    }
}

/// Why an engine, its configuration or a user request could not be loaded.
#[derive(Debug)]
pub enum BenchError {
    /// A file the bench needs could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A user request or a users file line is not the JSON the workload
    /// describes.
    Json {
        what: String,
        source: serde_json::Error,
    },
    /// A field of a user record holds a value the engine cannot represent.
    Field { field: &'static str, value: String },
    /// A peer configuration was read but the engine rejected it, or a flag
    /// is missing from it.
    Config {
        engine: &'static str,
        message: String,
    },
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Read { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            BenchError::Json { what, source } => write!(f, "invalid JSON in {what}: {source}"),
            BenchError::Field { field, value } => {
                write!(f, "field `{field}` has unsupported value `{value}`")
            }
            BenchError::Config { engine, message } => {
                write!(f, "{engine} configuration rejected: {message}")
            }
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Read { source, .. } => Some(source),
            BenchError::Json { source, .. } => Some(source),
            BenchError::Field { .. } | BenchError::Config { .. } => None,
        }
    }
}
