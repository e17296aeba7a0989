//! Checks across files: duplicate names, cycles among segments and among
//! prerequisites, and layers whose experiments do not fit in 100%.
//!
//! Problems are found from the position-free summaries, so this query is
//! not re-run for edits inside bodies; positions are looked up only for the
//! problems found, when they become diagnostics.

use std::collections::BTreeMap;

use vexil_ir::bucket::{buckets_to_percent, BUCKETS};

use crate::db::{self, Db, SourceFile, Workspace};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::summary::{ItemSig, Kind};
use crate::Code;

/// A declaration: its file and its index in that file's summary.
pub(crate) type Decl = (SourceFile, u32);

/// A problem across files, found from the summaries; [`cross_file_diagnostics`] turns
/// it into diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Problem {
    Duplicate {
        name: String,
        decls: Vec<Decl>,
    },
    SegmentCycle {
        members: Vec<(String, Decl)>,
    },
    PrerequisiteCycle {
        members: Vec<(String, Decl)>,
    },
    LayerOverflow {
        layer: String,
        total: u32,
        members: Vec<(String, Decl, u32)>,
    },
}

/// Problems that span files: duplicate names, cycles, overfull layers (a
/// salsa query over the summaries only).
#[salsa::tracked(returns(ref))]
pub(crate) fn global_problems(db: &dyn Db, ws: Workspace) -> Vec<Problem> {
    let symbols = db::symbols(db, ws);
    let mut problems = Vec::new();
    for (name, decls) in &symbols.by_name {
        if decls.len() > 1 {
            problems.push(Problem::Duplicate {
                name: name.clone(),
                decls: decls.iter().map(|d| (d.file, d.item)).collect(),
            });
        }
    }

    let mut segment_edges: BTreeMap<String, (Decl, Vec<String>)> = BTreeMap::new();
    let mut flag_edges: BTreeMap<String, (Decl, Vec<String>)> = BTreeMap::new();
    // Per layer: (start date, experiment, declaration, traffic).
    type Member = (Option<i64>, String, Decl, u32);
    let mut layers: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for (name, decls) in &symbols.by_name {
        let Some(d) = decls.first() else { continue };
        let Some(item) = db::file_summary(db, d.file).items.get(d.item as usize) else {
            continue;
        };
        let decl = (d.file, d.item);
        match (&item.kind, &item.sig) {
            (Kind::Segment, ItemSig::Segment { uses }) => {
                segment_edges.insert(name.clone(), (decl, uses.clone()));
            }
            (Kind::Flag, ItemSig::Flag(sig)) => {
                flag_edges.insert(name.clone(), (decl, sig.requires.clone()));
            }
            (Kind::Experiment, ItemSig::Flag(sig)) => {
                if let (Some(layer), Some(traffic)) = (&sig.layer, sig.traffic) {
                    layers.entry(layer.clone()).or_default().push((
                        sig.start,
                        name.clone(),
                        decl,
                        traffic,
                    ));
                }
            }
            _ => {}
        }
    }
    for members in cycles(&segment_edges) {
        problems.push(Problem::SegmentCycle { members });
    }
    for members in cycles(&flag_edges) {
        problems.push(Problem::PrerequisiteCycle { members });
    }
    for (layer, mut members) in layers {
        members.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let total: u32 = members.iter().map(|m| m.3).sum();
        if total > BUCKETS {
            problems.push(Problem::LayerOverflow {
                layer,
                total,
                members: members.into_iter().map(|(_, n, d, t)| (n, d, t)).collect(),
            });
        }
    }
    problems
}

