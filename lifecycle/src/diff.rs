//! The semantic diff, `vexil diff OLD NEW`: what a change does to flags,
//! not to text. Both sides are compared on the syntax tree of their
//! canonically formatted sources (not the IR), so names, conditions and
//! results are shown as written: flags, experiments, segments and contexts
//! added, removed or renamed (same body, new name); each property changed
//! (default, kind, owner, expiry, variants, allocation, layer, schedule...);
//! each rule added, removed, changed (condition, result, schedule) or
//! reordered; context fields added, removed or retyped with the flags that
//! read them.

use std::collections::BTreeMap;

use serde::Serialize;
use vexil_compiler::syntax::{self as ast, Item, PropertyKind, RuleDecl, RuleResult, Span};

/// One source file of a side: its path and text.
pub type Source = (String, String);

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `flag`, `experiment`, `segment` or `context`.
    pub item: &'static str,
    /// Its name (the new one after a rename).
    pub name: String,
    /// Who answers for it (the new side's owner, else the old side's).
    pub owner: Option<String>,
    /// What changed.
    #[serde(flatten)]
    pub what: What,
}

/// What changed in one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum What {
    /// New on the new side.
    Added,
    /// Gone from the new side.
    Removed,
    /// The same body under a new name.
    Renamed {
        /// The old name.
        from: String,
    },
    /// A property (`default`, `owner`, `variants`, `requires`...) changed,
    /// appeared (`old` none) or went (`new` none).
    Property {
        /// Its keyword.
        property: String,
        /// As written before.
        old: Option<String>,
        /// As written after.
        new: Option<String>,
    },
    /// A rule appeared.
    RuleAdded {
        /// ``rule `NAME` ``, or `rule N` (its position from 1).
        rule: String,
        /// The rule as written.
        text: String,
    },
    /// A rule went.
    RuleRemoved {
        /// ``rule `NAME` ``, or `rule N` (its old position from 1).
        rule: String,
        /// The rule as written.
        text: String,
    },
    /// A part of a rule changed: `condition`, `result` (a value, a rollout's
    /// percentage, a staged rollout's stages, a split's weights) or
    /// `schedule` (`from`/`until`).
    RuleChanged {
        /// ``rule `NAME` ``, or `rule N` (its new position from 1).
        rule: String,
        /// `condition`, `result` or `schedule`.
        part: &'static str,
        /// As written before (`always` for no condition or schedule).
        old: String,
        /// As written after.
        new: String,
    },
    /// The rules kept on both sides are in another order.
    RulesReordered {
        /// Their names before.
        old: Vec<String>,
        /// Their names after.
        new: Vec<String>,
    },
    /// A context field appeared.
    FieldAdded {
        /// Its name.
        field: String,
        /// Its type as written.
        #[serde(rename = "type")]
        ty: String,
        /// The flags and experiments that read it (directly or through a
        /// segment), on the new side.
        read_by: Vec<String>,
    },
    /// A context field went.
    FieldRemoved {
        /// Its name.
        field: String,
        /// Its type as written.
        #[serde(rename = "type")]
        ty: String,
        /// The flags and experiments that read it on the old side.
        read_by: Vec<String>,
    },
    /// A context field's type (or `key` marker) changed.
    FieldChanged {
        /// Its name.
        field: String,
        /// Before.
        old: String,
        /// After.
        new: String,
        /// The flags and experiments that read it, on the new side.
        read_by: Vec<String>,
    },
}

