//! The diagnostics corpus: every file (or folder) under `tests/diagnostics/`
//! is a small broken project named after the code it must produce. Each is
//! snapshotted with its source and the rendered diagnostics together, so a
//! reviewer reads the mistake and the message side by side.

use std::path::{Path, PathBuf};

use vexil_compiler::{Code, Conventions, Project};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/diagnostics")
}

/// The files of one case: (name shown in diagnostics, bytes). Bytes, not
/// text: a case may hold a file that is not UTF-8 (E0002).
fn case_files(entry: &Path) -> Vec<(String, Vec<u8>)> {
    let name = entry
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if entry.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(entry)
            .expect("readable")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let file = f
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                (format!("{name}/{file}"), std::fs::read(&f).expect("file"))
            })
            .collect()
    } else {
        vec![(name, std::fs::read(entry).expect("file"))]
    }
}

/// The project of the case named `name` (with no fixed day).
fn case_project(name: &str) -> Project {
    let mut project = Project::new();
    for (path, bytes) in case_files(&corpus().join(name)) {
        add_file(&mut project, &path, &bytes);
    }
    project
}

/// A case's file: a source, or the project file (`vexil.toml`) whose
/// conventions the case is checked against.
fn add_file(project: &mut Project, path: &str, bytes: &[u8]) {
    if path.ends_with("vexil.toml") {
        let text = String::from_utf8_lossy(bytes);
        let conventions = Conventions::parse(&text).expect("a valid project file");
        project.set_conventions(conventions);
    } else {
        project.set_source_bytes(path, bytes);
    }
}

fn entries() -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/diagnostics exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "flag"))
        .collect();
    entries.sort();
    entries
}

#[test]
fn corpus_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/diagnostics");
    let _guard = settings.bind_to_scope();
    for entry in entries() {
        let name = entry
            .file_stem()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let files = case_files(&entry);
        let mut project = Project::new();
        for (path, bytes) in &files {
            add_file(&mut project, path, bytes);
        }
        // Expiry warnings are relative to a fixed day, so snapshots do not age.
        project.set_today(Some(
            vexil_ir::value::parse_timestamp("2026-11-24").expect("date"),
        ));
        let diagnostics = project.diagnostics();
        let expected = &name[..5];
        assert!(
            diagnostics.iter().any(|d| d.code.as_str() == expected),
            "{name}: expected a {expected}, got {:?}",
            diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
        );
        let mut out = String::new();
        for (path, bytes) in &files {
            out.push_str(&format!("----- {path}\n{}", String::from_utf8_lossy(bytes)));
        }
        out.push_str("----- diagnostics\n");
        out.push_str(&project.render(&diagnostics, false));
        insta::assert_snapshot!(name, out);
    }
}

#[test]
fn every_code_has_a_case() {
    let names: Vec<String> = entries()
        .iter()
        .filter_map(|e| e.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !names.iter().any(|n| n.starts_with(code)))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a corpus case: {missing:?}"
    );
    assert!(names.len() >= 40, "the corpus has {} cases", names.len());
}

#[test]
fn five_mistakes_give_five_diagnostics() {
    let project = case_project("E0001-five-mistakes.flag");
    let errors = project
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .count();
    assert_eq!(errors, 5);
}

#[test]
fn json_output_has_positions_and_fixes() {
    let project = case_project("E0102-unknown-field.flag");
    let json: serde_json::Value =
        serde_json::from_str(&project.render_json(&project.diagnostics())).expect("json");
    let d = &json[0];
    assert_eq!(d["code"], "E0102");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["primary"]["line"], 14);
    assert_eq!(d["primary"]["column"], 8);
    assert_eq!(d["help"], "did you mean `country`?");
    assert_eq!(d["fix"]["replacement"], "country");
}

/// Issue 12: two rules that each hold an error lower to the same
/// placeholder condition; that must not read as "the same condition".
#[test]
fn rules_with_errors_are_not_reported_unreachable() {
    let project = case_project("E0102-rules-with-errors.flag");
    let codes: Vec<&str> = project
        .diagnostics()
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, ["E0102", "E0102"]);
}

