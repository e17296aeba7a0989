//! Linking: the checked files' IR, with file-local references, becomes one
//! bundle with global indices.
//!
//! Contexts are laid out in name order (fields in declaration order);
//! segments and flags are ordered so that every reference points backwards
//! (names break ties), which validation requires; the
//! experiments of a layer take consecutive enrolment ranges in order of
//! start date, then name.

use std::collections::{BTreeMap, HashMap};

use vexil_ir::{self as ir, bucket::BUCKETS};

use crate::check::{check_file, Lowered, LoweredExperiment};
use crate::db::{self, Db, Workspace};
use crate::summary::{ItemSig, Kind};

/// Link the workspace and validate the result, so that the runtime loads
/// it as it is. Call only when it has no errors; returns a description of
/// the problem if the result does not validate (a bug: the checker
/// refuses everything validation does).
pub fn link(db: &dyn Db, ws: Workspace, with_tests: bool) -> Result<ir::ValidBundle, String> {
    let schema = schema(db, ws);
    let slot_of: HashMap<(String, u32), u32> = schema
        .contexts
        .iter()
        .flat_map(|c| {
            c.fields
                .iter()
                .enumerate()
                .map(move |(i, f)| ((c.name.clone(), i as u32), f.slot))
        })
        .collect();

    let files: Vec<&Lowered> = ws
        .files(db)
        .iter()
        .map(|&f| &check_file(db, ws, f).lowered)
        .collect();

    // Segments, in dependency order.
    let mut segments: BTreeMap<String, (&Lowered, &ir::Segment)> = BTreeMap::new();
    for file in &files {
        for s in &file.segments {
            segments.entry(s.name.clone()).or_insert((file, s));
        }
    }
    let segment_deps: BTreeMap<String, Vec<String>> = segments
        .iter()
        .map(|(name, (file, s))| {
            let mut used = Vec::new();
            expr_segments(&s.condition, &mut used);
            let names = used
                .into_iter()
                .filter_map(|i| file.refs.segments.get(i as usize).cloned())
                .collect();
            (name.clone(), names)
        })
        .collect();
    let segment_order = topological(&segment_deps)?;
    let segment_index: HashMap<&str, u32> = segment_order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();

    let remap = |file: &Lowered| Remap {
        slots: file
            .refs
            .fields
            .iter()
            .map(|key| slot_of.get(key).copied().unwrap_or(u32::MAX))
            .collect(),
        segments: file
            .refs
            .segments
            .iter()
            .map(|n| segment_index.get(n.as_str()).copied().unwrap_or(u32::MAX))
            .collect(),
    };

    let mut out_segments = Vec::new();
    for name in &segment_order {
        if let Some((file, s)) = segments.get(name) {
            out_segments.push(ir::Segment {
                name: s.name.clone(),
                condition: remap(file).expr(&s.condition),
            });
        }
    }

    // Flags, prerequisites first.
    let mut flags: BTreeMap<String, (&Lowered, &ir::Flag)> = BTreeMap::new();
    for file in &files {
        for f in &file.flags {
            flags.entry(f.name.clone()).or_insert((file, f));
        }
    }
    let flag_deps: BTreeMap<String, Vec<String>> = flags
        .iter()
        .map(|(name, (file, f))| {
            let names = f
                .prerequisites
                .iter()
                .filter_map(|p| file.refs.flags.get(p.flag as usize).cloned())
                .collect();
            (name.clone(), names)
        })
        .collect();
    let flag_order = topological(&flag_deps)?;
    let flag_index: HashMap<&str, u32> = flag_order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut out_flags = Vec::new();
    for name in &flag_order {
        let Some((file, f)) = flags.get(name) else {
            continue;
        };
        let map = remap(file);
        let mut flag = (*f).clone();
        for p in &mut flag.prerequisites {
            let target = file
                .refs
                .flags
                .get(p.flag as usize)
                .map(String::as_str)
                .unwrap_or("");
            p.flag = flag_index.get(target).copied().unwrap_or(u32::MAX);
        }
        if let Some(switch) = &mut flag.enabled_when {
            *switch = map.expr(switch);
        }
        for rule in &mut flag.rules {
            rule.condition = map.expr(&rule.condition);
            match &mut rule.result {
                ir::RuleResult::Serve(_) => {}
                ir::RuleResult::Rollout { bucketing, .. }
                | ir::RuleResult::Staged { bucketing, .. }
                | ir::RuleResult::Split { bucketing, .. } => {
                    bucketing.unit = map.slot(bucketing.unit);
                }
            }
        }
        out_flags.push(flag);
    }

    // Experiments by name; layers assign enrolment ranges.
    let mut experiments: BTreeMap<String, (&Lowered, &LoweredExperiment)> = BTreeMap::new();
    for file in &files {
        for e in &file.experiments {
            experiments
                .entry(e.experiment.name.clone())
                .or_insert((file, e));
        }
    }
    let mut out_experiments: Vec<ir::Experiment> = Vec::new();
    // Per layer: (start date, experiment, index in `out_experiments`,
    // traffic), sorted so that earlier experiments take the lower buckets.
    type Member = (Option<i64>, String, usize, u32);
    let mut layer_members: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for (file, e) in experiments.values() {
        let map = remap(file);
        let mut x = e.experiment.clone();
        x.audience = map.expr(&x.audience);
        x.bucketing.unit = map.slot(x.bucketing.unit);
        match &e.layer {
            None => {
                x.enrolment_salt = format!("traffic:{}", x.bucketing.salt);
                x.enrolment_range = (0, e.traffic);
            }
            Some(layer) => {
                x.enrolment_salt = format!("layer:{layer}");
                layer_members.entry(layer.clone()).or_default().push((
                    x.start,
                    x.name.clone(),
                    out_experiments.len(),
                    e.traffic,
                ));
            }
        }
        out_experiments.push(x);
    }
    let mut layers = Vec::new();
    for (name, mut members) in layer_members {
        members.sort();
        let layer_index = layers.len() as u32;
        let mut next = 0u32;
        let mut indices = Vec::new();
        for (_, _, i, traffic) in members {
            let hi = next.saturating_add(traffic).min(BUCKETS);
            if let Some(x) = out_experiments.get_mut(i) {
                x.enrolment_range = (next, hi);
                x.layer = Some(layer_index);
            }
            indices.push(i as u32);
            next = hi;
        }
        layers.push(ir::Layer {
            name,
            experiments: indices,
        });
    }

    let mut tests = Vec::new();
    if with_tests {
        for file in &files {
            let map = remap(file);
            for t in &file.tests {
                let mut t = t.clone();
                for f in &mut t.context {
                    f.slot = map.slot(f.slot);
                }
                tests.push(t);
            }
        }
    }

    let bundle = ir::Bundle {
        format: ir::FORMAT_NAME.to_string(),
        format_version: ir::FORMAT_VERSION,
        schema,
        segments: out_segments,
        flags: out_flags,
        experiments: out_experiments,
        layers,
        tests,
    };
    ir::validate(bundle).map_err(|e| e.to_string())
}