impl What {
    /// One line for people.
    pub fn describe(&self) -> String {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        let readers = |r: &[String]| {
            if r.is_empty() {
                String::new()
            } else {
                format!(" (read by {})", r.join(", "))
            }
        };
        match self {
            What::Added => "added".into(),
            What::Removed => "removed".into(),
            What::Renamed { from } => format!("renamed from `{from}`"),
            What::Property { property, old, new } => {
                format!("{property}: `{}` -> `{}`", opt(old), opt(new))
            }
            What::RuleAdded { rule, text } => format!("{rule} added: `{text}`"),
            What::RuleRemoved { rule, text } => format!("{rule} removed: `{text}`"),
            What::RuleChanged {
                rule,
                part,
                old,
                new,
            } => format!("{rule} {part}: `{old}` -> `{new}`"),
            What::RulesReordered { old, new } => {
                format!("rules reordered: {} -> {}", old.join(", "), new.join(", "))
            }
            What::FieldAdded { field, ty, read_by } => {
                format!("field `{field}: {ty}` added{}", readers(read_by))
            }
            What::FieldRemoved { field, ty, read_by } => {
                format!("field `{field}: {ty}` removed{}", readers(read_by))
            }
            What::FieldChanged {
                field,
                old,
                new,
                read_by,
            } => format!("field `{field}`: `{old}` -> `{new}`{}", readers(read_by)),
        }
    }
}

/// An item as the diff sees it: its properties as written.
/// Sources give it as written; a bundle as `compiled.rs` renders its IR.
#[derive(Clone, Debug)]
pub(crate) struct View {
    pub(crate) item: &'static str,
    pub(crate) owner: Option<String>,
    /// Every property but rules, by keyword, in order (several `requires`
    /// or `tags` each keep their text).
    pub(crate) properties: BTreeMap<&'static str, Vec<String>>,
    pub(crate) rules: Vec<Rule>,
    /// Context fields: name → (type as written, key marker).
    pub(crate) fields: Vec<(String, String)>,
    /// The whole body without the name, for renames and readers.
    pub(crate) body: String,
}

impl View {
    /// A context: its fields and nothing else.
    pub(crate) fn context(fields: Vec<(String, String)>, body: String) -> View {
        View {
            item: "context",
            owner: None,
            properties: BTreeMap::new(),
            rules: Vec::new(),
            fields,
            body,
        }
    }

    /// A segment: its condition.
    pub(crate) fn segment(condition: String, body: String) -> View {
        View {
            item: "segment",
            owner: None,
            properties: BTreeMap::from([("condition", vec![condition])]),
            rules: Vec::new(),
            fields: Vec::new(),
            body,
        }
    }
}

/// One rule of a flag, in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) name: Option<String>,
    pub(crate) schedule: String,
    pub(crate) condition: String,
    pub(crate) result: String,
    pub(crate) text: String,
}

/// The items of one side, by name. A file that does not parse contributes
/// the items it could read (its broken ones are left out).
fn views(sources: &[Source]) -> BTreeMap<String, View> {
    let mut out = BTreeMap::new();
    for (_, text) in sources {
        let mut tree = ast::parse(text);
        // Parsed once more only when formatting changed something (a file
        // kept in canonical format, the usual case, is parsed once).
        let formatted = match tree.errors.is_empty() {
            true => Some(vexil_fmt::format_file(&tree, text)).filter(|f| f != text),
            false => None,
        };
        if let Some(f) = &formatted {
            tree = ast::parse(f);
        }
        let text = formatted.as_deref().unwrap_or(text);
        for item in &tree.items {
            if let Some((name, view)) = view(item, text) {
                out.insert(name, view);
            }
        }
    }
    out
}

