//! Vexil's runtime: load compiled flags, build contexts, evaluate.
//!
//! ```no_run
//! use vexil_runtime::{Engine, EngineOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::from_bundle_file("flags.json".as_ref(), EngineOptions::default())?;
//! let snapshot = engine.current();
//! let layout = snapshot.layout();
//! let user_id = layout.field("user", "id").ok_or("the schema has no user.id")?;
//! let mut ctx = layout.context();
//! ctx.set_str(user_id, "u-42");
//! let on = snapshot.bool_value("new-checkout", &ctx, vexil_runtime::now(), false);
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `jit` (default): flags run as machine code compiled with Cranelift;
//!   without it, or on a host it does not support, the interpreter runs
//!   them ([`jit_status`] says which).
//! - `source`: load and hot-reload a directory of `.flag` sources
//!   (`Engine::from_dir`), which builds the compiler into the service.
//!   Without it the runtime loads bundles written by `vexil build`, and
//!   depends on no part of the compiler.
//! - `internals`: the backends alone, for benches; not a stable API.
//!
//! # Terms
//!
//! A [`Snapshot`] is one loaded version of the flags, immutable and shared;
//! an [`Engine`] holds the current one and swaps in new versions. A
//! [`Layout`] places the schema's fields in a [`Context`], which a service
//! fills per request through [`FieldHandle`]s resolved once. Evaluating
//! gives an [`Evaluation`] (borrowed, with the reason, rule and error) or
//! owned [`Details`]; experiments record [`Exposure`]s to an
//! [`ExposureSink`].

#![warn(missing_docs)]

mod backend;
mod context;
mod engine;
mod exposure;
mod interp;
#[cfg(feature = "jit")]
mod jit;
mod list_set;
mod outcome;
mod overrides;
mod prepared;
mod priority;
mod snapshot;
#[cfg(feature = "source")]
mod source;
pub mod testing;
mod unmatched;

pub use context::{Context, FieldHandle, FieldInfo, Layout};
pub use engine::{BundleSource, Engine, EngineOptions, NewVersion, Reloaded, Watcher};
pub use exposure::{DedupSink, Exposure, ExposureSink, JsonLinesSink, MemorySink, OwnedExposure};
pub use interp::{ExplainStep, Explanation};
pub use outcome::{Detail, Details, Evaluation, Outcome, RuleRef};
pub use overrides::{OverrideAction, OverrideInfo, OverrideProblem, OverrideSpec, Overrides};
pub use prepared::Prepared;
pub use priority::{
    background_priority, lower_this_thread, set_background_priority, this_thread_nice,
    BackgroundPriority, LOW_NICE,
};
pub use snapshot::{jit_status, BackendChoice, LoadError, Snapshot, Target};
pub use unmatched::{ContextCounts, ContextWarning};
pub use vexil_ir as ir;
pub use vexil_ir::{ErrorCode, FlagValue, Reason};

/// How many threads are compiling flags in the background in this process
/// (see [`BackendChoice::Auto`]): for metrics, and to see that a dropped
/// engine's compilation stopped. Always 0 without the `jit` feature.
pub fn compile_workers_running() -> usize {
    #[cfg(feature = "jit")]
    {
        jit::compile_workers_running()
    }
    #[cfg(not(feature = "jit"))]
    {
        0
    }
}

/// The current time in microseconds since the epoch: what `now` is in rules.
pub fn now() -> i64 {
    vexil_ir::value::now_micros()
}

/// The evaluation backends on their own, without a [`Snapshot`] around
/// them: for the benches that time one backend's preparation. Not a stable
/// API; a service evaluates through [`Snapshot`] or [`Engine`], and tests
/// compare backends through snapshots built with each [`BackendChoice`].
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::interp::Interpreter;
    #[cfg(feature = "jit")]
    pub use crate::jit::{Jit, JitError};
}
