//! The reports as text: an aligned table for a terminal, CSV, and Markdown
//! for a wiki page or a pull-request comment; the code references and the
//! semantic diff (text, Markdown, release notes). JSON is serde's.

use crate::diff::Change;
use crate::inventory::Entry;
use crate::refs::{How, Part, Place, Refs};
use crate::stale::Stale;

const INVENTORY_HEADER: [&str; 11] = [
    "name", "kind", "type", "owner", "tags", "expires", "status", "file", "line", "added",
    "changed",
];

fn inventory_row(e: &Entry) -> [String; 11] {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    [
        e.name.clone(),
        if e.item == "experiment" {
            "experiment (A/B)".into()
        } else {
            e.kind.to_string()
        },
        e.value_type.clone(),
        opt(&e.owner),
        if e.tags.is_empty() {
            "-".into()
        } else {
            e.tags.join(",")
        },
        opt(&e.expires),
        e.status.as_str().into(),
        e.file.clone(),
        e.line.to_string(),
        opt(&e.added),
        opt(&e.changed),
    ]
}

/// Columns padded to their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            text.push_str(cell);
            for _ in cell.chars().count()..*w + 2 {
                text.push(' ');
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied(), &mut out);
    for row in rows {
        line(&mut row.iter().map(String::as_str), &mut out);
    }
    out
}

/// A Markdown table; `|` in cells escaped.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |c: &str| c.replace('|', "\\|");
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// CSV with a header line.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| e.to_string())?;
    for row in rows {
        w.write_record(row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The inventory's header and rows, for [`table`], [`markdown`] and [`csv()`].
pub fn inventory_rows(entries: &[Entry]) -> (&'static [&'static str], Vec<Vec<String>>) {
    (
        &INVENTORY_HEADER,
        entries.iter().map(|e| inventory_row(e).to_vec()).collect(),
    )
}

/// The stale report's header and rows: one row per piece of evidence, the
/// flag named on its first.
pub fn stale_rows(stale: &[Stale]) -> (&'static [&'static str], Vec<Vec<String>>) {
    const HEADER: [&str; 5] = ["name", "owner", "place", "evidence", "suggestion"];
    let mut rows = Vec::new();
    for s in stale {
        for (i, e) in s.evidence.iter().enumerate() {
            let first = i == 0;
            let name = if first { s.name.clone() } else { String::new() };
            let owner = match (&s.owner, first) {
                (Some(o), true) => o.clone(),
                (None, true) => "-".into(),
                _ => String::new(),
            };
            let place = if first {
                format!("{}:{}", s.file, s.line)
            } else {
                String::new()
            };
            let suggestion = if first {
                s.suggestion.clone()
            } else {
                String::new()
            };
            rows.push(vec![name, owner, place, e.describe(), suggestion]);
        }
    }
    (&HEADER, rows)
}