/// The text of `span`, each line trimmed and joined by one space, without
/// its comment lines.
fn written(text: &str, span: Span) -> String {
    let slice = text
        .get(span.start as usize..span.end as usize)
        .unwrap_or("");
    slice
        .lines()
        .map(str::trim)
        // Comment lines (doc comments of variants and metrics) are no change.
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn view(item: &Item, text: &str) -> Option<(String, View)> {
    let span_text = |s: Span| written(text, s);
    let body = |span: Span, name: &ast::Ident| {
        written(
            text,
            Span {
                start: name.span.end,
                end: span.end,
            },
        )
    };
    match item {
        Item::Flag(d) | Item::Experiment(d) => {
            let mut properties: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
            let mut rules = Vec::new();
            let mut owner = None;
            for p in &d.properties {
                match &p.kind {
                    PropertyKind::Rule(r) => rules.push(rule(r, p.span, text)),
                    kind => {
                        if let PropertyKind::Owner(o) = kind {
                            owner = Some(o.value.clone());
                        }
                        // The property without its keyword.
                        let value = written(
                            text,
                            Span {
                                start: p.keyword.end,
                                end: p.span.end,
                            },
                        );
                        // A property without a value (`client`) is there or not.
                        let value = if value.is_empty() {
                            "yes".into()
                        } else {
                            value
                        };
                        properties.entry(kind.keyword()).or_default().push(value);
                    }
                }
            }
            properties
                .entry("type")
                .or_default()
                .push(span_text(d.value_type_span));
            let item = if matches!(item, Item::Flag(_)) {
                "flag"
            } else {
                "experiment"
            };
            let view = View {
                item,
                owner,
                properties,
                rules,
                fields: Vec::new(),
                body: body(d.span, &d.name),
            };
            Some((d.name.name.clone(), view))
        }
        Item::Segment(s) => Some((
            s.name.name.clone(),
            View::segment(span_text(s.condition.span), body(s.span, &s.name)),
        )),
        Item::Context(c) => {
            let fields = c
                .fields
                .iter()
                .map(|f| {
                    let ty = span_text(f.ty.span);
                    let ty = if f.key.is_some() {
                        format!("key {ty}")
                    } else {
                        ty
                    };
                    (f.name.name.clone(), ty)
                })
                .collect();
            Some((
                c.name.name.clone(),
                View::context(fields, body(c.span, &c.name)),
            ))
        }
        Item::Test(_) | Item::Broken(_) => None,
    }
}

fn rule(r: &RuleDecl, span: Span, text: &str) -> Rule {
    let w = |s: Span| written(text, s);
    let mut schedule = Vec::new();
    if let Some(from) = &r.from {
        schedule.push(format!("from {}", w(from.span)));
    }
    if let Some(until) = &r.until {
        schedule.push(format!("until {}", w(until.span)));
    }
    let result_span = match &r.result {
        RuleResult::Value(v) => v.span,
        RuleResult::Rollout { span, .. }
        | RuleResult::Staged { span, .. }
        | RuleResult::Split { span, .. } => *span,
    };
    let mut whole = written(text, span);
    if let Some(rest) = whole.strip_prefix("rule ") {
        whole = rest.to_string();
    }
    Rule {
        name: r.name.as_ref().map(|n| n.name.clone()),
        schedule: if schedule.is_empty() {
            "always".into()
        } else {
            schedule.join(" ")
        },
        condition: r
            .condition
            .as_ref()
            .map_or_else(|| "always".into(), |c| w(c.span)),
        result: w(result_span),
        text: whole,
    }
}

/// The changes from `old` to `new`: by item kind (contexts, segments,
/// flags, experiments), then name.
pub fn diff(old: &[Source], new: &[Source]) -> Vec<Change> {
    // The two sides are read on two threads.
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| views(old));
        let new = views(new);
        // `views` does not panic (parsing never fails); were it to, the
        // panic goes on here rather than reporting a side as empty.
        let old = old.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (old, new)
    });
    diff_views(&old, &new)
}

/// The changes from bundle `old` to bundle `new` (`vexil build` output, or
/// sources compiled), rendered from the IR (see `compiled.rs` and its
/// [`LIMITS`](crate::compiled::LIMITS)); same order as [`diff`].
pub fn diff_bundles(old: &vexil_ir::Bundle, new: &vexil_ir::Bundle) -> Vec<Change> {
    diff_views(&crate::compiled::views(old), &crate::compiled::views(new))
}

