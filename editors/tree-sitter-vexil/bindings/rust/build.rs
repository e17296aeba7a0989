//! Compiles the generated parser (`src/parser.c`, committed: no tree-sitter
//! CLI is needed to build).

fn main() {
    let src_dir = std::path::Path::new("src");

    let mut c_config = cc::Build::new();
    c_config.std("c11").include(src_dir);
    // Generated code: its warnings are not ours to fix.
    c_config.warnings(false);

    let parser_path = src_dir.join("parser.c");
    c_config.file(&parser_path);
    println!("cargo:rerun-if-changed={}", parser_path.display());
    println!(
        "cargo:rerun-if-changed={}",
        src_dir.join("tree_sitter").display()
    );

    c_config.compile("tree-sitter-vexil");
}
