//! The printer under the formatter: an output buffer that places comments
//! and decides between flat and broken layouts.
//!
//! Every token is printed with its source position, so that the comments the
//! lexical pass found are flushed in source order right before the token
//! they preceded: one on the same source line as the previous token stays at
//! the end of that line, any other gets a line of its own. Comments left at
//! the end are flushed by `finish`, so none is ever dropped.
//!
//! A *group* (a condition, a list, a JSON value...) is printed flat when it
//! holds no comment and its flat text fits the width. The flat width is
//! measured by running the same printing code on a measuring printer that
//! only counts columns and gives up at the limit, so measuring a list of
//! thousands of items costs no more than a line's worth of them.

use vexil_grammar::{Comment, Span};

/// The width lines are fitted into, in characters.
pub const WIDTH: usize = 100;
/// One level of indentation.
pub(crate) const INDENT: usize = 2;

/// Which of the blank lines the user left are kept before a line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blanks {
    /// None: inside expressions, lists and values.
    None,
    /// Before comments only: before a closing brace.
    Comments,
    /// Before comments and the line itself: between the members of a block.
    All,
}

/// How a bracketed sequence is delimited and separated.
#[derive(Clone, Copy)]
pub(crate) struct Delims {
    pub open: &'static str,
    pub close: &'static str,
    /// A space inside the delimiters when flat: `{ a, b }` but `[a, b]`.
    pub pad: bool,
    /// A comma after the last item when broken, so that adding an item
    /// touches one line. Not in JSON, which stays valid JSON when pasted.
    pub trailing_comma: bool,
}

pub(crate) const BRACKETS: Delims = Delims {
    open: "[",
    close: "]",
    pad: false,
    trailing_comma: true,
};
pub(crate) const BRACES: Delims = Delims {
    open: "{",
    close: "}",
    pad: true,
    trailing_comma: true,
};
pub(crate) const JSON_ARRAY: Delims = Delims {
    trailing_comma: false,
    ..BRACKETS
};
pub(crate) const JSON_OBJECT: Delims = Delims {
    trailing_comma: false,
    ..BRACES
};

/// A printing function for a group: `broken` is false for the flat layout.
pub(crate) type Layout<'p, 'a> = &'p dyn Fn(&mut Printer<'a>, bool);

pub(crate) struct Printer<'a> {
    pub(crate) source: &'a str,
    comments: &'a [Comment],
    /// The first comment not printed yet.
    next_comment: usize,
    out: String,
    /// Columns used on the current line.
    col: usize,
    /// Nothing printed on the current line yet (its indentation is written
    /// with its first token).
    line_empty: bool,
    /// The indentation of the next line's first token.
    line_indent: usize,
    /// The indentation of the current line, as written.
    cur_indent: usize,
    /// Where a line broken inside a construct continues: after a trailing
    /// comment, or at a break before `or`.
    pub(crate) cont: usize,
    /// A space goes before the next token, unless it starts a line.
    want_space: bool,
    /// The last line printed opened a block: no blank line may follow it.
    after_open: bool,
    /// Where, in the source, the last token or comment printed ends.
    last_end: u32,
    /// A measuring printer counts columns and gives up past `limit`.
    measuring: bool,
    limit: usize,
    overflowed: bool,
    /// Inside a group that fits: nested groups are flat too.
    force_flat: bool,
}

impl<'a> Printer<'a> {
    pub(crate) fn new(source: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        let out = String::with_capacity(source.len() + source.len() / 8);
        Printer::with_output(source, comments, out)
    }

