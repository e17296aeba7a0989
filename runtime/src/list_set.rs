//! `list contains any [..]` and `list contains all [..]`: a literal set of
//! one item type and the two questions asked of a list field's items. The
//! interpreter calls these directly and compiled code through a helper, so
//! the backends share one definition of item equality (the one
//! `list contains value` uses: floats by `==`, versions by precedence,
//! build metadata ignored). Written without indexing or allocation: a
//! helper called from compiled code must not panic.

use std::cmp::Ordering;

use rustc_hash::FxHashSet;
use vexil_ir::ConstSet;

use crate::context::{Context, PackedSemver, Slot};

/// The values of a `contains any` / `contains all` list, as the items of
/// a list field hold them.
#[derive(Debug)]
pub(crate) enum ListSet {
    /// Ints and timestamps (the word as `i64`), enum indices, and bools
    /// (`as_bool`: an item's word is read as `0` or `1`).
    Words {
        keys: FxHashSet<u64>,
        as_bool: bool,
    },
    Floats(Box<[f64]>),
    Strings(FxHashSet<Box<str>>),
    Versions(Box<[PackedSemver]>),
}

impl ListSet {
    pub(crate) fn new(set: &ConstSet) -> ListSet {
        let words = |keys: FxHashSet<u64>, as_bool| ListSet::Words { keys, as_bool };
        match set {
            ConstSet::Int(v) | ConstSet::Timestamp(v) => {
                words(v.iter().map(|i| *i as u64).collect(), false)
            }
            ConstSet::Enum(v) => words(v.iter().map(|i| u64::from(*i)).collect(), false),
            ConstSet::Bool(v) => words(v.iter().map(|b| u64::from(*b)).collect(), true),
            ConstSet::Float(v) => ListSet::Floats(v.clone().into()),
            ConstSet::String(v) => ListSet::Strings(v.iter().map(|s| s.as_str().into()).collect()),
            // Every version of a valid bundle packs; one that did not
            // could be no item, and is left out (as `in` does).
            ConstSet::Semver(v) => {
                ListSet::Versions(v.iter().filter_map(|x| PackedSemver::new(&x.0)).collect())
            }
            // No list holds addresses: validation refuses ranges here, and
            // both backends exclude them before asking for a set.
            ConstSet::Cidr(_) => ListSet::Strings(FxHashSet::default()),
        }
    }

    fn word(item: Slot, as_bool: bool) -> u64 {
        if as_bool {
            u64::from(item.a != 0)
        } else {
            item.a
        }
    }

    /// Whether some item is in the set.
    pub(crate) fn any(&self, ctx: &Context, items: &[Slot]) -> bool {
        match self {
            ListSet::Words { keys, as_bool } => items
                .iter()
                .any(|i| keys.contains(&Self::word(*i, *as_bool))),
            ListSet::Floats(keys) => items
                .iter()
                .any(|i| keys.iter().any(|k| f64::from_bits(i.a) == *k)),
            ListSet::Strings(keys) => items.iter().any(|i| keys.contains(ctx.str_of(*i))),
            ListSet::Versions(keys) => items
                .iter()
                .any(|i| keys.iter().any(|k| version_eq(ctx, *i, k))),
        }
    }

    /// Whether every value of the set is an item.
    pub(crate) fn all(&self, ctx: &Context, items: &[Slot]) -> bool {
        match self {
            ListSet::Words { keys, as_bool } => keys
                .iter()
                .all(|k| items.iter().any(|i| Self::word(*i, *as_bool) == *k)),
            ListSet::Floats(keys) => keys
                .iter()
                .all(|k| items.iter().any(|i| f64::from_bits(i.a) == *k)),
            ListSet::Strings(keys) => keys
                .iter()
                .all(|k| items.iter().any(|i| ctx.str_of(*i) == &**k)),
            ListSet::Versions(keys) => keys
                .iter()
                .all(|k| items.iter().any(|i| version_eq(ctx, *i, k))),
        }
    }
}

/// A list item equal to a version constant, by precedence.
fn version_eq(ctx: &Context, item: Slot, k: &PackedSemver) -> bool {
    (item.a, item.b) == (k.hi, k.lo)
        && match (ctx.prerelease(item), &k.pre) {
            (Some(x), Some(y)) => x.cmp(y) == Ordering::Equal,
            _ => true,
        }
}
