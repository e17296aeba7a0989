//! Diagnostics for people (codespan-reporting) and for tools (JSON).

use std::collections::BTreeMap;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::term::{self, termcolor, Config, Styles, StylesWriter};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::excerpt::{Excerpt, Excerpts};
use vexil_grammar::LineIndex;

/// Render diagnostics as text. `source` gives a file's text by path.
pub fn render_text<'s>(
    diagnostics: &[Diagnostic],
    source: impl Fn(&str) -> Option<&'s str>,
    color: bool,
) -> String {
    // Every span shown in each file, so that long lines keep those parts.
    let mut spans: BTreeMap<&str, Vec<std::ops::Range<usize>>> = BTreeMap::new();
    for d in diagnostics {
        for l in std::iter::once(&d.primary).chain(&d.secondary) {
            spans.entry(&l.file).or_default().push(l.span.range());
        }
    }
    let mut files = Excerpts { files: Vec::new() };
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, spans) in &spans {
        if let Some(text) = source(path) {
            let excerpt = Excerpt::new(text, spans);
            ids.insert(path, files.add(path.to_string(), text.to_string(), excerpt));
        }
    }
    let view = |id: usize, range: std::ops::Range<usize>| {
        files.files.get(id).map_or(range.clone(), |(_, _, e, _)| {
            e.to_view(range.start)..e.to_view(range.end)
        })
    };
    let mut converted = Vec::new();
    for d in diagnostics {
        let mut labels = Vec::new();
        if let Some(&id) = ids.get(d.primary.file.as_ref()) {
            labels.push(
                cs::Label::primary(id, view(id, d.primary.span.range()))
                    .with_message(&d.primary.message),
            );
        }
        for l in &d.secondary {
            if let Some(&id) = ids.get(l.file.as_ref()) {
                labels.push(
                    cs::Label::secondary(id, view(id, l.span.range())).with_message(&l.message),
                );
            }
        }
        let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
        if let Some(help) = &d.help {
            notes.push(format!("help: {help}"));
        }
        let base = match d.severity {
            Severity::Error => cs::Diagnostic::error(),
            Severity::Warning => cs::Diagnostic::warning(),
        };
        converted.push(
            base.with_code(d.code.as_str())
                .with_message(&d.message)
                .with_labels(labels)
                .with_notes(notes),
        );
    }
    let config = Config::default();
    let mut out = String::new();
    for d in &converted {
        if color {
            let mut buffer = termcolor::Buffer::ansi();
            let styles = Styles::default();
            let mut writer = StylesWriter::new(&mut buffer, &styles);
            if term::emit_to_write_style(&mut writer, &config, &files, d).is_ok() {
                out.push_str(&String::from_utf8_lossy(buffer.as_slice()));
            }
        } else if let Ok(text) = term::emit_into_string(&config, &files, d) {
            out.push_str(&text);
        }
    }
    out
}

/// One line of a summary like `2 errors, 1 warning`.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    format!(
        "{}, {}",
        vexil_words::count(errors, "error"),
        vexil_words::count(warnings, "warning")
    )
}

#[derive(Serialize)]
struct JsonDiagnostic<'d> {
    code: &'static str,
    severity: Severity,
    message: &'d str,
    primary: JsonLabel<'d>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secondary: Vec<JsonLabel<'d>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'d str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'d [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<JsonFix<'d>>,
}

#[derive(Serialize)]
struct JsonLabel<'d> {
    file: &'d str,
    /// Byte offsets.
    start: u32,
    end: u32,
    /// 1-based line and column (in characters) of `start` and `end`.
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'d str,
}

#[derive(Serialize)]
struct JsonFix<'d> {
    title: &'d str,
    label: JsonLabel<'d>,
    replacement: &'d str,
}

/// Render diagnostics as a JSON array, with line and column positions.
pub fn render_json<'s>(
    diagnostics: &[Diagnostic],
    source: impl Fn(&str) -> Option<&'s str>,
) -> String {
    let mut indexes: BTreeMap<String, (LineIndex, &str)> = BTreeMap::new();
    let mut label = |l: &'_ Label| -> (u32, u32, u32, u32) {
        let entry = indexes.entry(l.file.to_string()).or_insert_with(|| {
            let text = source(&l.file).unwrap_or("");
            (LineIndex::new(text), text)
        });
        let (line, column) = entry.0.line_col(entry.1, l.span.start);
        let (end_line, end_column) = entry.0.line_col(entry.1, l.span.end);
        (line, column, end_line, end_column)
    };
    let mut out = Vec::new();
    for d in diagnostics {
        let mk = |l: &'_ Label, pos: (u32, u32, u32, u32)| -> (u32, u32, u32, u32, u32, u32) {
            (l.span.start, l.span.end, pos.0, pos.1, pos.2, pos.3)
        };
        let p = mk(&d.primary, label(&d.primary));
        let primary = JsonLabel {
            file: &d.primary.file,
            start: p.0,
            end: p.1,
            line: p.2,
            column: p.3,
            end_line: p.4,
            end_column: p.5,
            message: &d.primary.message,
        };
        let secondary = d
            .secondary
            .iter()
            .map(|l| {
                let s = mk(l, label(l));
                JsonLabel {
                    file: &l.file,
                    start: s.0,
                    end: s.1,
                    line: s.2,
                    column: s.3,
                    end_line: s.4,
                    end_column: s.5,
                    message: &l.message,
                }
            })
            .collect();
        let fix = d.fix.as_ref().map(|f| {
            let as_label = Label {
                file: f.file.clone(),
                span: f.span,
                message: String::new(),
            };
            let s = mk(&as_label, label(&as_label));
            JsonFix {
                title: &f.title,
                label: JsonLabel {
                    file: &f.file,
                    start: s.0,
                    end: s.1,
                    line: s.2,
                    column: s.3,
                    end_line: s.4,
                    end_column: s.5,
                    message: "",
                },
                replacement: &f.replacement,
            }
        });
        out.push(JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity,
            message: &d.message,
            primary,
            secondary,
            help: d.help.as_deref(),
            notes: &d.notes,
            fix,
        });
    }
    serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".to_string())
}
