//! From the IR to a Cranelift module: one function per flag and per
//! experiment, one per large segment (small ones are inlined), linked and
//! made executable.
//!
//! Conditions compile to control flow (`cond.rs`) with fast paths
//! (`fast.rs`) over pure leaves (`leaf.rs`); function bodies are in
//! `target.rs`. This file holds the module, the functions' declarations and
//! frames: entry, loads, calls, and the exits that build an outcome word.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, Signature, UserFuncName,
    Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module, ModuleReloc};
use vexil_ir::{ErrorCode, Expr, OperandType, ValidBundle};

use super::abi::{self, TargetFn};
use super::abi::{SLOT_SIZE, SLOT_TAG};
use super::module::{cold_isa, host_isa, Helper};
use super::tables::Tables;
use crate::context::{INVALID, MISSING, PRESENT};

/// Why a bundle could not be compiled: Cranelift failed, or this backend
/// broke one of its own invariants. A bug in this backend, never the
/// bundle's fault: a valid bundle is never refused.
#[derive(Debug)]
pub(crate) struct CompileError(pub String);

fn codegen(e: impl std::fmt::Display) -> CompileError {
    CompileError(e.to_string())
}

pub(crate) type Result<T> = std::result::Result<T, CompileError>;

/// A compiled part of a bundle: the module owning the machine code, the
/// tables it points into, and an entry point per flag and experiment of
/// the part (`None` for those outside it).
pub(crate) struct Compiled {
    pub module: JITModule,
    pub tables: Tables,
    pub flags: Vec<Option<TargetFn>>,
    pub experiments: Vec<Option<TargetFn>>,
}

/// Which flags and experiments one module holds: those asked for, plus
/// every flag they require (prerequisites are calls within the module),
/// and the segments any of them use. Each target's code is the same
/// whatever part it is compiled in: a part only leaves out functions.
pub(crate) struct Part {
    pub flags: Vec<bool>,
    pub experiments: Vec<bool>,
    segments: Vec<bool>,
}

impl Part {
    /// The flags and experiments marked, with what they need.
    pub fn closure(bundle: &ValidBundle, mut flags: Vec<bool>, experiments: Vec<bool>) -> Part {
        // Prerequisites and segments refer only backwards (validation), so
        // one pass from the end marks everything needed.
        for (i, flag) in bundle.flags.iter().enumerate().rev() {
            if flags.get(i).copied().unwrap_or(false) {
                for p in &flag.prerequisites {
                    if let Some(f) = flags.get_mut(p.flag as usize) {
                        *f = true;
                    }
                }
            }
        }
        let mut segments = vec![false; bundle.segments.len()];
        for (flag, _) in bundle.flags.iter().zip(&flags).filter(|(_, w)| **w) {
            for r in &flag.rules {
                mark_segments(&r.condition, &mut segments);
            }
        }
        for (x, _) in bundle
            .experiments
            .iter()
            .zip(&experiments)
            .filter(|(_, w)| **w)
        {
            mark_segments(&x.audience, &mut segments);
        }
        for i in (0..bundle.segments.len()).rev() {
            if segments.get(i).copied().unwrap_or(false) {
                if let Some(seg) = bundle.segments.get(i) {
                    mark_segments(&seg.condition, &mut segments);
                }
            }
        }
        Part {
            flags,
            experiments,
            segments,
        }
    }
}

/// Mark the segments `e` refers to directly.
fn mark_segments(e: &Expr, used: &mut [bool]) {
    match e {
        Expr::Segment(i) => {
            if let Some(u) = used.get_mut(*i as usize) {
                *u = true;
            }
        }
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| mark_segments(x, used)),
        Expr::Not(x) => mark_segments(x, used),
        _ => {}
    }
}

/// Loads of context and environment words: valid for any slot the
/// validated program names, never written during an evaluation. Pure, so
/// Cranelift may merge repeated reads of one field and drop unused ones.
pub(crate) const PURE: MemFlagsData = MemFlagsData::trusted().with_readonly().with_can_move();

/// Segments whose condition, with nested segments expanded, is at most this
/// many nodes are inlined where used; larger ones become functions, so
/// that code size stays linear in the bundle.
const INLINE_NODES: usize = 48;

