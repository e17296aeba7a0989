//! Completion at the places the language allows names, keywords and
//! snippets; most sources here do not parse, as while typing.

use super::Fixture;
use crate as ide;

/// The cursor, then one completion per line: label, kind, detail.
fn complete(source: &str) -> String {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    let c = ide::completions(&f.db, f.ws, file, at);
    let mut out = f.show_cursor();
    let text = f.text(file);
    out.push_str(&format!(
        "----- REPLACES `{}`\n",
        &text[c.replace.start as usize..c.replace.end as usize]
    ));
    for item in &c.items {
        out.push_str(&format!("{}  ({:?})", item.label, item.kind));
        if let Some(d) = &item.detail {
            out.push_str(&format!("  {d}"));
        }
        out.push('\n');
    }
    out
}

/// Only the labels, for tests about what is offered rather than how.
fn labels(source: &str) -> Vec<String> {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    ide::completions(&f.db, f.ws, file, at)
        .items
        .into_iter()
        .map(|i| i.label)
        .collect()
}

#[test]
fn fields_after_a_context_and_a_dot() {
    insta::assert_snapshot!(complete(
        "flag f: bool {\n  kind release\n  default false\n  rule when user.$0 => true\n}\n"
    ));
}

#[test]
fn fields_while_typing_one() {
    insta::assert_snapshot!(complete("segment s {\n  user.co$0\n}\n"));
}

#[test]
fn enum_values_after_a_comparison() {
    insta::assert_snapshot!(complete("segment s {\n  user.plan == $0\n}\n"));
}

#[test]
fn enum_values_in_a_list() {
    assert_eq!(
        labels("segment s {\n  env.name in [staging, $0\n}\n"),
        ["development", "staging", "production"]
    );
    assert_eq!(
        labels("segment s {\n  env.name not in [$0]\n}\n"),
        ["development", "staging", "production"]
    );
}

#[test]
fn contexts_and_segments_where_a_condition_starts() {
    insta::assert_snapshot!(complete(
        "flag f: bool {\n  kind release\n  default false\n  rule when staff and $0\n}\n"
    ));
}

#[test]
fn operators_after_a_field() {
    insta::assert_snapshot!(complete("segment s {\n  user.company $0\n}\n"));
}

#[test]
fn presence_after_is() {
    assert_eq!(
        labels("segment s {\n  user.company is $0\n}\n"),
        ["set", "not set"]
    );
}

#[test]
fn flags_after_requires() {
    insta::assert_snapshot!(complete(
        "flag f: bool {\n  kind release\n  default false\n  requires new$0\n}\n"
    ));
}

#[test]
fn variants_of_the_required_flag() {
    assert_eq!(
        labels("flag f: bool {\n  kind release\n  default false\n  requires theme == $0\n}\n"),
        ["light", "dark"]
    );
}

#[test]
fn variants_of_this_flag_after_an_arrow() {
    insta::assert_snapshot!(complete(
        "flag f: string {\n  kind release\n  variants {\n    fast = \"fast\"\n    safe = \"safe\"\n  }\n  default safe\n  rule when staff => $0\n}\n"
    ));
}

#[test]
fn bool_values_and_split_after_an_arrow_in_a_bool_flag() {
    assert_eq!(
        labels("flag f: bool {\n  kind release\n  default false\n  rule when staff => $0\n}\n"),
        ["true", "false", "split by .."]
    );
}

#[test]
fn variants_in_a_split() {
    assert_eq!(
        labels("flag f: string {\n  kind release\n  variants {\n    a = \"a\"\n    b = \"b\"\n  }\n  default a\n  rule => split by user.id {\n    a 50%,\n    $0\n  }\n}\n"),
        ["a", "b"]
    );
}

#[test]
fn control_offers_the_experiments_variants() {
    assert_eq!(
        labels("experiment e: string {\n  unit user\n  variants {\n    old = \"o\" 50%\n    new = \"n\" 50%\n  }\n  control $0\n}\n"),
        ["old", "new"]
    );
}

#[test]
fn units_are_contexts_then_string_or_int_fields() {
    assert_eq!(
        labels("flag f: bool {\n  kind release\n  default false\n  rule => 5% by $0\n}\n"),
        ["env", "user"]
    );
    assert_eq!(
        labels("experiment e: bool {\n  unit user.$0\n}\n"),
        ["id", "email", "country"]
    );
}

#[test]
fn property_keywords_at_the_start_of_a_line() {
    insta::assert_snapshot!(complete("flag f: bool {\n  kind release\n  $0\n}\n"));
    // Properties already given are not offered again; the one being
    // typed is.
    let offered = labels("experiment e: bool {\n  unit user\n  tr$0\n}\n");
    assert!(!offered.contains(&"unit".to_string()), "{offered:?}");
    assert!(offered.contains(&"traffic".to_string()), "{offered:?}");
    let offered = labels("flag f: bool {\n  kind release\n  rule when staff => true\n  $0\n}\n");
    assert!(offered.contains(&"rule".to_string()), "{offered:?}");
    assert!(!offered.contains(&"kind".to_string()), "{offered:?}");
}

