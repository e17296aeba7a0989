//! Countries as interned two-letter codes, and sets of them as bitsets, so
//! that the floor tests list membership with one shift and one mask.

/// Letters `A`..`Z` squared: every possible two-letter code.
const CODES: usize = 26 * 26;
const WORDS: usize = CODES.div_ceil(64);

/// An ISO 3166 alpha-2 code, stored as its index among all two-letter codes.
///
/// Invariant: the index is below `26 * 26`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(u16);

impl CountryCode {
    /// The code of two uppercase ASCII letters, or `None` for anything else.
    pub const fn parse(code: &str) -> Option<CountryCode> {
        match code.as_bytes() {
            [first @ b'A'..=b'Z', second @ b'A'..=b'Z'] => Some(CountryCode(
                (*first - b'A') as u16 * 26 + (*second - b'A') as u16,
            )),
            _ => None,
        }
    }
}

/// The United States, which F6's `example-us` rule compares with.
pub const US: CountryCode = match CountryCode::parse("US") {
    Some(code) => code,
    // Never taken: "US" is two uppercase letters. A const cannot `unwrap`;
    // the unit test `us_is_us` pins the value.
    None => CountryCode(0),
};

/// A set of countries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountrySet([u64; WORDS]);

impl CountrySet {
    /// The set of `codes`; entries that are not two uppercase letters are
    /// left out (a unit test checks the workload's lists lose none).
    pub const fn of(codes: &[&str]) -> CountrySet {
        let mut words = [0u64; WORDS];
        let mut i = 0;
        while i < codes.len() {
            if let Some(CountryCode(index)) = CountryCode::parse(codes[i]) {
                words[index as usize / 64] |= 1 << (index % 64);
            }
            i += 1;
        }
        CountrySet(words)
    }

    pub fn contains(&self, country: CountryCode) -> bool {
        let index = usize::from(country.0);
        // `get` never misses: the code's index is below 26 * 26 by invariant.
        self.0
            .get(index / 64)
            .is_some_and(|word| (word >> (index % 64)) & 1 == 1)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{LIST_50, TARGET_10};

    #[test]
    fn parses_only_two_uppercase_letters() {
        assert!(CountryCode::parse("US").is_some());
        assert!(CountryCode::parse("ZZ").is_some());
        assert_eq!(CountryCode::parse("us"), None);
        assert_eq!(CountryCode::parse("USA"), None);
        assert_eq!(CountryCode::parse(""), None);
    }

    #[test]
    fn workload_lists_keep_every_code() {
        assert_eq!(CountrySet::of(&TARGET_10).len(), 10);
        assert_eq!(CountrySet::of(&LIST_50).len(), 50);
    }

    #[test]
    fn us_is_us() {
        assert_eq!(Some(US), CountryCode::parse("US"));
        assert_ne!(US, CountryCode(0));
    }

    #[test]
    fn membership() {
        let set = CountrySet::of(&TARGET_10);
        for code in ["US", "BR", "JP"] {
            assert!(set.contains(CountryCode::parse(code).unwrap()), "{code}");
        }
        for code in ["PT", "ZA", "AA", "ZZ"] {
            assert!(!set.contains(CountryCode::parse(code).unwrap()), "{code}");
        }
    }
}
