//! Code generated from a checked bundle, so that a flag's name, type and
//! variants are checked by the caller's compiler: TypeScript hooks and
//! context types for React (`ts`), typed accessors and context builders over
//! `vexil-runtime` for Rust services (`rust`).
//!
//! Generation is a pure function of the bundle: the same flags give the same
//! text, which is what `vexil codegen --check` compares.
#![warn(missing_docs)]

mod doc;
pub mod names;
mod rust;
mod ts;

use vexil_ir::value::{FlagValue, ValueType};
use vexil_ir::{Bundle, Metadata};

/// The languages code is generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// TypeScript for React over `@vexil/react`: only the flags and
    /// experiments marked `client`.
    TypeScript,
    /// Rust over `vexil-runtime`: every flag and experiment (services use a
    /// server-side engine).
    Rust,
}

impl Lang {
    /// The file name the generated code is written to in the output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Lang::TypeScript => "flags.ts",
            Lang::Rust => "flags.rs",
        }
    }
}

/// The generated source for `lang`.
pub fn generate(bundle: &Bundle, lang: Lang) -> String {
    match lang {
        Lang::TypeScript => ts::generate(bundle),
        Lang::Rust => rust::generate(bundle),
    }
}

/// A flag or an experiment, as the generators see it: what it serves and
/// what its callers are told about it.
pub(crate) struct Target<'a> {
    pub name: &'a str,
    pub experiment: bool,
    pub kind: &'static str,
    pub value_type: ValueType,
    /// Every value it can serve, with the variant's name where it has one.
    pub values: Vec<(&'a FlagValue, Option<&'a str>)>,
    pub default: &'a FlagValue,
    pub meta: &'a Metadata,
}

impl Target<'_> {
    /// Whether the flag names its values (so a string flag becomes a closed set).
    pub fn has_variants(&self) -> bool {
        self.values.iter().any(|(_, name)| name.is_some())
    }
}

/// Flags in bundle order, then experiments; `client_only` keeps those marked `client`.
pub(crate) fn targets(bundle: &Bundle, client_only: bool) -> Vec<Target<'_>> {
    let mut out = Vec::new();
    for f in &bundle.flags {
        // The default is an index into the flag's values (validated).
        let Some(default) = f.values.get(f.default as usize) else {
            continue;
        };
        out.push(Target {
            name: &f.name,
            experiment: false,
            kind: f.kind.as_str(),
            value_type: f.value_type,
            values: f
                .values
                .iter()
                .map(|v| (&v.value, v.variant.as_deref()))
                .collect(),
            default: &default.value,
            meta: &f.meta,
        });
    }
    for x in &bundle.experiments {
        let Some(control) = x.variants.get(x.control as usize) else {
            continue;
        };
        out.push(Target {
            name: &x.name,
            experiment: true,
            kind: "experiment",
            value_type: x.value_type,
            values: x
                .variants
                .iter()
                .map(|v| (&v.value, Some(v.name.as_str())))
                .collect(),
            default: &control.value,
            meta: &x.meta,
        });
    }
    if client_only {
        out.retain(|t| t.meta.client);
    }
    out
}
