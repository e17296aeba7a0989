//! A `.flag` file's bytes as text. Invalid UTF-8 is a diagnostic, not the
//! end of the check: each byte that is not part of a UTF-8 character reads
//! as a space, so every offset in the text stays the file's byte offset.

use std::sync::Arc;

use vexil_grammar::Span;

use crate::diagnostic::{Diagnostic, Label};
use crate::Code;

/// The text of a file, and the bytes that were not UTF-8 (offset, byte).
pub(crate) struct Decoded {
    pub text: String,
    pub invalid: Vec<(usize, u8)>,
}

pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    let mut text = String::with_capacity(bytes.len());
    let mut invalid = Vec::new();
    let mut rest = bytes;
    let mut offset = 0;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                // `valid_up_to` promises this prefix is UTF-8.
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                // No length: a character cut short by the end of the file.
                let len = e.error_len().unwrap_or(bad.len());
                for (i, byte) in bad.iter().take(len).enumerate() {
                    invalid.push((offset + valid.len() + i, *byte));
                    // A space is one byte wide, so later offsets stay true.
                    text.push(' ');
                }
                offset += valid.len() + len;
                rest = bad.get(len..).unwrap_or_default();
            }
        }
    }
    Decoded { text, invalid }
}

/// A file's bytes as text (bytes that are not UTF-8 read as spaces, so
/// offsets stay byte offsets), and E0002 if there were any: for hosts that
/// keep their own files, like the language server (a [`Project`](crate::Project)
/// does this itself in `set_source_bytes`).
pub fn decode_source(path: &str, bytes: &[u8]) -> (String, Option<Diagnostic>) {
    let decoded = decode(bytes);
    let diagnostic = diagnostic(path, &decoded.invalid);
    (decoded.text, diagnostic)
}

/// E0002 at the first byte that is not UTF-8; a note counts the others.
pub(crate) fn diagnostic(file: &str, invalid: &[(usize, u8)]) -> Option<Diagnostic> {
    let &(offset, byte) = invalid.first()?;
    let mut notes = Vec::new();
    match invalid.len() - 1 {
        0 => {}
        1 => notes.push("1 more byte in this file is not UTF-8".to_string()),
        n => notes.push(format!("{n} more bytes in this file are not UTF-8")),
    }
    Some(Diagnostic {
        code: Code::InvalidUtf8,
        severity: Code::InvalidUtf8.severity(),
        message: format!("this file is not valid UTF-8: byte `0x{byte:02X}` at offset {offset}"),
        primary: Label {
            file: Arc::from(file),
            span: Span::new(offset, offset + 1),
            message: "not part of a UTF-8 character".to_string(),
        },
        secondary: Vec::new(),
        help: Some(
            "save the file as UTF-8 (perhaps it was written as Latin-1 or UTF-16)".to_string(),
        ),
        notes,
        fix: None,
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn invalid_bytes_become_spaces_at_their_offsets() {
        let bytes = b"// caf\xe9 ok\nflag \xff\xfe x";
        let d = decode(bytes);
        assert_eq!(d.text, "// caf  ok\nflag    x");
        assert_eq!(d.invalid, [(6, 0xe9), (16, 0xff), (17, 0xfe)]);
        assert_eq!(d.text.len(), bytes.len());
    }

    #[test]
    fn a_character_cut_short_at_the_end() {
        let d = decode("é".as_bytes().get(..1).unwrap_or_default());
        assert_eq!(d.text, " ");
        assert_eq!(d.invalid, [(0, 0xc3)]);
        let whole = decode("naïve ☃".as_bytes());
        assert_eq!(whole.text, "naïve ☃");
        assert!(whole.invalid.is_empty());
    }
}
