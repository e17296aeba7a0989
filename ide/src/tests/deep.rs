//! Issue 12: a file at the nesting limit is analysed on a thread with the
//! 2 MiB stack Rust gives a spawned thread (the language server's workers
//! run there), in a debug build too.

use super::Fixture;
use crate as ide;

#[test]
fn every_analysis_at_the_nesting_limit_fits_a_2_mib_thread() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let depth = vexil_grammar::MAX_NESTING;
            let source = format!(
                "context user {{\n  key id: string\n}}\n\nflag deep: json {{\n  kind release\n  \
                 default {}1{}\n  rule when {}user.i$0d == \"a\"{} => {{}}\n}}\n",
                "{\"a\": ".repeat(depth),
                "}".repeat(depth),
                "(".repeat(depth),
                ")".repeat(depth),
            );
            let f = Fixture::new(&[("deep.flag", &source)]);
            let (file, at) = f.at();
            assert_eq!(ide::file_diagnostics(&f.db, f.ws, file), []);
            assert!(ide::hover(&f.db, f.ws, file, at).is_some());
            assert!(!ide::highlights(&f.db, f.ws, file).is_empty());
            assert_eq!(ide::document_symbols(&f.db, file).len(), 2);
            let formatted = ide::format(&f.db, file).expect("formats");
            // Every key of the default, and the condition's `"a"`.
            assert_eq!(formatted.matches("\"a\"").count(), depth + 1);
            let _ = ide::completions(&f.db, f.ws, file, at);
        })
        .expect("thread")
        .join()
        .expect("no stack overflow, no panic");
}
