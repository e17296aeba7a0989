//! The canonical formatter: one layout for every `.flag` file, like gofmt.
//!
//! It changes layout only: items, properties and list elements keep their
//! order, literals their spelling, parentheses stay where they were written,
//! and every comment is kept. Files with syntax errors are refused rather
//! than guessed at. It needs only the syntax tree (`vexil-grammar`): no
//! checking, no database. The printer (`printer.rs`) places comments and
//! decides between flat and broken layouts; `items.rs`, `expr.rs` and
//! `values.rs` say how each construct of the language is laid out.

#![warn(missing_docs)]

mod expr;
mod items;
mod printer;
mod seq;
mod values;

use std::fmt;
use std::ops::Range;

use vexil_grammar::{SourceFile, SyntaxError};

pub use printer::WIDTH;

/// The file has syntax errors, so it is left as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// The parser's errors, in source order.
    pub errors: Vec<SyntaxError>,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "cannot format a file with {n} syntax error{}",
            if n == 1 { "" } else { "s" }
        )?;
        if let Some(first) = self.errors.first() {
            write!(f, ": {}", first.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FormatError {}

/// Formats a whole file; refuses one with syntax errors.
pub fn format_source(source: &str) -> Result<String, FormatError> {
    let file = vexil_grammar::parse(source);
    if !file.errors.is_empty() {
        return Err(FormatError {
            errors: file.errors,
        });
    }
    Ok(format_file(&file, source))
}

/// Formats a file already parsed from `source`. Meant for files without
/// syntax errors: an item that did not parse is copied as it was written.
pub fn format_file(file: &SourceFile, source: &str) -> String {
    let mut p = printer::Printer::new(source, &file.comments);
    p.file(&file.items);
    let out = p.finish();
    // A byte-order mark is the file's business, not the layout's: keep it.
    match source.starts_with(BOM) {
        true => format!("{BOM}{out}"),
        false => out,
    }
}

/// The UTF-8 byte-order mark, which the grammar skips at the start of a file.
const BOM: char = '\u{FEFF}';

/// Replacing `range` of the source by `text` formats part of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeEdit {
    /// Byte offsets in the source, covering whole lines.
    pub range: Range<usize>,
    /// The formatted text of those lines.
    pub text: String,
}

/// Formats only the items that overlap `range` (byte offsets), for an
/// editor's "format selection". The edit covers whole lines, from the first
/// of those items' leading comments to the end of the last one's last line,
/// so the text around it is left untouched. `None` when no item overlaps.
pub fn format_range(source: &str, range: Range<usize>) -> Result<Option<RangeEdit>, FormatError> {
    let file = vexil_grammar::parse(source);
    if !file.errors.is_empty() {
        return Err(FormatError {
            errors: file.errors,
        });
    }
    let mut p = printer::Printer::new(source, &file.comments);
    let extents = p.file(&file.items);
    let out = p.finish();
    let touched: Vec<&items::Extent> = extents
        .iter()
        .filter(|e| e.source.start < range.end.max(range.start + 1) && range.start < e.source.end)
        .collect();
    let (Some(first), Some(last)) = (touched.first(), touched.last()) else {
        return Ok(None);
    };
    let text = out.get(first.output.start..last.output.end).unwrap_or("");
    Ok(Some(RangeEdit {
        range: first.source.start..last.source.end,
        text: text.to_string(),
    }))
}