/// `vexil refs` for a terminal: each flag's references (a flag with none
/// says so), then the keys no flag declares, then the keys built at run
/// time, each an aligned table.
pub fn refs_text(refs: &Refs) -> String {
    let how = |h: How| match h {
        How::Literal => "literal",
        How::Hook => "hook",
        How::Accessor => "accessor",
        How::Comment => "comment",
    };
    let place = |p: &Place| format!("{}:{}:{}", p.file, p.line, p.column);
    let mut rows = Vec::new();
    for f in &refs.flags {
        if f.references.is_empty() {
            rows.push(vec![
                f.name.clone(),
                "-".into(),
                "none".into(),
                String::new(),
            ]);
        }
        for (i, r) in f.references.iter().enumerate() {
            let name = if i == 0 {
                f.name.clone()
            } else {
                String::new()
            };
            rows.push(vec![
                name,
                place(&r.place),
                how(r.how).into(),
                r.place.context.clone(),
            ]);
        }
    }
    let mut out = table(&["flag", "place", "how", "context"], &rows);
    if !refs.undeclared.is_empty() {
        let rows: Vec<Vec<String>> = refs
            .undeclared
            .iter()
            .map(|u| {
                vec![
                    u.key.clone(),
                    place(&u.place),
                    u.call.clone(),
                    u.did_you_mean.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str("\nkeys no flag declares (each call gets its default):\n");
        out.push_str(&table(&["key", "place", "call", "did you mean"], &rows));
    }
    if !refs.uncertain.is_empty() {
        let rows: Vec<Vec<String>> = refs
            .uncertain
            .iter()
            .map(|u| {
                let literal = match u.part {
                    Part::Prefix => format!("\"{}\" + ...", u.literal),
                    Part::Suffix => format!("... + \"{}\"", u.literal),
                    Part::Within => format!("\"{}\"", u.literal),
                };
                let candidates = if u.candidates.is_empty() {
                    "no flag".into()
                } else {
                    u.candidates.join(", ")
                };
                vec![
                    literal,
                    place(&u.place),
                    u.reason.describe().into(),
                    u.call.clone().unwrap_or_else(|| "-".into()),
                    candidates,
                ]
            })
            .collect();
        out.push_str("\nkeys built at run time or inside longer strings (uncertain):\n");
        out.push_str(&table(&["key", "place", "why", "call", "could be"], &rows));
    }
    out
}

fn item_title(c: &Change) -> String {
    match &c.owner {
        Some(owner) => format!("{} `{}` ({owner})", c.item, c.name),
        None => format!("{} `{}`", c.item, c.name),
    }
}

/// The changes of each item: `changes` comes sorted by item, so they are
/// runs.
fn by_item(changes: &[Change]) -> impl Iterator<Item = (String, &[Change])> {
    changes
        .chunk_by(|a, b| a.item == b.item && a.name == b.name)
        .filter_map(|run| Some((item_title(run.first()?), run)))
}

/// The diff for a terminal: each item once, its changes below it.
pub fn diff_text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes to flags\n".into();
    }
    let mut out = String::new();
    for (title, run) in by_item(changes) {
        out.push_str(&title);
        out.push('\n');
        for c in run {
            out.push_str(&format!("  {}\n", c.what.describe()));
        }
    }
    out
}

/// The diff as Markdown, for a pull-request comment: a heading per item,
/// a bullet per change.
pub fn diff_markdown(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "No changes to flags.\n".into();
    }
    let runs: Vec<String> = by_item(changes)
        .map(|(title, run)| {
            let bullets: String = run
                .iter()
                .map(|c| format!("- {}\n", c.what.describe()))
                .collect();
            format!("#### {title}\n\n{bullets}")
        })
        .collect();
    runs.join("\n")
}

/// The first lines of a diff of bundles: each side's version (the one a
/// server names it by; `None` for sources compiled), and what a bundle does
/// not hold ([`LIMITS`](crate::compiled::LIMITS)).
pub fn bundle_header(old: Option<&str>, new: Option<&str>, markdown: bool) -> String {
    let side = |v: Option<&str>| match v {
        Some(v) => format!("`{v}`"),
        None => "sources, compiled".to_string(),
    };
    let (old, new) = (side(old), side(new));
    let note = crate::compiled::LIMITS;
    if markdown {
        format!("Bundle version {old} -> {new}\n\n> Note: {note}.\n\n")
    } else {
        format!("bundle version {old} -> {new}\nnote: {note}\n\n")
    }
}

/// Release notes: the changes grouped by owner (items without one last),
/// as Markdown.
pub fn release_notes(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "No changes to flags.\n".into();
    }
    let mut owners: Vec<Option<&str>> = changes.iter().map(|c| c.owner.as_deref()).collect();
    owners.sort_by_key(|o| (o.is_none(), *o));
    owners.dedup();
    let mut out = String::new();
    for owner in owners {
        out.push_str(&format!("## {}\n\n", owner.unwrap_or("no owner")));
        let mine: Vec<Change> = changes
            .iter()
            .filter(|c| c.owner.as_deref() == owner)
            .cloned()
            .map(|mut c| {
                c.owner = None;
                c
            })
            .collect();
        out.push_str(&diff_markdown(&mine).replace("#### ", "### "));
        out.push('\n');
    }
    out
}
