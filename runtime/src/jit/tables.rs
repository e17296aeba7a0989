//! Data that compiled code reaches through pointers baked into it: literal
//! sets, constants for helpers, regexes, pre-hashed salts. Every item is
//! boxed and never moved or dropped before the code that points at it.
//!
//! Small sets of integers (and of strings of up to eight bytes, read as
//! integers) become a perfect hash table probed inline: one multiply, one
//! shift, one load, one compare.

use std::collections::HashMap;

use regex::Regex;
use rustc_hash::{FxBuildHasher, FxHashSet};
use vexil_ir::bucket::Murmur3;

use crate::context::PackedSemver;
use crate::list_set::ListSet;

/// A set of distinct 64-bit keys hashed without collisions:
/// `table[(key * multiplier) >> shift] == key` exactly when `key` is in the
/// set. Empty entries hold a filler that hashes elsewhere, so that no key
/// outside the set can match one.
pub(crate) struct PerfectHash {
    pub table: Box<[u64]>,
    pub multiplier: u64,
    pub shift: u32,
}

/// Above this many keys a set goes to a helper with a hash set instead.
pub(crate) const MAX_PERFECT_KEYS: usize = 512;

impl PerfectHash {
    /// Search for a multiplier, growing the table up to 32 entries per key;
    /// deterministic, so that two loads of one bundle give one program.
    pub fn build(keys: &[u64]) -> Option<PerfectHash> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() || keys.len() > MAX_PERFECT_KEYS {
            return None;
        }
        let min_bits = usize::BITS - (keys.len() - 1).leading_zeros() + 1;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut used = Vec::new();
        for bits in min_bits..=min_bits + 4 {
            let size = 1usize << bits;
            let shift = 64 - bits;
            for _ in 0..1_000 {
                let multiplier = splitmix(&mut seed) | 1;
                used.clear();
                used.resize(size, false);
                let collision = keys.iter().any(|&k| {
                    let h = (k.wrapping_mul(multiplier) >> shift) as usize;
                    match used.get_mut(h) {
                        Some(u) if !*u => {
                            *u = true;
                            false
                        }
                        _ => true,
                    }
                });
                if collision {
                    continue;
                }
                let hash = |k: u64| (k.wrapping_mul(multiplier) >> shift) as usize;
                let mut table = vec![0u64; size];
                for (j, entry) in table.iter_mut().enumerate() {
                    if used.get(j).copied().unwrap_or(false) {
                        continue;
                    }
                    // A filler that is not a key and hashes to another entry.
                    let mut c = 0u64;
                    while hash(c) == j || keys.binary_search(&c).is_ok() {
                        c = c.wrapping_add(1);
                    }
                    *entry = c;
                }
                for &k in &keys {
                    if let Some(entry) = table.get_mut(hash(k)) {
                        *entry = k;
                    }
                }
                return Some(PerfectHash {
                    table: table.into(),
                    multiplier,
                    shift,
                });
            }
        }
        None
    }

    #[cfg(test)]
    fn contains(&self, key: u64) -> bool {
        let h = (key.wrapping_mul(self.multiplier) >> self.shift) as usize;
        self.table.get(h) == Some(&key)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of a string of at most eight bytes: its bytes little-endian,
/// plus its length in the top byte when lengths differ (then at most seven).
pub(crate) fn short_key(bytes: &[u8], with_len: bool) -> u64 {
    let mut word = [0u8; 8];
    for (w, b) in word.iter_mut().zip(bytes) {
        *w = *b;
    }
    let key = u64::from_le_bytes(word);
    if with_len {
        key | ((bytes.len() as u64) << 56)
    } else {
        key
    }
}

/// Floats of an `in` list, keyed so that `==` becomes key equality: `-0.0`
/// and `0.0` share a key and NaN, equal to nothing, is left out.
pub(crate) struct FloatSet(pub FxHashSet<u64>);

pub(crate) fn float_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// Versions of an `in` list, by their packed words; each with the
/// pre-releases listed at those words (`None` for a release).
pub(crate) struct SemverSet(
    pub HashMap<(u64, u64), Vec<Option<semver::Prerelease>>, FxBuildHasher>,
);

/// Owns everything compiled code points into. Items are boxed although
/// the vectors are on the heap already: code holds the address of each
/// item, which must not move when a vector grows.
#[allow(clippy::vec_box)]
#[derive(Default)]
pub(crate) struct Tables {
    words: Vec<Box<[u64]>>,
    bytes: Vec<Box<[u8]>>,
    str_sets: Vec<Box<FxHashSet<Box<[u8]>>>>,
    word_sets: Vec<Box<FxHashSet<u64>>>,
    float_sets: Vec<Box<FloatSet>>,
    semver_sets: Vec<Box<SemverSet>>,
    prereleases: Vec<Box<semver::Prerelease>>,
    versions: Vec<Box<PackedSemver>>,
    finders: Vec<Box<memchr::memmem::Finder<'static>>>,
    regexes: Vec<Box<Regex>>,
    prefixes: Vec<Box<Murmur3>>,
    list_sets: Vec<Box<ListSet>>,
}

/// The address of a boxed item, as compiled code takes it.
fn addr<T: ?Sized>(b: &T) -> i64 {
    b as *const T as *const u8 as i64
}

impl Tables {
    pub fn words(&mut self, words: Box<[u64]>) -> i64 {
        let a = addr(&*words);
        self.words.push(words);
        a
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> i64 {
        let b: Box<[u8]> = bytes.into();
        let a = addr(&*b);
        self.bytes.push(b);
        a
    }

    pub fn str_set(&mut self, set: FxHashSet<Box<[u8]>>) -> i64 {
        let b = Box::new(set);
        let a = addr(&*b);
        self.str_sets.push(b);
        a
    }

    pub fn word_set(&mut self, set: FxHashSet<u64>) -> i64 {
        let b = Box::new(set);
        let a = addr(&*b);
        self.word_sets.push(b);
        a
    }

    pub fn float_set(&mut self, set: FloatSet) -> i64 {
        let b = Box::new(set);
        let a = addr(&*b);
        self.float_sets.push(b);
        a
    }

    pub fn semver_set(&mut self, set: SemverSet) -> i64 {
        let b = Box::new(set);
        let a = addr(&*b);
        self.semver_sets.push(b);
        a
    }

    pub fn prerelease(&mut self, pre: semver::Prerelease) -> i64 {
        let b = Box::new(pre);
        let a = addr(&*b);
        self.prereleases.push(b);
        a
    }

    pub fn version(&mut self, v: PackedSemver) -> i64 {
        let b = Box::new(v);
        let a = addr(&*b);
        self.versions.push(b);
        a
    }

    pub fn finder(&mut self, needle: &[u8]) -> i64 {
        let b = Box::new(memchr::memmem::Finder::new(needle).into_owned());
        let a = addr(&*b);
        self.finders.push(b);
        a
    }

    pub fn regex(&mut self, re: Regex) -> i64 {
        let b = Box::new(re);
        let a = addr(&*b);
        self.regexes.push(b);
        a
    }

    pub fn list_set(&mut self, set: ListSet) -> i64 {
        let b = Box::new(set);
        let a = addr(&*b);
        self.list_sets.push(b);
        a
    }

    pub fn prefix(&mut self, salt: &str) -> i64 {
        let mut h = Murmur3::new(0);
        h.write(salt.as_bytes());
        h.write(b":");
        let b = Box::new(h);
        let a = addr(&*b);
        self.prefixes.push(b);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_hash_finds_exactly_its_keys() {
        let countries = [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
            "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
            "LI", "NO", "CH", "GB", "UA", "RS", "BA", "ME", "MK", "AL", "MD", "BY", "TR", "GE",
            "AM", "AZ", "IL", "AE", "SA", "QA", "EG", "MA",
        ];
        let keys: Vec<u64> = countries
            .iter()
            .map(|c| short_key(c.as_bytes(), false))
            .collect();
        let ph = PerfectHash::build(&keys).expect("50 keys hash perfectly");
        assert!(ph.table.len() <= 512);
        for k in &keys {
            assert!(ph.contains(*k));
        }
        for probe in 0..70_000u64 {
            assert_eq!(ph.contains(probe), keys.contains(&probe), "{probe}");
        }
        for (j, entry) in ph.table.iter().enumerate() {
            if !keys.contains(entry) {
                let h = (entry.wrapping_mul(ph.multiplier) >> ph.shift) as usize;
                assert_ne!(h, j, "a filler must hash elsewhere");
            }
        }
    }

    #[test]
    fn perfect_hash_handles_extreme_keys() {
        let keys = [0, 1, u64::MAX, i64::MIN as u64, 42];
        let ph = PerfectHash::build(&keys).expect("five keys");
        for k in keys {
            assert!(ph.contains(k));
        }
        for probe in [2, 3, u64::MAX - 1, i64::MAX as u64] {
            assert!(!ph.contains(probe));
        }
    }

    #[test]
    fn short_keys_tell_lengths_apart() {
        assert_ne!(short_key(b"AB", true), short_key(b"AB\0", true));
        assert_eq!(short_key(b"", true), 0);
    }
}
