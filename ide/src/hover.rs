//! Hover: what the name under the cursor is, in Markdown. A field shows its
//! type; a flag its type, kind, owner, expiry, default and doc; a segment its
//! condition as written; an experiment its variants and weights.

use std::fmt::Write;

use vexil_grammar::{self as ast, Item, PropertyKind, Span};
use vexil_ir::bucket::{buckets_to_percent, BUCKETS};

use super::index::Target;
use super::nav::{context_decl, item_decl, owner_props, target_at, variant_decls};
use vexil_compiler::db::{Db, SourceFile, Workspace};
use vexil_compiler::literal;
use vexil_compiler::summary::field_ty;

/// What the name under the cursor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// The name the hover is about.
    pub span: Span,
    /// The description, in Markdown.
    pub markdown: String,
}

/// The hover for the name at `offset`, if there is a declared name there.
pub fn hover(db: &dyn Db, ws: Workspace, file: SourceFile, offset: u32) -> Option<Hover> {
    let Some((span, target)) = target_at(db, ws, file, offset) else {
        // No name: an operator or keyword, which says what it does.
        let (span, markdown) = super::operators::hover_at(file.text(db), offset as usize)?;
        return Some(Hover { span, markdown });
    };
    let markdown = match &target {
        Target::Item(name) => item(db, ws, name)?,
        Target::Field { context, field } => field_hover(db, ws, context, field)?,
        Target::EnumValue {
            context,
            field,
            value,
        } => enum_value(db, ws, context, field, value)?,
        Target::Variant { owner, variant } => variant_hover(db, ws, owner, variant)?,
        Target::Rule { owner, rule } => rule_hover(db, ws, owner, rule)?,
    };
    Some(Hover { span, markdown })
}

fn code(out: &mut String, text: &str) {
    let _ = writeln!(out, "```vexil\n{text}\n```");
}

fn doc(out: &mut String, doc: &Option<ast::Doc>) {
    if let Some(d) = doc {
        let _ = write!(out, "\n{}\n", d.text());
    }
}

/// The source text of a span in `file`, without the line break a
/// property's span ends with.
fn src(db: &dyn Db, file: SourceFile, span: Span) -> &str {
    file.text(db).get(span.range()).unwrap_or("").trim_end()
}

fn item(db: &dyn Db, ws: Workspace, name: &str) -> Option<String> {
    let (file, item) = item_decl(db, ws, name)?;
    let mut out = String::new();
    match item {
        Item::Context(c) => {
            let mut text = format!("context {} {{\n", c.name.name);
            for f in &c.fields {
                let key = if f.key.is_some() { "key " } else { "" };
                let _ = writeln!(text, "  {key}{}: {}", f.name.name, src(db, file, f.ty.span));
            }
            text.push('}');
            code(&mut out, &text);
            doc(&mut out, &c.doc);
        }
        Item::Segment(s) => {
            let condition = src(db, file, s.condition.span);
            code(
                &mut out,
                &format!("segment {} {{\n  {condition}\n}}", s.name.name),
            );
            doc(&mut out, &s.doc);
        }
        Item::Flag(f) => {
            code(
                &mut out,
                &format!("flag {}: {}", f.name.name, f.value_type.as_str()),
            );
            doc(&mut out, &f.doc);
            flag_facts(db, ws, file, &f.properties, &mut out);
        }
        Item::Experiment(e) => {
            code(
                &mut out,
                &format!("experiment {}: {}", e.name.name, e.value_type.as_str()),
            );
            doc(&mut out, &e.doc);
            experiment_facts(db, file, &e.properties, &mut out);
        }
        Item::Broken(b) => {
            let what = b.keyword.map_or("item", ast::ItemKeyword::as_str);
            let _ = writeln!(out, "{what} `{name}`\n\n*does not parse yet*");
        }
        Item::Test(_) => return None,
    }
    Some(out)
}

/// The hover fact of a `client` flag or experiment.
const CLIENT_FACT: &str = "**client**: client keys may evaluate it";

