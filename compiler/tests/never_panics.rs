//! The compiler never panics, whatever text it is given: random bytes, and
//! random soups of the language's own tokens, which reach far deeper into
//! the parser and the checker than random bytes do.

use proptest::prelude::*;
use vexil_compiler::Project;

const SCHEMA: &str = "context user {\n  key id: string\n  plan: enum { free, pro }\n  age: int\n  v: semver\n  tags: list<string>\n  c: string?\n}\nsegment s { user.age > 1 }\n";

const TOKENS: &[&str] = &[
    "context",
    "segment",
    "flag",
    "experiment",
    "test",
    "user",
    "env",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=>",
    "and",
    "or",
    "not",
    "in",
    "is",
    "set",
    "now",
    "true",
    "false",
    "kind",
    "release",
    "owner",
    "tags",
    "expires",
    "default",
    "enabled",
    "client",
    "salt",
    "requires",
    "variants",
    "rule",
    "when",
    "from",
    "until",
    "for",
    "by",
    "split",
    "unit",
    "layer",
    "traffic",
    "audience",
    "start",
    "end",
    "control",
    "metrics",
    "planning",
    "primary",
    "guardrail",
    "conversion",
    "mean",
    "ratio",
    "within",
    "increase",
    "decrease",
    "threshold",
    "expect",
    "variant",
    "reason",
    "error",
    "bool",
    "int",
    "float",
    "string",
    "semver",
    "timestamp",
    "ip",
    "json",
    "enum",
    "list",
    "?",
    "key",
    "starts_with",
    "iends_with",
    "contains",
    "matches",
    "\"x\"",
    "\"a\\\\b\"",
    "\"(\"",
    "42",
    "-7",
    "0.5",
    "1e309",
    "99999999999999999999",
    "25%",
    "100.5%",
    "33.3333%",
    "7d",
    "2.3.0",
    "1.0.0-rc.1",
    "01.2.3",
    "2026-12-01",
    "2026-13-45",
    "2026-12-01T09:00:00Z",
    "u.id",
    "user.id",
    "user.age",
    "user.plan",
    "user.c",
    "user.tags",
    "s",
    "pro",
    "f",
    "x",
    "\n",
    "\n\n",
    "//c\n",
    "///d\n",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.join(" "))
}

fn run(text: &str) {
    let mut p = Project::new();
    p.set_source("schema.flag", SCHEMA.to_string());
    p.set_source("fuzz.flag", text.to_string());
    p.set_today(Some(0));
    let diagnostics = p.diagnostics();
    let _ = p.render(&diagnostics, false);
    let _ = p.render_json(&diagnostics);
    let _ = p.bundle(true);
    let _ = vexil_fmt::format_source(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_text(text in ".{0,200}") {
        run(&text);
    }

    #[test]
    fn random_token_soup(text in soup()) {
        run(&text);
    }

    #[test]
    fn a_valid_flag_with_random_tokens_spliced_in(extra in soup(), at in 0usize..200) {
        let base = "flag f: bool {\n  kind release\n  default false\n  rule r: when user.age > 3 and s => true\n}\ntest \"t\" {\n  context { user { id: \"a\", age: 4 } }\n  expect f == true\n}\n";
        let at = at.min(base.len());
        let at = (0..=at).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        let text = format!("{}{}{}", &base[..at], extra, &base[at..]);
        run(&text);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!(
        "segment d {{ {}user.age > 1{} }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    run(&deep);
    let nots = format!("segment d {{ {}user.age > 1 }}", "not ".repeat(10_000));
    run(&nots);
    let mixed = format!(
        "segment d {{ {}user.age > 1{} }}",
        "not (".repeat(5_000),
        ")".repeat(5_000)
    );
    run(&mixed);
    let long_chain = format!(
        "segment d {{ {} }}",
        vec!["user.age > 1"; 20_000].join(" or ")
    );
    run(&long_chain);
}
