//! The fast path of a condition. As long as no field it reads is invalid,
//! its value does not depend on the order of evaluation (short-circuits
//! only decide which errors are seen), so the whole condition is computed
//! without branches, in Kleene's logic on two bits per node: "surely true"
//! and "surely false", neither meaning unknown (`a and b`: true if both
//! are, false if either is). One branch then decides.
//!
//! If a field it reads is invalid, the flag is evaluated again from the
//! start by its exact twin: the same flag compiled without fast paths, with
//! short-circuits, unknowns and errors as the interpreter has them.
//! Evaluation is a pure function of the context and the time, so starting
//! over gives the exact outcome; and keeping the exact code in another
//! function keeps this one small, with few live values.
//!
//! Branches on data are what a flag evaluation mostly costs once compiled:
//! across many users their outcomes cannot be predicted. This path applies
//! to conditions of pure leaves only (see `leaf.rs`), and to at most
//! `FAST_LEAVES` of them, beyond which computing every leaf costs more than
//! the mispredictions it saves.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use vexil_ir::Expr;

use super::abi::{HEADER_INVALID, HEADER_PRESENT, SLOT_TAG};
use super::cond::Src;
use super::lower::{Compiler, FastCache, FnGen, Result, PURE};
use crate::context::{INVALID, PRESENT};

const FAST_LEAVES: usize = 8;

