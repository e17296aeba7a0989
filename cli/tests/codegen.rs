//! `vexil codegen` through the real binary: the generated files committed in
//! the examples are up to date (`--check`), and a stale one is caught.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vexil() -> Command {
    Command::cargo_bin("vexil").expect("the vexil binary")
}

#[test]
fn the_committed_generated_files_are_up_to_date() {
    let shop = root().join("examples/shop");
    for (lang, file) in [
        ("ts", "examples/web/src/flags.ts"),
        ("rust", "examples/embed/src/flags.rs"),
    ] {
        vexil()
            .args(["codegen", "--lang", lang, "--check", "-o"])
            .arg(root().join(file))
            .arg(&shop)
            .assert()
            .success()
            .stdout(contains("is up to date"));
    }
}

#[test]
fn codegen_writes_and_check_catches_a_stale_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("gen/flags.ts");
    let shop = root().join("examples/shop");
    vexil()
        .args(["codegen", "--lang", "ts", "-o"])
        .arg(&out)
        .arg(&shop)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(text.contains("export function useNewCheckout(): boolean"));
    // A flag renamed in the sources leaves the generated file stale.
    std::fs::write(&out, text.replace("useNewCheckout", "useNewCheckoutOld")).expect("write");
    vexil()
        .args(["codegen", "--lang", "ts", "--check", "-o"])
        .arg(&out)
        .arg(&shop)
        .assert()
        .code(1)
        .stdout(contains("is out of date"))
        .stdout(contains("help: run `vexil codegen --lang ts"));
    vexil()
        .args(["codegen", "--lang", "ts", "--check", "-o"])
        .arg(dir.path().join("missing.ts"))
        .arg(&shop)
        .assert()
        .code(1)
        .stdout(contains("does not exist"));
}
