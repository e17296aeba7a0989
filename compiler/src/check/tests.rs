//! `test` blocks: contexts typed against the schemas, expectations against
//! the flags they name.

use std::collections::HashMap;
use vexil_words::with_article;

use vexil_grammar::{self as ast, ExpectKind, OperandKind, Span, TestMember};
use vexil_ir::{self as ir, ErrorCode, Reason};

use super::expr::{ConstSource, Opnd};
use super::{quote_list, FileChecker, Lookup};
use crate::summary::Kind;
use crate::types::Ty;
use crate::Code;

impl FileChecker<'_> {
    pub(super) fn test_decl(&mut self, t: &ast::TestDecl) {
        let mut context = Vec::new();
        let mut now = None;
        let mut expectations = Vec::new();
        let mut seen_contexts: HashMap<String, Span> = HashMap::new();
        let mut now_span: Option<Span> = None;
        for member in &t.members {
            match member {
                TestMember::Context { contexts, .. } => {
                    for cv in contexts {
                        if let Some(first) =
                            seen_contexts.insert(cv.context.name.clone(), cv.context.span)
                        {
                            self.rep
                                .report(
                                    Code::InvalidTestValue,
                                    cv.context.span,
                                    format!(
                                        "context `{}` is given twice in this test",
                                        cv.context.name
                                    ),
                                )
                                .label("given again here")
                                .secondary(first, "first given here");
                            continue;
                        }
                        self.test_context(cv, &mut context);
                    }
                }
                TestMember::Now { time, span } => {
                    if let Some(first) = now_span.replace(*span) {
                        self.rep
                            .report(
                                Code::InvalidTestValue,
                                *span,
                                "`now` is given twice in this test",
                            )
                            .label("given again here")
                            .secondary(first, "first given here");
                        continue;
                    }
                    now = self.timestamp_lit(time);
                }
                TestMember::Expect(e) => {
                    if let Some(x) = self.expectation(e) {
                        expectations.push(x);
                    }
                }
            }
        }
        if !t.members.iter().any(|m| matches!(m, TestMember::Expect(_))) {
            self.rep
                .report(
                    Code::TestWithoutExpectations,
                    t.name.span,
                    "this test expects nothing",
                )
                .label("no `expect` line")
                .help("add one, like `expect new-checkout == true`");
        }
        self.lowered.tests.push(ir::TestCase {
            name: t.name.value.clone(),
            location: self.location(t.name.span),
            context,
            now,
            expectations,
        });
    }

    fn test_context(&mut self, cv: &ast::ContextValue, out: &mut Vec<ir::TestField>) {
        let def = match self.context(&cv.context.name) {
            Lookup::Found(def) => def,
            Lookup::Broken => return,
            Lookup::Missing => {
                let candidates = self.names_of(&[Kind::Context]);
                self.unknown(Code::UnknownContext, "context", &cv.context, &candidates);
                return;
            }
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for fv in &cv.fields {
            if let Some(first) = seen.insert(&fv.field.name, fv.field.span) {
                self.rep
                    .report(
                        Code::InvalidTestValue,
                        fv.field.span,
                        format!("field `{}` is given twice", fv.field.name),
                    )
                    .label("given again here")
                    .secondary(first, "first given here");
                continue;
            }
            let Some((index, field)) = def.field(&fv.field.name) else {
                let candidates: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                let owner = format!("context `{}`", def.name);
                self.unknown_in(
                    Code::UnknownField,
                    "field",
                    Some(&owner),
                    &fv.field,
                    &candidates,
                );
                continue;
            };
            let slot = self.slot(&def.name, index);
            let as_field = Opnd::Field(super::expr::FieldRef {
                slot,
                ty: field.ty.clone(),
                optional: field.optional,
                path: format!("{}.{}", def.name, field.name),
                span: fv.field.span,
            });
            let value = match (&field.ty, &fv.value.kind) {
                (Ty::List(elem), OperandKind::List(items)) => {
                    let mut consts = Vec::with_capacity(items.len());
                    for item in items {
                        if let Some(c) = self.test_scalar(item, elem, &as_field) {
                            consts.push(c);
                        }
                    }
                    Some(ir::TestValue::List(consts))
                }
                (Ty::List(_), _) => {
                    self.rep
                        .report(
                            Code::InvalidTestValue,
                            fv.value.span,
                            format!("`{}.{}` is a list", def.name, field.name),
                        )
                        .label("expected a list")
                        .help("write a list like `[\"a\", \"b\"]`");
                    None
                }
                (ty, _) => self
                    .test_scalar(&fv.value, ty, &as_field)
                    .map(ir::TestValue::Scalar),
            };
            if let Some(value) = value {
                out.push(ir::TestField { slot, value });
            }
        }
    }

    fn test_scalar(&mut self, o: &ast::Operand, ty: &Ty, field: &Opnd<'_>) -> Option<ir::Const> {
        let src = match &o.kind {
            OperandKind::Literal(l) => ConstSource::Lit(l),
            OperandKind::Name(id) => ConstSource::Name(id),
            _ => {
                self.rep
                    .report(Code::InvalidTestValue, o.span, "expected a single value")
                    .label("not a value of this field's type");
                return None;
            }
        };
        let before = self.rep.diagnostics.len();
        let c = self.constant(src, ty, field);
        // Report bad test values under the test code, keeping the detail.
        for d in &mut self.rep.diagnostics[before..] {
            if d.code == Code::TypeMismatch {
                d.code = Code::InvalidTestValue;
            }
        }
        c
    }

    fn expectation(&mut self, e: &ast::Expectation) -> Option<ir::TestExpectation> {
        let sig = match self.flag_sig(&e.flag.name) {
            Lookup::Found(sig) => sig,
            Lookup::Broken => return None,
            Lookup::Missing => {
                let candidates = self.names_of(&[Kind::Flag, Kind::Experiment]);
                self.unknown(Code::UnknownFlag, "flag", &e.flag, &candidates);
                return None;
            }
        };
        let expect = match &e.kind {
            ExpectKind::Value(v) => match &v.kind {
                ast::ValueKind::Variant(id) => {
                    ir::Expect::Variant(self.variant_of(&e.flag, &sig, id)?)
                }
                _ => {
                    let what = format!("the expected value of `{}`", e.flag.name);
                    ir::Expect::Value(self.plain_value(v, sig.value_type, &what)?)
                }
            },
            ExpectKind::Variant(id) => ir::Expect::Variant(self.variant_of(&e.flag, &sig, id)?),
            ExpectKind::Reason(id) => match Reason::parse(&id.name) {
                Some(r) => ir::Expect::Reason(r),
                None => {
                    let names: Vec<String> =
                        Reason::ALL.iter().map(|r| r.as_str().to_string()).collect();
                    self.bad_word(id, "reason", &names);
                    return None;
                }
            },
            ExpectKind::Error(id) => match ErrorCode::parse(&id.name) {
                Some(c) => ir::Expect::Error(c),
                None => {
                    let names: Vec<String> = ErrorCode::ALL
                        .iter()
                        .map(|c| c.as_str().to_string())
                        .collect();
                    self.bad_word(id, "error code", &names);
                    return None;
                }
            },
            ExpectKind::Stage(lit) => {
                if sig.is_experiment {
                    self.rep
                        .report(
                            Code::InvalidExpectation,
                            lit.span,
                            "experiments have no staged rollouts",
                        )
                        .label("not a flag")
                        .help("expect a variant or a reason instead");
                    return None;
                }
                let stage = match &lit.kind {
                    ast::LiteralKind::Percent(_) => ir::StageExpect::Buckets(self.percent(lit)?),
                    ast::LiteralKind::Number(n) => match n.parse::<u32>() {
                        Ok(n) => ir::StageExpect::Number(n),
                        Err(_) => {
                            self.rep
                                .report(
                                    Code::InvalidExpectation,
                                    lit.span,
                                    format!("`{n}` is not a stage number"),
                                )
                                .label("not a stage")
                                .help("stages count from 1 (0 before the first starts), or name one by its share: `stage 5%`");
                            return None;
                        }
                    },
                    _ => {
                        self.rep
                            .report(
                                Code::InvalidExpectation,
                                lit.span,
                                format!("expected a stage, found {}", lit.kind.describe()),
                            )
                            .label("not a stage")
                            .help("write `stage 2` (counted from 1) or `stage 5%`");
                        return None;
                    }
                };
                ir::Expect::Stage(stage)
            }
            ExpectKind::Rule(id) => {
                let by_name = sig
                    .rules
                    .iter()
                    .any(|r| r.as_deref() == Some(id.name.as_str()));
                let by_position = id
                    .name
                    .parse::<usize>()
                    .is_ok_and(|n| n >= 1 && n <= sig.rules.len());
                if sig.is_experiment {
                    self.rep
                        .report(
                            Code::InvalidExpectation,
                            id.span,
                            "experiments have no rules",
                        )
                        .label("not a flag")
                        .help("expect a variant or a reason instead");
                    return None;
                }
                if !by_name && !by_position {
                    let names: Vec<String> = sig.rules.iter().flatten().cloned().collect();
                    let d = self
                        .rep
                        .report(
                            Code::InvalidExpectation,
                            id.span,
                            format!("flag `{}` has no rule `{}`", e.flag.name, id.name),
                        )
                        .label("no such rule");
                    if names.is_empty() {
                        d.help(format!("name rules by position, 1 to {}", sig.rules.len()));
                    } else {
                        d.help(format!(
                            "its named rules are {}; others go by position, 1 to {}",
                            quote_list(&names),
                            sig.rules.len()
                        ));
                    }
                    return None;
                }
                ir::Expect::Rule(id.name.clone())
            }
        };
        Some(ir::TestExpectation {
            target: e.flag.name.clone(),
            expect,
            location: self.location(e.span),
        })
    }

    fn bad_word(&mut self, id: &ast::Ident, what: &str, names: &[String]) {
        let suggestion = crate::suggest::did_you_mean(&id.name, names.iter().map(String::as_str));
        let d = self
            .rep
            .report(
                Code::InvalidExpectation,
                id.span,
                format!("unknown {what} `{}`", id.name),
            )
            .label(format!("not {}", with_article(what)));
        match suggestion {
            Some(s) => {
                d.help(format!("did you mean `{s}`?")).fix(
                    format!("Replace with `{s}`"),
                    id.span,
                    s,
                );
            }
            None => {
                d.help(format!("{what}s are {}", quote_list(names)));
            }
        }
    }
}
