//! Flags: properties, variants, prerequisites and rules.

use std::collections::HashMap;
use vexil_words::with_article;

use vexil_grammar::{self as ast, Property, PropertyKind, RuleResult, Span};
use vexil_ir::bucket::{buckets_to_percent, BUCKETS};
use vexil_ir::{self as ir, FlagKind, FlagValue, ValueType};

use super::conventions::Declared;
use super::expr::Opnd;
use super::staged::StagedEnd;
use super::value::ValueTable;
use super::{FileChecker, Lookup};
use crate::literal;
use crate::suggest::did_you_mean;
use crate::summary::{value_type, Kind};
use crate::types::Ty;
use crate::Code;

/// A declaration's properties, grouped by keyword in source order.
pub(super) struct Props<'a> {
    by_keyword: HashMap<&'static str, Vec<&'a Property>>,
}

impl<'a> Props<'a> {
    pub fn one(&self, keyword: &str) -> Option<&'a Property> {
        self.by_keyword
            .get(keyword)
            .and_then(|v| v.first().copied())
    }

    pub fn all(&self, keyword: &str) -> &[&'a Property] {
        self.by_keyword.get(keyword).map_or(&[], Vec::as_slice)
    }
}

pub(super) const FLAG_PROPS: &[&str] = &[
    "kind", "owner", "tags", "expires", "default", "enabled", "client", "salt", "requires",
    "variants", "rule", "planning",
];
pub(super) const EXPERIMENT_PROPS: &[&str] = &[
    "owner", "tags", "client", "unit", "salt", "layer", "traffic", "audience", "start", "end",
    "variants", "control", "metrics", "planning",
];
/// Properties that may appear more than once.
const REPEATABLE: &[&str] = &["requires", "rule"];

