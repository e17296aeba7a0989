//! `vexil diff` on a fixture pair covering every kind of change
//! (`tests/fixtures/diff/old` → `new`), the same pair as two git commits,
//! and properties: a repository compared with itself, or with a copy
//! differing only in layout and comments, has no change.

use std::path::Path;

mod support;

use proptest::prelude::*;
use vexil_lifecycle::diff::Source;
use vexil_lifecycle::{diff, diff_bundles, report, revision};

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

/// Sources compiled to a bundle, as `vexil build` writes it and `vexil
/// diff` reads it back.
fn bundle(sources: &[Source]) -> vexil_ir::Bundle {
    let mut project = vexil_compiler::Project::new();
    for (path, text) in sources {
        project.set_source(path, text.clone());
    }
    let built = project.bundle(false).expect("compiles").to_json();
    vexil_ir::Bundle::from_json(&built)
        .expect("reads back")
        .into_inner()
}

#[test]
fn two_bundles_diff_like_their_sources_within_what_a_bundle_holds() {
    let (old, new) = (bundle(&fixture("old")), bundle(&fixture("new")));
    let changes = diff_bundles(&old, &new);
    insta::assert_snapshot!("bundle_diff_text", report::diff_text(&changes));
    let old_version = vexil_lifecycle::compiled::version(&old);
    assert_eq!(old_version.len(), 16);
    assert_ne!(old_version, vexil_lifecycle::compiled::version(&new));
    assert_eq!(
        report::bundle_header(Some("aa"), None, false),
        format!(
            "bundle version `aa` -> sources, compiled\nnote: {}\n\n",
            vexil_lifecycle::compiled::LIMITS
        )
    );
}

#[test]
fn the_shop_as_a_bundle_against_itself_has_no_change() {
    let shop = bundle(&revision::sources_in(Path::new("../examples/shop")).expect("readable"));
    assert!(shop.flags.len() > 10);
    assert_eq!(diff_bundles(&shop, &shop), []);
    // Every item of the shop is there to compare: one change per flag when
    // all are gone.
    let empty = vexil_ir::Bundle {
        flags: Vec::new(),
        experiments: Vec::new(),
        layers: Vec::new(),
        ..shop.clone()
    };
    let removed = diff_bundles(&shop, &empty);
    assert_eq!(removed.len(), shop.flags.len() + shop.experiments.len());
    assert!(removed
        .iter()
        .all(|c| c.what == vexil_lifecycle::What::Removed));
}

/// Repositories that compile: rules named by position, staged rollouts
/// with a start, a string flag with variants and a split, a segment, an
/// experiment.
fn arb_compiling_repo() -> impl Strategy<Value = Vec<Source>> {
    let condition = prop::sample::select(vec![
        "",
        "when user.country == \"US\" ",
        "when user.plan != \"free\" and (user.country in [\"DE\", \"FR\"] or europe) ",
        "when not (user.country == \"GB\") and user.tier >= pro ",
        "when user.age is set and user.age > 17 ",
    ]);
    let result = prop::sample::select(vec!["true", "25% by user.id", "1% for 1d, 100% by user.id"]);
    let rule = (condition, result);
    let flag = prop::collection::vec(rule, 0..4);
    prop::collection::vec(flag, 0..4).prop_map(|flags| {
        let mut text = String::from(
            "context user {\n  key id: string\n  country: string\n  plan: string\n  tier: enum { free, pro, gold }\n  age: int?\n}\n\nsegment europe {\n  user.country in [\"IT\", \"ES\"]\n}\n",
        );
        text.push_str(
            "\nflag colour: string {\n  kind experiment\n  variants {\n    red = \"red\"\n    blue = \"blue\"\n  }\n  default red\n  rule half: when europe => split by user.id { red 30%, blue 70% }\n}\n",
        );
        text.push_str(
            "\nexperiment layout: string {\n  unit user.id\n  traffic 40%\n  start 2026-10-01\n  end 2026-11-01\n  variants {\n    a = \"a\"\n    b = \"b\"\n  }\n  control a\n}\n",
        );
        for (i, rules) in flags.iter().enumerate() {
            text.push_str(&format!(
                "\nflag f{i}: bool {{\n  kind release\n  owner \"team-{i}\"\n  default false\n"
            ));
            for (j, (c, r)) in rules.iter().enumerate() {
                let from = if r.contains(" for ") { "from 2026-12-01 " } else { "" };
                text.push_str(&format!("  rule r{j}: {from}{c}=> {r}\n"));
            }
            text.push_str("}\n");
        }
        vec![("flags.flag".to_string(), text)]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn a_bundle_against_itself_has_no_change(sources in arb_compiling_repo()) {
        let built = bundle(&sources);
        prop_assert_eq!(diff_bundles(&built, &built), []);
        // Reading the bundle back from its JSON changes nothing either.
        let again = vexil_ir::Bundle::from_json(&built.to_json()).expect("reads back").into_inner();
        prop_assert_eq!(diff_bundles(&built, &again), []);
        prop_assert_eq!(
            vexil_lifecycle::compiled::version(&built),
            vexil_lifecycle::compiled::version(&again)
        );
    }
}
