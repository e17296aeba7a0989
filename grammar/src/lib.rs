//! The Vexil language's syntax: grammar, parser and spanned syntax tree.
//!
//! Parsing never fails: [`parse`] returns the tree and its errors. This crate
//! knows nothing of name resolution, salsa or editors.

mod comments;
mod describe;
mod parse;
pub mod syntax;

pub use comments::{doc_before, lex_comments};
pub use parse::{parse, unescape, MAX_NESTING, MAX_SOURCE_LEN, RESERVED};
pub use syntax::*;
