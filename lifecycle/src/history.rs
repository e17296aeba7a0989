//! When each line of a `.flag` file was last changed, from `git blame`
//! (the git command line, run once per file), and when each flag's name was
//! first declared, from one `git log -G` over the flags' directory. Outside
//! a git repository, or for a file git does not track, there is no history
//! and nothing fails.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

/// One line's last change: the commit and its committer time (seconds
/// since the epoch). `None` for a line not committed yet.
pub type LineChange = Option<(String, i64)>;

/// Per file (as the project names it), per line (0-based), its last change.
#[derive(Clone, Debug, Default)]
pub struct History {
    files: BTreeMap<String, Vec<LineChange>>,
    /// Each blamed commit's subject line.
    summaries: HashMap<String, String>,
    /// Per flag or experiment name, the committer time of the oldest
    /// commit adding a line that declares it (`flag NAME`).
    declared: HashMap<String, i64>,
}

impl History {
    /// The blame of every file given; files outside git are left out.
    pub fn of<'a>(files: impl IntoIterator<Item = &'a str>) -> History {
        let mut history = History::default();
        let mut dirs: Vec<&Path> = Vec::new();
        for file in files {
            if let Some((lines, summaries)) = blame(Path::new(file)) {
                history.files.insert(file.to_string(), lines);
                history.summaries.extend(summaries);
                dirs.push(Path::new(file).parent().unwrap_or(Path::new("")));
            }
        }
        if let Some(dir) = common_dir(&dirs) {
            history.declared = declarations(&dir).unwrap_or_default();
        }
        history
    }

    /// When `name` was first declared (`flag NAME` or `experiment NAME` on
    /// a line a commit added, under the flags' directory), in seconds since
    /// the epoch; `None` when no commit declares it yet.
    pub fn declared(&self, name: &str) -> Option<i64> {
        self.declared.get(name).copied()
    }

    /// Whether any file has history (the sources are in a git repository).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The commit that changed lines `first..=last` (1-based) of `file`
    /// last, and its subject line; `None` when one of them is not
    /// committed yet (the newest change is then not a commit) or the file
    /// has no history.
    pub fn last_commit(&self, file: &str, first: u32, last: u32) -> Option<(&str, Option<&str>)> {
        let lines = self.files.get(file)?;
        let from = (first.max(1) - 1) as usize;
        let to = (last as usize).min(lines.len());
        let mut newest: Option<&(String, i64)> = None;
        for line in lines.get(from..to)? {
            let change = line.as_ref()?;
            if newest.is_none_or(|n| change.1 > n.1) {
                newest = Some(change);
            }
        }
        let (sha, _) = newest?;
        Some((sha.as_str(), self.summaries.get(sha).map(String::as_str)))
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

/// `git blame --line-porcelain` of one file (each line's change, and each
/// commit's subject line), or `None` when git cannot say (no git, not a
/// repository, an untracked file).
fn blame(path: &Path) -> Option<(Vec<LineChange>, HashMap<String, String>)> {
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

/// The deepest directory holding every one of `dirs` (`.` for relative
/// names at the top).
fn common_dir(dirs: &[&Path]) -> Option<std::path::PathBuf> {
    let (first, rest) = dirs.split_first()?;
    let mut common = first.to_path_buf();
    for dir in rest {
        while !dir.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    if common.as_os_str().is_empty() {
        common.push(".");
    }
    Some(common)
}

/// Every name's first declaration under `dir`: one `git log` of the commits
/// whose diff adds or removes a declaration line, oldest first, with only
/// the changed lines (`-U0`). A name declared, removed and declared again
/// keeps its first date; a renamed flag's name dates from the rename.
fn declarations(dir: &Path) -> Option<HashMap<String, i64>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "log",
            "--reverse",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "-U0",
            "--format=%x00%ct",
            "-G",
            DECLARATION,
            "-p",
            "--",
            ".",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_log(&String::from_utf8_lossy(&output.stdout)))
}

/// A line declaring a flag or an experiment, as `git log -G` takes it
/// (POSIX extended syntax).
const DECLARATION: &str = "^[[:space:]]*(flag|experiment)[[:space:]]";

/// `git log -p` as [`declarations`] asks for it: a NUL then the committer
/// time before each commit's patch; `+++ b/FILE` before each file's
/// hunks; added lines start with `+`.
fn parse_log(text: &str) -> HashMap<String, i64> {
    let mut first = HashMap::new();
    let mut time: Option<i64> = None;
    let mut in_flag_file = false;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('\0') {
            time = t.trim().parse().ok();
        } else if let Some(file) = line.strip_prefix("+++ ") {
            in_flag_file = file.ends_with(".flag");
        } else if let (Some(added), true, Some(t)) = (line.strip_prefix('+'), in_flag_file, time) {
            if let Some(name) = declared_name(added) {
                first.entry(name.to_string()).or_insert(t);
            }
        }
    }
    first
}

