//! Checks of a context declaration: its fields, their types, its key.

use std::collections::HashMap;

use vexil_grammar::{self as ast, TypeExprKind};

use super::FileChecker;
use crate::Code;

impl FileChecker<'_> {
    pub(super) fn context_decl(&mut self, c: &ast::ContextDecl) {
        let mut seen: HashMap<&str, ast::Span> = HashMap::new();
        for f in &c.fields {
            if let Some(first) = seen.insert(&f.name.name, f.name.span) {
                self.rep
                    .report(
                        Code::DuplicateMember,
                        f.name.span,
                        format!(
                            "field `{}` is declared twice in context `{}`",
                            f.name.name, c.name.name
                        ),
                    )
                    .label("declared again here")
                    .secondary(first, "first declared here")
                    .help("remove one of them or rename it");
            }
            self.field_type(&f.ty, false);
        }

        let keys: Vec<&ast::FieldDecl> = c.fields.iter().filter(|f| f.key.is_some()).collect();
        if let [first, rest @ ..] = keys.as_slice() {
            for extra in rest {
                self.rep
                    .report(
                        Code::InvalidKey,
                        extra.key.unwrap_or(extra.span),
                        format!("context `{}` has more than one key", c.name.name),
                    )
                    .label("second key")
                    .secondary(first.key.unwrap_or(first.span), "first key")
                    .help("a context has one targeting key; remove `key` from one of the fields");
            }
            let ok = matches!(
                first.ty.kind,
                TypeExprKind::Prim(ast::PrimType::String) | TypeExprKind::Prim(ast::PrimType::Int)
            );
            if !ok {
                self.rep
                    .report(
                        Code::InvalidKey,
                        first.ty.span,
                        format!(
                            "the key of context `{}` must be a required string or int",
                            c.name.name
                        ),
                    )
                    .label("not a string or int")
                    .help("the key is what bucketing hashes: an id, as a `string` or `int`");
            }
        }
    }

    /// Check a declared field type: lists hold non-optional scalars, enums
    /// have distinct values.
    fn field_type(&mut self, t: &ast::TypeExpr, in_list: bool) {
        match &t.kind {
            TypeExprKind::Prim(ast::PrimType::Ip) if in_list => {
                self.rep
                    .report(
                        Code::InvalidType,
                        t.span,
                        "lists of addresses are not supported",
                    )
                    .label("list of `ip`")
                    .help("declare one `ip` field and test it against ranges: `request.ip in [\"10.0.0.0/8\", \"2001:db8::/32\"]`");
            }
            TypeExprKind::Prim(_) => {}
            TypeExprKind::Optional(inner) => {
                if in_list {
                    self.rep
                        .report(
                            Code::InvalidType,
                            t.span,
                            "list elements cannot be optional",
                        )
                        .label("optional element")
                        .help("make the list itself optional instead: `list<string>?`");
                }
                self.field_type(inner, in_list);
            }
            TypeExprKind::List(elem) => {
                if in_list {
                    self.rep
                        .report(
                            Code::InvalidType,
                            t.span,
                            "lists of lists are not supported",
                        )
                        .label("nested list");
                }
                self.field_type(elem, true);
            }
            TypeExprKind::Enum(values) => {
                if values.is_empty() {
                    self.rep
                        .report(
                            Code::InvalidType,
                            t.span,
                            "an enum needs at least one value",
                        )
                        .label("empty enum")
                        .help("list its values: `enum { free, pro }`");
                }
                let mut seen: HashMap<&str, ast::Span> = HashMap::new();
                for v in values {
                    if let Some(first) = seen.insert(&v.name, v.span) {
                        self.rep
                            .report(
                                Code::DuplicateMember,
                                v.span,
                                format!("enum value `{}` is listed twice", v.name),
                            )
                            .label("listed again here")
                            .secondary(first, "first listed here");
                    }
                }
            }
        }
    }
}
