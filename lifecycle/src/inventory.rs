//! The inventory: every flag and experiment with its kind, type, owner,
//! tags, expiry, status, place, and when it was added and last changed.

use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

use vexil_compiler::syntax::{self as ast, Item};
use vexil_ir::{Bundle, Location, Metadata};

use crate::history::History;
use crate::launched::{constant_value, Constant};
use crate::{date, DAY};

/// One flag or experiment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its name, the key applications ask for.
    pub name: String,
    /// `flag` or `experiment`.
    pub item: &'static str,
    /// `release`, `experiment`, `operational` or `permission` (experiments:
    /// `experiment`).
    pub kind: &'static str,
    /// Its value type: `bool`, `string`, `int`, `float`, `json`.
    #[serde(rename = "type")]
    pub value_type: String,
    /// Who answers for it.
    pub owner: Option<String>,
    /// Its labels.
    pub tags: Vec<String>,
    /// Its `expires` date (an experiment's `end`), `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// What it does now, as of today (see [`Status`]).
    pub status: Status,
    /// The file that declares it, as the project names it.
    pub file: String,
    /// The line of its declaration, from 1.
    pub line: u32,
    /// The commit that first declared its name (`git log -G`), or, when no
    /// commit declares it yet, the oldest change among its lines (`git
    /// blame`; a line not committed counts as today); `None` outside git.
    pub added: Option<String>,
    /// The newest change among its lines.
    pub changed: Option<String>,
    /// `added` and `changed` in seconds since the epoch, for the stale
    /// report.
    #[serde(skip)]
    pub times: Option<(i64, i64)>,
    /// The commit behind `changed` and its subject line, when the newest
    /// change among its lines is a commit (the dashboard shows them).
    #[serde(skip)]
    pub last_commit: Option<(String, Option<String>)>,
}

/// What a flag or experiment does today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Rules that can serve different values to different units.
    Active,
    /// `enabled false`: everyone gets the default.
    Off,
    /// Serves one value to everyone (rules launched to 100%, or none).
    Constant,
    /// Past its `expires` date.
    Expired,
    /// An experiment before its `start`.
    Scheduled,
    /// An experiment inside its window.
    Running,
    /// An experiment past its `end`.
    Ended,
}

impl Status {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Off => "off",
            Status::Constant => "constant",
            Status::Expired => "expired",
            Status::Scheduled => "scheduled",
            Status::Running => "running",
            Status::Ended => "ended",
        }
    }
}

/// The inventory of a bundle's flags and experiments, sorted by file and
/// line. `sources` gives a file's text (to find where each declaration
/// ends); `today` is in microseconds.
pub fn inventory<'s>(
    bundle: &Bundle,
    sources: impl Fn(&str) -> Option<&'s str>,
    history: &History,
    today: i64,
) -> Vec<Entry> {
    let now = today / 1_000_000 + 86_400;
    let extents = Extents::new(&sources);
    let last_line = |loc: &Location| extents.last_line(loc);
    let mut out = Vec::new();
    for flag in &bundle.flags {
        let status = match constant_value(flag) {
            _ if flag.meta.expires.is_some_and(|e| e <= today) => Status::Expired,
            Some((_, Constant::Off)) => Status::Off,
            Some(_) => Status::Constant,
            None => Status::Active,
        };
        out.push(entry(
            &flag.name,
            "flag",
            flag.kind.as_str(),
            flag.value_type.as_str().to_string(),
            &flag.meta,
            flag.meta.expires,
            status,
            (&last_line, history, now),
        ));
    }
    for e in &bundle.experiments {
        let status = if e.end.is_some_and(|end| end <= today) {
            Status::Ended
        } else if e.start.is_some_and(|start| start > today) {
            Status::Scheduled
        } else {
            Status::Running
        };
        out.push(entry(
            &e.name,
            "experiment",
            "experiment",
            e.value_type.as_str().to_string(),
            &e.meta,
            e.end,
            status,
            (&last_line, history, now),
        ));
    }
    out.sort_by(|a, b| (&a.file, a.line, &a.name).cmp(&(&b.file, b.line, &b.name)));
    out
}

/// Where a declaration's body ends (see [`Extents`]).
type LastLine<'a> = &'a dyn Fn(&Location) -> Option<u32>;

#[allow(clippy::too_many_arguments)]
fn entry(
    name: &str,
    item: &'static str,
    kind: &'static str,
    value_type: String,
    meta: &Metadata,
    expires: Option<i64>,
    status: Status,
    (last_line, history, now): (LastLine<'_>, &History, i64),
) -> Entry {
    let (file, line, times, last_commit) = match &meta.location {
        Some(loc) => {
            let last = last_line(loc).unwrap_or(loc.line);
            // The name's first declaration, which may predate every line
            // still there (a body rewritten since).
            let times = history
                .span(&loc.file, loc.line, last, now)
                .map(|(lo, hi)| (history.declared(name).map_or(lo, |d| d.min(lo)), hi));
            let commit = history
                .last_commit(&loc.file, loc.line, last)
                .map(|(sha, subject)| (sha.to_string(), subject.map(str::to_string)));
            (loc.file.clone(), loc.line, times, commit)
        }
        None => (String::new(), 0, None, None),
    };
    Entry {
        name: name.to_string(),
        item,
        kind,
        value_type,
        owner: meta.owner.clone(),
        tags: meta.tags.clone(),
        expires: expires.map(date),
        status,
        file,
        line,
        added: times.map(|(a, _)| date(a * 1_000_000)),
        changed: times.map(|(_, c)| date(c * 1_000_000)),
        times,
        last_commit,
    }
}

/// Whole days from `earlier` to `later` (microseconds), rounded down.
pub(crate) fn days_between(earlier: i64, later: i64) -> i64 {
    (later - earlier).div_euclid(DAY)
}

/// Where each declaration of a file ends: a declaration's location names
/// only its name, and its history covers every line of its body. Each
/// file is parsed once, when first asked.
struct Extents<'a, 's> {
    sources: &'a dyn Fn(&str) -> Option<&'s str>,
    /// Per file: (offset of a declared name, line of its declaration's end).
    ends: RefCell<HashMap<String, Vec<(u32, u32)>>>,
}

impl<'a, 's> Extents<'a, 's> {
    fn new(sources: &'a dyn Fn(&str) -> Option<&'s str>) -> Self {
        Extents {
            sources,
            ends: RefCell::default(),
        }
    }

    /// The last line (from 1) of the declaration whose name starts at `loc`.
    fn last_line(&self, loc: &Location) -> Option<u32> {
        if !self.ends.borrow().contains_key(&loc.file) {
            let ends = (self.sources)(&loc.file).map(ends_of).unwrap_or_default();
            self.ends.borrow_mut().insert(loc.file.clone(), ends);
        }
        let ends = self.ends.borrow();
        let found = ends
            .get(&loc.file)?
            .iter()
            .find(|(start, _)| *start == loc.start)?;
        Some(found.1)
    }
}

fn ends_of(text: &str) -> Vec<(u32, u32)> {
    let tree = ast::parse(text);
    let lines = ast::LineIndex::new(text);
    tree.items
        .iter()
        .filter_map(|item| match item {
            Item::Flag(d) | Item::Experiment(d) => {
                // The span ends after the closing brace: its line is the
                // line of the last byte (`line_col` counts from 1).
                let last = d.span.end.saturating_sub(1);
                Some((d.name.span.start, lines.line_col(text, last).0))
            }
            _ => None,
        })
        .collect()
}
