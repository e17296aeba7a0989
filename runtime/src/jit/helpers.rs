//! The functions compiled code calls for what is not worth inlining: hash
//! set lookups, pre-release ordering, case-insensitive string operators,
//! regexes, substring search, bucketing and list scans.
//!
//! Each is `extern "C"` and must never panic: a panic cannot unwind
//! through machine code and would abort the process. So no indexing, no
//! `unwrap`, no arithmetic that can overflow; slices are rebuilt from the
//! pointers and lengths compiled code read out of a context, whose
//! builders keep every range inside its arena.

use std::cmp::Ordering;

use regex::Regex;
use rustc_hash::FxHashSet;
use vexil_ir::bucket::{IntText, Murmur3, BUCKETS};
use vexil_ir::StringOp;

use super::tables::{float_key, FloatSet, SemverSet};
use crate::context::{Context, PackedSemver, Slot};
use crate::interp::string_op;

/// # Safety
/// `p..p + n` is a byte range compiled code read from a context's slot,
/// inside its text (or a constant the program owns); `n` may be 0.
unsafe fn bytes<'a>(p: *const u8, n: u64) -> &'a [u8] {
    if n == 0 {
        return &[];
    }
    // SAFETY: the caller passes a range inside a live allocation (see above).
    unsafe { std::slice::from_raw_parts(p, n as usize) }
}

/// # Safety
/// As [`bytes`], and the range holds whole UTF-8 text: context strings are
/// pushed whole into a `String`, constants come from Rust strings.
unsafe fn text<'a>(p: *const u8, n: u64) -> &'a str {
    // SAFETY: see above; the range is valid UTF-8 by construction.
    unsafe { std::str::from_utf8_unchecked(bytes(p, n)) }
}

/// # Safety
/// `items..items + n` are list items of a context (`n` may be 0).
unsafe fn items<'a>(items: *const Slot, n: u64) -> &'a [Slot] {
    if n == 0 {
        return &[];
    }
    // SAFETY: a present list slot's range lies inside the context's items.
    unsafe { std::slice::from_raw_parts(items, n as usize) }
}

