//! English for messages: "1 test" and "2 tests", "a string" and "an int",
//! and "did you mean" ([`did_you_mean`]).
//!
//! Every message that counts something or names a type after an article
//! goes through here, so none says "1 tests" or "a int". The nouns Vexil
//! counts are regular English; irregular ones pass their plural to
//! [`count_of`].

use std::fmt;

mod suggest;
pub use suggest::did_you_mean;

/// The plural of a regular noun: `tests`, `entries`, `matches`, `days`.
/// A phrase is pluralised on its last word: `metric events`.
pub fn plural_of(noun: &str) -> String {
    let ends = |suffix: &str| noun.ends_with(suffix);
    let before_y = noun
        .len()
        .checked_sub(2)
        .and_then(|i| noun.as_bytes().get(i));
    if ends("y") && !before_y.is_some_and(|b| b"aeiou".contains(b)) {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// A number of things: any integer type.
pub trait Number: Copy + fmt::Display {
    /// Whether it is exactly one (which alone takes the singular).
    fn is_one(self) -> bool;
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn is_one(self) -> bool {
                self == 1
            }
        }
    )*};
}
number!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// `noun` for one, its plural otherwise: `plural(n, "test")`.
pub fn plural(n: impl Number, noun: &str) -> String {
    if n.is_one() {
        noun.to_string()
    } else {
        plural_of(noun)
    }
}

/// A count and its noun: `count(1, "test")` is `1 test`, `count(0,
/// "test")` is `0 tests`.
pub fn count(n: impl Number, noun: &str) -> String {
    format!("{n} {}", plural(n, noun))
}

/// A count and a noun with an irregular plural: `count_of(2, "analysis",
/// "analyses")`.
pub fn count_of(n: impl Number, one: &str, many: &str) -> String {
    format!("{n} {}", if n.is_one() { one } else { many })
}

/// The verb for a count: `1 unit was`, `2 units were`.
pub fn was_were(n: impl Number) -> &'static str {
    if n.is_one() {
        "was"
    } else {
        "were"
    }
}

/// A count of days, which may be fractional: `1 day`, `1.5 days`.
pub fn days(n: f64) -> String {
    if n == 1.0 {
        "1 day".to_string()
    } else {
        format!("{n} days")
    }
}

/// `a` or `an` for the word that follows, by its sound: `an int`, `an
/// enum`, `a track`, `a unit`, `a user`, `an unknown`.
pub fn a_or_an(word: &str) -> &'static str {
    let lower = word.trim_start_matches('`').to_ascii_lowercase();
    // A `u` that sounds like "you" takes `a`.
    const YOU: &[&str] = &["uni", "use", "usa", "usu", "uti", "ura", "uri"];
    let starts_with_vowel_sound = match lower.chars().next() {
        Some('a' | 'e' | 'i' | 'o') => true,
        Some('u') => !YOU.iter().any(|p| lower.starts_with(p)),
        _ => false,
    };
    if starts_with_vowel_sound {
        "an"
    } else {
        "a"
    }
}

/// The word after its article: `an int`, `a string`.
pub fn with_article(word: &str) -> String {
    format!("{} {word}", a_or_an(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_of_the_nouns_vexil_counts() {
        assert_eq!(count(1u32, "test"), "1 test");
        assert_eq!(count(0u32, "test"), "0 tests");
        assert_eq!(count(2u64, "metric event"), "2 metric events");
        assert_eq!(count(3usize, "entry"), "3 entries");
        assert_eq!(count(2u32, "day"), "2 days");
        assert_eq!(count(2u32, "match"), "2 matches");
        assert_eq!(count(2u32, "comparison"), "2 comparisons");
        assert_eq!(count(1u32, "comparison"), "1 comparison");
        assert_eq!(count_of(2u32, "analysis", "analyses"), "2 analyses");
        assert_eq!(plural(1u8, "line"), "line");
        assert_eq!(days(1.0), "1 day");
        assert_eq!(days(2.5), "2.5 days");
    }

    #[test]
    fn articles_follow_the_sound() {
        for word in [
            "int", "enum", "exposure", "`int`", "object", "unknown", "array",
        ] {
            assert_eq!(a_or_an(word), "an", "{word}");
        }
        for word in [
            "string", "track", "bool", "unit", "user", "float", "semver", "list",
        ] {
            assert_eq!(a_or_an(word), "a", "{word}");
        }
        assert_eq!(with_article("int"), "an int");
    }
}
