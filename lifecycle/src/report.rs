//! The reports as text: an aligned table for a terminal, CSV, and Markdown
//! for a wiki page or a pull-request comment. JSON is serde's.

use crate::inventory::Entry;
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
