//! Terminal output: colour only when standard output is a terminal and
//! `NO_COLOR` is not set.

use std::io::IsTerminal;

#[derive(Clone, Copy)]
pub enum Style {
    Error,
    Ok,
}

pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

pub fn paint(text: &str, style: Style) -> String {
    if !color_enabled() {
        return text.to_string();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Ok => "1;32",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
