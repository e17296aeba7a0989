//! From the IR to a Cranelift module: one function per flag and per
//! experiment, one per large segment (small ones are inlined), linked and
//! made executable.
//!
//! Conditions compile to control flow (see `cond.rs`); this file holds the
//! function frames: entry, the exits that build an outcome word, rules,
//! prerequisites, bucketing and the experiment protocol.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, FuncRef, InstBuilder, MemFlagsData, Signature, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module, ModuleReloc};
use vexil_ir::bucket::BUCKETS;
use vexil_ir::{
    Bucketing, Bundle, ErrorCode, Expr, FieldType, PrerequisiteValue, Reason, RuleResult,
};

use super::abi::{self, TargetFn};
use super::abi::{SLOT_A, SLOT_SIZE, SLOT_TAG};
use super::module::{cold_isa, host_isa, Helper};
use super::tables::Tables;
use crate::context::{INVALID, MISSING, PRESENT};
use crate::interp::MAX_PREREQUISITE_DEPTH;

/// Why a bundle could not be compiled.
#[derive(Debug)]
pub(crate) enum CompileError {
    /// The program is refused, as the interpreter refuses it (a pattern
    /// that does not compile, a version out of range).
    Program(String),
    /// Cranelift failed: a bug in this backend, never the bundle's fault.
    Codegen(String),
}

fn codegen(e: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen(e.to_string())
}

pub(crate) type Result<T> = std::result::Result<T, CompileError>;

/// A compiled bundle: the module owning the machine code, the tables it
/// points into, and an entry point per flag and experiment.
pub(crate) struct Compiled {
    pub module: JITModule,
    pub tables: Tables,
    pub flags: Vec<TargetFn>,
    pub experiments: Vec<TargetFn>,
}

/// Loads of context and environment words: valid for any slot the
/// validated program names, never written during an evaluation. Pure, so
/// Cranelift may merge repeated reads of one field and drop unused ones.
pub(crate) const PURE: MemFlagsData = MemFlagsData::trusted().with_readonly().with_can_move();

/// Segments whose condition, with nested segments expanded, is at most this
/// many nodes are inlined where used; larger ones become functions, so
/// that code size stays linear in the bundle.
const INLINE_NODES: usize = 48;

