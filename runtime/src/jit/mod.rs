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
mod tier;

use std::sync::Arc;
use std::thread::JoinHandle;

use vexil_ir::{ErrorCode, ValidBundle};

use crate::backend::Backend;
use crate::context::Context;
use crate::interp::Interpreter;
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

/// Machine code for one bundle, compiled at load (`Jit::new`) or in the
/// background while the interpreter answers (`Jit::background`).
pub struct Jit {
    /// Per flag: its entry point, null until compiled (`tier.rs`). Flags
    /// fixed at load have none.
    flags: tier::Slots,
    /// Per flag: its outcome when it cannot vary (off, or without rules
    /// and prerequisites), known at load, as the interpreter answers it.
    fixed: Box<[Option<Outcome>]>,
    experiments: tier::Slots,
    layout_id: u64,
    slot_count: usize,
    /// Answers targets not compiled yet; `None` when all were compiled at
    /// load.
    interpreter: Option<Interpreter>,
    /// The modules holding the code, and the background compilation.
    background: Arc<tier::Background>,
    workers: Vec<JoinHandle<()>>,
}

impl Jit {
    /// Compile every flag and experiment of `bundle` (validated: compiled
    /// code trusts the slot types it names) into one module, now.
    pub fn new(bundle: &ValidBundle) -> Result<Jit, JitError> {
        available().map_err(JitError::Unavailable)?;
        let jit = Jit::empty(bundle, None, None);
        let wanted = jit.to_compile(bundle);
        let mut flags = vec![false; bundle.flags.len()];
        for t in &wanted {
            if let crate::Target::Flag(i) = t {
                if let Some(f) = flags.get_mut(*i as usize) {
                    *f = true;
                }
            }
        }
        let part = lower::Part::closure(bundle, flags, vec![true; bundle.experiments.len()]);
        tier::compile_part(
            bundle,
            &part,
            &wanted,
            &jit.flags,
            &jit.experiments,
            &jit.background.modules,
        )
        .map_err(JitError::Unavailable)?;
        Ok(jit)
    }

    /// Answer at once with the interpreter, and compile every flag and
    /// experiment on worker threads (one per core, at most eight), each
    /// swapped in when its part is ready. Outcomes are the same before,
    /// during and after: the interpreter is the specification compiled
    /// code is tested against.
    pub fn background(bundle: Arc<ValidBundle>) -> Result<Jit, JitError> {
        available().map_err(JitError::Unavailable)?;
        let interpreter = Interpreter::new(&bundle);
        let mut jit = Jit::empty(&bundle, Some(interpreter), Some(Arc::clone(&bundle)));
        jit.workers = jit.background.start(tier::worker_count());
        Ok(jit)
    }

    /// Slots all empty, fixed flags resolved and, given the bundle to
    /// share with workers, the targets left to compile handed to a (not
    /// yet started) background compilation.
    fn empty(
        bundle: &ValidBundle,
        interpreter: Option<Interpreter>,
        shared: Option<Arc<ValidBundle>>,
    ) -> Jit {
        let fixed: Box<[Option<Outcome>]> = bundle
            .flags
            .iter()
            .map(|flag| {
                if !flag.enabled {
                    Some(Outcome::new(flag.default, vexil_ir::Reason::Disabled))
                } else if flag.rules.is_empty()
                    && flag.prerequisites.is_empty()
                    && flag.enabled_when.is_none()
                {
                    Some(Outcome::new(flag.default, vexil_ir::Reason::Static))
                } else {
                    None
                }
            })
            .collect();
        let flags = tier::empty_slots(bundle.flags.len());
        let experiments = tier::empty_slots(bundle.experiments.len());
        let mut jit = Jit {
            background: tier::Background::new(
                None,
                Vec::new(),
                Arc::clone(&flags),
                Arc::clone(&experiments),
            ),
            flags,
            fixed,
            experiments,
            layout_id: bundle.schema.layout_id(),
            slot_count: bundle.schema.slot_count as usize,
            interpreter,
            workers: Vec::new(),
        };
        if let Some(shared) = shared {
            let targets = jit.to_compile(bundle);
            jit.background = tier::Background::new(
                Some(shared),
                targets,
                Arc::clone(&jit.flags),
                Arc::clone(&jit.experiments),
            );
        }
        jit
    }

