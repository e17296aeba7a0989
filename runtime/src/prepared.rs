//! A flag or experiment resolved once for a hot path.
//!
//! [`Snapshot::outcome`] finds its target's code on every call: which
//! backend, which table, whether the flag was fixed at load. A
//! [`Prepared`] does that once and keeps the answer, so an evaluation is a
//! layout check and a call into the compiled function (or, for a flag fixed
//! at load, no call at all). It holds its snapshot, which keeps that
//! version's machine code alive for as long as the handle lives; a service
//! prepares its hot flags again when a new version loads.

use std::sync::Arc;

use vexil_ir::FlagValue;

use crate::context::Context;
use crate::outcome::Outcome;
use crate::snapshot::{Snapshot, Target};

/// One target of one snapshot, ready to evaluate. See the module docs.
#[derive(Clone)]
pub struct Prepared {
    path: Path,
    target: Target,
    snapshot: Arc<Snapshot>,
}

#[derive(Clone, Copy)]
enum Path {
    /// The value is known at load (a flag that is off, or has no rules and
    /// no prerequisites); it is also what an error serves. Only compiled
    /// code resolves one.
    #[cfg_attr(not(feature = "jit"), allow(dead_code))]
    Fixed(u32),
    /// Compiled code for contexts of `layout` with at least `slots` slots;
    /// any other context is served `fallback`, as `Snapshot::outcome`
    /// serves it.
    #[cfg(feature = "jit")]
    Code {
        f: crate::jit::TargetFn,
        layout: u64,
        slots: usize,
        fallback: u32,
    },
    /// Through the snapshot: the interpreter, or a target not in it.
    Snapshot,
}

impl Snapshot {
    /// `target` of this snapshot, resolved for repeated evaluation.
    pub fn prepare(self: &Arc<Self>, target: Target) -> Prepared {
        let path = match self.fixed_override(target) {
            // An override: a constant, or through the snapshot, which
            // checks it.
            Some(Some(value)) => Path::Fixed(value),
            Some(None) => Path::Snapshot,
            None => self.compiled_path(target),
        };
        Prepared {
            path,
            target,
            snapshot: Arc::clone(self),
        }
    }

    fn compiled_path(self: &Arc<Self>, target: Target) -> Path {
        // Without the JIT every target takes the snapshot's path.
        #[cfg(not(feature = "jit"))]
        let _ = target;
        match self.evaluator() {
            #[cfg(feature = "jit")]
            crate::snapshot::Evaluator::Jit(jit) => match jit.entry(target) {
                Some(Ok(f)) => {
                    let (layout, slots) = jit.layout();
                    Path::Code {
                        f,
                        layout,
                        slots,
                        fallback: self.fallback_index(target),
                    }
                }
                Some(Err(value)) => Path::Fixed(value),
                None => Path::Snapshot,
            },
            _ => Path::Snapshot,
        }
    }
}

impl Prepared {
    /// The index of the served value, exactly
    /// `snapshot.outcome(target, ctx, now).value`: the index into the
    /// flag's values (`Bundle::flags[..].values`) or the experiment's
    /// variants. On an error it is the value served on errors: the flag's
    /// default, the experiment's control. No exposure is recorded (as with
    /// `outcome`): a caller of an experiment's raw index records its own.
    #[inline]
    pub fn value_index(&self, ctx: &Context, now: i64) -> u32 {
        match self.path {
            Path::Fixed(value) => value,
            #[cfg(feature = "jit")]
            Path::Code {
                f,
                layout,
                slots,
                fallback,
            } => {
                if ctx.layout_id() != layout {
                    return fallback;
                }
                // Only `Layout::context` makes a context, with one slot per
                // field of its layout, and the layout id is a 64-bit hash
                // of every field (context, name, type, optionality, slot):
                // equal ids are equal layouts, on which the typed reads of
                // compiled code rest anyway. So the slot count needs no
                // test of its own here (it costs 0.1-0.3 ns on F4).
                debug_assert!(ctx.slots().len() >= slots);
                let (slot_ptr, text, items) = ctx.raw_parts();
                // SAFETY: `f` was compiled for contexts of `layout`, which
                // have at least `slots` slots (see above); it reads only
                // those slots, the context's header, and the ranges of text
                // and items the context's builders keep in bounds. The code
                // lives as long as the snapshot, which `self` holds.
                let out = unsafe { f(slot_ptr, text, items, ctx, now, 0) };
                crate::jit::word_value(out.word)
            }
            Path::Snapshot => self.through_snapshot(ctx, now),
        }
    }

    /// Out of line, so that `value_index` stays small enough to inline
    /// into a caller's hot loop.
    #[cold]
    #[inline(never)]
    fn through_snapshot(&self, ctx: &Context, now: i64) -> u32 {
        self.snapshot.outcome(self.target, ctx, now).value
    }

    /// The whole outcome, as [`Snapshot::outcome`] gives it.
    pub fn outcome(&self, ctx: &Context, now: i64) -> Outcome {
        self.snapshot.outcome(self.target, ctx, now)
    }

    /// The served value: the flag's value or the experiment's variant
    /// value at [`value_index`](Prepared::value_index). `None` only for a
    /// target that is not in the snapshot.
    pub fn value(&self, ctx: &Context, now: i64) -> Option<&FlagValue> {
        let index = self.value_index(ctx, now) as usize;
        let bundle = self.snapshot.bundle();
        match self.target {
            Target::Flag(i) => bundle
                .flags
                .get(i as usize)
                .and_then(|f| f.values.get(index))
                .map(|v| &v.value),
            Target::Experiment(i) => bundle
                .experiments
                .get(i as usize)
                .and_then(|x| x.variants.get(index))
                .map(|v| &v.value),
        }
    }

    /// The flag or experiment this handle evaluates.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The snapshot this handle evaluates, and keeps alive.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }
}
