//! Identifiers in the generated languages from Vexil names (`new-checkout`,
//! `multi-page`, `lifetime_spend`): words are split at anything that is not
//! a letter or digit.

fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `new-checkout` → `NewCheckout`; a leading digit gets a `V` before it.
pub fn pascal(name: &str) -> String {
    let out: String = words(name).map(capitalised).collect();
    match out.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => out,
        _ => format!("V{out}"),
    }
}

/// `new-checkout` → `newCheckout`.
pub fn camel(name: &str) -> String {
    let pascal = pascal(name);
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => pascal,
    }
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "try", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield",
];

/// `new-checkout` → `new_checkout`, a keyword raw (`r#type`), and the
/// names a raw identifier cannot take (`self`, `crate`...) with a `_` after.
pub fn snake(name: &str) -> String {
    let mut out = words(name)
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out = format!("v_{out}");
    }
    if matches!(out.as_str(), "self" | "super" | "crate" | "extern") {
        format!("{out}_")
    } else if RUST_KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_each_case() {
        assert_eq!(pascal("new-checkout"), "NewCheckout");
        assert_eq!(pascal("hybrid-v1"), "HybridV1");
        assert_eq!(pascal("3ds"), "V3ds");
        assert_eq!(camel("free-shipping-threshold"), "freeShippingThreshold");
        assert_eq!(snake("lifetime_spend"), "lifetime_spend");
        assert_eq!(snake("new-checkout"), "new_checkout");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("2fa"), "v_2fa");
    }
}
