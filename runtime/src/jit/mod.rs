//! Compiled evaluation: every flag, segment and experiment of a bundle
//! turned into machine code with Cranelift, at load and at every reload.
//!
//! The interpreter (`crate::interp`) is the specification: this backend
//! gives the same [`Outcome`] in every field, which one shared test harness
//! and a differential property test check. A compiled function reads the
//! context in place (slots, text, list items) and returns the outcome
//! packed in two words (`abi.rs`); what is not worth inlining goes
//! to `extern "C"` helpers that never panic. The machine code is freed
//! when the [`Jit`] is dropped, that is when the last reader of its
//! snapshot lets go.
//!
//! It compiles a [`ValidBundle`] and refuses nothing: what validation
//! excludes, code generation does not check again (a shape it excludes
//! compiles to "unknown", after a `debug_assert!`).

mod abi;
mod cond;
mod fast;
mod helpers;
mod leaf;
mod lower;
mod member;
mod module;
mod tables;
mod target;

use std::sync::Mutex;

use cranelift_jit::JITModule;
use vexil_ir::{ErrorCode, ValidBundle};

use crate::backend::Backend;
use crate::context::Context;
use crate::outcome::Outcome;
pub(crate) use abi::{word_value, TargetFn};

/// Whether this host can run compiled code; `Err` says why not.
pub fn available() -> Result<(), String> {
    module::host_isa().map(|_| ())
}

/// Why a bundle was not compiled. Never the bundle's fault: every valid
/// bundle compiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JitError {
    /// Compiled code is not available here, or Cranelift failed.
    Unavailable(String),
}

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JitError::Unavailable(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for JitError {}

/// How a flag is answered.
#[derive(Clone, Copy)]
enum Entry {
    /// A flag that cannot vary (off, or without rules and prerequisites):
    /// its outcome, known at load, as the interpreter answers it.
    Fixed(Outcome),
    Code(TargetFn),
}

/// Machine code for one bundle.
pub struct Jit {
    flags: Box<[Entry]>,
    experiments: Box<[TargetFn]>,
    layout_id: u64,
    slot_count: usize,
    /// What the code needs to exist, touched again only when dropped.
    owned: Box<Owned>,
}

struct Owned {
    /// Owns what the code points into; dropped after the code is freed.
    _tables: tables::Tables,
    /// The module owning the code. A `Mutex` only so that `Jit` is `Sync`
    /// (the module is `Send` but not `Sync`).
    module: Mutex<Option<JITModule>>,
}

impl Jit {
    /// Compile every flag and experiment of `bundle` (validated: compiled
    /// code trusts the slot types it names).
    pub fn new(bundle: &ValidBundle) -> Result<Jit, JitError> {
        available().map_err(JitError::Unavailable)?;
        // Code generation must not panic on a valid bundle; if a bug makes
        // it, the load fails (and the running version stays) instead of
        // taking the service down.
        let compiled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lower::compile(bundle)))
                .map_err(|_| JitError::Unavailable("code generation panicked".to_string()))?;
        let compiled = compiled.map_err(|lower::CompileError(e)| {
            JitError::Unavailable(format!("code generation failed: {e}"))
        })?;
        let flags = bundle
            .flags
            .iter()
            .zip(compiled.flags)
            .map(|(flag, f)| {
                if !flag.enabled {
                    Entry::Fixed(Outcome::new(flag.default, vexil_ir::Reason::Disabled))
                } else if flag.rules.is_empty() && flag.prerequisites.is_empty() {
                    Entry::Fixed(Outcome::new(flag.default, vexil_ir::Reason::Static))
                } else {
                    Entry::Code(f)
                }
            })
            .collect();
        Ok(Jit {
            flags,
            experiments: compiled.experiments.into(),
            layout_id: bundle.schema.layout_id(),
            slot_count: bundle.schema.slot_count as usize,
            owned: Box::new(Owned {
                _tables: compiled.tables,
                module: Mutex::new(Some(compiled.module)),
            }),
        })
    }

    /// Compiled code reads slots by the types of this schema: a context of
    /// another layout is refused (as `Snapshot::outcome` does first).
    #[inline]
    fn accepts(&self, ctx: &Context) -> bool {
        ctx.layout_id() == self.layout_id && ctx.slots().len() >= self.slot_count
    }

    #[inline]
    fn run(&self, f: TargetFn, ctx: &Context, now: i64) -> Outcome {
        if !self.accepts(ctx) {
            return Outcome::error(0, ErrorCode::InvalidContext, None);
        }
        let (slots, text, items) = ctx.raw_parts();
        // SAFETY: `f` was compiled from a validated bundle for this layout
        // and reads only slots below `slot_count` (checked above), the
        // header in the context, string and list ranges the context's builders
        // keep inside its text (with padding) and items; the context
        // outlives the call. The module holding the code is freed only when
        // `self` is dropped.
        let out = unsafe { f(slots, text, items, ctx, now, 0) };
        abi::decode(out.word, out.extra)
    }

    /// Evaluate a flag by index.
    #[inline]
    pub fn flag(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        match self.flags.get(index as usize) {
            Some(Entry::Code(f)) => self.run(*f, ctx, now),
            // A fixed outcome still refuses a context of another layout, as
            // every evaluation through `run` does.
            Some(Entry::Fixed(out)) if self.accepts(ctx) => *out,
            Some(Entry::Fixed(_)) => Outcome::error(0, ErrorCode::InvalidContext, None),
            None => Outcome::error(0, ErrorCode::FlagNotFound, None),
        }
    }

    /// How `target` is answered: its function, or (`Err`) the value fixed
    /// at load. Out of range: `None`.
    pub(crate) fn entry(&self, target: crate::Target) -> Option<Result<TargetFn, u32>> {
        match target {
            crate::Target::Flag(i) => self.flags.get(i as usize).map(|e| match e {
                Entry::Code(f) => Ok(*f),
                Entry::Fixed(out) => Err(out.value),
            }),
            crate::Target::Experiment(i) => self.experiments.get(i as usize).map(|f| Ok(*f)),
        }
    }

    /// The layout id and slot count compiled code was built for.
    pub(crate) fn layout(&self) -> (u64, usize) {
        (self.layout_id, self.slot_count)
    }

    /// Evaluate an experiment by index.
    #[inline]
    pub fn experiment(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        match self.experiments.get(index as usize) {
            Some(f) => self.run(*f, ctx, now),
            None => Outcome::error(0, ErrorCode::FlagNotFound, None),
        }
    }
}

impl Backend for Jit {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn flag(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        Jit::flag(self, index, ctx, now)
    }

    fn experiment(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        Jit::experiment(self, index, ctx, now)
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        let module = match self.owned.module.get_mut() {
            Ok(m) => m.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(module) = module {
            // SAFETY: the only pointers into the module are `self.flags` and
            // `self.experiments`; calls borrow `self`, so none is running
            // while `self` is dropped, and none happens after.
            unsafe { module.free_memory() };
        }
    }
}
