//! Tests of the editor analyses, Gleam-style: the source is written with a
//! `$0` cursor marker, and snapshots draw the cursor (`↑`) and the spans
//! found (`^^^`) under the code, so a reviewer sees what was asked where.

mod completion;
mod deep;
mod hover;
mod nav;
mod rename;
mod symbols;

use std::sync::Arc;

use vexil_grammar::Span;

use vexil_compiler::db::{Database, SourceFile, Workspace};

/// 2026-11-25, the date expiry warnings and hovers are relative to.
pub const TODAY: i64 = 1_795_564_800_000_000;

/// A small shop, split across files like a real repository.
pub const SCHEMA: &str = r#"/// A signed-in or anonymous shopper.
context user {
  key id: string
  email: string
  /// ISO 3166 code.
  country: string
  plan: enum { free, pro, enterprise }
  app_version: semver
  company: string?
  roles: list<string>
}

context env {
  name: enum { development, staging, production }
}
"#;

pub const SEGMENTS: &str = r#"/// Employees and QA accounts.
segment staff {
  user.email iends_with "@shop.example"
}

segment paying {
  user.plan >= pro
}
"#;

pub const FLAGS: &str = r#"/// The redesigned checkout.
flag new-checkout: bool {
  kind release
  owner "team-checkout"
  expires 2027-03-01
  default false

  requires payments-v2
  rule staff: when staff => true
  rule launch: when user.country in ["US", "CA"] => 25% by user.id
}

flag payments-v2: bool {
  kind operational
  default true
}

flag theme: string {
  kind experiment
  variants {
    light = "light"
    /// The new dark theme.
    dark = "dark"
  }
  default light
  rule when paying => dark
}

/// Does a one-page checkout lift conversion?
experiment checkout-layout: string {
  owner "team-growth"
  unit user.id
  variants {
    multi-page = "multi-page" 50%
    one-page = "one-page" 50%
  }
  control multi-page
}

test "staff see the new checkout" {
  context {
    user { id: "u-1", email: "ana@shop.example", plan: pro }
  }
  expect new-checkout == true
  expect theme variant dark
  expect new-checkout rule staff
}
"#;

pub struct Fixture {
    pub db: Database,
    pub ws: Workspace,
    pub files: Vec<SourceFile>,
    /// The file with the `$0` marker, and the marker's offset.
    pub cursor: Option<(SourceFile, u32)>,
}

impl Fixture {
    /// Files by path and text; one of them may hold the `$0` cursor.
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let db = Database::default();
        let mut cursor = None;
        let mut sources = Vec::new();
        for (path, text) in files {
            let (text, at) = match text.find("$0") {
                Some(at) => (text.replacen("$0", "", 1), Some(at as u32)),
                None => (text.to_string(), None),
            };
            let file = SourceFile::new(&db, Arc::from(*path), text);
            if let Some(at) = at {
                cursor = Some((file, at));
            }
            sources.push(file);
        }
        let ws = Workspace::new(&db, sources.clone(), Some(TODAY), Default::default());
        Fixture {
            db,
            ws,
            files: sources,
            cursor,
        }
    }

    /// The shop, with `extra` (holding the cursor) as `edit.flag`.
    pub fn shop(extra: &str) -> Fixture {
        Fixture::new(&[
            ("schema.flag", SCHEMA),
            ("segments.flag", SEGMENTS),
            ("flags.flag", FLAGS),
            ("edit.flag", extra),
        ])
    }

    pub fn at(&self) -> (SourceFile, u32) {
        self.cursor.expect("the fixture has a `$0` cursor")
    }

    pub fn text(&self, file: SourceFile) -> &str {
        file.text(&self.db)
    }

    pub fn file(&self, path: &str) -> SourceFile {
        *self
            .files
            .iter()
            .find(|f| f.path(&self.db).as_ref() == path)
            .expect("a file of the fixture")
    }

    /// The cursor's line (and the one before it), with `↑` under the cursor.
    pub fn show_cursor(&self) -> String {
        let (file, at) = self.at();
        let text = self.text(file);
        let at = at as usize;
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let prev_start = text[..line_start.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let column = text[line_start..at].chars().count();
        let mut out = String::new();
        if line_start > 0 {
            out.push_str(&text[prev_start..line_start]);
        }
        out.push_str(&text[line_start..line_end]);
        out.push('\n');
        out.push_str(&" ".repeat(column));
        out.push_str("↑\n");
        out
    }
}

/// Each line of `text` that a span touches, with `^^^` under the spans.
pub fn show_spans(text: &str, spans: &[Span]) -> String {
    let mut out = String::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let line_end = line_start + content.len();
        let mut marks: Vec<(usize, usize)> = spans
            .iter()
            .filter_map(|s| {
                let (start, end) = (s.start as usize, s.end as usize);
                let from = start.max(line_start);
                let to = end.min(line_end);
                let touches =
                    from < to || (start == end && (line_start..=line_end).contains(&start));
                touches.then(|| {
                    let column = text[line_start..from].chars().count();
                    (column, text[from..to].chars().count().max(1))
                })
            })
            .collect();
        if !marks.is_empty() {
            marks.sort();
            out.push_str(content);
            out.push('\n');
            let mut under = String::new();
            for (from, width) in marks {
                while under.chars().count() < from {
                    under.push(' ');
                }
                under.push_str(&"^".repeat(width));
            }
            out.push_str(&under);
            out.push('\n');
        }
        line_start += line.len();
    }
    out
}

/// Every analysis at every offset of the example repositories, the
/// deliberately broken one included: none may panic, whatever the cursor
/// is on.
#[test]
fn every_offset_of_the_examples_is_safe() {
    for example in ["shop", "shop-broken"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(example);
        let paths = vexil_compiler::flag_files(&dir).expect("the example is there");
        let texts: Vec<(String, String)> = paths
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("readable");
                (p.to_string_lossy().into_owned(), text)
            })
            .collect();
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let f = Fixture::new(&files);
        assert!(f.files.len() >= 5, "{paths:?}");
        for &file in &f.files {
            let text = f.text(file);
            crate::highlights(&f.db, f.ws, file);
            crate::document_symbols(&f.db, file);
            for offset in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let at = offset as u32;
                crate::hover(&f.db, f.ws, file, at);
                crate::definition(&f.db, f.ws, file, at);
                crate::completions(&f.db, f.ws, file, at);
                let _ = crate::rename(&f.db, f.ws, file, at, "renamed");
                if offset % 16 == 0 {
                    crate::references(&f.db, f.ws, file, at, true);
                }
            }
        }
    }
}
