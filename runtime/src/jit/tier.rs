//! Tiered loading: a snapshot answers at once with the interpreter while
//! worker threads compile its flags to machine code, a part (a few dozen
//! targets, with the flags they require and the segments they use) per
//! module, and publish each target's entry point as soon as its part is
//! executable.
//!
//! Terms: a *slot* is one target's entry point, an `AtomicPtr` that is null
//! until compiled; a worker stores it once with `Release`, after the code is
//! executable and its module is owned here, and an evaluation loads it with
//! `Acquire` (a plain load on x86-64 and AArch64), so the hot path is the
//! eager JIT's, one load and one branch. The workers stop when the `Jit`
//! owning the slots is dropped: they finish the part in hand, and the drop
//! waits for them before freeing the code.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;

use cranelift_jit::JITModule;
use vexil_ir::ValidBundle;

use super::abi::TargetFn;
use super::lower::{self, Part};
use super::tables::Tables;
use crate::snapshot::Target;

/// How many targets a worker compiles into one module: small enough that
/// the first parts are ready soon and that a dropped engine's workers stop
/// quickly, large enough that a module's fixed cost (its memory, its
/// finalisation) is spread over many functions.
const PART_TARGETS: usize = 48;

/// Entry points, one per target, null until compiled.
pub(crate) type Slots = Arc<[AtomicPtr<u8>]>;

pub(crate) fn empty_slots(n: usize) -> Slots {
    (0..n)
        .map(|_| AtomicPtr::new(std::ptr::null_mut()))
        .collect()
}

/// The entry point in `slot`, once compiled.
#[inline]
pub(crate) fn load(slot: &AtomicPtr<u8>) -> Option<TargetFn> {
    let p = slot.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: only `publish` stores a non-null pointer, and it stores a
    // `TargetFn` cast to a pointer; `Acquire` pairs with its `Release`, so
    // the code it points to is executable and owned by the `Jit`'s modules.
    Some(unsafe { std::mem::transmute::<*mut u8, TargetFn>(p) })
}

fn publish(slot: &AtomicPtr<u8>, f: TargetFn) {
    slot.store(f as *mut u8, Ordering::Release);
}

/// What machine code needs to exist: a module and the tables its code
/// points into. Freed only by `Modules::free`, once no code can run.
pub(crate) struct Owned {
    pub module: JITModule,
    pub tables: Tables,
}

/// Every module a `Jit` has, behind a `Mutex` so that workers can add to it
/// and so that `Jit` is `Sync` (a module is `Send` but not `Sync`).
#[derive(Default)]
pub(crate) struct Modules(Mutex<Vec<Owned>>);

impl Modules {
    pub fn push(&self, owned: Owned) {
        lock(&self.0).push(owned);
    }

    /// Free every module's code.
    ///
    /// # Safety
    ///
    /// No entry point into these modules may be called after, or be
    /// running during, this call.
    pub unsafe fn free(&self) {
        for owned in lock(&self.0).drain(..) {
            // SAFETY: the caller guarantees that no code of the module runs
            // now or later; its tables are dropped after it.
            unsafe { owned.module.free_memory() };
            drop(owned.tables);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker holds no lock across code that can panic, so a poisoned
    // lock still guards consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Compile `part` of `bundle` and publish its entry points for `wanted`
/// (the part's own targets; the flags it requires are in the module too,
/// but are published by their own part).
pub(crate) fn compile_part(
    bundle: &ValidBundle,
    part: &Part,
    wanted: &[Target],
    flags: &[AtomicPtr<u8>],
    experiments: &[AtomicPtr<u8>],
    modules: &Modules,
) -> Result<(), String> {
    // Code generation must not panic on a valid bundle; if a bug makes it,
    // those targets stay on the interpreter (or an eager load fails)
    // instead of taking the service down.
    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lower::compile(bundle, part)
    }))
    .map_err(|_| "code generation panicked".to_string())?
    .map_err(|lower::CompileError(e)| format!("code generation failed: {e}"))?;
    let entries: Vec<(&AtomicPtr<u8>, TargetFn)> = wanted
        .iter()
        .filter_map(|t| match *t {
            Target::Flag(i) => Some((
                flags.get(i as usize)?,
                compiled.flags.get(i as usize).copied().flatten()?,
            )),
            Target::Experiment(i) => Some((
                experiments.get(i as usize)?,
                compiled.experiments.get(i as usize).copied().flatten()?,
            )),
        })
        .collect();
    // Owned before any entry point into it is published.
    modules.push(Owned {
        module: compiled.module,
        tables: compiled.tables,
    });
    for (slot, f) in entries {
        publish(slot, f);
    }
    Ok(())
}

