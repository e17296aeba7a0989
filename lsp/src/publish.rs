//! Diagnostics for the editor: the same codes, messages and help as
//! `vexil check`, with secondary labels as related locations, republished
//! only for the files whose diagnostics changed.

use std::collections::{BTreeMap, HashMap};

use tower_lsp_server::ls_types::{self as lsp, Uri};
use vexil_compiler::syntax::LineIndex;
use vexil_compiler::{Code, Diagnostic, Severity};
use vexil_ide as ide;

use crate::convert::LspPositions;
use crate::host::Snapshot;

/// Every file's diagnostics at one revision, converted for the editor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics {
    pub revision: u64,
    pub by_uri: BTreeMap<Uri, Vec<lsp::Diagnostic>>,
}

/// Computes the diagnostics of every file of a snapshot.
pub fn compute(snapshot: &Snapshot) -> Diagnostics {
    let db = &snapshot.db;
    let mut indexes: HashMap<String, (LineIndex, String)> = HashMap::new();
    let mut by_uri = BTreeMap::new();
    for (path, list) in ide::diagnostics(db, snapshot.ws) {
        let Some(uri) = snapshot.uri(&path) else {
            continue;
        };
        // A file that is not UTF-8 leads with E0002, as `vexil check` does.
        let not_utf8 = snapshot.files.not_utf8(&path);
        let converted: Vec<lsp::Diagnostic> = not_utf8
            .into_iter()
            .chain(&list)
            .filter_map(|d| convert(snapshot, &mut indexes, d))
            .collect();
        by_uri.insert(uri, converted);
    }
    Diagnostics {
        revision: snapshot.revision,
        by_uri,
    }
}

/// The range of a span in a file of the snapshot, caching line indexes.
fn range_in(
    snapshot: &Snapshot,
    indexes: &mut HashMap<String, (LineIndex, String)>,
    path: &str,
    span: vexil_compiler::syntax::Span,
) -> Option<lsp::Range> {
    if !indexes.contains_key(path) {
        let file = snapshot.files.get(path)?;
        let text = file.text(&snapshot.db).clone();
        indexes.insert(path.to_string(), (LineIndex::new(&text), text));
    }
    let (index, text) = indexes.get(path)?;
    Some(index.range(text, span))
}

fn convert(
    snapshot: &Snapshot,
    indexes: &mut HashMap<String, (LineIndex, String)>,
    d: &Diagnostic,
) -> Option<lsp::Diagnostic> {
    let range = range_in(snapshot, indexes, &d.primary.file, d.primary.span)?;
    let mut message = d.message.clone();
    for note in &d.notes {
        message.push_str("\nnote: ");
        message.push_str(note);
    }
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            let range = range_in(snapshot, indexes, &l.file, l.span)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location::new(snapshot.uri(&l.file)?, range),
                message: l.message.clone(),
            })
        })
        .collect();
    // Editors grey out unreachable code and strike through what is
    // deprecated: an expired flag is exactly that.
    let tags = match d.code {
        Code::UnreachableRule => Some(vec![lsp::DiagnosticTag::UNNECESSARY]),
        Code::ExpiredFlag => Some(vec![lsp::DiagnosticTag::DEPRECATED]),
        _ => None,
    };
    Some(lsp::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("vexil".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags,
        data: None,
    })
}

/// What the editor was last sent, to send only what changed.
#[derive(Debug, Default)]
pub struct Publisher {
    revision: u64,
    shown: HashMap<Uri, Vec<lsp::Diagnostic>>,
}