/// Compile `part` of `bundle` into a module of its own.
pub(crate) fn compile(bundle: &ValidBundle, part: &Part) -> Result<Compiled> {
    let isa = host_isa().map_err(CompileError)?;
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    // Registered once per module; nothing else is ever looked up.
    for helper in Helper::ALL {
        builder.symbol(helper.name(), helper.address());
    }
    let module = JITModule::new(builder);
    let mut c = Compiler::new(module, bundle);
    match c.run(part) {
        Ok((flags, experiments)) => Ok(Compiled {
            module: c.module,
            tables: c.tables,
            flags,
            experiments,
        }),
        Err(e) => {
            // SAFETY: no pointer into this module's memory was handed out.
            unsafe { c.module.free_memory() };
            Err(e)
        }
    }
}

pub(crate) struct Compiler<'b> {
    pub module: JITModule,
    pub tables: Tables,
    pub bundle: &'b ValidBundle,
    /// Per slot, the field's operand type (`None` for a list, or a slot no
    /// field has).
    pub slot_types: Vec<Option<OperandType>>,
    /// The slots below 64 of fields the schema does not mark optional.
    pub required: u64,
    helpers: HashMap<Helper, FuncId>,
    /// Regexes by pattern and case-insensitivity: compiled once per load
    /// however often a segment using one is inlined.
    regexes: HashMap<(String, bool), i64>,
    flag_fns: Vec<Option<FuncId>>,
    experiment_fns: Vec<Option<FuncId>>,
    pub segment_fns: Vec<Option<FuncId>>,
    pub segment_inline: Vec<bool>,
    /// Per segment, whether its condition can be unknown.
    pub segment_may_be_unknown: Vec<bool>,
    target_sig: Signature,
    pub segment_sig: Signature,
    /// `VEXIL_JIT_DUMP=DIR`: where to write each function's optimised IR
    /// and machine code, to inspect code generation.
    dump: Option<std::path::PathBuf>,
}

