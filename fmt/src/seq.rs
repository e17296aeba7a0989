//! Bracketed sequences. On one line when they fit; otherwise lists, enum
//! members and tags are *filled* (as many items per line as fit, which
//! keeps a list of thousands of country codes short and linear to print),
//! while records, JSON values and split arms get one item per line.

use std::borrow::Cow;

use vexil_grammar::Span;

use super::printer::{Blanks, Delims, Printer, INDENT};

/// An item of a filled sequence: where it was written and its text.
pub(crate) type Piece<'t> = (Span, Cow<'t, str>);

impl<'a> Printer<'a> {
    /// A sequence of atoms (literals, names) between `open` and `close`.
    pub(crate) fn fill_group<'t, T>(
        &mut self,
        open: Span,
        close: Span,
        items: &'t [T],
        delims: Delims,
        suffix: usize,
        piece: &dyn Fn(&'t T) -> Piece<'t>,
    ) {
        self.group(open.to(close), suffix, &|p, broken| {
            if broken {
                p.fill_broken(open, close, items, delims, piece);
            } else {
                p.seq_flat(open, close, items, delims, &|p, item| {
                    let (span, text) = piece(item);
                    p.tok(span, &text);
                });
            }
        });
    }

    /// A sequence of compound items, one per line when broken. `print`
    /// gets the width that follows the item on its line (its comma).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn seq_group<T>(
        &mut self,
        open: Span,
        close: Span,
        items: &[T],
        delims: Delims,
        suffix: usize,
        start: &dyn Fn(&T) -> u32,
        print: &dyn Fn(&mut Printer<'a>, &T, usize),
    ) {
        self.group(open.to(close), suffix, &|p, broken| {
            if broken {
                p.seq_broken(open, close, items, delims, start, print);
            } else {
                p.seq_flat(open, close, items, delims, &|p, item| print(p, item, 0));
            }
        });
    }

    fn seq_flat<'t, T>(
        &mut self,
        open: Span,
        close: Span,
        items: &'t [T],
        delims: Delims,
        print: &dyn Fn(&mut Printer<'a>, &'t T),
    ) {
        self.tok(open, delims.open);
        let pad = delims.pad && !items.is_empty();
        if pad {
            self.sp();
        }
        for (i, item) in items.iter().enumerate() {
            // Measuring gives up at the width, whatever the list's length.
            if self.overflowed() {
                return;
            }
            if i > 0 {
                self.punct(",");
                self.sp();
            }
            print(self, item);
        }
        if pad {
            self.sp();
        }
        self.tok(close, delims.close);
    }

    fn fill_broken<'t, T>(
        &mut self,
        open: Span,
        close: Span,
        items: &'t [T],
        delims: Delims,
        piece: &dyn Fn(&'t T) -> Piece<'t>,
    ) {
        self.tok(open, delims.open);
        let outer = self.cur_indent();
        let inner = outer + INDENT;
        let saved = self.cont;
        self.cont = inner;
        let last = items.len().saturating_sub(1);
        for (i, item) in items.iter().enumerate() {
            let (span, text) = piece(item);
            if i > 0 {
                self.punct(",");
            }
            let comma = usize::from(i < last || delims.trailing_comma);
            if i == 0
                || self.pending_comment_before(span.start).is_some()
                || !self.fits_on_line(&text, comma)
            {
                self.break_before(span.start, inner, inner, Blanks::None);
            } else {
                self.sp();
            }
            self.tok(span, &text);
        }
        self.close_broken(close, delims, !items.is_empty(), inner, outer);
        self.cont = saved;
    }

    fn seq_broken<T>(
        &mut self,
        open: Span,
        close: Span,
        items: &[T],
        delims: Delims,
        start: &dyn Fn(&T) -> u32,
        print: &dyn Fn(&mut Printer<'a>, &T, usize),
    ) {
        self.tok(open, delims.open);
        let outer = self.cur_indent();
        let inner = outer + INDENT;
        let saved = self.cont;
        let last = items.len().saturating_sub(1);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.punct(",");
            }
            self.break_before(start(item), inner, inner, Blanks::None);
            self.cont = inner + INDENT;
            print(self, item, usize::from(i < last || delims.trailing_comma));
        }
        self.close_broken(close, delims, !items.is_empty(), inner, outer);
        self.cont = saved;
    }

    fn close_broken(&mut self, close: Span, delims: Delims, any: bool, inner: usize, outer: usize) {
        if delims.trailing_comma && any {
            self.punct(",");
        }
        self.break_before(close.start, inner, outer, Blanks::None);
        self.tok(close, delims.close);
    }
}