/// Issue 12: a file that is not UTF-8 is one diagnostic at its first bad
/// byte, and every other file is still checked.
#[test]
fn a_file_that_is_not_utf8_does_not_stop_the_check() {
    let project = case_project("E0002-not-utf8");
    let found: Vec<(String, &str, u32)> = project
        .diagnostics()
        .iter()
        .map(|d| {
            (
                d.primary.file.to_string(),
                d.code.as_str(),
                d.primary.span.start,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("E0002-not-utf8/b-latin1.flag".to_string(), "E0002", 6),
            ("E0002-not-utf8/c-typo.flag".to_string(), "E0102", 115),
        ]
    );
}

/// Issue 12: a misspelt item keyword is named once in what was expected,
/// the caret covers the word, and the nearest keyword is offered as a fix.
#[test]
fn a_misspelt_item_keyword_suggests_the_keyword() {
    let project = case_project("E0001-misspelt-item-keyword.flag");
    let diagnostics = project.diagnostics();
    let [d] = diagnostics.as_slice() else {
        panic!("one diagnostic expected, got {diagnostics:?}");
    };
    assert_eq!(d.message, "unexpected `flg`");
    assert_eq!(d.primary.span.end - d.primary.span.start, 3);
    assert_eq!(
        d.primary.message,
        "expected `context`, `segment`, `flag`, `experiment` or `test`"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `flag`?"));
    assert_eq!(d.fix.as_ref().map(|f| f.replacement.as_str()), Some("flag"));
}

/// Issue 12: a UTF-8 byte-order mark at the start of a file is skipped.
#[test]
fn a_byte_order_mark_is_skipped() {
    let source = "\u{FEFF}context user {\n  key id: string\n}\n\nflag a: bool {\n  kind release\n  default false\n}\n";
    let mut project = Project::new();
    project.set_source_bytes("bom.flag", source.as_bytes());
    assert_eq!(project.diagnostics(), []);
    assert!(project.bundle(false).is_ok());
}

/// Issue 12: the nesting limit is what its message says, and a deep JSON
/// value is not called a condition. Run on a thread with the stack of a
/// program's main thread (8 MiB): deep values need more than a test
/// thread's 2 MiB in a debug build.
#[test]
fn the_nesting_limit_agrees_with_its_message() {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(nesting_limit)
        .expect("thread")
        .join()
        .expect("no panic");
}

fn nesting_limit() {
    let limit = vexil_grammar::MAX_NESTING;
    let check = |source: String| -> Vec<String> {
        let mut project = Project::new();
        project.set_source("deep.flag", source);
        project
            .diagnostics()
            .iter()
            .map(|d| d.message.clone())
            .collect()
    };
    let json = |depth: usize| {
        format!(
            "flag deep: json {{\n  kind release\n  default {}1{}\n}}\n",
            "{\"a\": ".repeat(depth),
            "}".repeat(depth)
        )
    };
    let condition = |depth: usize| {
        format!(
            "context user {{\n  key id: string\n}}\n\nsegment deep {{\n  {}user.id == \"a\"{}\n}}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    assert_eq!(check(json(limit)), Vec::<String>::new());
    assert_eq!(
        check(json(limit + 1)),
        [format!(
            "a value nested more than {limit} deep (`{{` and `[`)"
        )]
    );
    // A block's braces (`variants {`, `split by .. {`) are not a level:
    // a value nests as deep inside them as after `default`.
    let in_variants = |depth: usize| {
        format!(
            "context user {{\n  key id: string\n}}\n\nflag deep: json {{\n  kind release\n  variants {{\n    \
             deep = {}1{}\n    flat = {{}}\n  }}\n  default flat\n  \
             rule => split by user.id {{ deep 50%, flat 50% }}\n}}\n",
            "{\"a\": ".repeat(depth),
            "}".repeat(depth)
        )
    };
    assert_eq!(check(in_variants(limit)), Vec::<String>::new());
    assert_eq!(
        check(in_variants(limit + 1)),
        [format!(
            "a value nested more than {limit} deep (`{{` and `[`)"
        )]
    );
    let in_split = |depth: usize| {
        format!(
            "context user {{\n  key id: string\n}}\n\nflag deep: json {{\n  kind release\n  default {{}}\n  \
             rule => split by user.id salt \"s\" {{ {}1{} 50%, {{}} 50% }}\n}}\n",
            "{\"a\": ".repeat(depth),
            "}".repeat(depth)
        )
    };
    assert_eq!(check(in_split(limit)), Vec::<String>::new());
    assert_eq!(
        check(in_split(limit + 1)),
        [format!(
            "a value nested more than {limit} deep (`{{` and `[`)"
        )]
    );
    assert_eq!(check(condition(limit)), Vec::<String>::new());
    assert_eq!(
        check(condition(limit + 1)),
        [format!(
            "a condition nested more than {limit} deep (brackets and `not`s)"
        )]
    );
}

/// Issue 12 and LANGUAGE.md: an indented item is accepted.
#[test]
fn an_indented_item_is_accepted() {
    let mut project = Project::new();
    project.set_source(
        "indented.flag",
        "context user {\n  key id: string\n}\n\n  flag a: bool {\n    kind release\n    default false\n  }\n"
            .to_string(),
    );
    assert_eq!(project.diagnostics(), []);
}

/// Issue 12: a diagnostic on a 20 KB line prints the part around the span,
/// and its header still gives the column in the whole line.
#[test]
fn a_long_line_is_cut_in_diagnostics() {
    let long = "x".repeat(20_000);
    let source = format!("flag long: string {{\n  kind release\n  default \"{long}\" oops\n}}\n");
    let mut project = Project::new();
    project.set_source("long.flag", source);
    let diagnostics = project.diagnostics();
    let rendered = project.render(&diagnostics, false);
    assert!(
        rendered.len() < 1_000,
        "{} bytes:\n{rendered}",
        rendered.len()
    );
    // `oops` starts after `  default "`, the 20,000 x's and `" `.
    let column = 2 + 8 + 1 + 20_000 + 2 + 1;
    assert!(
        rendered.contains(&format!("long.flag:3:{column}")),
        "{rendered}"
    );
    assert!(rendered.contains("…xxx"), "{rendered}");
    assert!(rendered.contains("\" oops"), "{rendered}");
    assert!(rendered.contains("^^^^"), "{rendered}");
}

/// Issue 12: input at the nesting limit is checked, lowered and written
/// as a bundle on a thread with the 2 MiB stack that Rust gives a spawned
/// thread (the language server's and a server's workers), in a debug build
/// too; one level deeper is a diagnostic, never a stack overflow.
#[test]
fn input_at_the_nesting_limit_fits_a_2_mib_thread() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let limit = vexil_grammar::MAX_NESTING;
            for depth in [limit, limit + 1] {
                let source = format!(
                    "context user {{\n  key id: string\n}}\n\nflag deep: json {{\n  kind release\n  \
                     default {}1{}\n  rule when {}user.id == \"a\"{} => {{\"a\": [1]}}\n}}\n",
                    "{\"a\": [".repeat(depth / 2),
                    "]}".repeat(depth / 2),
                    "(".repeat(depth),
                    ")".repeat(depth),
                );
                let mut project = Project::new();
                project.set_source("deep.flag", source);
                let diagnostics = project.diagnostics();
                if depth == limit {
                    assert_eq!(diagnostics, [], "{depth}");
                    let bundle = project.bundle(true).expect("compiles");
                    let json = bundle.to_json();
                    vexil_ir::Bundle::from_json(&json).expect("reads back");
                } else {
                    assert_eq!(diagnostics.len(), 1, "{depth}");
                }
            }
        })
        .expect("thread")
        .join()
        .expect("no panic");
}