impl Publisher {
    /// The files to republish: those whose diagnostics differ from what
    /// was sent, and those that left the workspace (cleared). Results
    /// older than what was already published are ignored.
    pub fn update(&mut self, new: Diagnostics) -> Vec<(Uri, Vec<lsp::Diagnostic>)> {
        if new.revision < self.revision {
            return Vec::new();
        }
        self.revision = new.revision;
        let mut out = Vec::new();
        let gone: Vec<Uri> = self
            .shown
            .keys()
            .filter(|u| !new.by_uri.contains_key(*u))
            .cloned()
            .collect();
        for uri in gone {
            if let Some(old) = self.shown.remove(&uri) {
                if !old.is_empty() {
                    out.push((uri, Vec::new()));
                }
            }
        }
        for (uri, list) in new.by_uri {
            let unchanged = match self.shown.get(&uri) {
                Some(old) => *old == list,
                // A file never shown with nothing to show needs no message.
                None => list.is_empty(),
            };
            if !unchanged {
                out.push((uri.clone(), list.clone()));
            }
            self.shown.insert(uri, list);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(name: &str) -> Uri {
        format!("file:///w/{name}").parse().unwrap()
    }

    fn diagnostic(message: &str) -> lsp::Diagnostic {
        lsp::Diagnostic {
            message: message.into(),
            ..Default::default()
        }
    }

    fn at(revision: u64, files: &[(&str, &[&str])]) -> Diagnostics {
        Diagnostics {
            revision,
            by_uri: files
                .iter()
                .map(|(f, ds)| (uri(f), ds.iter().map(|m| diagnostic(m)).collect()))
                .collect(),
        }
    }

    fn names(published: &[(Uri, Vec<lsp::Diagnostic>)]) -> Vec<(String, usize)> {
        published
            .iter()
            .map(|(u, d)| {
                (
                    u.as_str().trim_start_matches("file:///w/").to_string(),
                    d.len(),
                )
            })
            .collect()
    }

    #[test]
    fn publishes_only_what_changed_and_clears_what_was_fixed() {
        let mut p = Publisher::default();
        // Clean files are not announced; a file with problems is.
        let first = p.update(at(1, &[("a", &[]), ("b", &["x"])]));
        assert_eq!(names(&first), [("b".to_string(), 1)]);
        // Nothing changed: nothing sent.
        assert!(p.update(at(2, &[("a", &[]), ("b", &["x"])])).is_empty());
        // `b` fixed, `a` broken: both sent, `b` as an empty list.
        let next = p.update(at(3, &[("a", &["y"]), ("b", &[])]));
        assert_eq!(names(&next), [("a".to_string(), 1), ("b".to_string(), 0)]);
        // An older result arriving late is ignored.
        assert!(p.update(at(2, &[("a", &[]), ("b", &["x"])])).is_empty());
        // A file that leaves the workspace is cleared.
        let gone = p.update(at(4, &[("b", &[])]));
        assert_eq!(names(&gone), [("a".to_string(), 0)]);
    }

    /// Issue 12: a file on disk that is not UTF-8 gets E0002 at its first
    /// bad byte, as in `vexil check`, and the rest of it is still checked;
    /// opening it in the editor (whose text is UTF-8) clears the E0002.
    #[test]
    fn a_file_that_is_not_utf8_gets_e0002() {
        use crate::host::{Change, Host};
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a.flag");
        std::fs::write(
            &path,
            b"// Caf\xe9\nflag a: bool {\n  kind relase\n  default false\n}\n",
        )
        .expect("write");
        let mut host = Host::new();
        host.apply([Change::AddRoot(dir.path().to_path_buf())]);
        let codes = |host: &Host| -> Vec<(u32, String)> {
            compute(&host.snapshot())
                .by_uri
                .values()
                .flatten()
                .map(|d| {
                    let code = match &d.code {
                        Some(lsp::NumberOrString::String(c)) => c.clone(),
                        _ => String::new(),
                    };
                    (d.range.start.line, code)
                })
                .collect()
        };
        assert_eq!(
            codes(&host),
            [(0, "E0002".to_string()), (2, "E0309".to_string())]
        );
        let uri = Uri::from_file_path(&path).expect("uri");
        host.apply([Change::Open {
            uri,
            text: "// Cafe\nflag a: bool {\n  kind relase\n  default false\n}\n".into(),
        }]);
        assert_eq!(codes(&host), [(2, "E0309".to_string())]);
    }
}
