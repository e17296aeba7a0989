//! Diagnostics as plain data: a stable code, a primary span, secondary
//! labels, help, and an optional machine-applicable fix. Rendered once, at
//! the edge (`render.rs`), as text or JSON.

use std::sync::Arc;

use vexil_grammar::Span;

pub use crate::codes::{Code, Severity};

/// A place in a file, with what to say about it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// The file's path as the workspace knows it.
    pub file: Arc<str>,
    /// Where, in the file's byte offsets.
    pub span: Span,
    /// What to say there; may be empty.
    pub message: String,
}

/// A replacement that fixes the problem, for editors' quick fixes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fix {
    /// What the fix does, as an editor offers it.
    pub title: String,
    /// The file to edit.
    pub file: Arc<str>,
    /// The text to replace.
    pub span: Span,
    /// What to put in its place.
    pub replacement: String,
}

/// One problem found in the sources.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Its stable code (`E0xxx`, `W0xxx`).
    pub code: Code,
    /// Error or warning; the code's severity.
    pub severity: Severity,
    /// What is wrong, in one lowercase line.
    pub message: String,
    /// Where it is.
    pub primary: Label,
    /// Related places, possibly in other files.
    pub secondary: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// More context.
    pub notes: Vec<String>,
    /// A replacement that fixes it, when one is certain.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// Whether it stops the build.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Builds diagnostics for one file.
#[derive(Clone, Debug)]
pub(crate) struct Reporter {
    pub file: Arc<str>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Reporter {
    pub fn new(file: Arc<str>) -> Reporter {
        Reporter {
            file,
            diagnostics: Vec::new(),
        }
    }

    /// Start a diagnostic at `span` in this file; its severity comes from the code.
    pub fn report(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
    ) -> DiagnosticBuilder<'_> {
        let diagnostic = Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label {
                file: self.file.clone(),
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
            fix: None,
        };
        self.diagnostics.push(diagnostic);
        let file = self.file.clone();
        let last = self.diagnostics.len() - 1;
        DiagnosticBuilder {
            diagnostic: &mut self.diagnostics[last],
            file,
        }
    }
}

/// Adds detail to a diagnostic just reported.
pub(crate) struct DiagnosticBuilder<'r> {
    diagnostic: &'r mut Diagnostic,
    file: Arc<str>,
}

impl DiagnosticBuilder<'_> {
    /// What to say under the primary span.
    pub fn label(self, message: impl Into<String>) -> Self {
        self.diagnostic.primary.message = message.into();
        self
    }

    /// Another place in the same file that explains the problem.
    pub fn secondary(self, span: Span, message: impl Into<String>) -> Self {
        let file = self.file.clone();
        self.secondary_in(file, span, message)
    }

    pub fn secondary_in(self, file: Arc<str>, span: Span, message: impl Into<String>) -> Self {
        self.diagnostic.secondary.push(Label {
            file,
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(self, help: impl Into<String>) -> Self {
        self.diagnostic.help = Some(help.into());
        self
    }

    /// A replacement of `span` that fixes the problem.
    pub fn fix(self, title: impl Into<String>, span: Span, replacement: impl Into<String>) -> Self {
        self.diagnostic.fix = Some(Fix {
            title: title.into(),
            file: self.file.clone(),
            span,
            replacement: replacement.into(),
        });
        self
    }
}
