//! Vexil's compiler: from `.flag` sources to diagnostics and the IR.
//!
//! Built on salsa so that the CLI and the language server share one
//! incremental pipeline: parse → index → check → lower.

pub mod format;
