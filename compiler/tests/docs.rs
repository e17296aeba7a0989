//! The `vexil` code blocks of the README and the language reference parse,
//! and the README's example checks clean and its test passes the checker.

use std::path::Path;

fn blocks(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file))
        .expect("doc");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```vexil") => current = Some(String::new()),
            (Some(_), "```") => out.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_vexil_block_parses() {
    for file in ["README.md", "LANGUAGE.md"] {
        let found = blocks(file);
        assert!(!found.is_empty(), "{file} has vexil blocks");
        for block in found {
            let parsed = vexil_grammar::parse(&block);
            assert!(
                parsed.errors.is_empty(),
                "{file}: {:?}\n{block}",
                parsed.errors
            );
        }
    }
}

#[test]
fn the_readme_example_checks_clean() {
    let block = blocks("README.md").into_iter().next().expect("an example");
    let mut project = vexil_compiler::Project::new();
    project.set_source("readme.flag", block);
    let diagnostics = project.diagnostics();
    assert!(
        diagnostics.is_empty(),
        "{}",
        project.render(&diagnostics, false)
    );
}

#[test]
fn the_language_reference_is_one_valid_project() {
    let mut project = vexil_compiler::Project::new();
    project.set_source("language.flag", blocks("LANGUAGE.md").join("\n"));
    project.set_today(Some(
        vexil_ir::value::parse_timestamp("2026-11-24").expect("date"),
    ));
    let diagnostics = project.diagnostics();
    assert!(
        diagnostics.is_empty(),
        "{}",
        project.render(&diagnostics, false)
    );
}
