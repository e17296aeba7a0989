//! `vexil refs` on a fixture tree (`tests/fixtures/refs`): flags in
//! `flags/`, application code in TypeScript, JavaScript, Python, Go, Java
//! and Rust in `app/`, with keys in comments, keys built at run time, the
//! accessors `vexil codegen` generates, a generated file (skipped) and a
//! `.gitignore`d build output (never read).

use std::path::{Path, PathBuf};

use vexil_compiler::Project;
use vexil_lifecycle::refs::Reason;
use vexil_lifecycle::{refs, report, Key, Refs};

fn keys(dir: &Path) -> Vec<Key> {
    let project = Project::from_dir(dir).expect("readable");
    let bundle = project.bundle(false).expect("compiles");
    vexil_lifecycle::refs::keys(&bundle)
}

fn fixture() -> Refs {
    let root = Path::new("tests/fixtures/refs");
    refs(&keys(&root.join("flags")), &[root.join("app")]).expect("searched")
}

#[test]
fn references_comments_undeclared_and_built_keys() {
    let found = fixture();
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    // Seven files in the languages searched: the generated one is read and
    // skipped, the ignored build output and the stylesheet are not counted.
    assert_eq!(found.files, 7);
    insta::assert_snapshot!("refs_table", report::refs_text(&found));
    insta::assert_snapshot!(
        "refs_json",
        serde_json::to_string_pretty(&found).expect("json")
    );
    // Only comments name old-promo (and the generated file, skipped);
    // dark-mode is referenced and a built key could complete it too.
    assert_eq!(found.unreferenced(), ["old-promo"]);

    // Keys inside longer strings and template literals, each with why.
    let why = |literal: &str| -> Vec<(Reason, Option<&str>, Vec<&str>)> {
        found
            .uncertain
            .iter()
            .filter(|u| u.literal == literal)
            .map(|u| {
                let could_be = u.candidates.iter().map(String::as_str).collect();
                (u.reason, u.call.as_deref(), could_be)
            })
            .collect()
    };
    assert_eq!(
        why("flag:dark-mode"),
        [(Reason::LongerString, None, vec!["dark-mode"])]
    );
    // A template literal's part next to `${...}`: anywhere, or as a
    // flag-API call's key (reported once, with the call).
    assert_eq!(
        why("search-"),
        [
            (
                Reason::Concatenation,
                Some("getBooleanValue"),
                vec!["search-v2"]
            ),
            (Reason::Interpolation, None, vec!["search-v2"]),
        ]
    );
    assert_eq!(
        why("checkout-"),
        [
            (
                Reason::Interpolation,
                Some("get_string_value"),
                vec!["checkout-banner"]
            ),
            (
                Reason::Interpolation,
                Some("getStringValue"),
                vec!["checkout-banner"]
            ),
        ]
    );
    assert_eq!(
        why("-banner"),
        [(Reason::Interpolation, None, vec!["checkout-banner"])]
    );
    assert_eq!(
        why("kill-"),
        [(Reason::Interpolation, None, vec!["kill-payments"])]
    );
    assert_eq!(
        why("{{literal}} new-checkout{suffix}"),
        [(Reason::Interpolation, None, vec!["new-checkout"])]
    );
    // A key that is part of a longer word is no key at all.
    assert!(found.uncertain.iter().all(|u| !u.literal.contains("renew")));
}

#[test]
fn a_file_given_by_name_is_searched_and_a_missing_path_refused() {
    let root = Path::new("tests/fixtures/refs");
    let keys = keys(&root.join("flags"));
    let found = refs(&keys, &[root.join("app/billing/Billing.java")]).expect("searched");
    assert_eq!(found.files, 1);
    let export = found
        .flags
        .iter()
        .find(|f| f.name == "export-csv")
        .expect("a flag");
    assert_eq!(export.references.len(), 1);
    assert_eq!(found.undeclared[0].key, "kill-payment");
    assert_eq!(
        found.undeclared[0].did_you_mean.as_deref(),
        Some("kill-payments")
    );
    let missing = refs(&keys, &[PathBuf::from("tests/fixtures/refs/nowhere")]);
    assert_eq!(
        missing.expect_err("refused"),
        "`tests/fixtures/refs/nowhere` does not exist"
    );
}