impl<'b> Compiler<'b> {
    fn new(module: JITModule, bundle: &'b ValidBundle) -> Compiler<'b> {
        let mut slot_types = vec![None; bundle.schema.slot_count as usize];
        let mut required = 0u64;
        for c in &bundle.schema.contexts {
            for f in &c.fields {
                if let Some(t) = slot_types.get_mut(f.slot as usize) {
                    *t = OperandType::of_field(&f.ty);
                }
                if !f.optional && f.slot < 64 {
                    required |= 1 << f.slot;
                }
            }
        }
        let ptr = types::I64;
        // (slots, text, items, ctx, now, depth) -> (word, extra)
        let mut target_sig = module.make_signature();
        target_sig.params.extend([
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(types::I64),
            AbiParam::new(types::I64),
        ]);
        target_sig
            .returns
            .extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        // (slots, text, items, ctx, now) -> three-valued code
        let mut segment_sig = module.make_signature();
        segment_sig.params.extend([
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(ptr),
            AbiParam::new(types::I64),
        ]);
        segment_sig.returns.push(AbiParam::new(types::I64));
        Compiler {
            module,
            tables: Tables::default(),
            bundle,
            slot_types,
            required,
            helpers: HashMap::new(),
            regexes: HashMap::new(),
            flag_fns: Vec::new(),
            experiment_fns: Vec::new(),
            segment_fns: Vec::new(),
            segment_inline: Vec::new(),
            segment_may_be_unknown: Vec::new(),
            target_sig,
            segment_sig,
            dump: std::env::var_os("VEXIL_JIT_DUMP").map(Into::into),
        }
    }

    #[allow(clippy::type_complexity)]
    fn run(&mut self, part: &Part) -> Result<(Vec<Option<TargetFn>>, Vec<Option<TargetFn>>)> {
        let bundle = self.bundle;
        self.plan_segments();
        for i in 0..bundle.segments.len() {
            // A segment no target of the part uses gets no function: its
            // inlining decision (`segment_inline`) is the same either way.
            let used = part.segments.get(i).copied().unwrap_or(false);
            if used && !self.segment_inline.get(i).copied().unwrap_or(true) {
                let id = self
                    .module
                    .declare_anonymous_function(&self.segment_sig)
                    .map_err(codegen)?;
                if let Some(slot) = self.segment_fns.get_mut(i) {
                    *slot = Some(id);
                }
            }
        }
        // Every flag and experiment has an exact function; those with a
        // fast path also a fast one, their entry point, which calls the
        // exact one when a field is missing or invalid.
        let mut flag_twins = Vec::with_capacity(bundle.flags.len());
        for (flag, wanted) in bundle.flags.iter().zip(&part.flags) {
            if !wanted {
                self.flag_fns.push(None);
                flag_twins.push(None);
                continue;
            }
            let fast = flag.enabled
                && (flag.rules.iter().any(|r| self.has_fast_path(&r.condition))
                    || flag
                        .enabled_when
                        .as_ref()
                        .is_some_and(|c| self.has_fast_path(c)));
            let (entry, twin) = self.declare_pair(fast)?;
            self.flag_fns.push(Some(entry));
            flag_twins.push(twin);
        }
        let mut experiment_twins = Vec::with_capacity(bundle.experiments.len());
        for (x, wanted) in bundle.experiments.iter().zip(&part.experiments) {
            if !wanted {
                self.experiment_fns.push(None);
                experiment_twins.push(None);
                continue;
            }
            let fast = self.has_fast_path(&x.audience);
            let (entry, twin) = self.declare_pair(fast)?;
            self.experiment_fns.push(Some(entry));
            experiment_twins.push(twin);
        }

        let mut ctx = self.module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        for (i, seg) in bundle.segments.iter().enumerate() {
            let Some(Some(id)) = self.segment_fns.get(i).copied() else {
                continue;
            };
            ctx.func.signature = self.segment_sig.clone();
            ctx.func.name = UserFuncName::user(0, id.as_u32());
            let mut g = FnGen::new(self, &mut ctx.func, &mut fctx, Exit::Segment);
            g.segment_body(&seg.condition)?;
            g.finish()?;
            self.define(id, &mut ctx)?;
        }
        for (i, flag) in bundle.flags.iter().enumerate() {
            let (Some(&Some(entry)), Some(&twin)) = (self.flag_fns.get(i), flag_twins.get(i))
            else {
                continue;
            };
            let exit = Exit::Target {
                default: flag.default,
            };
            // The exact function, then the fast one calling it.
            let exact = twin.unwrap_or(entry);
            let mut g = self.function(&mut ctx, &mut fctx, exact, exit, None);
            g.flag_body(flag)?;
            g.finish()?;
            self.define_maybe_cold(exact, &mut ctx, twin.is_some())?;
            if twin.is_some() {
                let mut g = self.function(&mut ctx, &mut fctx, entry, exit, twin);
                g.flag_body(flag)?;
                g.finish()?;
                self.define(entry, &mut ctx)?;
            }
        }
        for (i, x) in bundle.experiments.iter().enumerate() {
            let (Some(&Some(entry)), Some(&twin)) =
                (self.experiment_fns.get(i), experiment_twins.get(i))
            else {
                continue;
            };
            let exit = Exit::Target { default: x.control };
            let exact = twin.unwrap_or(entry);
            let mut g = self.function(&mut ctx, &mut fctx, exact, exit, None);
            g.experiment_body(x)?;
            g.finish()?;
            self.define_maybe_cold(exact, &mut ctx, twin.is_some())?;
            if twin.is_some() {
                let mut g = self.function(&mut ctx, &mut fctx, entry, exit, twin);
                g.experiment_body(x)?;
                g.finish()?;
                self.define(entry, &mut ctx)?;
            }
        }
        self.module.finalize_definitions().map_err(codegen)?;
        let entry = |m: &JITModule, id: FuncId| -> TargetFn {
            let p = m.get_finalized_function(id);
            // SAFETY: `id` was defined with `target_sig`, the host C calling
            // convention for `TargetFn`'s parameters; its two I64 results
            // are returned as a two-word `repr(C)` struct is on the hosts
            // `available` accepts (in two registers).
            unsafe { std::mem::transmute::<*const u8, TargetFn>(p) }
        };
        let flags = self
            .flag_fns
            .iter()
            .map(|id| id.map(|id| entry(&self.module, id)))
            .collect();
        let experiments = self
            .experiment_fns
            .iter()
            .map(|id| id.map(|id| entry(&self.module, id)))
            .collect();
        Ok((flags, experiments))
    }

    /// `(entry, exact twin)`: one function, or a fast one and its twin.
    fn declare_pair(&mut self, fast: bool) -> Result<(FuncId, Option<FuncId>)> {
        let entry = self
            .module
            .declare_anonymous_function(&self.target_sig)
            .map_err(codegen)?;
        if !fast {
            return Ok((entry, None));
        }
        let twin = self
            .module
            .declare_anonymous_function(&self.target_sig)
            .map_err(codegen)?;
        Ok((entry, Some(twin)))
    }

    /// Start the flag or experiment function `id`.
    fn function<'c, 'f>(
        &'c mut self,
        ctx: &'f mut cranelift_codegen::Context,
        fctx: &'f mut FunctionBuilderContext,
        id: FuncId,
        exit: Exit,
        exact_twin: Option<FuncId>,
    ) -> FnGen<'c, 'b, 'f> {
        ctx.func.signature = self.target_sig.clone();
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut g = FnGen::new(self, &mut ctx.func, fctx, exit);
        g.exact_twin = exact_twin;
        g
    }