fn diff_views(old: &BTreeMap<String, View>, new: &BTreeMap<String, View>) -> Vec<Change> {
    let mut out = Vec::new();
    let removed: Vec<&String> = old.keys().filter(|n| !new.contains_key(*n)).collect();
    let added: Vec<&String> = new.keys().filter(|n| !old.contains_key(*n)).collect();
    // A rename: the same body, same kind of item, under a new name.
    let mut renamed: Vec<(&String, &String)> = Vec::new();
    for &a in &added {
        let Some(nv) = new.get(a) else { continue };
        let from = removed.iter().copied().find(|&r| {
            old.get(r)
                .is_some_and(|ov| ov.item == nv.item && ov.body == nv.body)
                && !renamed.iter().any(|&(_, o)| o == r)
        });
        if let Some(from) = from {
            renamed.push((a, from));
        }
    }
    let change = |name: &str, view: &View, what: What| Change {
        item: view.item,
        name: name.to_string(),
        owner: view.owner.clone(),
        what,
    };
    for &name in &removed {
        if renamed.iter().any(|&(_, o)| o == name) {
            continue;
        }
        if let Some(ov) = old.get(name) {
            out.push(change(name, ov, What::Removed));
        }
    }
    for &name in &added {
        let Some(nv) = new.get(name) else { continue };
        let what = match renamed.iter().find(|&&(n, _)| n == name) {
            Some(&(_, from)) => What::Renamed { from: from.clone() },
            None => What::Added,
        };
        out.push(change(name, nv, what));
    }
    for (name, nv) in new {
        let Some(ov) = old.get(name) else { continue };
        if ov.body == nv.body && ov.item == nv.item {
            continue;
        }
        let mut whats = Vec::new();
        if ov.item != nv.item {
            whats.push(What::Property {
                property: "item".into(),
                old: Some(ov.item.into()),
                new: Some(nv.item.into()),
            });
        }
        properties(ov, nv, &mut whats);
        rules(&ov.rules, &nv.rules, &mut whats);
        fields(name, ov, nv, (old, new), &mut whats);
        for what in whats {
            out.push(Change {
                item: nv.item,
                name: name.clone(),
                owner: nv.owner.clone().or_else(|| ov.owner.clone()),
                what,
            });
        }
    }
    let rank = |item: &str| match item {
        "context" => 0,
        "segment" => 1,
        "flag" => 2,
        _ => 3,
    };
    // Stable: within one item, changes keep the order they were found in.
    out.sort_by(|a, b| (rank(a.item), &a.name).cmp(&(rank(b.item), &b.name)));
    out
}

fn properties(ov: &View, nv: &View, whats: &mut Vec<What>) {
    let mut keys: Vec<&&'static str> = ov.properties.keys().chain(nv.properties.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let o = ov.properties.get(*key);
        let n = nv.properties.get(*key);
        if o == n {
            continue;
        }
        let join = |v: Option<&Vec<String>>| v.map(|v| v.join("; "));
        whats.push(What::Property {
            property: key.to_string(),
            old: join(o),
            new: join(n),
        });
    }
}

fn label(rule: &Rule, position: usize) -> String {
    match &rule.name {
        Some(name) => format!("rule `{name}`"),
        None => format!("rule {}", position + 1),
    }
}

