//! Vexil's compiler: from `.flag` sources to diagnostics and the IR.
//!
//! Built on salsa so that the CLI and the language server share one
//! incremental pipeline: parse → summarise → check (and lower) each file →
//! check across files → link into a bundle. Diagnostics are plain data
//! (`diagnostic.rs`), rendered only at the edge (`render.rs`). The editor
//! analyses over this database live in `vexil-ide`, the formatter in
//! `vexil-fmt`.
//!
//! The public surface is what the CLI, the language server, `vexil-ide` and
//! embedders use: [`Project`] for a set of files checked and built as one;
//! the database ([`db`]) with its inputs and queries, and what they return
//! ([`summary`], [`types`]); diagnostics as data ([`Diagnostic`], [`Code`])
//! and their rendering ([`render`]); the literal parsing the hover shares
//! ([`literal`]). Checking, lowering and linking are internal.

#![warn(missing_docs)]

mod check;
mod clock;
mod codes;
pub mod conventions;
pub mod db;
mod decode;
mod diagnostic;
mod excerpt;
mod global;
mod link;
pub mod literal;
mod project;
pub mod render;
mod suggest;
pub mod summary;
pub mod types;

pub use check::local_diagnostics;
pub use codes::Code;
pub use conventions::Conventions;
pub use decode::decode_source;
pub use diagnostic::{Diagnostic, Fix, Label, Severity};
pub use global::cross_file_diagnostics;
pub use project::{flag_files, LoadError, Project};
pub use suggest::did_you_mean;
pub use vexil_grammar as syntax;
pub use vexil_ir as ir;

/// Midnight UTC of the current day, in microseconds: "today" for expiry.
pub fn today() -> i64 {
    let now = vexil_ir::value::now_micros();
    now - now.rem_euclid(86_400_000_000)
}