    /// Define `id`, compiled for speed, or quickly if it is `cold`.
    fn define_maybe_cold(
        &mut self,
        id: FuncId,
        ctx: &mut cranelift_codegen::Context,
        cold: bool,
    ) -> Result<()> {
        if !cold {
            return self.define(id, ctx);
        }
        // What `Module::define_function` does, with the other ISA: both are
        // the host's, with one calling convention, so the code links alike.
        let isa = cold_isa().map_err(CompileError)?;
        let mut plane = cranelift_codegen::control::ControlPlane::default();
        ctx.compile(&*isa, &mut plane)
            .map_err(|e| CompileError(format!("{:?}", e.inner)))?;
        let code = ctx
            .compiled_code()
            .ok_or_else(|| CompileError("no compiled code".into()))?;
        let relocs: Vec<ModuleReloc> = code
            .buffer
            .relocs()
            .iter()
            .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
            .collect();
        let alignment = u64::from(code.buffer.alignment);
        self.module
            .define_function_bytes(id, alignment, code.code_buffer(), &relocs)
            .map_err(codegen)?;
        if let Some(dir) = &self.dump {
            dump(dir, id, ctx);
        }
        self.module.clear_context(ctx);
        Ok(())
    }

    fn define(&mut self, id: FuncId, ctx: &mut cranelift_codegen::Context) -> Result<()> {
        self.module
            .define_function(id, ctx)
            .map_err(|e| CompileError(format!("{e:?}")))?;
        if let Some(dir) = &self.dump {
            dump(dir, id, ctx);
        }
        self.module.clear_context(ctx);
        Ok(())
    }

    /// Which segments to inline: those small enough once expanded.
    fn plan_segments(&mut self) {
        let segments = &self.bundle.segments;
        let mut sizes: Vec<usize> = Vec::with_capacity(segments.len());
        let mut unknown: Vec<bool> = Vec::with_capacity(segments.len());
        for seg in segments {
            let size = expanded_size(&seg.condition, &sizes);
            sizes.push(size);
            let u = super::cond::may_be_unknown(&seg.condition, &unknown);
            unknown.push(u);
        }
        self.segment_may_be_unknown = unknown;
        self.segment_inline = sizes.iter().map(|s| *s <= INLINE_NODES).collect();
        self.segment_fns = vec![None; segments.len()];
    }

    pub fn helper(&mut self, h: Helper) -> Result<FuncId> {
        if let Some(id) = self.helpers.get(&h) {
            return Ok(*id);
        }
        let sig = h.signature(self.module.make_signature());
        let id = self
            .module
            .declare_function(h.name(), Linkage::Import, &sig)
            .map_err(codegen)?;
        self.helpers.insert(h, id);
        Ok(id)
    }

    /// The address of the compiled regex for `pattern`, which validation
    /// compiled (`None` for a pattern it did not see).
    pub fn regex(&mut self, pattern: &str, case_insensitive: bool) -> Option<i64> {
        let key = (pattern.to_string(), case_insensitive);
        if let Some(re) = self.regexes.get(&key) {
            return Some(*re);
        }
        let re = self.bundle.pattern(pattern, case_insensitive)?.clone();
        let re = self.tables.regex(re);
        self.regexes.insert(key, re);
        Some(re)
    }

    /// The operand type of a field or `now`: `None` for a list, or a slot
    /// no field has, which validation lets no comparison read.
    pub fn operand_type(&self, s: super::cond::Src) -> Option<OperandType> {
        match s {
            super::cond::Src::Now(_) => Some(OperandType::Timestamp),
            super::cond::Src::Field(slot) => self.slot_types.get(slot as usize).copied().flatten(),
        }
    }

