//! The code generated for `examples/shop`, as snapshots: a change to a
//! generator shows up as a reviewed diff of its output.

use std::path::Path;

use vexil_codegen::{generate, Lang};
use vexil_compiler::Project;

fn shop() -> vexil_ir::ValidBundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
    let project = Project::from_dir(&dir).expect("examples/shop is readable");
    project.bundle(false).expect("examples/shop compiles")
}

#[test]
fn typescript_for_the_shop() {
    let ts = generate(&shop(), Lang::TypeScript);
    // Only client flags: `payments-v2` is a server flag.
    assert!(!ts.contains("payments-v2"));
    assert!(ts.contains("export function useCheckoutLayout(): CheckoutLayout"));
    assert!(ts.contains("export type CheckoutLayout = \"multi-page\" | \"one-page\";"));
    insta::assert_snapshot!("shop.ts", ts);
}

#[test]
fn rust_for_the_shop() {
    let rs = generate(&shop(), Lang::Rust);
    assert!(rs.contains("pub fn new_checkout(&self, ctx: &Context) -> bool"));
    insta::assert_snapshot!("shop.rs", rs);
}