#[test]
fn flag_kinds() {
    assert_eq!(
        labels("flag f: bool {\n  kind $0\n}\n"),
        ["release", "experiment", "operational", "permission"]
    );
}

#[test]
fn snippets_between_items() {
    insta::assert_snapshot!(complete("segment s {\n  staff\n}\n\n$0"));
}

#[test]
fn snippet_for_a_new_flag() {
    let f = Fixture::shop("fl$0");
    let (file, at) = f.at();
    let c = ide::completions(&f.db, f.ws, file, at);
    let flag = c
        .items
        .iter()
        .find(|i| i.label == "flag")
        .expect("a flag snippet");
    assert!(flag.snippet);
    insta::assert_snapshot!(flag.insert.clone().unwrap_or_default());
}

#[test]
fn expectations_in_a_test() {
    assert_eq!(
        labels("test \"t\" {\n  expect $0\n}\n"),
        ["new-checkout", "payments-v2", "theme", "checkout-layout"]
    );
    assert_eq!(
        labels("test \"t\" {\n  expect theme $0\n}\n"),
        ["==", "variant", "reason", "rule", "error"]
    );
    assert_eq!(
        labels("test \"t\" {\n  expect checkout-layout variant $0\n}\n"),
        ["multi-page", "one-page"]
    );
    assert_eq!(
        labels("test \"t\" {\n  expect new-checkout rule $0\n}\n"),
        ["staff", "launch"]
    );
    assert_eq!(
        labels("test \"t\" {\n  expect theme reason S$0\n}\n").len(),
        6
    );
}

#[test]
fn test_members_at_the_start_of_a_line() {
    assert_eq!(
        labels("test \"t\" {\n  expect theme variant dark\n  $0\n}\n"),
        ["context", "now", "expect"]
    );
}

#[test]
fn fields_and_values_in_a_test_context() {
    assert_eq!(
        labels("test \"t\" {\n  context {\n    $0\n  }\n}\n"),
        ["env", "user"]
    );
    assert_eq!(
        labels("test \"t\" {\n  context {\n    user { id: \"u\", $0 }\n  }\n}\n"),
        [
            "email",
            "country",
            "plan",
            "app_version",
            "company",
            "roles"
        ]
    );
    assert_eq!(
        labels("test \"t\" {\n  context {\n    user { plan: $0 }\n  }\n}\n"),
        ["free", "pro", "enterprise"]
    );
}

#[test]
fn field_types_in_a_context() {
    assert_eq!(
        labels("context device {\n  model: $0\n}\n"),
        [
            "string",
            "int",
            "float",
            "bool",
            "semver",
            "timestamp",
            "ip",
            "enum { .. }",
            "list<..>"
        ]
    );
}

#[test]
fn nothing_inside_a_string() {
    // Completing names inside an owner's string would only get in the way.
    assert_eq!(
        labels("flag f: bool {\n  owner \"team-$0\n}\n"),
        Vec::<String>::new()
    );
}

#[test]
fn nothing_where_a_new_name_is_declared() {
    assert_eq!(labels("flag new-$0"), Vec::<String>::new());
    assert_eq!(
        labels("flag f: string {\n  variants {\n    $0\n  }\n}\n"),
        Vec::<String>::new()
    );
}

#[test]
fn a_timestamp_offers_now_and_a_time_relative_to_it() {
    let f = Fixture::new(&[(
        "edit.flag",
        "context user {\n  created_at: timestamp\n}\n\nsegment s {\n  user.created_at > $0\n}\n",
    )]);
    let (file, at) = f.at();
    let items = ide::completions(&f.db, f.ws, file, at).items;
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["now", "now - 30d"]);
    let relative = &items[1];
    assert!(relative.snippet);
    assert_eq!(relative.insert.as_deref(), Some("now ${1|-,+|} ${2:30d}"));
}

#[test]
fn a_string_field_offers_the_case_insensitive_operators_and_then_no_values() {
    let after = labels("segment s {\n  user.email $0\n}\n");
    for op in ["iequals", "iin", "not iin", "icontains"] {
        assert!(after.iter().any(|l| l == op), "{op} not in {after:?}");
    }
}

#[test]
fn a_list_field_offers_contains_any_and_all_and_then_its_values() {
    let after = labels("segment s {\n  user.roles $0\n}\n");
    for op in ["contains", "contains any", "contains all"] {
        assert!(after.iter().any(|l| l == op), "{op} not in {after:?}");
    }
    let f = Fixture::new(&[(
        "edit.flag",
        "context user {\n  tiers: list<enum { bronze, gold }>\n}\n\nsegment s {\n  user.tiers contains all [gold, $0\n}\n",
    )]);
    let (file, at) = f.at();
    let items: Vec<String> = ide::completions(&f.db, f.ws, file, at)
        .items
        .into_iter()
        .map(|i| i.label)
        .collect();
    assert_eq!(items, ["bronze", "gold"]);
}
