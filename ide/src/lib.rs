//! Language analysis for editors: definitions, references, hover,
//! completion, rename, symbols, highlighting, diagnostics, fixes and
//! formatting.
//!
//! Functions over the compiler's salsa database, a workspace, a file and
//! byte offsets, in the spirit of rust-analyzer's `ide` crate: no editor
//! protocol here. The language server converts positions (UTF-16) and
//! protocol types; this crate answers from the same queries `vexil check`
//! runs, plus one of its own, the per-file name index (`index.rs`).

#![warn(missing_docs)]

mod completion;
mod diagnostics;
mod highlight;
mod hover;
mod index;
mod nav;
mod operators;
mod rename;
mod symbols;

#[cfg(test)]
mod tests;

pub use completion::{completions, CompletionItem, CompletionKind, Completions};
pub use diagnostics::{diagnostics, file_diagnostics, fixes};
pub use highlight::{highlights, Highlight, HighlightKind};
pub use hover::{hover, Hover};
pub use index::{file_index, FileIndex, Occurrence, Target};
pub use nav::{
    declarations, definition, references, references_to, target_at, Location, Reference,
};
pub use rename::{prepare_rename, rename, Rename, RenameError, TextEdit};
pub use symbols::{document_symbols, workspace_symbols, Symbol, SymbolKind};

use vexil_compiler::db::{self, Db, SourceFile};
use vexil_fmt::{FormatError, RangeEdit};

/// The whole file in the canonical layout, from the tree the database has
/// already parsed; a file with syntax errors is refused, as by `vexil fmt`.
pub fn format(db: &dyn Db, file: SourceFile) -> Result<String, FormatError> {
    let tree = db::parse(db, file);
    if !tree.errors.is_empty() {
        return Err(FormatError {
            errors: tree.errors.clone(),
        });
    }
    Ok(vexil_fmt::format_file(tree, file.text(db)))
}

/// The items overlapping `range` (byte offsets) in the canonical layout.
pub fn format_range(
    db: &dyn Db,
    file: SourceFile,
    range: std::ops::Range<usize>,
) -> Result<Option<RangeEdit>, FormatError> {
    vexil_fmt::format_range(file.text(db), range)
}