/// The name a line declares: `flag NAME: TYPE {` or `experiment NAME ...`.
fn declared_name(line: &str) -> Option<&str> {
    let rest = line.trim_start();
    let rest = rest
        .strip_prefix("flag")
        .or_else(|| rest.strip_prefix("experiment"))?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Lines of `--line-porcelain`: a header `SHA ORIG FINAL [COUNT]`, keys
/// (`committer-time SECONDS`), then the line itself after a tab.
fn parse_porcelain(text: &str) -> (Vec<LineChange>, HashMap<String, String>) {
    let mut out = Vec::new();
    let mut summaries = HashMap::new();
    let mut sha: Option<&str> = None;
    let mut time: Option<i64> = None;
    for line in text.lines() {
        if let (Some(s), Some(subject)) = (sha, line.strip_prefix("summary ")) {
            if !s.bytes().all(|b| b == b'0') {
                summaries
                    .entry(s.to_string())
                    .or_insert_with(|| subject.to_string());
            }
            continue;
        }
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
    (out, summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gives_each_name_its_first_declaration() {
        let text = "\x00100\n\ndiff --git a/f.flag b/f.flag\n--- /dev/null\n+++ b/f.flag\n@@ -0,0 +1,3 @@\n+flag a: bool {\n+  default false\n+}\n\
\x00200\n\ndiff --git a/f.flag b/f.flag\n--- a/f.flag\n+++ b/f.flag\n@@ -1 +1 @@\n-flag a: bool {\n+flag a: bool { // comment\n+experiment e: string {\n+/// flag z is a doc comment\n\
\x00300\n\ndiff --git a/n.md b/n.md\n+++ b/n.md\n+flag b: bool {\n";
        let first = parse_log(text);
        assert_eq!(first.get("a"), Some(&100));
        assert_eq!(first.get("e"), Some(&200));
        assert_eq!(first.get("z"), None);
        assert_eq!(first.get("b"), None, "not a .flag file");
        assert_eq!(
            declared_name("  flag new-checkout: bool {"),
            Some("new-checkout")
        );
        assert_eq!(declared_name("flagged x"), None);
    }

    #[test]
    fn the_last_commit_of_some_lines_is_their_newest_committed_change() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let history = History {
            files: BTreeMap::from([(
                "f.flag".to_string(),
                vec![
                    Some((a.clone(), 10)),
                    Some((b.clone(), 30)),
                    Some((a.clone(), 10)),
                    None,
                ],
            )]),
            summaries: HashMap::from([(b.clone(), "Switch it off".to_string())]),
            declared: HashMap::new(),
        };
        assert_eq!(
            history.last_commit("f.flag", 1, 3),
            Some((b.as_str(), Some("Switch it off")))
        );
        assert_eq!(
            history.last_commit("f.flag", 3, 3),
            Some((a.as_str(), None))
        );
        // A line not committed yet is the newest change: no commit to name.
        assert_eq!(history.last_commit("f.flag", 3, 4), None);
        assert_eq!(history.last_commit("other.flag", 1, 1), None);
    }

    #[test]
    fn porcelain_gives_a_time_per_line_and_none_for_uncommitted_lines() {
        let text = "\
1111111111111111111111111111111111111111 1 1 1
author A
committer-time 1700000000
summary Add the flag a
filename f.flag
\tflag a: bool {
0000000000000000000000000000000000000000 2 2 1
author Not Committed Yet
committer-time 1800000000
summary Version of f.flag from f.flag
filename f.flag
\t  kind release
";
        let (lines, summaries) = parse_porcelain(text);
        assert_eq!(
            summaries
                .get("1111111111111111111111111111111111111111")
                .map(String::as_str),
            Some("Add the flag a")
        );
        assert_eq!(summaries.len(), 1, "no summary for uncommitted lines");
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