/// `**kind** release · **owner** ..`: one line of facts about a flag.
fn flag_facts(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    props: &[ast::Property],
    out: &mut String,
) {
    let mut facts: Vec<String> = Vec::new();
    let mut requires = Vec::new();
    let mut rules = 0;
    let mut off = false;
    let mut switch = None;
    for p in props {
        match &p.kind {
            PropertyKind::Kind(k) => facts.push(format!("**kind** {}", k.name)),
            PropertyKind::Owner(o) => facts.push(format!("**owner** {}", o.value)),
            PropertyKind::Expires(lit) => {
                let mut fact = format!("**expires** {}", src(db, file, lit.span));
                if let (Ok(at), Some(today)) = (literal::timestamp(lit), ws.today(db)) {
                    fact.push_str(&relative_days(at, *today));
                }
                facts.push(fact);
            }
            PropertyKind::Default(v) => {
                facts.push(format!("**default** `{}`", src(db, file, v.span)))
            }
            PropertyKind::Enabled(false) => off = true,
            PropertyKind::EnabledWhen(e) => switch = Some(src(db, file, e.span)),
            PropertyKind::Client => facts.push(CLIENT_FACT.to_string()),
            PropertyKind::Requires(_) => requires.push(src(db, file, p.span)),
            PropertyKind::Rule(_) => rules += 1,
            _ => {}
        }
    }
    out.push('\n');
    out.push_str(&facts.join(" · "));
    out.push('\n');
    if off {
        out.push_str("\n**off**: serves its default (`enabled false`)\n");
    }
    if let Some(switch) = switch {
        let _ = writeln!(
            out,
            "\n**on only when** `{switch}`; elsewhere off (its default, `DISABLED`)"
        );
    }
    for r in requires {
        let _ = writeln!(out, "\n`{r}`");
    }
    let variants: Vec<String> = variant_decls(props)
        .map(|v| format!("`{}` = `{}`", v.name.name, src(db, file, v.value.span)))
        .collect();
    if !variants.is_empty() {
        let _ = writeln!(out, "\n**variants** {}", variants.join(", "));
    }
    if rules > 0 {
        let _ = writeln!(out, "\n{}", vexil_words::count(rules, "rule"));
    }
}

/// ` (in 12 days)` or ` (expired 3 days ago)`.
fn relative_days(at: i64, today: i64) -> String {
    let days = (at - today).div_euclid(86_400_000_000);
    match days {
        d if d > 1 => format!(" (in {d} days)"),
        1 => " (tomorrow)".into(),
        0 => " (expires today)".into(),
        -1 => " (expired yesterday)".into(),
        d => format!(" (expired {} days ago)", -d),
    }
}

fn experiment_facts(db: &dyn Db, file: SourceFile, props: &[ast::Property], out: &mut String) {
    let mut facts: Vec<String> = Vec::new();
    let mut control = None;
    for p in props {
        match &p.kind {
            PropertyKind::Owner(o) => facts.push(format!("**owner** {}", o.value)),
            PropertyKind::Unit(u) => facts.push(format!("**unit** `{}`", src(db, file, u.span))),
            PropertyKind::Traffic(t) => {
                facts.push(format!("**traffic** {}", src(db, file, t.span)))
            }
            PropertyKind::Layer(l) => facts.push(format!("**layer** {}", l.name)),
            PropertyKind::Start(t) => facts.push(format!("**start** {}", src(db, file, t.span))),
            PropertyKind::End(t) => facts.push(format!("**end** {}", src(db, file, t.span))),
            PropertyKind::Control(c) => control = Some(c.name.as_str()),
            PropertyKind::Client => facts.push(CLIENT_FACT.to_string()),
            _ => {}
        }
    }
    out.push('\n');
    out.push_str(&facts.join(" · "));
    out.push('\n');
    let variants: Vec<&ast::VariantDecl> = variant_decls(props).collect();
    if variants.is_empty() {
        return;
    }
    out.push_str("\n| variant | value | weight |\n|---|---|---|\n");
    let weights = weights(&variants);
    for (v, w) in variants.iter().zip(weights) {
        let name = if control == Some(v.name.name.as_str()) {
            format!("`{}` (control)", v.name.name)
        } else {
            format!("`{}`", v.name.name)
        };
        let _ = writeln!(
            out,
            "| {name} | `{}` | {w} |",
            src(db, file, v.value.span).replace('|', "\\|")
        );
    }
}

/// Each variant's weight as written, or its equal share when none is
/// written (the first takes the remainder, as the checker assigns them).
fn weights(variants: &[&ast::VariantDecl]) -> Vec<String> {
    let n = variants.len() as u32;
    variants
        .iter()
        .enumerate()
        .map(|(i, v)| match &v.weight {
            Some(w) => literal::percent(w).map_or_else(|_| "?".into(), buckets_to_percent),
            None if n > 0 => buckets_to_percent(BUCKETS / n + if i == 0 { BUCKETS % n } else { 0 }),
            None => "?".into(),
        })
        .collect()
}

fn field_hover(db: &dyn Db, ws: Workspace, context: &str, field: &str) -> Option<String> {
    let (file, c) = context_decl(db, ws, context)?;
    let f = c.fields.iter().find(|f| f.name.name == field)?;
    let mut out = String::new();
    code(
        &mut out,
        &format!("{context}.{field}: {}", src(db, file, f.ty.span)),
    );
    let (_, optional) = field_ty(&f.ty);
    if f.key.is_some() {
        let _ = writeln!(
            out,
            "\nthe targeting key of `{context}`: what `by {context}` buckets by"
        );
    } else if optional {
        out.push_str("\noptional: test it with `is set` before comparing it\n");
    }
    doc(&mut out, &f.doc);
    Some(out)
}

