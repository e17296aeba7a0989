//! When each line of a `.flag` file was last changed, from `git blame`
//! (the git command line, run once per file). Outside a git repository, or
//! for a file git does not track, there is no history and nothing fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One line's last change: the commit and its committer time (seconds
/// since the epoch). `None` for a line not committed yet.
pub type LineChange = Option<(String, i64)>;

/// Per file (as the project names it), per line (0-based), its last change.
#[derive(Clone, Debug, Default)]
pub struct History {
    files: BTreeMap<String, Vec<LineChange>>,
}

impl History {
    /// The blame of every file given; files outside git are left out.
    pub fn of<'a>(files: impl IntoIterator<Item = &'a str>) -> History {
        let mut history = History::default();
        for file in files {
            if let Some(lines) = blame(Path::new(file)) {
                history.files.insert(file.to_string(), lines);
            }
        }
        history
    }

    /// Whether any file has history (the sources are in a git repository).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The earliest and the latest change among lines `first..=last`
    /// (1-based) of `file`, in seconds since the epoch; a line not yet
    /// committed counts as changed now.
    pub fn span(&self, file: &str, first: u32, last: u32, now: i64) -> Option<(i64, i64)> {
        let lines = self.files.get(file)?;
        let from = (first.max(1) - 1) as usize;
        let to = (last as usize).min(lines.len());
        let times = lines.get(from..to)?.iter().map(|c| match c {
            Some((_, t)) => *t,
            None => now,
        });
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for t in times {
            lo = lo.min(t);
            hi = hi.max(t);
        }
        (lo <= hi).then_some((lo, hi))
    }
}

/// `git blame --line-porcelain` of one file, or `None` when git cannot
/// say (no git, not a repository, an untracked file).
fn blame(path: &Path) -> Option<Vec<LineChange>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name()?;
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["blame", "--line-porcelain", "--"])
        .arg(name)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_porcelain(&String::from_utf8_lossy(&output.stdout)))
}

/// Lines of `--line-porcelain`: a header `SHA ORIG FINAL [COUNT]`, keys
/// (`committer-time SECONDS`), then the line itself after a tab.
fn parse_porcelain(text: &str) -> Vec<LineChange> {
    let mut out = Vec::new();
    let mut sha: Option<&str> = None;
    let mut time: Option<i64> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            let change = match (sha, time) {
                (Some(s), Some(t)) if !s.bytes().all(|b| b == b'0') => Some((s.to_string(), t)),
                _ => None,
            };
            out.push(change);
            sha = None;
            time = None;
        } else if let Some(t) = line.strip_prefix("committer-time ") {
            time = t.trim().parse().ok();
        } else if sha.is_none() {
            sha = line
                .split(' ')
                .next()
                .filter(|s| s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_gives_a_time_per_line_and_none_for_uncommitted_lines() {
        let text = "\
1111111111111111111111111111111111111111 1 1 1
author A
committer-time 1700000000
filename f.flag
\tflag a: bool {
0000000000000000000000000000000000000000 2 2 1
author Not Committed Yet
committer-time 1800000000
filename f.flag
\t  kind release
";
        let lines = parse_porcelain(text);
        assert_eq!(
            lines,
            vec![
                Some((
                    "1111111111111111111111111111111111111111".to_string(),
                    1_700_000_000
                )),
                None
            ]
        );
    }
}
