//! What the lifecycle tests share: git run in a repository the test built,
//! as a fixed author, at a chosen date.

use std::path::Path;
use std::process::Command;

/// `git ARGS` in `dir`, authored and committed at `date` (RFC 3339).
pub fn git(dir: &Path, args: &[&str], date: &str) {
    let status = Command::new("git")
        .args(["-c", "user.name=Ana", "-c", "user.email=ana@shop.example"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}