impl FileChecker<'_> {
    /// Group properties, reporting those that do not belong and repeats.
    pub(super) fn props<'a>(
        &mut self,
        props: &'a [Property],
        allowed: &[&str],
        item: &str,
    ) -> Props<'a> {
        let mut by_keyword: HashMap<&'static str, Vec<&'a Property>> = HashMap::new();
        for p in props {
            let kw = p.kind.keyword();
            if !allowed.contains(&kw) {
                let other = if item == "flag" {
                    "experiments"
                } else {
                    "flags"
                };
                self.rep
                    .report(
                        Code::MisplacedProperty,
                        p.keyword,
                        format!("`{kw}` is not a property of {item}s"),
                    )
                    .label(format!("`{kw}` belongs to {other}"))
                    .help(format!("{item}s take {}", allowed.join(", ")));
                continue;
            }
            let entry = by_keyword.entry(kw).or_default();
            if let Some(first) = entry.first() {
                if !REPEATABLE.contains(&kw) {
                    self.rep
                        .report(
                            Code::DuplicateProperty,
                            p.keyword,
                            format!("`{kw}` is given twice"),
                        )
                        .label("given again here")
                        .secondary(first.keyword, "first given here")
                        .help("remove one of them");
                    continue;
                }
            }
            entry.push(p);
        }
        Props { by_keyword }
    }

    pub(super) fn require(
        &mut self,
        props: &Props<'_>,
        keyword: &str,
        name: &ast::Ident,
        item: &str,
        example: &str,
    ) {
        if props.one(keyword).is_none() {
            self.rep
                .report(
                    Code::MissingProperty,
                    name.span,
                    format!("{item} `{}` has no `{keyword}`", name.name),
                )
                .label(format!("`{keyword}` is required"))
                .help(format!("add `{example}`"));
        }
    }

    pub(super) fn metadata(
        &mut self,
        props: &Props<'_>,
        doc: &Option<ast::Doc>,
        span: Span,
    ) -> ir::Metadata {
        let mut meta = ir::Metadata {
            description: doc.as_ref().map(ast::Doc::text),
            location: Some(self.location(span)),
            ..ir::Metadata::default()
        };
        if let Some(PropertyKind::Owner(s)) = props.one("owner").map(|p| &p.kind) {
            meta.owner = Some(s.value.clone());
        }
        if let Some(PropertyKind::Tags(tags)) = props.one("tags").map(|p| &p.kind) {
            meta.tags = tags.iter().map(|t| t.value.clone()).collect();
        }
        meta.client = props.one("client").is_some();
        meta
    }

    pub(super) fn timestamp_prop(
        &mut self,
        props: &Props<'_>,
        keyword: &str,
    ) -> Option<(i64, Span)> {
        let lit = match props.one(keyword).map(|p| &p.kind) {
            Some(PropertyKind::Expires(l) | PropertyKind::Start(l) | PropertyKind::End(l)) => l,
            _ => return None,
        };
        self.timestamp_lit(lit).map(|t| (t, lit.span))
    }

    pub(super) fn timestamp_lit(&mut self, lit: &ast::Literal) -> Option<i64> {
        match literal::timestamp(lit) {
            Ok(t) => Some(t),
            Err(e) => {
                let d = self
                    .rep
                    .report(e.code, lit.span, e.message)
                    .label("not a valid time");
                if let Some(h) = e.help {
                    d.help(h);
                }
                None
            }
        }
    }

    /// A bucketing unit: a string or int field, or a context's key.
    pub(super) fn unit(&mut self, u: &ast::Unit) -> Option<u32> {
        match &u.field {
            Some(field) => match self.field_path(&u.context, field, u.span) {
                Opnd::Field(f) => {
                    if matches!(f.ty, Ty::String | Ty::Int) {
                        Some(f.slot)
                    } else {
                        self.rep
                            .report(
                                Code::InvalidUnit,
                                u.span,
                                format!(
                                    "`{}` is {}; units are strings or ints",
                                    f.path,
                                    with_article(&f.ty.describe())
                                ),
                            )
                            .label("cannot bucket by this")
                            .help("bucket by an id: `by user.id`");
                        None
                    }
                }
                _ => None,
            },
            None => match self.context(&u.context.name) {
                Lookup::Found(def) => match def.key {
                    Some(key) => Some(self.slot(&def.name, key)),
                    None => {
                        self.rep
                            .report(
                                Code::InvalidUnit,
                                u.span,
                                format!("context `{}` has no key field", def.name),
                            )
                            .label("no key to bucket by")
                            .help(format!(
                                "name a field (`by {}.FIELD`) or mark one field of `{}` as `key`",
                                def.name, def.name
                            ));
                        None
                    }
                },
                Lookup::Broken => None,
                Lookup::Missing => {
                    let candidates = self.names_of(&[Kind::Context]);
                    self.unknown(Code::UnknownContext, "context", &u.context, &candidates);
                    None
                }
            },
        }
    }

    pub(super) fn flag_decl(&mut self, f: &ast::FlagDecl) {
        let props = self.props(&f.properties, FLAG_PROPS, "flag");
        let vt = value_type(f.value_type);
        self.require(&props, "kind", &f.name, "flag", "kind release");
        self.require(&props, "default", &f.name, "flag", "default false");

        let kind = match props.one("kind").map(|p| &p.kind) {
            Some(PropertyKind::Kind(k)) => {
                match FlagKind::ALL.into_iter().find(|fk| fk.as_str() == k.name) {
                    Some(fk) => fk,
                    None => {
                        let names: Vec<&str> = FlagKind::ALL.iter().map(|k| k.as_str()).collect();
                        let d = self
                            .rep
                            .report(
                                Code::UnknownKind,
                                k.span,
                                format!("unknown flag kind `{}`", k.name),
                            )
                            .label("not a kind");
                        match did_you_mean(&k.name, names.iter().copied()) {
                            Some(s) => {
                                d.help(format!("did you mean `{s}`?")).fix(
                                    format!("Replace with `{s}`"),
                                    k.span,
                                    s,
                                );
                            }
                            None => {
                                d.help("kinds are `release`, `experiment`, `operational` and `permission`");
                            }
                        }
                        FlagKind::Release
                    }
                }
            }
            _ => FlagKind::Release,
        };

        let mut table = ValueTable::default();
        self.variants_of_flag(&props, vt, &mut table);
        let default = match props.one("default").map(|p| &p.kind) {
            Some(PropertyKind::Default(v)) => self.served(v, vt, &mut table, "the default"),
            _ => None,
        };
        let (enabled, enabled_when) = match props.one("enabled").map(|p| &p.kind) {
            Some(PropertyKind::Enabled(false)) => (false, None),
            Some(PropertyKind::EnabledWhen(c)) => (true, Some(self.condition(c))),
            _ => (true, None),
        };
        let salt = match props.one("salt").map(|p| &p.kind) {
            Some(PropertyKind::Salt(s)) => s.value.clone(),
            _ => f.name.name.clone(),
        };

        let mut prerequisites = Vec::new();
        for p in props.all("requires") {
            if let PropertyKind::Requires(req) = &p.kind {
                if let Some(pre) = self.prerequisite(req) {
                    prerequisites.push(pre);
                }
            }
        }

        let (rules, staged) = self.rules(&props, vt, &mut table, &salt);
        if let Some(p) = props.one("planning") {
            if let PropertyKind::Planning(entries) = &p.kind {
                let plan = self.planning(entries);
                self.stages_detect(&rules, &plan, p.keyword);
            }
        }

        let mut meta = self.metadata(&props, &f.doc, f.name.span);
        let expires = self.timestamp_prop(&props, "expires");
        if let Some((expires, span)) = expires {
            meta.expires = Some(expires);
            self.expiry(&f.name.name, expires, span);
            self.stages_fit(&staged, expires, span);
        }
        self.conventions(Declared {
            name: &f.name,
            kind,
            item: "flag",
            props: &props,
            expires,
        });

        if let Some(default) = default {
            self.lowered.flags.push(ir::Flag {
                name: f.name.name.clone(),
                kind,
                value_type: vt,
                enabled,
                enabled_when,
                values: table.values,
                default,
                prerequisites,
                rules,
                meta,
            });
        }
    }

    fn expiry(&mut self, name: &str, expires: i64, span: Span) {
        let Some(today) = self.ws.today(self.db) else {
            return;
        };
        if expires <= *today {
            let days = (today - expires) / 86_400_000_000;
            let when = match days {
                0 => "today".to_string(),
                n => format!("{} ago", vexil_words::count(n, "day")),
            };
            self.rep
                .report(
                    Code::ExpiredFlag,
                    span,
                    format!("flag `{name}` expired {when}"),
                )
                .label("expiry date has passed")
                .help("remove the flag and its uses, or move the date if it must stay");
        }
    }

    fn variants_of_flag(&mut self, props: &Props<'_>, vt: ValueType, table: &mut ValueTable) {
        let Some(PropertyKind::Variants(vs)) = props.one("variants").map(|p| &p.kind) else {
            return;
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for v in vs {
            if let Some(first) = seen.insert(&v.name.name, v.name.span) {
                self.declared_twice("variant", &v.name, first);
                continue;
            }
            if let Some(w) = &v.weight {
                self.rep
                    .report(Code::MisplacedProperty, w.span, "flag variants have no weights")
                    .label("weight")
                    .help("weights belong to experiments; in a flag, split traffic with `rule => split by user.id { .. }`");
            }
            let what = format!("variant `{}`", v.name.name);
            if let Some(value) = self.plain_value(&v.value, vt, &what) {
                table.values.push(ir::ServedValue {
                    value,
                    variant: Some(v.name.name.clone()),
                });
            }
        }
    }

    fn prerequisite(&mut self, req: &ast::Requirement) -> Option<ir::Prerequisite> {
        let sig = match self.flag_sig(&req.flag.name) {
            Lookup::Found(sig) => sig,
            Lookup::Broken => return None,
            Lookup::Missing => {
                let candidates = self.names_of(&[Kind::Flag]);
                self.unknown(Code::UnknownFlag, "flag", &req.flag, &candidates);
                return None;
            }
        };
        if sig.is_experiment {
            self.rep
                .report(
                    Code::InvalidPrerequisite,
                    req.flag.span,
                    format!(
                        "`{}` is an experiment; prerequisites name flags",
                        req.flag.name
                    ),
                )
                .label("an experiment")
                .help("target the experiment's audience instead, or depend on a flag");
            return None;
        }
        let flag = self.flag_ref(&req.flag.name);
        match &req.expected {
            None => {
                if sig.value_type != ValueType::Bool {
                    self.rep
                        .report(
                            Code::InvalidPrerequisite,
                            req.flag.span,
                            format!(
                                "`requires {}` means it is true, but `{}` is {} flag",
                                req.flag.name,
                                req.flag.name,
                                crate::types::with_article(sig.value_type.as_str())
                            ),
                        )
                        .label("not a bool flag")
                        .help(format!(
                            "say which value it must have: `requires {} == ...`",
                            req.flag.name
                        ));
                    return None;
                }
                Some(ir::Prerequisite {
                    flag,
                    negated: false,
                    expect: ir::PrerequisiteValue::Value(FlagValue::Bool(true)),
                })
            }
            Some((op, value)) => {
                let negated = *op == ast::RequireOp::Ne;
                let expect = match &value.kind {
                    ast::ValueKind::Variant(id) => {
                        ir::PrerequisiteValue::Variant(self.variant_of(&req.flag, &sig, id)?)
                    }
                    _ => {
                        let what = format!("the value `{}` is compared with", req.flag.name);
                        ir::PrerequisiteValue::Value(self.plain_value(
                            value,
                            sig.value_type,
                            &what,
                        )?)
                    }
                };
                Some(ir::Prerequisite {
                    flag,
                    negated,
                    expect,
                })
            }
        }
    }

    fn rules(
        &mut self,
        props: &Props<'_>,
        vt: ValueType,
        table: &mut ValueTable,
        salt: &str,
    ) -> (Vec<ir::Rule>, Vec<StagedEnd>) {
        let mut rules = Vec::new();
        let mut staged = Vec::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        // The first rule that always matches, and (condition, window) pairs
        // of earlier rules that always match when their condition holds.
        let mut always: Option<Span> = None;
        let mut covered: Vec<(ir::Expr, Span)> = Vec::new();
        for (index, p) in props.all("rule").iter().enumerate() {
            let PropertyKind::Rule(r) = &p.kind else {
                continue;
            };
            if let Some(name) = &r.name {
                if let Some(first) = names.insert(name.name.clone(), name.span) {
                    self.declared_twice("rule", name, first);
                }
            }
            let rule_span = p.keyword.to(rule_head_end(r, p.span));
            if let Some(earlier) = always {
                self.rep
                    .report(
                        Code::UnreachableRule,
                        rule_span,
                        "this rule can never match",
                    )
                    .label("unreachable")
                    .secondary(earlier, "this earlier rule always matches")
                    .help("remove it, or move it above the rule that always matches");
            }
            // A condition whose lowering reported an error is a placeholder,
            // not what the user meant: two such rules are not the same rule.
            let errors_before = self.error_count();
            let mut parts = Vec::new();
            let from = r
                .from
                .as_ref()
                .and_then(|l| self.timestamp_lit(l).map(|t| (t, l.span)));
            let until = r
                .until
                .as_ref()
                .and_then(|l| self.timestamp_lit(l).map(|t| (t, l.span)));
            if let (Some((f, fs)), Some((u, us))) = (from, until) {
                if f >= u {
                    self.rep
                        .report(Code::EmptyWindow, fs.to(us), "this time window is empty")
                        .label("`from` is not before `until`")
                        .help("`from` is inclusive and `until` exclusive: `from` must come first");
                }
            }
            if let Some((f, _)) = from {
                parts.push(now_cmp(ir::CompareOp::Ge, f));
            }
            if let Some((u, _)) = until {
                parts.push(now_cmp(ir::CompareOp::Lt, u));
            }
            if let Some(c) = &r.condition {
                match self.condition(c) {
                    ir::Expr::And(xs) => parts.extend(xs),
                    e => parts.push(e),
                }
            }
            let condition = match parts.len() {
                0 => ir::Expr::Const(true),
                1 => parts.pop().unwrap_or(ir::Expr::Const(true)),
                _ => ir::Expr::And(parts),
            };
            let condition_valid = self.error_count() == errors_before;
            let what = match &r.name {
                Some(n) => format!("rule `{}`", n.name),
                None => format!("rule {}", index + 1),
            };
            let start = from.map(|(f, _)| f);
            let Some((result, result_always)) =
                self.rule_result(&r.result, vt, table, salt, &what, start)
            else {
                continue;
            };
            let staged_rule = matches!(result, ir::RuleResult::Staged { .. });
            let guardrails = self.guardrails(r, staged_rule, rule_span);
            if let ir::RuleResult::Staged { stages, .. } = &result {
                if let Some(last) = stages.last() {
                    staged.push(StagedEnd {
                        last_starts: last.starts,
                        span: rule_span,
                        what: what.clone(),
                    });
                }
            }
            if always.is_none() && condition_valid {
                if let Some((_, earlier)) = covered.iter().find(|(c, _)| *c == condition) {
                    let earlier = *earlier;
                    self.rep
                        .report(
                            Code::UnreachableRule,
                            rule_span,
                            "this rule can never match",
                        )
                        .label("unreachable")
                        .secondary(
                            earlier,
                            "an earlier rule has the same condition and always serves",
                        )
                        .help("remove it, or change its condition");
                }
            }
            if result_always && condition_valid {
                if condition == ir::Expr::Const(true) && always.is_none() {
                    always = Some(rule_span);
                }
                covered.push((condition.clone(), rule_span));
            }
            rules.push(ir::Rule {
                name: r.name.as_ref().map(|n| n.name.clone()),
                condition,
                result,
                guardrails,
            });
        }
        (rules, staged)
    }

    /// The lowered result, and whether it serves every unit that reaches it.
    fn rule_result(
        &mut self,
        result: &RuleResult,
        vt: ValueType,
        table: &mut ValueTable,
        salt: &str,
        what: &str,
        start: Option<i64>,
    ) -> Option<(ir::RuleResult, bool)> {
        match result {
            RuleResult::Value(v) => Some((
                ir::RuleResult::Serve(self.served(v, vt, table, what)?),
                true,
            )),
            RuleResult::Rollout {
                value,
                percent,
                unit,
                salt: rule_salt,
                span,
            } => {
                let value = self.rollout_value(value.as_ref(), vt, table, what, *span);
                let buckets = self.percent(percent);
                let unit = self.unit(unit);
                let (value, buckets, unit) = (value?, buckets?, unit?);
                let salt = rule_salt
                    .as_ref()
                    .map_or_else(|| salt.to_string(), |s| s.value.clone());
                Some((
                    ir::RuleResult::Rollout {
                        bucketing: ir::Bucketing { unit, salt },
                        buckets,
                        value,
                    },
                    buckets == BUCKETS,
                ))
            }
            RuleResult::Staged {
                value,
                stages,
                unit,
                salt: rule_salt,
                span,
            } => {
                let value = self.rollout_value(value.as_ref(), vt, table, what, *span);
                let stages = self.stages(stages, start, *span);
                let unit = self.unit(unit);
                let (value, stages, unit) = (value?, stages?, unit?);
                let salt = rule_salt
                    .as_ref()
                    .map_or_else(|| salt.to_string(), |s| s.value.clone());
                // Units outside the stage in force go on to the next rule,
                // and before the first stage every unit does.
                Some((
                    ir::RuleResult::Staged {
                        bucketing: ir::Bucketing { unit, salt },
                        stages,
                        value,
                    },
                    false,
                ))
            }
            RuleResult::Split {
                unit,
                salt: rule_salt,
                arms,
                span,
            } => {
                let unit = self.unit(unit);
                let mut lowered = Vec::new();
                let mut total: u32 = 0;
                let mut ok = true;
                for arm in arms {
                    let value = self.served(&arm.value, vt, table, what);
                    let weight = self.percent(&arm.weight);
                    match (value, weight) {
                        (Some(value), Some(w)) => {
                            total = total.saturating_add(w);
                            lowered.push(ir::SplitArm {
                                upper: total,
                                value,
                            });
                        }
                        _ => ok = false,
                    }
                }
                if ok && total != BUCKETS {
                    self.rep
                        .report(
                            Code::WeightsNot100,
                            *span,
                            format!(
                                "split weights sum to {}, not 100%",
                                buckets_to_percent(total)
                            ),
                        )
                        .label("every unit must get an arm")
                        .help("make the weights add up to exactly 100%");
                    ok = false;
                }
                let unit = unit?;
                if !ok {
                    return None;
                }
                let salt = rule_salt
                    .as_ref()
                    .map_or_else(|| salt.to_string(), |s| s.value.clone());
                Some((
                    ir::RuleResult::Split {
                        bucketing: ir::Bucketing { unit, salt },
                        arms: lowered,
                    },
                    true,
                ))
            }
        }
    }

    /// What a rollout serves: its value, or `true` in a bool flag.
    fn rollout_value(
        &mut self,
        value: Option<&ast::Value>,
        vt: ValueType,
        table: &mut ValueTable,
        what: &str,
        span: Span,
    ) -> Option<ir::ValueId> {
        match value {
            Some(v) => self.served(v, vt, table, what),
            None if vt == ValueType::Bool => Some(table.intern(FlagValue::Bool(true))),
            None => {
                self.rep
                    .report(
                        Code::RolloutValue,
                        span,
                        format!(
                            "a rollout in {} flag must say what it serves",
                            crate::types::with_article(vt.as_str())
                        ),
                    )
                    .label("serves what?")
                    .help("write `VALUE for 25% by user.id`; the short form serves `true` in bool flags");
                None
            }
        }
    }

    pub(super) fn percent(&mut self, lit: &ast::Literal) -> Option<u32> {
        match literal::percent(lit) {
            Ok(b) => Some(b),
            Err(e) => {
                let d = self
                    .rep
                    .report(e.code, lit.span, e.message)
                    .label("invalid percentage");
                if let Some(h) = e.help {
                    d.help(h);
                }
                None
            }
        }
    }
}

fn now_cmp(op: ir::CompareOp, micros: i64) -> ir::Expr {
    ir::Expr::Compare {
        lhs: ir::Operand::Now,
        op,
        rhs: ir::Operand::Const(ir::Const::Timestamp(micros)),
    }
}

/// Where a rule's head ends (before `=>`): for labels on the whole rule.
fn rule_head_end(r: &ast::RuleDecl, fallback: Span) -> Span {
    r.condition
        .as_ref()
        .map(|c| c.span)
        .or(r.until.as_ref().map(|l| l.span))
        .or(r.from.as_ref().map(|l| l.span))
        .or(r.name.as_ref().map(|n| n.span))
        .unwrap_or(Span {
            start: fallback.start,
            end: fallback.start + 4,
        })
}