/// Every strongly connected component that is a cycle (including a node
/// that refers to itself), each as its members in name order.
fn cycles(edges: &BTreeMap<String, (Decl, Vec<String>)>) -> Vec<Vec<(String, Decl)>> {
    // Tarjan's algorithm, iterative so that long chains cannot overflow the stack.
    let names: Vec<&String> = edges.keys().collect();
    let index_of: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let succ: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map(|(_, out)| {
                    out.iter()
                        .filter_map(|m| index_of.get(m.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let n = names.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                let is_cycle = component.len() > 1 || succ[v].contains(&v);
                if is_cycle {
                    let mut members: Vec<(String, Decl)> = component
                        .into_iter()
                        .filter_map(|i| edges.get(names[i]).map(|(d, _)| (names[i].clone(), *d)))
                        .collect();
                    members.sort_by(|a, b| a.0.cmp(&b.0));
                    out.push(members);
                }
            }
        }
    }
    out
}

/// The span of a declaration's name.
fn name_label(db: &dyn Db, (file, item): Decl, message: String) -> Label {
    let ordinal = db::file_summary(db, file)
        .items
        .get(item as usize)
        .map(|i| i.ordinal as usize);
    let span = ordinal
        .and_then(|o| db::parse(db, file).items.get(o))
        .and_then(|i| i.name().map(|n| n.span))
        .unwrap_or_default();
    Label {
        file: file.path(db).clone(),
        span,
        message,
    }
}

/// The problems across files (duplicate names, cycles among segments or
/// prerequisites, overfull layers, tests that depend on the time without
/// giving it) as diagnostics, each in the file of its primary label. With
/// every file's own diagnostics, what `vexil check` reports.
pub fn cross_file_diagnostics(db: &dyn Db, ws: Workspace) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let make = |code: Code, message: String, primary: Label, secondary: Vec<Label>, help: &str| {
        Diagnostic {
            code,
            severity: Severity::Error,
            message,
            primary,
            secondary,
            help: Some(help.to_string()),
            notes: Vec::new(),
            fix: None,
        }
    };
    for problem in global_problems(db, ws) {
        match problem {
            Problem::Duplicate { name, decls } => {
                let Some((first, rest)) = decls.split_first() else {
                    continue;
                };
                for d in rest {
                    out.push(make(
                        Code::DuplicateName,
                        format!("`{name}` is declared more than once"),
                        name_label(db, *d, "declared again here".into()),
                        vec![name_label(db, *first, "first declared here".into())],
                        "names are shared by contexts, segments, flags and experiments across the project; rename one",
                    ));
                }
            }
            Problem::SegmentCycle { members } | Problem::PrerequisiteCycle { members } => {
                let is_segment = matches!(problem, Problem::SegmentCycle { .. });
                let names: Vec<String> = members.iter().map(|(n, _)| format!("`{n}`")).collect();
                let Some(((first_name, first), rest)) = members.split_first() else {
                    continue;
                };
                let (code, what, help) = if is_segment {
                    (
                        Code::SegmentCycle,
                        "segment",
                        "break the cycle: a segment cannot depend on itself",
                    )
                } else {
                    (
                        Code::PrerequisiteCycle,
                        "flag",
                        "break the cycle: a flag cannot require itself, even through other flags",
                    )
                };
                let message = if rest.is_empty() {
                    format!("{what} `{first_name}` depends on itself")
                } else {
                    format!("{what}s {} depend on each other", names.join(", "))
                };
                out.push(make(
                    code,
                    message,
                    name_label(db, *first, "part of the cycle".into()),
                    rest.iter()
                        .map(|(n, d)| name_label(db, *d, format!("`{n}` is part of the cycle")))
                        .collect(),
                    help,
                ));
            }
            Problem::LayerOverflow {
                layer,
                total,
                members,
            } => {
                let Some(((_, first, _), rest)) = members.split_last() else {
                    continue;
                };
                out.push(make(
                    Code::LayerOverflow,
                    format!(
                        "experiments in layer `{layer}` take {} of traffic, more than 100%",
                        buckets_to_percent(*total)
                    ),
                    name_label(db, *first, "does not fit in the layer".into()),
                    rest.iter()
                        .map(|(n, d, t)| {
                            name_label(db, *d, format!("`{n}` takes {}", buckets_to_percent(*t)))
                        })
                        .collect(),
                    "lower some experiments' `traffic`, or move one to another layer",
                ));
            }
        }
    }
    out.extend(crate::clock::clock_test_warnings(db, ws));
    out
}