impl FnGen<'_, '_, '_> {
    /// Compile `e` with a fast path if it has one; `false` if it has not
    /// (and nothing was emitted).
    pub fn try_fast(&mut self, e: &Expr, t: Block, f: Block, u: Block) -> Result<bool> {
        let chained = std::mem::take(&mut self.chain_next);
        if self.exact_twin.is_none() || !self.c.speculatable(e) {
            return Ok(false);
        }
        self.check_valid(&[e])?;
        self.begin_fast(chained);
        let sure_t = self.sure(e, true);
        let sure_f = if f == u {
            None
        } else {
            Some(self.sure(e, false))
        };
        self.end_fast(chained);
        let sure_t = sure_t?;
        match sure_f {
            None => self.branch(sure_t, t, f),
            Some(sure_f) => {
                let sure_f = sure_f?;
                let not_true = self.fresh();
                self.b.ins().brif(sure_t, t, &[], not_true, &[]);
                self.switch(not_true);
                self.branch(sure_f, f, u);
            }
        }
        Ok(true)
    }

    /// A condition's fast path, deciding between two outcome words without
    /// a branch: `if_true` when it is surely true, `otherwise` when not
    /// (false or unknown). `extra` is stored either way; the words say
    /// whether it counts. `Ok(false)` if `e` has no fast path.
    pub fn try_fast_select(
        &mut self,
        e: &Expr,
        if_true: u64,
        otherwise: u64,
        extra: i64,
    ) -> Result<bool> {
        let chained = std::mem::take(&mut self.chain_next);
        if self.exact_twin.is_none() || !self.c.speculatable(e) {
            return Ok(false);
        }
        self.check_valid(&[e])?;
        self.begin_fast(chained);
        let sure_t = self.sure(e, true);
        self.end_fast(chained);
        let sure_t = sure_t?;
        let yes = self.iconst(if_true as i64);
        let no = self.iconst(otherwise as i64);
        let word = self.b.ins().select(sure_t, yes, no);
        let extra = self.iconst(extra);
        self.ret_pair(word, extra);
        Ok(true)
    }

    /// Start a fast path's cache: the chain's, for a flag's rule that
    /// takes it up, else an empty one.
    ///
    /// A chain is sound because a flag's rules, once its fields are all
    /// checked (`check_valid_all`), are emitted one after the other: a
    /// rule's fast path is straight-line code in the block every later
    /// rule is reached through (a rule that matches returns), so what it
    /// computed dominates them. A rule compiled without a fast path adds
    /// nothing to the chain (its code branches), and keeps what is in it.
    fn begin_fast(&mut self, chained: bool) {
        let cache = if chained { self.chain.take() } else { None };
        self.fast = Some(cache.unwrap_or_default());
    }

    fn end_fast(&mut self, chained: bool) {
        let cache = self.fast.take();
        if chained {
            // Leaf values only: a load is cheaper to make again than to
            // keep in a register across rules (kept, they filled the
            // callee-saved registers, which every early return restores).
            self.chain = cache.map(|c| FastCache {
                leaves: c.leaves,
                ..FastCache::default()
            });
        }
    }

    /// Start a chain of fast paths over a flag's rules, if its fields were
    /// all checked at entry (see `begin_fast`).
    pub fn start_chain(&mut self) {
        if self.all_valid {
            self.chain = Some(Default::default());
        }
    }

    /// The next condition compiled is a rule of the chain.
    pub fn next_in_chain(&mut self) {
        self.chain_next = self.chain.is_some();
    }

    /// A pure leaf's value, computed once per fast path (and chain).
    fn leaf_value(&mut self, e: &Expr, guard: Option<Value>) -> Result<Value> {
        let known = self.fast.as_ref().and_then(|c| {
            c.leaves
                .iter()
                .find(|(x, g, _)| *g == guard && x == e)
                .map(|(_, _, v)| *v)
        });
        if let Some(v) = known {
            return Ok(v);
        }
        let v = self.pure_value(e, guard)?;
        if let Some(c) = self.fast.as_mut() {
            c.leaves.push((e.clone(), guard, v));
        }
        Ok(v)
    }

    /// Start over unless no field that `conditions` read is invalid; once
    /// for all the conditions of a function (`check_valid_all`), else per
    /// condition.
    fn check_valid(&mut self, conditions: &[&Expr]) -> Result<()> {
        if self.all_valid {
            return Ok(());
        }
        let reads = self.reads(conditions);
        self.start_over_unless(&reads, 0)
    }

    /// Start over unless `fast_ok`.
    fn start_over_unless(&mut self, reads: &Reads, present: u64) -> Result<()> {
        let ok = self.fast_ok(reads, present);
        let go = self.fresh();
        let start_over = self.start_over()?;
        self.b.ins().brif(ok, go, &[], start_over, &[]);
        self.switch(go);
        Ok(())
    }

    /// In a function with fast paths, check once, before the first
    /// condition, that no field any of `conditions` reads is invalid: the
    /// fast paths then skip their own checks.
    ///
    /// Required fields (not optional in the schema) that pure leaves read
    /// are checked present there too, with the same two header words: a
    /// context that lacks one starts over in the exact twin, and the fast
    /// paths skip testing them leaf by leaf. Optional fields keep their
    /// tests, so that a context without them stays on the fast path.
    pub fn check_valid_all(&mut self, conditions: &[&Expr]) -> Result<()> {
        if self.exact_twin.is_none() || self.all_valid {
            return Ok(());
        }
        let reads = self.reads(conditions);
        let assumed = reads.leaf_mask & self.c.required;
        self.start_over_unless(&reads, assumed)?;
        self.all_valid = true;
        self.assumed_present = assumed;
        Ok(())
    }

    /// The block that returns what the exact twin returns for the same
    /// arguments; one per function, written by `start_over_body`.
    fn start_over(&mut self) -> Result<Block> {
        if let Some(b) = self.start_over {
            return Ok(b);
        }
        let block = self.cold();
        self.start_over = Some(block);
        Ok(block)
    }

    /// Write the start-over block, if used (the block being filled cannot
    /// be left unfinished, so this waits for the end of the function).
    pub fn start_over_body(&mut self) -> Result<()> {
        let (Some(block), Some(exact)) = (self.start_over, self.exact_twin) else {
            return Ok(());
        };
        self.switch(block);
        let args = self.pass_on_with_depth();
        let (word, extra) = self.call_fn_pair(exact, &args)?;
        self.ret_pair(word, extra);
        Ok(())
    }
}

impl Compiler<'_> {
    /// Whether `e` has a fast path: pure leaves, `is set` and constants
    /// only, at most `FAST_LEAVES` leaves.
    pub fn speculatable(&self, e: &Expr) -> bool {
        let mut budget = FAST_LEAVES;
        self.speculatable_within(e, &mut budget)
    }

    /// Whether compiling `e` takes a fast path somewhere, so that its
    /// function needs an exact twin.
    pub fn has_fast_path(&self, e: &Expr) -> bool {
        if !matches!(e, Expr::Const(_)) && self.speculatable(e) {
            return true;
        }
        match e {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().any(|x| self.has_fast_path(x)),
            Expr::Not(x) => self.has_fast_path(x),
            Expr::Segment(i) => match (
                self.bundle.segments.get(*i as usize),
                self.segment_fns.get(*i as usize),
            ) {
                (Some(seg), Some(None)) => self.has_fast_path(&seg.condition),
                _ => false,
            },
            _ => false,
        }
    }

    fn speculatable_within(&self, e: &Expr, budget: &mut usize) -> bool {
        match e {
            Expr::Const(_) => true,
            Expr::Not(x) => self.speculatable_within(x, budget),
            Expr::And(xs) | Expr::Or(xs) => xs.iter().all(|x| self.speculatable_within(x, budget)),
            Expr::Segment(i) => match (
                self.bundle.segments.get(*i as usize),
                self.segment_fns.get(*i as usize),
            ) {
                (Some(seg), Some(None)) => self.speculatable_within(&seg.condition, budget),
                _ => false,
            },
            _ => {
                let leaf = matches!(e, Expr::IsSet(_)) || self.pure_reads(e).is_some();
                if leaf && *budget > 0 {
                    *budget -= 1;
                    true
                } else {
                    false
                }
            }
        }
    }
}

