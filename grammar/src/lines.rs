//! Between byte offsets and line positions. Diagnostics give 1-based lines
//! and columns counted in characters; the language server 0-based lines and
//! columns counted in UTF-16 code units (so `ü` is one unit and `🚀` two).

/// The line starts of one text, for converting offsets both ways. It keeps
/// no copy of the text: every method takes the text it was built from.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    /// The index of `text`'s lines.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i as u32 + 1));
        LineIndex { starts }
    }

    /// The 0-based line holding `offset`, and its start.
    fn line_of(&self, offset: u32) -> (u32, usize) {
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).map_or(0, |&s| s as usize);
        (line as u32, start)
    }

    /// The 1-based line and column of a byte offset, the column counted in
    /// characters. An offset inside a character or past the text has
    /// column 1.
    pub fn line_col(&self, text: &str, offset: u32) -> (u32, u32) {
        let (line, start) = self.line_of(offset);
        let column = text
            .get(start..offset as usize)
            .map_or(0, |s| s.chars().count());
        (line + 1, column as u32 + 1)
    }

    /// The 0-based line and UTF-16 column of a byte offset (clamped to the
    /// text).
    pub fn utf16_position(&self, text: &str, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(text.len());
        let (line, start) = self.line_of(offset as u32);
        let character = text
            .get(start..offset)
            .map_or(0, |s| s.encode_utf16().count());
        (line, character as u32)
    }

    /// The byte offset of a 0-based line and UTF-16 column. A line past the
    /// end is the end of the text; a column past the line's end is the
    /// line's end; a column inside a character (half a surrogate pair) is
    /// its start.
    pub fn utf16_offset(&self, text: &str, line: u32, character: u32) -> u32 {
        let Some(&start) = self.starts.get(line as usize) else {
            return text.len() as u32;
        };
        let line = text.get(start as usize..).unwrap_or("");
        let line = line.split('\n').next().unwrap_or("");
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let next = units + c.len_utf16() as u32;
            if next > character {
                return start + i as u32;
            }
            units = next;
        }
        start + line.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `é` is two bytes, one character and one UTF-16 unit; `🚀` four
    /// bytes, one character and two units.
    #[test]
    fn columns_count_characters_for_diagnostics_and_units_for_editors() {
        let text = "flag é {
  🚀 x
";
        let index = LineIndex::new(text);
        let x = text.find('x').map_or(0, |i| i as u32);
        assert_eq!(index.line_col(text, x), (2, 5));
        assert_eq!(index.utf16_position(text, x), (1, 5));
        assert_eq!(index.utf16_offset(text, 1, 5), x);
        // Inside a character: its start for editors, column 1 for diagnostics.
        assert_eq!(index.utf16_offset(text, 1, 3), x - 5);
        assert_eq!(index.line_col(text, x - 3), (2, 1));
        // At and past the end.
        let end = text.len() as u32;
        assert_eq!(index.line_col(text, end), (3, 1));
        assert_eq!(index.utf16_position(text, end + 9), (2, 0));
        assert_eq!(index.utf16_offset(text, 7, 0), end);
    }
}
