//! `matches` patterns: built one way for the compiler's check, the
//! validator and both backends, so that a pattern one of them accepts the
//! others accept too, with the same meaning.

use std::collections::HashMap;

use regex::Regex;

/// Compile a `matches` pattern (Rust's `regex` syntax), ignoring case when
/// the operator does (`matches_i`).
pub fn compile_pattern(pattern: &str, case_insensitive: bool) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .build()
}

/// The line of a pattern error that says what is wrong: `regex` puts the
/// pattern and a caret above it.
pub fn pattern_error_summary(e: &regex::Error) -> String {
    let detail = e.to_string();
    let last = detail.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

/// The patterns of a bundle, compiled once by validation and handed to
/// the backends: by case-sensitivity (index 0) or not (1), then by text.
#[derive(Clone, Debug, Default)]
pub(crate) struct Patterns([HashMap<String, Regex>; 2]);

impl Patterns {
    /// Compile `pattern` unless it was already.
    pub fn add(&mut self, pattern: &str, case_insensitive: bool) -> Result<(), regex::Error> {
        let [sensitive, insensitive] = &mut self.0;
        let map = if case_insensitive {
            insensitive
        } else {
            sensitive
        };
        if !map.contains_key(pattern) {
            map.insert(
                pattern.to_string(),
                compile_pattern(pattern, case_insensitive)?,
            );
        }
        Ok(())
    }

    pub fn get(&self, pattern: &str, case_insensitive: bool) -> Option<&Regex> {
        let [sensitive, insensitive] = &self.0;
        if case_insensitive {
            insensitive.get(pattern)
        } else {
            sensitive.get(pattern)
        }
    }
}