fn order(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

fn pre_of(ctx: &Context, aux: u32) -> Option<&semver::Prerelease> {
    ctx.prerelease(Slot {
        aux,
        ..Slot::default()
    })
}

/// # Safety
/// `set` is a string set of the program; `p, n` as for [`bytes`].
pub(crate) unsafe extern "C" fn str_in_set(
    set: *const FxHashSet<Box<[u8]>>,
    p: *const u8,
    n: u64,
) -> u8 {
    // SAFETY: the set is owned by the program that calls this.
    let set = unsafe { &*set };
    // SAFETY: see the function's contract.
    u8::from(set.contains(unsafe { bytes(p, n) }))
}

/// # Safety
/// `set` is a word set of the program.
pub(crate) unsafe extern "C" fn word_in_set(set: *const FxHashSet<u64>, key: u64) -> u8 {
    // SAFETY: the set is owned by the program that calls this.
    u8::from(unsafe { &*set }.contains(&key))
}

/// # Safety
/// `set` is a float set of the program.
pub(crate) unsafe extern "C" fn float_in_set(set: *const FloatSet, v: f64) -> u8 {
    // SAFETY: the set is owned by the program that calls this.
    let set = unsafe { &*set };
    u8::from(!v.is_nan() && set.0.contains(&float_key(v)))
}

/// Whether a context version (`a`, `b`, `aux`) equals one of the set's.
///
/// # Safety
/// `set` is a version set of the program, `ctx` the context evaluated.
pub(crate) unsafe extern "C" fn semver_in_set(
    set: *const SemverSet,
    ctx: *const Context,
    a: u64,
    b: u64,
    aux: u32,
) -> u8 {
    // SAFETY: both outlive the call (the program and the evaluated context).
    let (set, ctx) = unsafe { (&*set, &*ctx) };
    let Some(pres) = set.0.get(&(a, b)) else {
        return 0;
    };
    let mine = pre_of(ctx, aux);
    u8::from(pres.iter().any(|k| match (mine, k) {
        (Some(x), Some(y)) => x.cmp(y) == Ordering::Equal,
        _ => true,
    }))
}

/// Pre-release order of a context version against a constant's.
///
/// # Safety
/// `ctx` is the context evaluated, `k` a pre-release of the program.
pub(crate) unsafe extern "C" fn prerelease_cmp_const(
    ctx: *const Context,
    aux: u32,
    k: *const semver::Prerelease,
) -> i32 {
    // SAFETY: both outlive the call.
    let (ctx, k) = unsafe { (&*ctx, &*k) };
    match pre_of(ctx, aux) {
        Some(x) => order(x.cmp(k)),
        None => 0,
    }
}

/// Pre-release order of two context versions.
///
/// # Safety
/// `ctx` is the context evaluated.
pub(crate) unsafe extern "C" fn prerelease_cmp(ctx: *const Context, x: u32, y: u32) -> i32 {
    // SAFETY: the context outlives the call.
    let ctx = unsafe { &*ctx };
    match (pre_of(ctx, x), pre_of(ctx, y)) {
        (Some(x), Some(y)) => order(x.cmp(y)),
        _ => 0,
    }
}

/// Byte-wise order of two strings (what `str`'s `Ord` is).
///
/// # Safety
/// Both ranges as for [`bytes`].
pub(crate) unsafe extern "C" fn str_cmp(p: *const u8, n: u64, q: *const u8, m: u64) -> i32 {
    // SAFETY: see the function's contract.
    let (a, b) = unsafe { (bytes(p, n), bytes(q, m)) };
    order(a.cmp(b))
}

/// `flags`: the operator in the low byte (`StringOp` order), then bit 8
/// for "ignore case" and bit 9 for "the right side is a constant, already
/// lower-cased".
pub(crate) const STR_OP_CI: u32 = 1 << 8;
pub(crate) const STR_OP_RHS_LOWERED: u32 = 1 << 9;

pub(crate) fn str_op_code(op: StringOp) -> u32 {
    match op {
        StringOp::StartsWith => 0,
        StringOp::EndsWith => 1,
        StringOp::Contains => 2,
        StringOp::Matches => 3,
        StringOp::Equals => 4,
    }
}

/// A string operator, as the interpreter computes it.
///
/// # Safety
/// Both ranges as for [`text`].
pub(crate) unsafe extern "C" fn str_op(
    flags: u32,
    p: *const u8,
    n: u64,
    q: *const u8,
    m: u64,
) -> u8 {
    let op = match flags & 0xff {
        0 => StringOp::StartsWith,
        1 => StringOp::EndsWith,
        2 => StringOp::Contains,
        4 => StringOp::Equals,
        _ => StringOp::Matches,
    };
    // SAFETY: see the function's contract.
    let (a, b) = unsafe { (text(p, n), text(q, m)) };
    u8::from(string_op(
        op,
        flags & STR_OP_CI != 0,
        a,
        b,
        flags & STR_OP_RHS_LOWERED != 0,
    ))
}

/// `a OP b`; with `ci`, `b` is already lower-cased when `b_lowered`.
/// # Safety
/// `finder` is a substring finder of the program; `p, n` as for [`bytes`].
pub(crate) unsafe extern "C" fn contains(
    finder: *const memchr::memmem::Finder<'static>,
    p: *const u8,
    n: u64,
) -> u8 {
    // SAFETY: the finder is owned by the program; the range per contract.
    let (finder, hay) = unsafe { (&*finder, bytes(p, n)) };
    u8::from(finder.find(hay).is_some())
}

/// # Safety
/// `re` is a regex of the program; `p, n` as for [`text`].
pub(crate) unsafe extern "C" fn regex_match(re: *const Regex, p: *const u8, n: u64) -> u8 {
    // SAFETY: the regex is owned by the program; the range per contract.
    let (re, hay) = unsafe { (&*re, text(p, n)) };
    u8::from(re.is_match(hay))
}

/// The bucket of a string unit, the salt's prefix hashed already.
///
/// # Safety
/// `prefix` is a pre-hashed salt of the program; `p, n` as for [`bytes`].
pub(crate) unsafe extern "C" fn bucket_str(prefix: *const Murmur3, p: *const u8, n: u64) -> u32 {
    // SAFETY: the prefix is owned by the program; the range per contract.
    let mut h = unsafe { &*prefix }.clone();
    // SAFETY: see the function's contract.
    h.write(unsafe { bytes(p, n) });
    h.finish() % BUCKETS
}

/// The bucket of an int unit: its decimal text is hashed.
///
/// # Safety
/// `prefix` is a pre-hashed salt of the program.
pub(crate) unsafe extern "C" fn bucket_int(prefix: *const Murmur3, v: i64) -> u32 {
    // SAFETY: the prefix is owned by the program.
    let mut h = unsafe { &*prefix }.clone();
    h.write(IntText::new(v).as_bytes());
    h.finish() % BUCKETS
}

/// List membership of a word: `a == key`, or with `as_bool` set,
/// `(a != 0) == (key != 0)`.
///
/// # Safety
/// `list, n` as for [`items`].
pub(crate) unsafe extern "C" fn list_has_word(
    list: *const Slot,
    n: u64,
    key: u64,
    as_bool: u32,
) -> u8 {
    // SAFETY: see the function's contract.
    let list = unsafe { items(list, n) };
    u8::from(if as_bool != 0 {
        list.iter().any(|i| (i.a != 0) == (key != 0))
    } else {
        list.iter().any(|i| i.a == key)
    })
}

/// List membership of a float: with `exact`, IEEE `==` (a constant);
/// without, equal under the interpreter's ordering (NaN equal to all).
///
/// # Safety
/// `list, n` as for [`items`].
pub(crate) unsafe extern "C" fn list_has_float(
    list: *const Slot,
    n: u64,
    v: f64,
    exact: u32,
) -> u8 {
    // SAFETY: see the function's contract.
    let list = unsafe { items(list, n) };
    u8::from(list.iter().any(|i| {
        let x = f64::from_bits(i.a);
        if exact != 0 {
            x == v
        } else {
            x.partial_cmp(&v).unwrap_or(Ordering::Equal) == Ordering::Equal
        }
    }))
}

/// List membership of a string.
///
/// # Safety
/// `list, n` as for [`items`], `text_base` the context's text, `p, m` as
/// for [`bytes`].
pub(crate) unsafe extern "C" fn list_has_str(
    list: *const Slot,
    n: u64,
    text_base: *const u8,
    p: *const u8,
    m: u64,
) -> u8 {
    // SAFETY: see the function's contract.
    let (list, want) = unsafe { (items(list, n), bytes(p, m)) };
    u8::from(list.iter().any(|i| {
        i.b == m && {
            // SAFETY: a string item's range lies inside the context's text.
            let got = unsafe { bytes(text_base.wrapping_add(i.a as usize), i.b) };
            got == want
        }
    }))
}

fn semver_eq(
    ctx: &Context,
    item: Slot,
    hi: u64,
    lo: u64,
    pre: Option<&semver::Prerelease>,
) -> bool {
    (item.a, item.b) == (hi, lo)
        && match (ctx.prerelease(item), pre) {
            (Some(x), Some(y)) => x.cmp(y) == Ordering::Equal,
            _ => true,
        }
}

/// List membership of a version constant.
///
/// # Safety
/// `ctx` the context evaluated, `list, n` as for [`items`], `k` a version
/// of the program.
pub(crate) unsafe extern "C" fn list_has_version(
    ctx: *const Context,
    list: *const Slot,
    n: u64,
    k: *const PackedSemver,
) -> u8 {
    // SAFETY: see the function's contract.
    let (ctx, list, k) = unsafe { (&*ctx, items(list, n), &*k) };
    u8::from(
        list.iter()
            .any(|i| semver_eq(ctx, *i, k.hi, k.lo, k.pre.as_ref())),
    )
}

/// List membership of a context version (`a`, `b`, `aux`).
///
/// # Safety
/// `ctx` the context evaluated, `list, n` as for [`items`].
pub(crate) unsafe extern "C" fn list_has_version_of(
    ctx: *const Context,
    list: *const Slot,
    n: u64,
    a: u64,
    b: u64,
    aux: u32,
) -> u8 {
    // SAFETY: see the function's contract.
    let (ctx, list) = unsafe { (&*ctx, items(list, n)) };
    let pre = pre_of(ctx, aux);
    u8::from(list.iter().any(|i| semver_eq(ctx, *i, a, b, pre)))
}

/// `contains any` (`all == 0`) or `contains all` of a literal set.
///
/// # Safety
/// `set` a list set of the program, `ctx` the context evaluated, `list, n`
/// as for [`items`].
pub(crate) unsafe extern "C" fn list_has_set(
    set: *const crate::list_set::ListSet,
    ctx: *const Context,
    list: *const Slot,
    n: u64,
    all: u32,
) -> u8 {
    // SAFETY: see the function's contract.
    let (set, ctx, list) = unsafe { (&*set, &*ctx, items(list, n)) };
    u8::from(if all != 0 {
        set.all(ctx, list)
    } else {
        set.any(ctx, list)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_operators_follow_the_interpreter() {
        assert!(string_op(
            StringOp::EndsWith,
            true,
            "A@SHOP.EXAMPLE",
            "@shop.example",
            true
        ));
        assert!(string_op(
            StringOp::StartsWith,
            true,
            "\u{212A}ey",
            "k",
            true
        ));
        assert!(!string_op(StringOp::StartsWith, true, "ab", "abc", true));
        assert!(string_op(StringOp::Contains, true, "", "", true));
        assert!(!string_op(StringOp::EndsWith, true, "b", "ab", true));
    }
}