    pub fn flag_fn(&self, index: u32) -> Option<FuncId> {
        self.flag_fns.get(index as usize).copied().flatten()
    }

    /// Whether bucketing by `slot` hashes an int's decimal text.
    pub fn is_int_slot(&self, slot: u32) -> bool {
        matches!(
            self.slot_types.get(slot as usize),
            Some(Some(OperandType::Int))
        )
    }
}

/// Write `fn<id>.clif` and `fn<id>.bin` (raw machine code, for
/// `objdump -D -b binary -m i386:x86-64`); failures are ignored, as this
/// is a debugging aid.
fn dump(dir: &std::path::Path, id: FuncId, ctx: &cranelift_codegen::Context) {
    let base = dir.join(format!("fn{}", id.as_u32()));
    let _ = std::fs::write(base.with_extension("clif"), ctx.func.display().to_string());
    if let Some(code) = ctx.compiled_code() {
        let _ = std::fs::write(base.with_extension("bin"), code.code_buffer());
    }
}

/// Nodes of a condition with segments expanded (saturating), given the
/// sizes of earlier segments.
fn expanded_size(e: &Expr, segments: &[usize]) -> usize {
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs
            .iter()
            .fold(1usize, |n, x| n.saturating_add(expanded_size(x, segments))),
        Expr::Not(x) => expanded_size(x, segments).saturating_add(1),
        Expr::Segment(i) => segments.get(*i as usize).copied().unwrap_or(1),
        _ => 1,
    }
}

/// What a function returns when it stops early.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Exit {
    /// A flag or experiment: errors serve this value.
    Target { default: u32 },
    /// A segment function: returns a three-valued code.
    Segment,
}

/// Code generation for one function.
pub(crate) struct FnGen<'c, 'b, 'f> {
    pub c: &'c mut Compiler<'b>,
    pub b: FunctionBuilder<'f>,
    exit: Exit,
    slots: Value,
    text: Value,
    items: Value,
    ctx: Value,
    pub now: Value,
    pub depth: Option<Value>,
    err: Option<Block>,
    missing: Option<Block>,
    funcs: HashMap<FuncId, FuncRef>,
    /// In a function with fast paths: its exact twin, called to start over
    /// when a fast path finds a field missing or invalid (`fast.rs`).
    pub exact_twin: Option<FuncId>,
    /// The block that calls the exact twin (`fast.rs`), once created.
    pub start_over: Option<Block>,
    /// Set once the function has checked that no field its conditions read
    /// is invalid (`fast.rs`).
    pub all_valid: bool,
    /// Slots that check also found present (required fields its pure
    /// leaves read): fast paths then skip testing them.
    pub assumed_present: u64,
    /// While a fast path is emitted: the loads and leaf values it made,
    /// so that each is made once.
    pub fast: Option<FastCache>,
    /// Between the rules of a flag whose fields were all checked once: the
    /// cache of the fast paths before, which the next rule's fast path
    /// takes up (`fast.rs`).
    pub chain: Option<FastCache>,
    /// Set just before a flag's rule condition is compiled, so that only
    /// its fast path (not one nested in its exact code) takes `chain`.
    pub chain_next: bool,
}

/// What fast paths computed, in straight-line code that dominates
/// whatever is emitted after it in the same fast path, and in the later
/// rules of a chain (see `fast.rs`).
#[derive(Default)]
pub struct FastCache {
    /// Context loads, by offset and type.
    pub loads: HashMap<(i64, types::Type), Value>,
    /// Pure leaves, with the presence guard they were computed under.
    pub leaves: Vec<(Expr, Option<Value>, Value)>,
}

impl<'c, 'b, 'f> FnGen<'c, 'b, 'f> {
    fn new(
        c: &'c mut Compiler<'b>,
        func: &'f mut cranelift_codegen::ir::Function,
        fctx: &'f mut FunctionBuilderContext,
        exit: Exit,
    ) -> FnGen<'c, 'b, 'f> {
        let mut b = FunctionBuilder::new(func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let depth = params.get(5).copied();
        // The signatures guarantee the first five; a zero stands in so that
        // this constructor cannot fail.
        let (slots, text, items, ctx, now) = match params.as_slice() {
            [s, t, i, c, n, ..] => (*s, *t, *i, *c, *n),
            _ => {
                let z = b.ins().iconst(types::I64, 0);
                (z, z, z, z, z)
            }
        };
        FnGen {
            c,
            b,
            exit,
            slots,
            text,
            items,
            ctx,
            now,
            depth,
            err: None,
            missing: None,
            funcs: HashMap::new(),
            exact_twin: None,
            start_over: None,
            all_valid: false,
            assumed_present: 0,
            fast: None,
            chain: None,
            chain_next: false,
        }
    }

