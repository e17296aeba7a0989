//! Vexil's runtime: load compiled flags, build contexts, evaluate.
//!
//! ```no_run
//! use vexil_runtime::{Engine, EngineOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::from_dir("flags".as_ref(), EngineOptions::default())?;
//! let snapshot = engine.current();
//! let layout = snapshot.layout();
//! let user_id = layout.field("user", "id").expect("schema has user.id");
//! let mut ctx = layout.context();
//! ctx.set_str(user_id, "u-42");
//! let on = snapshot.bool_value("new-checkout", &ctx, vexil_runtime::now(), false);
//! # Ok(()) }
//! ```

pub mod backend;
pub mod context;
mod engine;
pub mod exposure;
pub mod interp;
#[cfg(feature = "jit")]
pub mod jit;
pub mod outcome;
mod prepared;
mod snapshot;
#[cfg(feature = "source")]
mod source;
pub mod testing;

pub use backend::Backend;
pub use context::{Context, FieldHandle, Layout};
pub use engine::{Engine, EngineOptions};
pub use exposure::{DedupSink, Exposure, ExposureSink, JsonLinesSink, MemorySink, OwnedExposure};
pub use outcome::{Details, Evaluation, Outcome};
pub use prepared::Prepared;
pub use snapshot::{jit_status, BackendChoice, LoadError, Snapshot, Target};
#[cfg(feature = "source")]
pub use source::{Reloaded, Watcher};
pub use vexil_ir as ir;
pub use vexil_ir::{ErrorCode, FlagValue, Reason};

/// The current time in microseconds since the epoch: what `now` is in rules.
pub fn now() -> i64 {
    vexil_ir::value::now_micros()
}
