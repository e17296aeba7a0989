//! Diagnostics per file, exactly as `vexil check` reports them, and the
//! quick fixes they carry.

use std::collections::BTreeMap;
use std::sync::Arc;

use vexil_grammar::Span;

use vexil_compiler::db::{Db, SourceFile, Workspace};
use vexil_compiler::{cross_file_diagnostics, local_diagnostics, Diagnostic, Fix};

/// Every file of the workspace with its diagnostics (an empty list for a
/// clean file, so that an editor can clear what it showed), keyed by path.
/// Problems across files go to the file of their primary label.
pub fn diagnostics(db: &dyn Db, ws: Workspace) -> BTreeMap<Arc<str>, Vec<Diagnostic>> {
    let mut out: BTreeMap<Arc<str>, Vec<Diagnostic>> = BTreeMap::new();
    for &file in ws.files(db) {
        out.entry(file.path(db).clone())
            .or_default()
            .extend(local_diagnostics(db, ws, file).iter().cloned());
    }
    for d in cross_file_diagnostics(db, ws) {
        out.entry(d.primary.file.clone()).or_default().push(d);
    }
    for list in out.values_mut() {
        // The order and deduplication of `Project::diagnostics`.
        list.sort_by_key(|d| (d.primary.span.start, d.code));
        list.dedup();
    }
    out
}

/// The diagnostics of one file.
pub fn file_diagnostics(db: &dyn Db, ws: Workspace, file: SourceFile) -> Vec<Diagnostic> {
    let path = file.path(db);
    let mut out: Vec<Diagnostic> = local_diagnostics(db, ws, file).to_vec();
    out.extend(
        cross_file_diagnostics(db, ws)
            .into_iter()
            .filter(|d| &d.primary.file == path),
    );
    out
}

/// The fixes of diagnostics in `file` whose span touches `range`: "did you
/// mean", a missing control variant, a string that lacks quotes.
pub fn fixes(db: &dyn Db, ws: Workspace, file: SourceFile, range: Span) -> Vec<(Diagnostic, Fix)> {
    file_diagnostics(db, ws, file)
        .into_iter()
        .filter(|d| d.primary.span.start <= range.end && range.start <= d.primary.span.end)
        .filter_map(|d| {
            let fix = d.fix.clone()?;
            Some((d, fix))
        })
        .collect()
}