    fn finish(mut self) -> Result<()> {
        self.exits();
        self.start_over_body()?;
        self.b.seal_all_blocks();
        self.b.finalize(self.c.module.target_config());
        Ok(())
    }

    // ------------------------------------------------------------ basics

    pub fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    pub fn slots(&mut self) -> Value {
        self.slots
    }

    pub fn text(&mut self) -> Value {
        self.text
    }

    /// The arguments every function passes on to the functions it calls.
    pub fn pass_on(&self) -> [Value; 5] {
        [self.slots, self.text, self.items, self.ctx, self.now]
    }

    /// The arguments of this flag or experiment function, to its exact twin.
    pub fn pass_on_with_depth(&mut self) -> [Value; 6] {
        let depth = match self.depth {
            Some(d) => d,
            None => self.iconst(0),
        };
        [self.slots, self.text, self.items, self.ctx, self.now, depth]
    }

    pub fn items(&mut self) -> Value {
        self.items
    }

    pub fn ctx(&mut self) -> Value {
        self.ctx
    }

    /// A word of a slot (`field` one of the `SLOT_*` offsets).
    pub fn slot_load(&mut self, slot: u32, field: i32, ty: types::Type) -> Value {
        let offset = i64::from(slot) * SLOT_SIZE + i64::from(field);
        self.context_load(offset, ty)
    }

    /// A load at `offset` from the slots pointer; within a fast path,
    /// each is emitted once (the fast path is straight-line code, so the
    /// first load dominates the others).
    pub fn context_load(&mut self, offset: i64, ty: types::Type) -> Value {
        if let Some(v) = self.fast.as_ref().and_then(|c| c.loads.get(&(offset, ty))) {
            return *v;
        }
        let base = self.slots();
        let v = match i32::try_from(offset) {
            Ok(off) => self.b.ins().load(ty, PURE, base, off),
            Err(_) => {
                let addr = self.b.ins().iadd_imm_s(base, offset);
                self.b.ins().load(ty, PURE, addr, 0)
            }
        };
        if let Some(c) = self.fast.as_mut() {
            c.loads.insert((offset, ty), v);
        }
        v
    }

    pub fn call(&mut self, h: Helper, args: &[Value]) -> Result<Value> {
        let id = self.c.helper(h)?;
        let f = self.func_ref(id);
        let inst = self.b.ins().call(f, args);
        self.b
            .inst_results(inst)
            .first()
            .copied()
            .ok_or_else(|| CompileError(format!("{} returns nothing", h.name())))
    }

    fn func_ref(&mut self, id: FuncId) -> FuncRef {
        if let Some(f) = self.funcs.get(&id) {
            return *f;
        }
        let f = self.c.module.declare_func_in_func(id, self.b.func);
        self.funcs.insert(id, f);
        f
    }

    pub fn call_fn(&mut self, id: FuncId, args: &[Value]) -> Result<Value> {
        Ok(self.call_fn_pair(id, args)?.0)
    }

    /// Call a compiled function; its first result and its second (or the
    /// first again, for a function with one).
    pub fn call_fn_pair(&mut self, id: FuncId, args: &[Value]) -> Result<(Value, Value)> {
        let f = self.func_ref(id);
        let inst = self.b.ins().call(f, args);
        match self.b.inst_results(inst) {
            [one] => Ok((*one, *one)),
            [first, second, ..] => Ok((*first, *second)),
            [] => Err(CompileError("a compiled function returns nothing".into())),
        }
    }

    /// Branch on a boolean, to one block if both targets are one.
    pub fn branch(&mut self, cond: Value, t: Block, f: Block) {
        if t == f {
            self.b.ins().jump(t, &[]);
        } else {
            self.b.ins().brif(cond, t, &[], f, &[]);
        }
    }

    pub fn jump(&mut self, to: Block) {
        self.b.ins().jump(to, &[]);
    }

    /// Start emitting into a fresh block, reached only from earlier code.
    pub fn fresh(&mut self) -> Block {
        self.b.create_block()
    }