/// The schema: contexts in name order, slots numbered across them.
pub fn schema(db: &dyn Db, ws: Workspace) -> ir::Schema {
    let symbols = db::symbols(db, ws);
    let mut contexts = Vec::new();
    let mut next: u32 = 0;
    for (name, decls) in &symbols.by_name {
        let Some(d) = decls.first().filter(|d| d.kind == Kind::Context) else {
            continue;
        };
        let Some(item) = db::file_summary(db, d.file).items.get(d.item as usize) else {
            continue;
        };
        let ItemSig::Context(def) = &item.sig else {
            continue;
        };
        let first = next;
        let fields: Vec<ir::FieldSchema> = def
            .fields
            .iter()
            .map(|f| {
                let slot = next;
                next += 1;
                ir::FieldSchema {
                    name: f.name.clone(),
                    ty: f.ty.to_ir(),
                    optional: f.optional,
                    slot,
                    doc: f.doc.clone(),
                }
            })
            .collect();
        contexts.push(ir::ContextSchema {
            name: name.clone(),
            key: def.key.map(|k| first + k),
            fields,
            doc: def.doc.clone(),
        });
    }
    ir::Schema {
        contexts,
        slot_count: next,
    }
}

/// Names ordered so that each comes after everything it depends on; ties
/// in name order. Dependencies on unknown names are ignored (reported by
/// the checker); a cycle is an error (reported by the checker too).
fn topological(deps: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    let mut order = Vec::with_capacity(deps.len());
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 visiting, 2 done
    for root in deps.keys() {
        if state.get(root.as_str()) == Some(&2) {
            continue;
        }
        let mut work: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        state.insert(root, 1);
        while let Some((node, child)) = work.last_mut() {
            let next = deps.get(*node).and_then(|d| d.get(*child));
            *child += 1;
            match next {
                Some(dep) if deps.contains_key(dep) => match state.get(dep.as_str()) {
                    None => {
                        state.insert(dep, 1);
                        work.push((dep.as_str(), 0));
                    }
                    Some(1) => return Err(format!("cycle through `{dep}`")),
                    _ => {}
                },
                Some(_) => {}
                None => {
                    let done = *node;
                    state.insert(done, 2);
                    order.push(done.to_string());
                    work.pop();
                }
            }
        }
    }
    Ok(order)
}

