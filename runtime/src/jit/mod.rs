//! Compiled evaluation: every flag, segment and experiment of a bundle
//! turned into machine code with Cranelift, at load and at every reload.
//!
//! The interpreter (`crate::interp`) is the specification: this backend
//! gives the same [`Outcome`] in every field, which one shared test harness
//! and a differential property test check. A compiled function reads the
//! context in place (slots, text, list items) through an [`abi::Env`] and
//! returns the outcome packed in one word; what is not worth inlining goes
//! to `extern "C"` helpers that never panic. The machine code is freed
//! when the [`Jit`] is dropped, that is when the last reader of its
//! snapshot lets go.

mod abi;
mod check;
mod cond;
mod helpers;
mod lower;
mod member;
mod module;
mod tables;

use std::sync::Mutex;

use cranelift_jit::JITModule;
use vexil_ir::{Bundle, ErrorCode};

use crate::backend::Backend;
use crate::context::Context;
use crate::outcome::Outcome;
use abi::{Env, TargetFn};
pub use lower_error::JitError;

/// Whether this host can run compiled code; `Err` says why not.
pub fn available() -> Result<(), String> {
    module::host_isa().map(|_| ())
}

mod lower_error {
    /// Why a bundle was not compiled.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum JitError {
        /// The program is refused, as the interpreter refuses it: a regex
        /// that does not compile, a version out of range, an invalid bundle.
        Program(String),
        /// Compiled code is not available here, or Cranelift failed.
        Unavailable(String),
    }

    impl std::fmt::Display for JitError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                JitError::Program(e) | JitError::Unavailable(e) => f.write_str(e),
            }
        }
    }

    impl std::error::Error for JitError {}
}

/// Machine code for one bundle.
pub struct Jit {
    flags: Box<[TargetFn]>,
    experiments: Box<[TargetFn]>,
    layout_id: u64,
    slot_count: usize,
    /// Owns what the code points into; dropped after the code is freed.
    _tables: tables::Tables,
    /// The module owning the code. A `Mutex` only so that `Jit` is `Sync`
    /// (the module is `Send` but not `Sync`); it is touched again only in
    /// `drop`.
    module: Mutex<Option<JITModule>>,
}

impl Jit {
    /// Compile every flag and experiment of `bundle` (validated first:
    /// compiled code trusts the slot types it names).
    pub fn new(bundle: &Bundle) -> Result<Jit, JitError> {
        vexil_ir::validate(bundle).map_err(|e| JitError::Program(e.to_string()))?;
        available().map_err(JitError::Unavailable)?;
        // Code generation must not panic on a valid bundle; if a bug makes
        // it, the load fails (and the running version stays) instead of
        // taking the service down.
        let compiled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lower::compile(bundle)))
                .map_err(|_| JitError::Unavailable("code generation panicked".to_string()))?;
        let compiled = compiled.map_err(|e| match e {
            lower::CompileError::Program(e) => JitError::Program(e),
            lower::CompileError::Codegen(e) => {
                JitError::Unavailable(format!("code generation failed: {e}"))
            }
        })?;
        Ok(Jit {
            flags: compiled.flags.into(),
            experiments: compiled.experiments.into(),
            layout_id: bundle.schema.layout_id(),
            slot_count: bundle.schema.slot_count as usize,
            _tables: compiled.tables,
            module: Mutex::new(Some(compiled.module)),
        })
    }

    #[inline]
    fn run(&self, f: TargetFn, ctx: &Context, now: i64) -> Outcome {
        // Compiled code reads slots by the types of this schema: a context
        // of another layout is refused (as `Snapshot::outcome` does first).
        if ctx.layout_id() != self.layout_id || ctx.slots().len() < self.slot_count {
            return Outcome::error(0, ErrorCode::InvalidContext, None);
        }
        let (slots, text, items) = ctx.raw_parts();
        let mut env = Env {
            slots,
            text,
            items,
            ctx,
            extra: 0,
        };
        // SAFETY: `f` was compiled from a validated bundle for this layout
        // and reads only slots below `slot_count` (checked above), string
        // and list ranges the context's builders keep inside its text (with
        // padding) and items, and `env`, which outlives the call. The module
        // holding the code is freed only when `self` is dropped.
        let word = unsafe { f(&mut env, now, 0) };
        abi::decode(word, env.extra)
    }

    /// Evaluate a flag by index.
    #[inline]
    pub fn flag(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        match self.flags.get(index as usize) {
            Some(f) => self.run(*f, ctx, now),
            None => Outcome::error(0, ErrorCode::FlagNotFound, None),
        }
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
        let module = match self.module.get_mut() {
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