pub(crate) fn compile(bundle: &Bundle) -> Result<Compiled> {
    let isa = host_isa().map_err(CompileError::Codegen)?;
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    // Registered once per module; nothing else is ever looked up.
    for helper in Helper::ALL {
        builder.symbol(helper.name(), helper.address());
    }
    let module = JITModule::new(builder);
    let mut c = Compiler::new(module, bundle);
    match c.run() {
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
    pub bundle: &'b Bundle,
    /// Per slot, the field's type (`None` for a slot no field has).
    pub slot_types: Vec<Option<FieldType>>,
    helpers: HashMap<Helper, FuncId>,
    /// Regexes by pattern and case-insensitivity: compiled once per load
    /// however often a segment using one is inlined.
    regexes: HashMap<(String, bool), i64>,
    flag_fns: Vec<FuncId>,
    experiment_fns: Vec<FuncId>,
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
    fn new(module: JITModule, bundle: &'b Bundle) -> Compiler<'b> {
        let mut slot_types = vec![None; bundle.schema.slot_count as usize];
        for c in &bundle.schema.contexts {
            for f in &c.fields {
                if let Some(t) = slot_types.get_mut(f.slot as usize) {
                    *t = Some(f.ty.clone());
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

    fn run(&mut self) -> Result<(Vec<TargetFn>, Vec<TargetFn>)> {
        let bundle = self.bundle;
        // Refuse what the interpreter refuses, wherever it is (an unused
        // segment, a disabled flag's rules), in the interpreter's order.
        for seg in &bundle.segments {
            self.check(&seg.condition)?;
        }
        for flag in &bundle.flags {
            for rule in &flag.rules {
                self.check(&rule.condition)?;
            }
        }
        for x in &bundle.experiments {
            self.check(&x.audience)?;
        }
        self.plan_segments();
        for i in 0..bundle.segments.len() {
            if !self.segment_inline.get(i).copied().unwrap_or(true) {
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
        for flag in &bundle.flags {
            let fast = flag.enabled && flag.rules.iter().any(|r| self.has_fast_path(&r.condition));
            let (entry, twin) = self.declare_pair(fast)?;
            self.flag_fns.push(entry);
            flag_twins.push(twin);
        }
        let mut experiment_twins = Vec::with_capacity(bundle.experiments.len());
        for x in &bundle.experiments {
            let fast = self.has_fast_path(&x.audience);
            let (entry, twin) = self.declare_pair(fast)?;
            self.experiment_fns.push(entry);
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
            let (Some(&entry), Some(&twin)) = (self.flag_fns.get(i), flag_twins.get(i)) else {
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
            let (Some(&entry), Some(&twin)) = (self.experiment_fns.get(i), experiment_twins.get(i))
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
            .map(|id| entry(&self.module, *id))
            .collect();
        let experiments = self
            .experiment_fns
            .iter()
            .map(|id| entry(&self.module, *id))
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
        let isa = cold_isa().map_err(CompileError::Codegen)?;
        let mut plane = cranelift_codegen::control::ControlPlane::default();
        ctx.compile(&*isa, &mut plane)
            .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?;
        let code = ctx
            .compiled_code()
            .ok_or_else(|| CompileError::Codegen("no compiled code".into()))?;
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
            .map_err(|e| CompileError::Codegen(format!("{e:?}")))?;
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

    /// The address of the compiled regex for `pattern`.
    pub fn regex(&mut self, pattern: &str, case_insensitive: bool) -> Result<i64> {
        let key = (pattern.to_string(), case_insensitive);
        if let Some(re) = self.regexes.get(&key) {
            return Ok(*re);
        }
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| CompileError::Program(e.to_string()))?;
        let re = self.tables.regex(re);
        self.regexes.insert(key, re);
        Ok(re)
    }

    pub fn kind_of_src(&self, s: super::cond::Src) -> super::cond::Kind {
        match s {
            super::cond::Src::Now => super::cond::Kind::Time,
            super::cond::Src::Field(slot) => match self.slot_types.get(slot as usize) {
                Some(Some(t)) => super::cond::kind_of(t),
                _ => super::cond::Kind::Unknown,
            },
        }
    }

    pub fn flag_fn(&self, index: u32) -> Option<FuncId> {
        self.flag_fns.get(index as usize).copied()
    }

    /// Whether bucketing by `slot` hashes an int's decimal text.
    pub fn is_int_slot(&self, slot: u32) -> bool {
        matches!(
            self.slot_types.get(slot as usize),
            Some(Some(FieldType::Int))
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
    depth: Option<Value>,
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
    /// While a fast path is emitted: the context loads it made, by offset
    /// and type, so that each is made once.
    pub loads: Option<HashMap<(i64, types::Type), Value>>,
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
            loads: None,
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
        if let Some(v) = self.loads.as_ref().and_then(|m| m.get(&(offset, ty))) {
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
        if let Some(m) = self.loads.as_mut() {
            m.insert((offset, ty), v);
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
            .ok_or_else(|| CompileError::Codegen(format!("{} returns nothing", h.name())))
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
            [] => Err(CompileError::Codegen(
                "a compiled function returns nothing".into(),
            )),
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
    fn ret(&mut self, word: u64) {
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
    fn ret_extra(&mut self, word: u64, extra: Value) {
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
    fn missing_exit(&mut self) -> Block {
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
        let is_missing = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(MISSING));
        self.b.ins().brif(is_missing, unknown, &[], other, &[]);
        self.switch(other);
        let is_invalid = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(INVALID));
        let err = self.error_exit();
        let s = self.iconst(i64::from(slot));
        self.b
            .ins()
            .brif(is_invalid, err, &[s.into()], present, &[]);
        self.switch(present);
    }

    // ------------------------------------------------------------ bodies

    fn segment_body(&mut self, condition: &Expr) -> Result<()> {
        let t = self.fresh();
        let f = self.fresh();
        let u = self.fresh();
        self.cond(condition, t, f, u)?;
        for (block, code) in [
            (t, abi::TRI_TRUE),
            (f, abi::TRI_FALSE),
            (u, abi::TRI_UNKNOWN),
        ] {
            self.switch(block);
            let c = self.iconst(code);
            self.b.ins().return_(&[c]);
        }
        Ok(())
    }

    fn flag_body(&mut self, flag: &vexil_ir::Flag) -> Result<()> {
        let default = flag.default;
        if !flag.enabled {
            self.ret(abi::word(default, Reason::Disabled));
            return Ok(());
        }
        if !flag.prerequisites.is_empty() {
            self.prerequisites(flag)?;
        }
        let conditions: Vec<&Expr> = flag.rules.iter().map(|r| &r.condition).collect();
        self.check_valid_all(&conditions)?;
        for (i, rule) in flag.rules.iter().enumerate() {
            // The last rule serving a value decides between two known
            // outcomes: on its fast path, without a branch.
            if let (true, RuleResult::Serve(v)) = (i + 1 == flag.rules.len(), &rule.result) {
                let if_true = abi::word(*v, Reason::TargetingMatch) | abi::HAS_RULE;
                let otherwise = abi::word(default, Reason::Default);
                if self.try_fast_select(&rule.condition, if_true, otherwise, i as i64)? {
                    // The fast path returned; its exact twin has the rest.
                    return Ok(());
                }
            }
            let matched = self.fresh();
            let next = self.fresh();
            self.cond(&rule.condition, matched, next, next)?;
            self.switch(matched);
            let rule_index = self.iconst(i as i64);
            match &rule.result {
                RuleResult::Serve(v) => {
                    self.ret_extra(
                        abi::word(*v, Reason::TargetingMatch) | abi::HAS_RULE,
                        rule_index,
                    );
                }
                RuleResult::Rollout {
                    bucketing,
                    buckets,
                    value,
                } => {
                    let bucket = self.bucket(bucketing, &bucketing.salt)?;
                    let inside = self.b.ins().icmp_imm_u(
                        IntCC::UnsignedLessThan,
                        bucket,
                        i64::from(*buckets),
                    );
                    let served = self.fresh();
                    self.b.ins().brif(inside, served, &[], next, &[]);
                    self.switch(served);
                    self.ret_extra(abi::word(*value, Reason::Split) | abi::HAS_RULE, rule_index);
                }
                RuleResult::Split { bucketing, arms } => {
                    let bucket = self.bucket(bucketing, &bucketing.salt)?;
                    let uppers: Vec<(u32, u32)> = arms.iter().map(|a| (a.upper, a.value)).collect();
                    let value = self.first_below(bucket, &uppers, default);
                    let reason =
                        self.iconst(abi::word(0, Reason::Split) as i64 | abi::HAS_RULE as i64);
                    let word = self.b.ins().bor(value, reason);
                    self.ret_pair(word, rule_index);
                }
            }
            self.switch(next);
        }
        let reason = if flag.rules.is_empty() && flag.prerequisites.is_empty() {
            Reason::Static
        } else {
            Reason::Default
        };
        self.ret(abi::word(default, reason));
        Ok(())
    }

    /// Each prerequisite is evaluated by calling its flag's function one
    /// level deeper; an error is passed on with the prerequisite's code and
    /// detail, and a value that does not satisfy it serves the default.
    fn prerequisites(&mut self, flag: &vexil_ir::Flag) -> Result<()> {
        let default = flag.default;
        let depth = match self.depth {
            Some(d) => d,
            None => return Err(CompileError::Codegen("flag function without depth".into())),
        };
        let too_deep = self.b.ins().icmp_imm_u(
            IntCC::SignedGreaterThanOrEqual,
            depth,
            i64::from(MAX_PREREQUISITE_DEPTH),
        );
        let deep = self.cold();
        let go = self.fresh();
        self.b.ins().brif(too_deep, deep, &[], go, &[]);
        self.switch(deep);
        self.ret(abi::error_word(default, ErrorCode::General));
        self.switch(go);
        let deeper = self.b.ins().iadd_imm_s(depth, 1);
        let bundle = self.c.bundle;
        for p in &flag.prerequisites {
            let id = self
                .c
                .flag_fn(p.flag)
                .ok_or_else(|| CompileError::Codegen("prerequisite out of range".into()))?;
            let [slots, text, items, ctx, now] = self.pass_on();
            let (got, got_extra) =
                self.call_fn_pair(id, &[slots, text, items, ctx, now, deeper])?;
            // An error: this flag's default, the prerequisite's code and detail.
            let code = self.b.ins().band_imm_u(got, abi::ERROR_MASK as i64);
            let failed = self.cold();
            let ok = self.fresh();
            self.b.ins().brif(code, failed, &[], ok, &[]);
            self.switch(failed);
            let kept = self
                .b
                .ins()
                .band_imm_u(got, (abi::ERROR_MASK | abi::HAS_DETAIL) as i64);
            let word = self.b.ins().bor_imm_u(
                kept,
                (u64::from(default) | abi::reason_bits(Reason::Error)) as i64,
            );
            self.ret_pair(word, got_extra);
            self.switch(ok);

            // Which of the prerequisite's values satisfy it.
            let values = bundle
                .flags
                .get(p.flag as usize)
                .map(|f| f.values.as_slice())
                .unwrap_or(&[]);
            let holds: Vec<bool> = values
                .iter()
                .map(|v| {
                    let equal = match &p.expect {
                        PrerequisiteValue::Value(x) => &v.value == x,
                        PrerequisiteValue::Variant(name) => {
                            v.variant.as_deref() == Some(name.as_str())
                        }
                    };
                    equal != p.negated
                })
                .collect();
            // A value outside the list compares unequal.
            let outside_holds = p.negated;
            let value = self.b.ins().band_imm_u(got, 0xffff_ffff);
            let satisfied = self.value_in(value, &holds, outside_holds);
            let unmet = self.fresh();
            let next = self.fresh();
            self.b.ins().brif(satisfied, next, &[], unmet, &[]);
            self.switch(unmet);
            let which = self.iconst(i64::from(p.flag));
            self.ret_extra(abi::word(default, Reason::Default) | abi::HAS_DETAIL, which);
            self.switch(next);
        }
        Ok(())
    }

    /// Whether `holds[value]` (or `outside` beyond the table), as a bool.
    pub fn value_in(&mut self, value: Value, holds: &[bool], outside: bool) -> Value {
        if holds.iter().all(|h| *h == outside) {
            return self.b.ins().iconst(types::I8, i64::from(outside));
        }
        if holds.len() <= 64 {
            let mask = holds
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, h)| m | (u64::from(*h) << i));
            let m = self.iconst(mask as i64);
            let shifted = self.b.ins().ushr(m, value);
            let bit = self.b.ins().band_imm_u(shifted, 1);
            let inside =
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, value, holds.len() as i64);
            let bit = self.b.ins().icmp_imm_u(IntCC::NotEqual, bit, 0);
            let out = self.b.ins().iconst(types::I8, i64::from(outside));
            return self.b.ins().select(inside, bit, out);
        }
        // Long value lists: a byte per value, read only inside the table.
        let table: Box<[u64]> = holds.iter().map(|h| u64::from(*h)).collect();
        let len = table.len();
        let base = self.c.tables.words(table);
        let inside_block = self.fresh();
        let join = self.fresh();
        let result = self.b.append_block_param(join, types::I8);
        let out = self.b.ins().iconst(types::I8, i64::from(outside));
        let inside = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, value, len as i64);
        self.b
            .ins()
            .brif(inside, inside_block, &[], join, &[out.into()]);
        self.switch(inside_block);
        let base = self.iconst(base);
        let offset = self.b.ins().ishl_imm_u(value, 3);
        let addr = self.b.ins().iadd(base, offset);
        let word = self.b.ins().load(types::I64, PURE, addr, 0);
        let h = self.b.ins().icmp_imm_u(IntCC::NotEqual, word, 0);
        self.b.ins().jump(join, &[h.into()]);
        self.switch(join);
        result
    }

    /// The index of the first `(upper, value)` whose upper bound is above
    /// `bucket`, as its value in an I64; `otherwise` if none is.
    fn first_below(&mut self, bucket: Value, arms: &[(u32, u32)], otherwise: u32) -> Value {
        let mut v = self.iconst(i64::from(otherwise));
        for &(upper, value) in arms.iter().rev() {
            let below = self
                .b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, bucket, i64::from(upper));
            let this = self.iconst(i64::from(value));
            v = self.b.ins().select(below, this, v);
        }
        v
    }

    /// Check the unit of `bucketing`: missing and invalid units stop with
    /// their errors; continue where it is present.
    fn unit_present(&mut self, unit: u32) {
        let tag = self.slot_load(unit, SLOT_TAG, types::I32);
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
        let missing = self.missing_exit();
        let s = self.iconst(i64::from(unit));
        let is_missing = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(MISSING));
        self.b
            .ins()
            .brif(is_missing, missing, &[s.into()], other, &[]);
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

    /// The unit's bucket (an I32) under `salt`, stopping on a missing or
    /// invalid unit.
    fn bucket(&mut self, bucketing: &Bucketing, salt: &str) -> Result<Value> {
        self.unit_present(bucketing.unit);
        self.hash_unit(bucketing.unit, salt)
    }

    /// The bucket of a unit known to be present.
    fn hash_unit(&mut self, unit: u32, salt: &str) -> Result<Value> {
        let prefix = self.c.tables.prefix(salt);
        let prefix = self.iconst(prefix);
        let a = self.slot_load(unit, SLOT_A, types::I64);
        if self.c.is_int_slot(unit) {
            self.call(Helper::BucketInt, &[prefix, a])
        } else {
            let text = self.text();
            let p = self.b.ins().iadd(text, a);
            let n = self.slot_load(unit, abi::SLOT_B, types::I64);
            self.call(Helper::BucketStr, &[prefix, p, n])
        }
    }

    fn experiment_body(&mut self, x: &vexil_ir::Experiment) -> Result<()> {
        let control = self.fresh();
        if let Some(start) = x.start {
            let before = self
                .b
                .ins()
                .icmp_imm_u(IntCC::SignedLessThan, self.now, start);
            let go = self.fresh();
            self.b.ins().brif(before, control, &[], go, &[]);
            self.switch(go);
        }
        if let Some(end) = x.end {
            let after = self
                .b
                .ins()
                .icmp_imm_u(IntCC::SignedGreaterThanOrEqual, self.now, end);
            let go = self.fresh();
            self.b.ins().brif(after, control, &[], go, &[]);
            self.switch(go);
        }
        let eligible = self.fresh();
        self.check_valid_all(&[&x.audience])?;
        self.cond(&x.audience, eligible, control, control)?;
        self.switch(eligible);
        // Enrolment and assignment hash the same unit: check it once.
        let unit = x.bucketing.unit;
        self.unit_present(unit);
        let (lo, hi) = x.enrolment_range;
        if lo >= hi {
            self.jump(control);
        } else {
            if !(lo == 0 && hi >= BUCKETS) {
                // A bucket is always below BUCKETS, so a full range
                // enrols everyone without hashing.
                let e = self.hash_unit(unit, &x.enrolment_salt)?;
                let below = self
                    .b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, e, i64::from(lo));
                let above =
                    self.b
                        .ins()
                        .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, e, i64::from(hi));
                let out = self.b.ins().bor(below, above);
                let enrolled = self.fresh();
                self.b.ins().brif(out, control, &[], enrolled, &[]);
                self.switch(enrolled);
            }
            let bucket = self.hash_unit(unit, &x.bucketing.salt)?;
            let arms: Vec<(u32, u32)> = x
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| (v.upper, i as u32))
                .collect();
            let variant = self.first_below(bucket, &arms, x.control);
            let word = self
                .b
                .ins()
                .bor_imm_u(variant, abi::word(0, Reason::Split) as i64);
            self.ret_value(word);
        }
        self.switch(control);
        self.ret(abi::word(x.control, Reason::Default));
        Ok(())
    }
}