    pub fn cold(&mut self) -> Block {
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        block
    }

    pub fn switch(&mut self, block: Block) {
        self.b.switch_to_block(block);
    }

    /// Return a word: with no extra from a flag or experiment function.
    pub fn ret(&mut self, word: u64) {
        let w = self.iconst(word as i64);
        self.ret_value(w);
    }

    pub fn ret_value(&mut self, word: Value) {
        match self.exit {
            Exit::Target { .. } => {
                let extra = self.iconst(0);
                self.b.ins().return_(&[word, extra]);
            }
            Exit::Segment => {
                self.b.ins().return_(&[word]);
            }
        }
    }

    /// Return `word`, with `extra` (a rule index or a detail) for the caller.
    pub fn ret_extra(&mut self, word: u64, extra: Value) {
        let w = self.iconst(word as i64);
        self.ret_pair(w, extra);
    }

    /// Return a word and its extra, from a flag or experiment function.
    pub fn ret_pair(&mut self, word: Value, extra: Value) {
        self.b.ins().return_(&[word, extra]);
    }

    // ------------------------------------------------------------ exits

    /// The block that stops evaluation on a field of the wrong type; its
    /// parameter is the slot. Its body is written by `finish`, since the
    /// block being filled now cannot be left unfinished.
    pub fn error_exit(&mut self) -> Block {
        if let Some(b) = self.err {
            return b;
        }
        let block = self.cold();
        self.b.append_block_param(block, types::I64);
        self.err = Some(block);
        block
    }

    /// The block that stops evaluation on a missing bucketing unit.
    pub fn missing_exit(&mut self) -> Block {
        if let Some(b) = self.missing {
            return b;
        }
        let block = self.cold();
        self.b.append_block_param(block, types::I64);
        self.missing = Some(block);
        block
    }

    /// Write the bodies of the exits that were used.
    fn exits(&mut self) {
        if let Some(block) = self.err {
            self.switch(block);
            let slot = self.b.block_params(block).first().copied();
            if let Some(slot) = slot {
                match self.exit {
                    Exit::Target { default } => {
                        let word =
                            abi::error_word(default, ErrorCode::InvalidContext) | abi::HAS_DETAIL;
                        self.ret_extra(word, slot);
                    }
                    Exit::Segment => {
                        let hi = self.b.ins().ishl_imm_u(slot, 32);
                        let code = self.b.ins().bor_imm_u(hi, abi::TRI_ERROR);
                        self.ret_value(code);
                    }
                }
            }
        }
        if let Some(block) = self.missing {
            self.switch(block);
            let slot = self.b.block_params(block).first().copied();
            if let Some(slot) = slot {
                let default = match self.exit {
                    Exit::Target { default } => default,
                    Exit::Segment => 0,
                };
                let word =
                    abi::error_word(default, ErrorCode::TargetingKeyMissing) | abi::HAS_DETAIL;
                self.ret_extra(word, slot);
            }
        }
    }

    /// Continue in the block where `slot` holds a value; a missing value
    /// goes to `unknown`, a value of the wrong type to the error exit.
    /// (Any tag other than missing and invalid counts as present, as in
    /// the interpreter.)
    pub fn present(&mut self, slot: u32, unknown: Block) {
        self.split_on_tag(slot, unknown, false);
    }

    /// `present`, with the slot passed to `missing` as its argument when
    /// `pass_slot` (an exit that reports it).
    pub fn split_on_tag(&mut self, slot: u32, missing: Block, pass_slot: bool) {
        let tag = self.slot_load(slot, SLOT_TAG, types::I32);
        let present = self.fresh();
        let not_present = self.cold();
        let is_present = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(PRESENT));
        self.b
            .ins()
            .brif(is_present, present, &[], not_present, &[]);
        self.switch(not_present);
        let other = self.cold();
        let s = self.iconst(i64::from(slot));
        let is_missing = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(MISSING));
        let missing_args: &[BlockArg] = if pass_slot { &[s.into()] } else { &[] };
        self.b
            .ins()
            .brif(is_missing, missing, missing_args, other, &[]);
        self.switch(other);
        let is_invalid = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(INVALID));
        let err = self.error_exit();
        self.b
            .ins()
            .brif(is_invalid, err, &[s.into()], present, &[]);
        self.switch(present);
    }
}