    fn with_output(source: &'a str, comments: &'a [Comment], out: String) -> Printer<'a> {
        Printer {
            source,
            comments,
            next_comment: 0,
            out,
            col: 0,
            line_empty: true,
            line_indent: 0,
            cur_indent: 0,
            cont: INDENT,
            want_space: false,
            after_open: false,
            last_end: 0,
            measuring: false,
            limit: usize::MAX,
            overflowed: false,
            force_flat: false,
        }
    }

    fn measurer(source: &'a str, limit: usize) -> Printer<'a> {
        // Measuring writes nothing: no buffer to allocate.
        Printer {
            measuring: true,
            limit,
            ..Printer::with_output(source, &[], String::new())
        }
    }

    /// Flushes the comments left and returns the text, ending with exactly
    /// one newline (or empty, for a file with nothing in it).
    pub(crate) fn finish(mut self) -> String {
        let end = u32::try_from(self.source.len()).unwrap_or(u32::MAX);
        self.flush_trailing(end);
        self.flush_own_lines(u32::MAX, 0, Blanks::Comments);
        if !self.line_empty {
            self.newline();
        }
        self.out
    }

    pub(crate) fn out_len(&self) -> usize {
        self.out.len()
    }

    /// The output's length, not counting a final newline.
    pub(crate) fn out_len_without_newline(&self) -> usize {
        self.out.strip_suffix('\n').unwrap_or(&self.out).len()
    }

    pub(crate) fn last_end(&self) -> u32 {
        self.last_end
    }

    /// Where the next comment to print starts, if it starts before `pos`.
    pub(crate) fn pending_comment_before(&self, pos: u32) -> Option<u32> {
        self.pending_before(pos).map(|c| c.span.start)
    }

    pub(crate) fn cur_indent(&self) -> usize {
        self.cur_indent
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    // ------------------------------------------------------------ writing

    /// A space before the next token (dropped if it starts a line).
    pub(crate) fn sp(&mut self) {
        self.want_space = true;
    }

    /// Prints a token that was written at `span` in the source, after the
    /// comments that came before it.
    pub(crate) fn tok(&mut self, span: Span, text: &str) {
        self.flush(span.start);
        self.write(text);
        self.last_end = self.last_end.max(span.end);
    }

    /// A keyword that starts at `pos` in the source.
    pub(crate) fn kw(&mut self, pos: u32, text: &str) {
        let end = pos.saturating_add(u32::try_from(text.len()).unwrap_or(0));
        self.tok(Span { start: pos, end }, text);
    }

    /// A token the formatter adds (a separating or trailing comma): it has
    /// no place in the source, so no comment is flushed before it.
    pub(crate) fn punct(&mut self, text: &str) {
        self.write(text);
    }

    /// Copies source text as it is: a broken item is never reformatted.
    pub(crate) fn verbatim(&mut self, span: Span) {
        let text = self.source.get(span.range()).unwrap_or("");
        self.write(text);
        if let Some(last_line) = text.rsplit('\n').next().filter(|_| text.contains('\n')) {
            self.col = width(last_line);
        }
        // The comments inside are part of the text just copied.
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < span.end)
        {
            self.next_comment += 1;
        }
        self.last_end = self.last_end.max(span.end);
    }

    fn write(&mut self, text: &str) {
        if self.line_empty {
            self.cur_indent = self.line_indent;
            self.push_spaces(self.line_indent);
        } else if self.want_space {
            self.push(" ");
        }
        self.want_space = false;
        self.after_open = text == "{";
        self.line_empty = false;
        self.push(text);
    }

    fn push(&mut self, text: &str) {
        self.col += width(text);
        if self.measuring {
            self.overflowed |= self.col > self.limit;
        } else {
            self.out.push_str(text);
        }
    }

    fn push_spaces(&mut self, n: usize) {
        self.col += n;
        if self.measuring {
            self.overflowed |= self.col > self.limit;
        } else {
            self.out.extend(std::iter::repeat_n(' ', n));
        }
    }

    fn newline(&mut self) {
        if self.measuring {
            // A flat layout has no line breaks: whatever asks for one does
            // not fit on the line.
            self.overflowed = true;
            return;
        }
        self.out.push('\n');
        self.col = 0;
        self.line_empty = true;
        self.want_space = false;
    }

    /// Ends the current line, if anything is on it, so that the next token
    /// starts a line at `indent`; with `blank`, after one blank line (never
    /// at the top of the file, after another blank or after an opening brace).
    pub(crate) fn start_line(&mut self, indent: usize, blank: bool) {
        if !self.line_empty {
            self.newline();
        }
        if blank && !self.after_open && !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        self.line_indent = indent;
    }

    /// Breaks the line before the token at `pos`: comments on the current
    /// line stay there, comments on lines of their own get lines at
    /// `comment_indent`, and the token starts a line at `indent`.
    pub(crate) fn break_before(
        &mut self,
        pos: u32,
        comment_indent: usize,
        indent: usize,
        blanks: Blanks,
    ) {
        if self.measuring {
            self.overflowed = true;
            return;
        }
        self.flush_trailing(pos);
        self.flush_own_lines(pos, comment_indent, blanks);
        let blank = blanks == Blanks::All && self.blank_between(self.last_end, pos);
        self.start_line(indent, blank);
    }

    /// Whether the source comma at `comma`, before the block member at
    /// `member`, must be printed. Commas between fields or variants are
    /// dropped, but one that stands between a `///` comment and a run of
    /// `///` comments down to the member keeps the first out of the
    /// member's doc: without it, the doc would grow.
    pub(crate) fn comma_keeps_docs_apart(&self, comma: Span, member: u32) -> bool {
        let pending = self.comments.get(self.next_comment..).unwrap_or(&[]);
        let before = pending.partition_point(|c| c.span.start < comma.start);
        let until = pending.partition_point(|c| c.span.start < member);
        let doc_before = before > 0 && pending.get(before - 1).is_some_and(|c| c.is_doc);
        doc_before
            && pending
                .get(before..until)
                .is_some_and(|after| after.iter().all(|c| c.is_doc))
    }

    // ------------------------------------------------------------ comments

    fn pending_before(&self, pos: u32) -> Option<&'a Comment> {
        self.comments
            .get(self.next_comment)
            .filter(|c| c.span.start < pos)
    }

    /// On the same source line as the last token, with something before it
    /// on the current output line.
    fn is_trailing(&self, c: &Comment) -> bool {
        !self.line_empty
            && self
                .source
                .get(self.last_end as usize..c.span.start as usize)
                .is_some_and(|gap| !gap.contains('\n'))
    }

    /// Prints the comments before `pos`, in expressions: own-line comments
    /// get lines at the continuation indent.
    fn flush(&mut self, pos: u32) {
        if self.measuring {
            return;
        }
        while let Some(c) = self.pending_before(pos) {
            if !self.is_trailing(c) && !self.line_empty {
                self.start_line(self.cont, false);
            }
            self.comment(c);
        }
    }

    /// Prints the comments before `pos` that end the current line.
    pub(crate) fn flush_trailing(&mut self, pos: u32) {
        if self.measuring {
            return;
        }
        while let Some(c) = self.pending_before(pos) {
            if !self.is_trailing(c) {
                break;
            }
            self.comment(c);
        }
    }

    fn flush_own_lines(&mut self, pos: u32, indent: usize, blanks: Blanks) {
        while let Some(c) = self.pending_before(pos) {
            let blank = blanks != Blanks::None && self.blank_between(self.last_end, c.span.start);
            self.start_line(indent, blank);
            self.comment(c);
        }
    }

    /// Prints one comment and ends the line after it.
    fn comment(&mut self, c: &Comment) {
        let trailing = !self.line_empty;
        // A comment after `{` does not open the block to a blank line.
        let after_open = trailing && self.after_open;
        let slashes = if c.is_doc { "///" } else { "//" };
        self.sp();
        self.write(&format!("{slashes}{}", c.text));
        self.after_open = after_open;
        self.newline();
        self.next_comment += 1;
        self.last_end = self.last_end.max(c.span.end);
        if trailing {
            self.line_indent = self.cont;
        }
    }

    /// Whether the source has a blank line between `from` and `to`, which
    /// hold only whitespace and punctuation.
    fn blank_between(&self, from: u32, to: u32) -> bool {
        let Some(gap) = self.source.get(from as usize..to as usize) else {
            return false;
        };
        let mut lines = gap.split('\n');
        lines.next();
        let mut prev_blank = false;
        for line in lines {
            // A segment followed by another newline is a whole line.
            if prev_blank {
                return true;
            }
            prev_blank = line.trim().is_empty();
        }
        false
    }

    /// Finds an unspanned token (a keyword or punctuation that the tree
    /// does not record) at or after the last token printed, skipping
    /// whitespace, comments and commas. When it is not there (a tree that
    /// does not belong to this source), an empty span at the last position,
    /// which flushes nothing.
    pub(crate) fn find(&self, text: &str) -> Span {
        let here = Span {
            start: self.last_end,
            end: self.last_end,
        };
        if self.measuring {
            return here;
        }
        let bytes = self.source.as_bytes();
        let mut at = self.last_end as usize;
        let mut ci = self.next_comment;
        while let Some(&b) = bytes.get(at) {
            while self
                .comments
                .get(ci)
                .is_some_and(|c| (c.span.start as usize) < at)
            {
                ci += 1;
            }
            if let Some(c) = self
                .comments
                .get(ci)
                .filter(|c| c.span.start as usize == at)
            {
                at = c.span.end as usize;
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b',' => at += 1,
                _ if bytes
                    .get(at..)
                    .is_some_and(|rest| rest.starts_with(text.as_bytes())) =>
                {
                    return Span::new(at, at + text.len());
                }
                _ => return here,
            }
        }
        here
    }

    /// Whether a comment starts inside `span`.
    pub(crate) fn has_comment_in(&self, span: Span) -> bool {
        let i = self.comments.partition_point(|c| c.span.start < span.start);
        self.comments
            .get(i)
            .is_some_and(|c| c.span.start < span.end)
    }

    // ------------------------------------------------------------ groups

    /// Prints `layout` flat if `span` holds no comment and the flat text
    /// fits, with `suffix` more columns after it; broken otherwise.
    pub(crate) fn group(&mut self, span: Span, suffix: usize, layout: Layout<'_, 'a>) {
        if self.measuring || self.force_flat {
            layout(self, false);
        } else if self.fits(span, suffix, layout) {
            self.force_flat = true;
            layout(self, false);
            self.force_flat = false;
        } else {
            layout(self, true);
        }
    }

    pub(crate) fn fits(&self, span: Span, suffix: usize, layout: Layout<'_, 'a>) -> bool {
        if self.has_comment_in(span) {
            return false;
        }
        let start = if self.line_empty {
            self.line_indent
        } else {
            self.col + usize::from(self.want_space)
        };
        let Some(limit) = WIDTH.checked_sub(start + suffix) else {
            return false;
        };
        let mut m = Printer::measurer(self.source, limit);
        layout(&mut m, false);
        !m.overflowed
    }

    /// The flat width of `layout`, if it is at most `WIDTH`.
    pub(crate) fn measure(&self, layout: Layout<'_, 'a>) -> Option<usize> {
        let mut m = Printer::measurer(self.source, WIDTH);
        layout(&mut m, false);
        (!m.overflowed).then_some(m.col)
    }

    /// Whether `text` fits after the current column, with a space before it
    /// and `suffix` columns after it.
    pub(crate) fn fits_on_line(&self, text: &str, suffix: usize) -> bool {
        self.col + 1 + width(text) + suffix <= WIDTH
    }
}

/// Display width, counted in characters.
pub(crate) fn width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}
