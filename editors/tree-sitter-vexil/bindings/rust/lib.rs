//! The tree-sitter grammar of Vexil (`.flag` files), for editors' syntax
//! colours (Helix, Neovim) and anything else that reads Vexil with
//! tree-sitter. The checker, the formatter and the language server use the
//! pest grammar in `vexil-grammar`, which is the language's definition; this
//! grammar follows it.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser
//!     .set_language(&tree_sitter_vexil::LANGUAGE.into())
//!     .expect("the Vexil grammar loads");
//! let tree = parser
//!     .parse("flag dark-mode: bool {\n  kind release\n  default false\n}\n", None)
//!     .expect("a parse");
//! assert!(!tree.root_node().has_error());
//! ```

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_vexil() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of Vexil: `tree_sitter::Language::new` or
/// `.into()` makes the language from it.
///
/// [`LanguageFn`]: https://docs.rs/tree-sitter-language/*/tree_sitter_language/struct.LanguageFn.html
// SAFETY: `tree_sitter_vexil` is the generated parser's entry point (in
// `src/parser.c`, compiled by build.rs): it takes no argument and returns a
// pointer to a static `TSLanguage`.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_vexil) };

/// The language as a value, for APIs that take one.
pub fn language() -> tree_sitter_language::LanguageFn {
    LANGUAGE
}

/// The content of the [`node-types.json`] file of this grammar.
///
/// [`node-types.json`]: https://tree-sitter.github.io/tree-sitter/using-parsers/6-static-node-types
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// The syntax highlighting query (`queries/highlights.scm`), in Helix's
/// capture names.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");
