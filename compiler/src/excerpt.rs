//! Source lines as diagnostics show them: a line longer than
//! [`MAX_LINE`] characters (a minified JSON value, a generated list) is cut
//! to the parts around the labels' spans, joined by `…`, so a diagnostic
//! never prints a 20 KB line. Positions map both ways, so carets land on
//! the shortened text and the `file:line:column` header stays the
//! original's.

use std::ops::Range;

use codespan_reporting::files::{self, Files};

/// Lines longer than this many characters are cut.
pub(crate) const MAX_LINE: usize = 200;
/// Characters kept on each side of a span in a line that is cut.
const AROUND: usize = 60;
const ELLIPSIS: &str = "…";

/// A kept stretch of the original text and where it is in the excerpt.
#[derive(Clone, Copy, Debug)]
struct Piece {
    original: usize,
    view: usize,
    len: usize,
}

/// A file's text with its long lines cut around `spans`.
#[derive(Debug)]
pub(crate) struct Excerpt {
    pub text: String,
    pieces: Vec<Piece>,
}

impl Excerpt {
    pub fn new(original: &str, spans: &[Range<usize>]) -> Excerpt {
        let mut text = String::with_capacity(original.len().min(1 << 16));
        let mut pieces = Vec::new();
        let mut keep = |text: &mut String, range: Range<usize>| {
            if let Some(s) = original.get(range.clone()) {
                pieces.push(Piece {
                    original: range.start,
                    view: text.len(),
                    len: s.len(),
                });
                text.push_str(s);
            }
        };
        let mut start = 0;
        for line in original.split_inclusive('\n') {
            let end = start + line.len();
            let body_end = start + line.trim_end_matches(['\n', '\r']).len();
            if line.chars().count() <= MAX_LINE {
                keep(&mut text, start..end);
                start = end;
                continue;
            }
            let mut windows: Vec<Range<usize>> = spans
                .iter()
                .filter(|s| s.start <= body_end && s.end >= start)
                .map(|s| {
                    let from = back(original, s.start.max(start), AROUND).max(start);
                    let to = forward(original, s.start.max(start), AROUND * 2).min(body_end);
                    from..to.max(from)
                })
                .collect();
            if windows.is_empty() {
                windows.push(start..forward(original, start, MAX_LINE).min(body_end));
            }
            windows.sort_by_key(|w| w.start);
            let mut at = start;
            for w in merge(windows) {
                if w.start > at {
                    text.push_str(ELLIPSIS);
                }
                keep(&mut text, w.clone());
                at = w.end;
            }
            if at < body_end {
                text.push_str(ELLIPSIS);
            }
            keep(&mut text, body_end..end);
            start = end;
        }
        Excerpt { text, pieces }
    }

    /// Where an original offset is in the excerpt (the next kept position
    /// when it was cut out).
    pub fn to_view(&self, original: usize) -> usize {
        for p in &self.pieces {
            if original < p.original {
                return p.view;
            }
            if original <= p.original + p.len {
                return p.view + (original - p.original);
            }
        }
        self.text.len()
    }

    /// Where an excerpt offset was in the original.
    fn to_original(&self, view: usize) -> usize {
        for p in &self.pieces {
            if view < p.view {
                return p.original;
            }
            if view <= p.view + p.len {
                return p.original + (view - p.view);
            }
        }
        self.pieces.last().map_or(0, |p| p.original + p.len)
    }
}

/// `at` moved back by up to `chars` characters.
fn back(text: &str, at: usize, chars: usize) -> usize {
    text.get(..at)
        .and_then(|s| s.char_indices().rev().take(chars).last())
        .map_or(at, |(i, _)| i)
}

/// `at` moved forward by up to `chars` characters.
fn forward(text: &str, at: usize, chars: usize) -> usize {
    text.get(at..).map_or(at, |s| {
        at + s.chars().take(chars).map(char::len_utf8).sum::<usize>()
    })
}

fn merge(windows: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for w in windows {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// The files as diagnostics show them: names, original texts (for
/// columns) and excerpts (for what is printed).
pub(crate) struct Excerpts {
    pub files: Vec<(String, String, Excerpt, Vec<usize>)>,
}

impl Excerpts {
    pub fn add(&mut self, name: String, original: String, excerpt: Excerpt) -> usize {
        let starts = files::line_starts(&excerpt.text).collect();
        self.files.push((name, original, excerpt, starts));
        self.files.len() - 1
    }

    fn get(&self, id: usize) -> Result<&(String, String, Excerpt, Vec<usize>), files::Error> {
        self.files.get(id).ok_or(files::Error::FileMissing)
    }
}

impl<'a> Files<'a> for Excerpts {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(self.get(id)?.0.as_str())
    }

    fn source(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(self.get(id)?.2.text.as_str())
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, files::Error> {
        let starts = &self.get(id)?.3;
        Ok(starts
            .binary_search(&byte_index)
            .unwrap_or_else(|next| next.saturating_sub(1)))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, files::Error> {
        let (_, _, excerpt, starts) = self.get(id)?;
        let start = *starts.get(line_index).ok_or(files::Error::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })?;
        let end = starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(excerpt.text.len());
        Ok(start..end)
    }

    /// The column in the original line, in characters from 1.
    fn column_number(
        &'a self,
        id: usize,
        _line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        let (_, original, excerpt, _) = self.get(id)?;
        let at = excerpt.to_original(byte_index);
        let before = original.get(..at).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Ok(before.get(line_start..).map_or(0, |l| l.chars().count()) + 1)
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_around_the_span() {
        let long = format!("a\n{}X{}\nb\n", "y".repeat(5000), "z".repeat(5000));
        let x = long.find('X').unwrap_or_default();
        let spans = vec![x..x + 1];
        let e = Excerpt::new(&long, &spans);
        assert!(e.text.len() < 200 * 4, "{}", e.text.len());
        assert!(e.text.starts_with("a\n…y"), "{}", e.text);
        assert!(e.text.ends_with("z…\nb\n"), "{}", e.text);
        let at = e.to_view(x);
        assert_eq!(e.text.get(at..at + 1), Some("X"));
        assert_eq!(e.to_original(at), x);
        // Short lines are untouched.
        let short = "flag a: bool {}\n";
        let spans = vec![0..4];
        assert_eq!(Excerpt::new(short, &spans).text, short);
    }
}