fn enum_value(
    db: &dyn Db,
    ws: Workspace,
    context: &str,
    field: &str,
    value: &str,
) -> Option<String> {
    let (file, c) = context_decl(db, ws, context)?;
    let f = c.fields.iter().find(|f| f.name.name == field)?;
    let values = super::index::enum_values(&f.ty);
    let position = values.iter().position(|v| v.name == value)?;
    let mut out = String::new();
    code(&mut out, &format!("{context}.{field} == {value}"));
    let _ = writeln!(
        out,
        "\nvalue {} of {} of `{}`, ordered as declared",
        position + 1,
        values.len(),
        src(db, file, f.ty.span)
    );
    Some(out)
}

fn variant_hover(db: &dyn Db, ws: Workspace, owner: &str, variant: &str) -> Option<String> {
    let (file, props) = owner_props(db, ws, owner)?;
    let variants: Vec<&ast::VariantDecl> = variant_decls(props).collect();
    let index = variants.iter().position(|v| v.name.name == variant)?;
    let v = variants.get(index)?;
    let is_experiment = matches!(item_decl(db, ws, owner), Some((_, Item::Experiment(_))));
    let mut out = String::new();
    code(
        &mut out,
        &format!("{variant} = {}", src(db, file, v.value.span)),
    );
    let what = if is_experiment { "experiment" } else { "flag" };
    let _ = write!(out, "\nvariant of {what} `{owner}`");
    if is_experiment {
        if let Some(w) = weights(&variants).get(index) {
            let _ = write!(out, ", weight {w}");
        }
        let is_control = props
            .iter()
            .any(|p| matches!(&p.kind, PropertyKind::Control(c) if c.name == variant));
        if is_control {
            out.push_str(" (control)");
        }
    }
    out.push('\n');
    doc(&mut out, &v.doc);
    Some(out)
}

fn rule_hover(db: &dyn Db, ws: Workspace, owner: &str, rule: &str) -> Option<String> {
    let (file, props) = owner_props(db, ws, owner)?;
    let (position, p) = props
        .iter()
        .filter(|p| matches!(p.kind, PropertyKind::Rule(_)))
        .enumerate()
        .find(|(_, p)| {
            matches!(&p.kind, PropertyKind::Rule(r) if r.name.as_ref().is_some_and(|n| n.name == rule))
        })?;
    let mut out = String::new();
    code(&mut out, src(db, file, p.span));
    let _ = writeln!(out, "\nrule {} of flag `{owner}`", position + 1);
    if let PropertyKind::Rule(r) = &p.kind {
        stage_table(r, &mut out);
        guard_table(r, &mut out);
    }
    doc(&mut out, &p.doc);
    Some(out)
}

/// A staged rollout's guardrails: what each watches, the harmful change
/// that breaches it, and what a breach does.
fn guard_table(r: &ast::RuleDecl, out: &mut String) {
    if r.guards.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n| guardrail | metric | breached by | then |\n|---|---|---|---|"
    );
    for g in &r.guards {
        let m = &g.metric;
        let events: Vec<&str> = m.events.iter().map(|e| e.name.as_str()).collect();
        let harmful = match m.goal {
            ast::Goal::Increase => "a fall",
            ast::Goal::Decrease => "a rise",
        };
        let threshold = m
            .threshold
            .as_ref()
            .map_or_else(String::new, |t| format!(" of {}", literal_text(t)));
        let action = g.action.as_ref().map_or("rollback", |a| a.name.as_str());
        let _ = writeln!(
            out,
            "| {} | {}({}) | {harmful}{threshold} | {action} |",
            m.name.name,
            m.function.name,
            events.join(", ")
        );
    }
    if let Some(m) = &r.min_sample {
        let _ = writeln!(
            out,
            "\nA stage may advance once {} units on each side have been seen.",
            literal_text(&m.count)
        );
    }
}

fn literal_text(l: &ast::Literal) -> String {
    match &l.kind {
        ast::LiteralKind::Percent(t) => format!("{t}%"),
        ast::LiteralKind::Number(t) | ast::LiteralKind::Duration(t) => t.clone(),
        other => other.describe().to_string(),
    }
}

/// A staged rollout's stages with the time each starts (from the rule's
/// `from` and the durations or end times before it), as far as they are
/// valid.
fn stage_table(r: &ast::RuleDecl, out: &mut String) {
    let ast::RuleResult::Staged { stages, .. } = &r.result else {
        return;
    };
    let mut starts = r.from.as_ref().and_then(|l| literal::timestamp(l).ok());
    let _ = writeln!(out, "\n| stage | share | starts |\n|---|---|---|");
    for (i, stage) in stages.iter().enumerate() {
        let share =
            literal::percent(&stage.percent).map_or_else(|_| "?".into(), buckets_to_percent);
        let when = starts.map_or_else(|| "?".to_string(), vexil_ir::value::format_timestamp);
        let _ = writeln!(out, "| {} | {share} | {when} |", i + 1);
        starts = match (&stage.duration, &stage.until) {
            (Some(d), _) => starts
                .zip(literal::duration(d).ok())
                .map(|(s, d)| s.saturating_add(d)),
            (None, Some(t)) => literal::timestamp(t).ok(),
            (None, None) => None,
        };
    }
}
