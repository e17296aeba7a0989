//! The bodies of compiled functions: a flag (off switch, prerequisites,
//! rules in order, rollouts and splits), an experiment (window, audience,
//! enrolment, assignment) and a segment compiled on its own. Each returns
//! the outcome word of `abi.rs`.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use vexil_ir::bucket::BUCKETS;
use vexil_ir::{Bucketing, ErrorCode, Expr, PrerequisiteValue, Reason, RuleResult};

use super::abi::{self, SLOT_A};
use super::lower::{CompileError, FnGen, Result, PURE};
use super::module::Helper;
use crate::interp::MAX_PREREQUISITE_DEPTH;

impl FnGen<'_, '_, '_> {
    pub fn segment_body(&mut self, condition: &Expr) -> Result<()> {
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

    pub fn flag_body(&mut self, flag: &vexil_ir::Flag) -> Result<()> {
        let default = flag.default;
        if !flag.enabled {
            self.ret(abi::word(default, Reason::Disabled));
            return Ok(());
        }
        let mut conditions: Vec<&Expr> = flag.rules.iter().map(|r| &r.condition).collect();
        if let Some(switch) = &flag.enabled_when {
            // Checked with the rules' fields, so that the rules' fast paths
            // are exact too; then on, or off with the default.
            conditions.push(switch);
            self.check_valid_all(&conditions)?;
            let on = self.fresh();
            let off = self.fresh();
            self.cond(switch, on, off, off)?;
            self.switch(off);
            self.ret(abi::word(default, Reason::Disabled));
            self.switch(on);
        }
        if !flag.prerequisites.is_empty() {
            self.prerequisites(flag)?;
        }
        self.check_valid_all(&conditions)?;
        self.start_chain();
        for (i, rule) in flag.rules.iter().enumerate() {
            // The last rule serving a value decides between two known
            // outcomes: on its fast path, without a branch.
            if let (true, RuleResult::Serve(v)) = (i + 1 == flag.rules.len(), &rule.result) {
                let if_true = abi::word(*v, Reason::TargetingMatch) | abi::HAS_RULE;
                let otherwise = abi::word(default, Reason::Default);
                self.next_in_chain();
                if self.try_fast_select(&rule.condition, if_true, otherwise, i as i64)? {
                    // The fast path returned; its exact twin has the rest.
                    return Ok(());
                }
            }
            let matched = self.fresh();
            let next = self.fresh();
            self.next_in_chain();
            self.cond(&rule.condition, matched, next, next)?;
            self.chain_next = false;
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
                RuleResult::Staged {
                    bucketing,
                    stages,
                    value,
                } => {
                    let bucket = self.bucket(bucketing, &bucketing.salt)?;
                    let buckets = self.staged_buckets(stages);
                    let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, bucket, buckets);
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
            None => return Err(CompileError("flag function without depth".into())),
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
                .ok_or_else(|| CompileError("prerequisite out of range".into()))?;
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

    /// The buckets (an I32) a staged rollout serves at `now`, as
    /// `vexil_ir::staged_buckets`: stages are by ascending start, so the
    /// last that has started wins, and none is served before the first.
    fn staged_buckets(&mut self, stages: &[vexil_ir::Stage]) -> Value {
        let mut buckets = self.b.ins().iconst(types::I32, 0);
        for stage in stages {
            let started =
                self.b
                    .ins()
                    .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, self.now, stage.starts);
            let these = self.b.ins().iconst(types::I32, i64::from(stage.buckets));
            buckets = self.b.ins().select(started, these, buckets);
        }
        buckets
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
        let missing = self.missing_exit();
        self.split_on_tag(unit, missing, true);
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

    pub fn experiment_body(&mut self, x: &vexil_ir::Experiment) -> Result<()> {
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
