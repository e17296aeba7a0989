//! `vexil diff` on a fixture pair covering every kind of change
//! (`tests/fixtures/diff/old` → `new`), the same pair as two git commits,
//! and properties: a repository compared with itself, or with a copy
//! differing only in layout and comments, has no change.

use std::path::Path;

mod support;

use proptest::prelude::*;
use vexil_lifecycle::diff::Source;
use vexil_lifecycle::{diff, report, revision};

fn fixture(side: &str) -> Vec<Source> {
    revision::sources_in(&Path::new("tests/fixtures/diff").join(side)).expect("readable")
}

#[test]
fn every_kind_of_change() {
    let changes = diff(&fixture("old"), &fixture("new"));
    insta::assert_snapshot!("diff_text", report::diff_text(&changes));
    insta::assert_snapshot!("diff_markdown", report::diff_markdown(&changes));
    insta::assert_snapshot!("diff_release_notes", report::release_notes(&changes));
    insta::assert_snapshot!(
        "diff_json",
        serde_json::to_string_pretty(&changes).expect("json")
    );
}

#[test]
fn the_shop_against_itself_has_no_change() {
    let shop = revision::sources_in(Path::new("../examples/shop")).expect("readable");
    assert!(shop.len() > 3);
    assert_eq!(diff(&shop, &shop), []);
    assert_eq!(report::diff_text(&[]), "no changes to flags\n");
}

#[test]
fn two_revisions_read_from_git_diff_like_their_directories() {
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    let flags = dir.join("flags");
    std::fs::create_dir(&flags).expect("mkdir");
    let git = |args: &[&str]| support::git(dir, args, "2026-12-01T09:00:00Z");
    git(&["init", "-q"]);
    let copy = |side: &str| {
        for (name, text) in fixture(side) {
            std::fs::write(flags.join(name), text).expect("write");
        }
    };
    copy("old");
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "old"]);
    git(&["tag", "v1"]);
    copy("new");
    git(&["commit", "-q", "-a", "-m", "new"]);
    let old = revision::sources_at(&flags, "v1").expect("v1");
    let new = revision::sources_at(&flags, "HEAD").expect("HEAD");
    assert_eq!(old, fixture("old"));
    assert_eq!(new, fixture("new"));
    assert_eq!(
        revision::sources_at(&flags, "no-such-tag").expect_err("refused"),
        "`no-such-tag` is neither a directory nor a git revision"
    );
}

fn arb_rule() -> impl Strategy<Value = String> {
    let condition = prop::sample::select(vec![
        "",
        "when user.country == \"US\" ",
        "when user.plan != \"free\" and user.country in [\"DE\", \"FR\"] ",
        "when not (user.country == \"GB\") ",
    ]);
    let result = prop::sample::select(vec![
        "true",
        "false",
        "25% by user.id",
        "1% for 1d, 100% by user.id",
    ]);
    let name = prop::sample::select(vec!["", "staff: ", "ramp: "]);
    (name, condition, result).prop_map(|(n, c, r)| format!("rule {n}{c}=> {r}"))
}

fn arb_repo() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    let flag = (
        prop::sample::select(vec!["a", "b-c", "new-checkout", "dark"]),
        prop::collection::vec(arb_rule(), 0..4),
    )
        .prop_map(|(name, rules)| (name.to_string(), rules));
    prop::collection::vec(flag, 0..5)
}

/// The repository's sources; `noise` adds comments, blank lines and odd
/// indentation, which change nothing.
fn render(repo: &[(String, Vec<String>)], noise: bool) -> Vec<Source> {
    let mut text =
        String::from("context user {\n  key id: string\n  country: string\n  plan: string\n}\n");
    for (i, (name, rules)) in repo.iter().enumerate() {
        let indent = if noise { "      " } else { "  " };
        if noise {
            text.push_str("\n// a comment\n\n");
        }
        text.push_str(&format!(
            "\nflag {name}{i}: bool {{\n{indent}kind release\n{indent}default false\n"
        ));
        for r in rules {
            text.push_str(&format!("{indent}{r}\n"));
            if noise {
                text.push_str("  // why\n\n");
            }
        }
        text.push_str("}\n");
    }
    vec![("flags.flag".to_string(), text)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_change_reports_none(repo in arb_repo()) {
        let plain = render(&repo, false);
        prop_assert_eq!(diff(&plain, &plain), []);
        prop_assert_eq!(diff(&plain, &render(&repo, true)), []);
    }
}