    /// What has code: every flag not fixed at load, every experiment.
    fn to_compile(&self, bundle: &ValidBundle) -> Vec<crate::Target> {
        self.fixed
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_none())
            .map(|(i, _)| crate::Target::Flag(i as u32))
            .chain((0..bundle.experiments.len() as u32).map(crate::Target::Experiment))
            .collect()
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
            Some(slot) => match tier::load(slot) {
                Some(f) => self.run(f, ctx, now),
                None => self.flag_without_code(index, ctx, now),
            },
            None => Outcome::error(0, ErrorCode::FlagNotFound, None),
        }
    }

    /// A flag fixed at load, or one not compiled yet.
    fn flag_without_code(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        match (self.fixed.get(index as usize), &self.interpreter) {
            // A fixed outcome still refuses a context of another layout, as
            // every evaluation through `run` does.
            (Some(Some(out)), _) if self.accepts(ctx) => *out,
            (Some(Some(_)), _) => Outcome::error(0, ErrorCode::InvalidContext, None),
            (_, Some(interpreter)) => interpreter.flag(index, ctx, now),
            // Compiled at load: every flag that is not fixed has code.
            (_, None) => Outcome::error(0, ErrorCode::General, None),
        }
    }

    /// How `target` is answered: its function, or (`Err`) the value fixed
    /// at load. Out of range, or not compiled yet: `None`.
    pub(crate) fn entry(&self, target: crate::Target) -> Option<Result<TargetFn, u32>> {
        match target {
            crate::Target::Flag(i) => match self.fixed.get(i as usize)? {
                Some(out) => Some(Err(out.value)),
                None => tier::load(self.flags.get(i as usize)?).map(Ok),
            },
            crate::Target::Experiment(i) => tier::load(self.experiments.get(i as usize)?).map(Ok),
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
            Some(slot) => match (tier::load(slot), &self.interpreter) {
                (Some(f), _) => self.run(f, ctx, now),
                (None, Some(interpreter)) => interpreter.experiment(index, ctx, now),
                (None, None) => Outcome::error(0, ErrorCode::General, None),
            },
            None => Outcome::error(0, ErrorCode::FlagNotFound, None),
        }
    }

    /// Block until every flag and experiment is compiled. `Err` when a
    /// part could not be (a bug in code generation): its targets stay on
    /// the interpreter, which gives the same outcomes.
    pub fn wait_compiled(&self) -> Result<(), String> {
        if self.interpreter.is_none() {
            return Ok(());
        }
        self.background.wait()
    }

    /// Whether every flag and experiment has been compiled (or failed to).
    pub fn is_compiled(&self) -> bool {
        self.interpreter.is_none() || self.background.is_finished()
    }

    /// Why some targets run on the interpreter for good, if any do.
    pub fn compile_error(&self) -> Option<&str> {
        self.background.error()
    }
}

/// How many background compile workers are running in this process.
pub fn compile_workers_running() -> usize {
    tier::RUNNING.load(std::sync::atomic::Ordering::SeqCst)
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
        self.background.stop();
        for worker in self.workers.drain(..) {
            // A worker that panicked outside code generation has nothing
            // left to publish; its modules are freed below all the same.
            let _ = worker.join();
        }
        // SAFETY: the only pointers into the modules are in `self.flags`
        // and `self.experiments`, and the workers, which wrote them, have
        // stopped; calls borrow `self`, so none is running while `self`
        // is dropped, and none happens after.
        unsafe { self.background.modules.free() };
    }
}