/// The slots a fast condition reads: those below 64 as a mask over the
/// context's header, the others one by one (with whether through `is set`).
#[derive(Default)]
struct Reads {
    mask: u64,
    /// Slots below 64 read by pure leaves (not through `is set` alone).
    leaf_mask: u64,
    high: Vec<(u32, bool)>,
}

impl FnGen<'_, '_, '_> {
    fn collect_reads(&self, e: &Expr, reads: &mut Reads) {
        let mut add = |slot: u32, is_set: bool| {
            if slot < 64 {
                reads.mask |= 1 << slot;
            } else {
                reads.high.push((slot, is_set));
            }
        };
        match e {
            Expr::Const(_) => {}
            Expr::Not(x) => self.collect_reads(x, reads),
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| self.collect_reads(x, reads)),
            Expr::Segment(i) => {
                if let Some(seg) = self.c.bundle.segments.get(*i as usize) {
                    self.collect_reads(&seg.condition, reads);
                }
            }
            Expr::IsSet(slot) => add(*slot, true),
            _ => {
                for s in self.pure_reads(e).unwrap_or_default() {
                    if let Src::Field(slot) = s {
                        add(slot, false);
                        if slot < 64 {
                            reads.leaf_mask |= 1 << slot;
                        }
                    }
                }
            }
        }
    }

    /// What `conditions` read, the slots of 64 and above once each.
    fn reads(&self, conditions: &[&Expr]) -> Reads {
        let mut reads = Reads::default();
        for e in conditions {
            self.collect_reads(e, &mut reads);
        }
        reads.high.sort_unstable();
        reads.high.dedup();
        reads
    }

    /// Whether no field of `reads` is invalid (nor, through a pure leaf,
    /// has a tag the fast path does not know): then the fast path is exact.
    /// And every slot of `present` holds a value.
    fn fast_ok(&mut self, reads: &Reads, present: u64) -> Value {
        // A field's present and invalid bits are never both set
        // (`Context::mark`), so a field checked present is not invalid:
        // only the others need their invalid bit tested.
        let maybe_invalid = reads.mask & !present;
        let mut ok = None;
        if maybe_invalid != 0 {
            let invalid = self.header(HEADER_INVALID);
            let bad = self.b.ins().band_imm_u(invalid, maybe_invalid as i64);
            ok = Some(self.b.ins().icmp_imm_u(IntCC::Equal, bad, 0));
        }
        if present != 0 {
            let bits = self.header(HEADER_PRESENT);
            let have = self.b.ins().band_imm_u(bits, present as i64);
            let all = self.b.ins().icmp_imm_u(IntCC::Equal, have, present as i64);
            ok = Some(self.and_maybe(ok, all));
        }
        let mut ok = self.or_const(ok, true);
        for &(slot, is_set) in &reads.high {
            let tag = self.slot_load(slot, SLOT_TAG, types::I32);
            let fine = if is_set {
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::NotEqual, tag, i64::from(INVALID))
            } else {
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, tag, i64::from(PRESENT))
            };
            ok = self.b.ins().band(ok, fine);
        }
        ok
    }

    /// A word of the context's header (in the `Context`, not its slots).
    fn header(&mut self, offset: i32) -> Value {
        let ctx = self.ctx();
        self.b.ins().load(types::I64, PURE, ctx, offset)
    }

    /// Whether every field in `slots` holds a value (I8); `None` when
    /// that is known without a test (no fields, or only fields the
    /// function's entry check found present).
    fn all_present(&mut self, slots: &[u32]) -> Option<Value> {
        let mask = slots
            .iter()
            .filter(|s| **s < 64)
            .fold(0u64, |m, s| m | (1 << s))
            & !self.assumed_present;
        let mut present = (mask != 0).then(|| {
            let bits = self.header(HEADER_PRESENT);
            let have = self.b.ins().band_imm_u(bits, mask as i64);
            self.b.ins().icmp_imm_u(IntCC::Equal, have, mask as i64)
        });
        for &slot in slots.iter().filter(|s| **s >= 64) {
            let tag = self.slot_load(slot, SLOT_TAG, types::I32);
            let here = self
                .b
                .ins()
                .icmp_imm_u(IntCC::Equal, tag, i64::from(PRESENT));
            present = Some(self.and_maybe(present, here));
        }
        present
    }

    /// `acc and v`, where no `acc` is true.
    fn and_maybe(&mut self, acc: Option<Value>, v: Value) -> Value {
        match acc {
            Some(a) => self.b.ins().band(a, v),
            None => v,
        }
    }

    /// `acc or v`, where no `acc` is false.
    fn or_maybe(&mut self, acc: Option<Value>, v: Value) -> Value {
        match acc {
            Some(a) => self.b.ins().bor(a, v),
            None => v,
        }
    }

    /// `v`, or the constant `k` (I8) where there is no `v`.
    fn or_const(&mut self, v: Option<Value>, k: bool) -> Value {
        match v {
            Some(v) => v,
            None => self.b.ins().iconst(types::I8, i64::from(k)),
        }
    }

    /// The fields a pure leaf reads.
    fn leaf_slots(&self, e: &Expr) -> Option<Vec<u32>> {
        let reads = self.pure_reads(e)?;
        Some(
            reads
                .into_iter()
                .filter_map(|s| match s {
                    Src::Field(slot) => Some(slot),
                    Src::Now(_) => None,
                })
                .collect(),
        )
    }

    /// All of `xs` surely true (or all surely false): the pure leaves among
    /// them, and `is set` taken positively, need their fields present, and
    /// share one test of the header for it.
    fn sure_all(&mut self, xs: &[Expr], positive: bool) -> Result<Value> {
        let mut slots = Vec::new();
        for x in xs {
            match x {
                Expr::IsSet(slot) if positive => slots.push(*slot),
                _ => {
                    if let Some(s) = self.leaf_slots(x) {
                        slots.extend(s);
                    }
                }
            }
        }
        slots.sort_unstable();
        slots.dedup();
        let present = self.all_present(&slots);
        let mut acc = present;
        for x in xs {
            let v = match x {
                Expr::IsSet(_) if positive => continue,
                _ if self.pure_reads(x).is_some() => {
                    let v = self.leaf_value(x, present)?;
                    if positive {
                        v
                    } else {
                        self.b.ins().bxor_imm_u(v, 1)
                    }
                }
                _ => self.sure(x, positive)?,
            };
            acc = Some(self.and_maybe(acc, v));
        }
        Ok(self.or_const(acc, true))
    }

    /// Whether `e` is surely true (`positive`) or surely false, in Kleene's
    /// logic, given that no field it reads is invalid (I8).
    fn sure(&mut self, e: &Expr, positive: bool) -> Result<Value> {
        Ok(match e {
            Expr::Const(b) => self.b.ins().iconst(types::I8, i64::from(*b == positive)),
            Expr::Not(x) => self.sure(x, !positive)?,
            Expr::And(xs) | Expr::Or(xs) => {
                // `and` is surely true when all are, surely false when any
                // is; `or` the other way round.
                let all = matches!(e, Expr::And(_)) == positive;
                if all {
                    self.sure_all(xs, positive)?
                } else {
                    let mut acc: Option<Value> = None;
                    for x in xs {
                        let v = self.sure(x, positive)?;
                        acc = Some(self.or_maybe(acc, v));
                    }
                    self.or_const(acc, false)
                }
            }
            Expr::Segment(i) => {
                let bundle = self.c.bundle;
                match bundle.segments.get(*i as usize) {
                    Some(seg) => self.sure(&seg.condition, positive)?,
                    // Not speculatable (see `speculatable_within`).
                    None => self.b.ins().iconst(types::I8, 0),
                }
            }
            Expr::IsSet(slot) => {
                // Never unknown: set or not.
                let set = self.all_present(&[*slot]);
                let set = self.or_const(set, true);
                if positive {
                    set
                } else {
                    self.b.ins().bxor_imm_u(set, 1)
                }
            }
            _ => {
                // A pure leaf: unknown when a field is missing.
                let slots: Vec<u32> = self
                    .pure_reads(e)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|s| match s {
                        Src::Field(slot) => Some(slot),
                        Src::Now(_) => None,
                    })
                    .collect();
                let present = self.all_present(&slots);
                let v = self.leaf_value(e, present)?;
                let v = if positive {
                    v
                } else {
                    self.b.ins().bxor_imm_u(v, 1)
                };
                self.and_maybe(present, v)
            }
        })
    }
}
