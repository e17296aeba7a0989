//! The comments of a file, found by a lexical pass beside the parser.
//!
//! The grammar skips comments; the formatter needs them back, and doc
//! comments (`///`) attach to the declaration that follows them.

use crate::syntax::{Comment, Doc, Span};

/// Every `//` comment outside string literals, in source order.
pub fn lex_comments(source: &str) -> Vec<Comment> {
    let bytes = source.as_bytes();
    let mut comments = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' | b'\n' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                let end = source[i..].find('\n').map_or(source.len(), |n| i + n);
                let text = &source[start..end];
                let is_doc = text.starts_with("///") && !text.starts_with("////");
                let body = if is_doc { &text[3..] } else { &text[2..] };
                comments.push(Comment {
                    span: Span::new(start, end),
                    is_doc,
                    text: body.trim_end().to_string(),
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    comments
}

/// The doc comment lines directly above `start`: consecutive `///` lines
/// with nothing but whitespace between them and the declaration.
pub fn doc_before(source: &str, comments: &[Comment], start: u32) -> Option<Doc> {
    let mut idx = comments.partition_point(|c| c.span.end <= start);
    let mut cursor = start as usize;
    let mut lines = Vec::new();
    while idx > 0 {
        let c = &comments[idx - 1];
        let between = source.get(c.span.end as usize..cursor)?;
        if !c.is_doc || !between.trim().is_empty() {
            break;
        }
        lines.push(c.text.clone());
        cursor = c.span.start as usize;
        idx -= 1;
    }
    if lines.is_empty() {
        None
    } else {
        lines.reverse();
        Some(Doc { lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings_only() {
        let src = "flag a: string { // one\n default \"http://x\" /// two\n}\n";
        let comments = lex_comments(src);
        assert_eq!(comments.len(), 2);
        assert_eq!(comments[0].text, " one");
        assert!(!comments[0].is_doc);
        assert_eq!(comments[1].text, " two");
        assert!(comments[1].is_doc);
    }

    #[test]
    fn doc_comments_attach_only_when_adjacent() {
        let src = "/// a\n/// b\nflag x: bool {}\n/// lost\n\n// plain\nflag y: bool {}";
        let comments = lex_comments(src);
        let x = src.find("flag x").unwrap() as u32;
        let y = src.find("flag y").unwrap() as u32;
        let doc = doc_before(src, &comments, x).unwrap();
        assert_eq!(doc.text(), "a\nb");
        assert!(doc_before(src, &comments, y).is_none());
    }
}
