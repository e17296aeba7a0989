//! Doc comments carried over from the flags: TSDoc blocks and Rust `///` lines.

/// `text` as a TSDoc block indented by `indent` (nothing when empty).
pub fn tsdoc(text: &str, indent: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    // A `*/` inside would end the comment early.
    let text = text.replace("*/", "*\\/");
    let mut out = format!("{indent}/**\n");
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {line}\n"));
        }
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// `text` as `///` lines indented by `indent`.
pub fn rustdoc(text: &str, indent: &str) -> String {
    text.trim()
        .lines()
        .map(|line| {
            let line = line.trim_end();
            if line.is_empty() {
                format!("{indent}///\n")
            } else {
                format!("{indent}/// {line}\n")
            }
        })
        .collect()
}