fn expr_segments(e: &ir::Expr, out: &mut Vec<u32>) {
    match e {
        ir::Expr::And(xs) | ir::Expr::Or(xs) => xs.iter().for_each(|x| expr_segments(x, out)),
        ir::Expr::Not(x) => expr_segments(x, out),
        ir::Expr::Segment(i) => out.push(*i),
        _ => {}
    }
}

/// Local → global indices for one file.
struct Remap {
    slots: Vec<u32>,
    segments: Vec<u32>,
}

impl Remap {
    fn slot(&self, local: u32) -> u32 {
        self.slots.get(local as usize).copied().unwrap_or(u32::MAX)
    }

    fn operand(&self, o: &ir::Operand) -> ir::Operand {
        match o {
            ir::Operand::Field(s) => ir::Operand::Field(self.slot(*s)),
            other => other.clone(),
        }
    }

    fn expr(&self, e: &ir::Expr) -> ir::Expr {
        use ir::Expr as E;
        match e {
            E::Const(b) => E::Const(*b),
            E::And(xs) => E::And(xs.iter().map(|x| self.expr(x)).collect()),
            E::Or(xs) => E::Or(xs.iter().map(|x| self.expr(x)).collect()),
            E::Not(x) => E::Not(Box::new(self.expr(x))),
            E::Field(s) => E::Field(self.slot(*s)),
            E::IsSet(s) => E::IsSet(self.slot(*s)),
            E::Compare { lhs, op, rhs } => E::Compare {
                lhs: self.operand(lhs),
                op: *op,
                rhs: self.operand(rhs),
            },
            E::InSet { operand, set } => E::InSet {
                operand: self.operand(operand),
                set: set.clone(),
            },
            E::ListContains { list, value } => E::ListContains {
                list: self.slot(*list),
                value: self.operand(value),
            },
            E::ListContainsAny { list, set } => E::ListContainsAny {
                list: self.slot(*list),
                set: set.clone(),
            },
            E::ListContainsAll { list, set } => E::ListContainsAll {
                list: self.slot(*list),
                set: set.clone(),
            },
            E::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => E::StringOp {
                lhs: self.operand(lhs),
                op: *op,
                case_insensitive: *case_insensitive,
                rhs: self.operand(rhs),
            },
            E::Segment(i) => {
                E::Segment(self.segments.get(*i as usize).copied().unwrap_or(u32::MAX))
            }
        }
    }
}