fn rules(old: &[Rule], new: &[Rule], whats: &mut Vec<What>) {
    // Pairs (old index, new index): by name, then by condition, then by
    // position among what is left.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut old_taken = vec![false; old.len()];
    let mut new_taken = vec![false; new.len()];
    let mut pair_by = |same: &dyn Fn(&Rule, &Rule) -> bool, pairs: &mut Vec<(usize, usize)>| {
        for (j, n) in new.iter().enumerate() {
            if new_taken[j] {
                continue;
            }
            if let Some(i) = (0..old.len()).find(|&i| !old_taken[i] && same(&old[i], n)) {
                old_taken[i] = true;
                new_taken[j] = true;
                pairs.push((i, j));
            }
        }
    };
    pair_by(&|o, n| o.name.is_some() && o.name == n.name, &mut pairs);
    pair_by(
        &|o, n| o.name.is_none() && n.name.is_none() && o.text == n.text,
        &mut pairs,
    );
    pair_by(
        &|o, n| o.name.is_none() && n.name.is_none() && o.condition == n.condition,
        &mut pairs,
    );
    pair_by(
        &|o, n| o.name.is_none() && n.name.is_none() && o.result == n.result,
        &mut pairs,
    );
    for (i, o) in old.iter().enumerate() {
        if !old_taken[i] {
            whats.push(What::RuleRemoved {
                rule: label(o, i),
                text: o.text.clone(),
            });
        }
    }
    for (j, n) in new.iter().enumerate() {
        if !new_taken[j] {
            whats.push(What::RuleAdded {
                rule: label(n, j),
                text: n.text.clone(),
            });
        }
    }
    pairs.sort_by_key(|&(_, j)| j);
    for &(i, j) in &pairs {
        let (o, n) = (&old[i], &new[j]);
        for (part, a, b) in [
            ("condition", &o.condition, &n.condition),
            ("result", &o.result, &n.result),
            ("schedule", &o.schedule, &n.schedule),
        ] {
            if a != b {
                whats.push(What::RuleChanged {
                    rule: label(n, j),
                    part,
                    old: a.clone(),
                    new: b.clone(),
                });
            }
        }
    }
    // Reordered: the kept rules' old positions, in new order, not rising.
    let olds: Vec<usize> = pairs.iter().map(|&(i, _)| i).collect();
    if olds.windows(2).any(|w| w[0] > w[1]) {
        let mut by_old = pairs.clone();
        by_old.sort_by_key(|&(i, _)| i);
        whats.push(What::RulesReordered {
            old: by_old.iter().map(|&(i, _)| label(&old[i], i)).collect(),
            new: pairs.iter().map(|&(i, j)| label(&new[j], i)).collect(),
        });
    }
}

/// Whether `text` names `context.field` (as a whole path).
fn reads(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + path.len()..].chars().next();
        let boundary = |c: Option<char>| {
            c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        };
        boundary(before) && boundary(after)
    })
}

/// The flags and experiments of a side reading `context.field`, directly or
/// through a segment (one level: segments naming segments are followed too).
fn readers(views: &BTreeMap<String, View>, path: &str) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    let mut segments: Vec<&str> = views
        .iter()
        .filter(|(_, v)| v.item == "segment" && reads(&v.body, path))
        .map(|(n, _)| n.as_str())
        .collect();
    // Segments using those segments, to a fixed point.
    loop {
        let more: Vec<&str> = views
            .iter()
            .filter(|(n, v)| {
                v.item == "segment"
                    && !segments.contains(&n.as_str())
                    && segments.iter().any(|s| reads(&v.body, s))
            })
            .map(|(n, _)| n.as_str())
            .collect();
        if more.is_empty() {
            break;
        }
        segments.extend(more);
    }
    for (n, v) in views {
        if matches!(v.item, "flag" | "experiment")
            && (reads(&v.body, path) || segments.iter().any(|s| reads(&v.body, s)))
        {
            names.push(n);
        }
    }
    names.into_iter().map(str::to_string).collect()
}

fn fields(
    context: &str,
    ov: &View,
    nv: &View,
    (old, new): (&BTreeMap<String, View>, &BTreeMap<String, View>),
    whats: &mut Vec<What>,
) {
    for (field, ty) in &ov.fields {
        let path = format!("{context}.{field}");
        match nv.fields.iter().find(|(f, _)| f == field) {
            None => whats.push(What::FieldRemoved {
                field: field.clone(),
                ty: ty.clone(),
                read_by: readers(old, &path),
            }),
            Some((_, new_ty)) if new_ty != ty => whats.push(What::FieldChanged {
                field: field.clone(),
                old: ty.clone(),
                new: new_ty.clone(),
                read_by: readers(new, &path),
            }),
            Some(_) => {}
        }
    }
    for (field, ty) in &nv.fields {
        if !ov.fields.iter().any(|(f, _)| f == field) {
            whats.push(What::FieldAdded {
                field: field.clone(),
                ty: ty.clone(),
                read_by: readers(new, &format!("{context}.{field}")),
            });
        }
    }
}
