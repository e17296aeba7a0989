//! The `.flag` sources a diff compares: a directory's, or a git revision's
//! (`git ls-tree` and `git show`, the git command line, read in memory:
//! nothing is checked out).

use std::path::Path;
use std::process::Command;

use crate::diff::Source;

/// The `.flag` files under `dir` (or `dir` itself, a file), named from it.
pub fn sources_in(dir: &Path) -> Result<Vec<Source>, String> {
    let files = vexil_compiler::flag_files(dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for path in files {
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let name = if name.is_empty() {
            path.to_string_lossy().into_owned()
        } else {
            name
        };
        let text = vexil_compiler::decode_source(&name, &bytes).0;
        out.push((name, text));
    }
    Ok(out)
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            err.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(out.stdout)
}

/// The `.flag` files under `dir` as they were at git revision `rev` (a
/// commit, branch or tag of the repository `dir` is in), named from `dir`.
pub fn sources_at(dir: &Path, rev: &str) -> Result<Vec<Source>, String> {
    if rev.starts_with('-') {
        return Err(format!("`{rev}` is not a revision"));
    }
    let commit = format!("{rev}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &commit])
        .map_err(|_| format!("`{rev}` is neither a directory nor a git revision"))?;
    // Paths come relative to `dir` (ls-tree's default in a subdirectory).
    let listing = git(dir, &["ls-tree", "-r", "-z", "--name-only", rev, "--", "."])?;
    let mut out = Vec::new();
    for path in listing.split(|&b| b == 0) {
        let path = String::from_utf8_lossy(path);
        if !path.ends_with(".flag") {
            continue;
        }
        let bytes = git(dir, &["show", &format!("{rev}:./{path}")])?;
        let text = vexil_compiler::decode_source(&path, &bytes).0;
        out.push((path.into_owned(), text));
    }
    out.sort();
    Ok(out)
}