/// The state the workers of one `Jit` share with it.
pub(crate) struct Background {
    /// The bundle the workers compile; `None` when nothing is left to.
    bundle: Option<Arc<ValidBundle>>,
    /// The targets to compile, in bundle order; part `k` is
    /// `targets[k * PART_TARGETS..]`, at most `PART_TARGETS` of them.
    targets: Vec<Target>,
    parts: usize,
    flags: Slots,
    experiments: Slots,
    pub modules: Modules,
    /// The next part a worker takes.
    next: AtomicUsize,
    stop: AtomicBool,
    /// How many parts are finished (compiled or failed).
    finished: Mutex<usize>,
    changed: Condvar,
    /// The first failure, if a part could not be compiled: its targets
    /// stay on the interpreter, which gives the same outcomes.
    error: OnceLock<String>,
}

impl Background {
    pub fn new(
        bundle: Option<Arc<ValidBundle>>,
        targets: Vec<Target>,
        flags: Slots,
        experiments: Slots,
    ) -> Arc<Background> {
        Arc::new(Background {
            parts: targets.len().div_ceil(PART_TARGETS),
            bundle,
            targets,
            flags,
            experiments,
            modules: Modules::default(),
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            finished: Mutex::new(0),
            changed: Condvar::new(),
            error: OnceLock::new(),
        })
    }

    /// Start up to `threads` workers (no more than there are parts). If no
    /// thread can be started, the parts are compiled here, now.
    pub fn start(self: &Arc<Self>, threads: usize) -> Vec<JoinHandle<()>> {
        let mut workers = Vec::new();
        for n in 0..threads.min(self.parts) {
            let me = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(format!("vexil-jit-{n}"))
                .spawn(move || {
                    crate::priority::lower_this_thread();
                    me.work();
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(_) => break,
            }
        }
        if workers.is_empty() {
            self.work();
        }
        workers
    }

    /// Take parts until none is left or the `Jit` is dropped.
    fn work(&self) {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        while !self.stop.load(Ordering::Acquire) {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(wanted) = self.targets.chunks(PART_TARGETS).nth(k) else {
                break;
            };
            let result = self.compile(wanted);
            if let Err(e) = result {
                let _ = self.error.set(e);
            }
            *lock(&self.finished) += 1;
            self.changed.notify_all();
        }
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }

    fn compile(&self, wanted: &[Target]) -> Result<(), String> {
        let Some(bundle) = self.bundle.as_deref() else {
            return Ok(());
        };
        let mut flags = vec![false; bundle.flags.len()];
        let mut experiments = vec![false; bundle.experiments.len()];
        for t in wanted {
            let mark = match *t {
                Target::Flag(i) => flags.get_mut(i as usize),
                Target::Experiment(i) => experiments.get_mut(i as usize),
            };
            if let Some(m) = mark {
                *m = true;
            }
        }
        let part = Part::closure(bundle, flags, experiments);
        compile_part(
            bundle,
            &part,
            wanted,
            &self.flags,
            &self.experiments,
            &self.modules,
        )
    }

    /// Ask the workers to stop after the part in hand.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Block until every part is finished; `Err` with the first failure
    /// (whose targets stay on the interpreter).
    pub fn wait(&self) -> Result<(), String> {
        let mut finished = lock(&self.finished);
        while *finished < self.parts {
            finished = self
                .changed
                .wait(finished)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        drop(finished);
        match self.error.get() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Whether every part is finished.
    pub fn is_finished(&self) -> bool {
        *lock(&self.finished) >= self.parts
    }

    /// The first failure so far.
    pub fn error(&self) -> Option<&str> {
        self.error.get().map(String::as_str)
    }
}

/// How many compile workers are running in this process.
pub(crate) static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How many workers a background compilation starts: one per core the
/// process may use, at most eight.
pub(crate) fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}
