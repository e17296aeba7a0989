//! The Vexil language's syntax: grammar, parser and spanned syntax tree,
//! the token lexer and keyword lists beside it, and line positions.
//!
//! Parsing never fails: [`parse`] returns the tree and its errors. This crate
//! knows nothing of name resolution, salsa or editors.

mod describe;
pub mod lex;
mod lines;
mod parse;
pub mod syntax;

pub use describe::AN_ITEM;
pub use lex::{doc_before, lex_comments, RESERVED};
pub use lines::LineIndex;
pub use parse::{parse, unescape, MAX_NESTING, MAX_SOURCE_LEN};
pub use syntax::*;
