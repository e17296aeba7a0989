//! "Did you mean": the closest declared name to a misspelt one.

/// The candidate closest to `name`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        // A difference of case alone is the likeliest typo of all.
        let distance = if c.to_lowercase() == lower {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &c.to_lowercase())
        };
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["country", "email", "plan", "age"];
        assert_eq!(did_you_mean("contry", fields).as_deref(), Some("country"));
        assert_eq!(did_you_mean("Email", fields).as_deref(), Some("email"));
        assert_eq!(did_you_mean("pln", fields).as_deref(), Some("plan"));
        assert_eq!(did_you_mean("zzzzzz", fields), None);
        assert_eq!(did_you_mean("ag", fields).as_deref(), Some("age"));
    }
}
