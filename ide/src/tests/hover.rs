//! Hover over every kind of name.

use super::{show_spans, Fixture};
use crate as ide;

/// The cursor, the hovered name underlined, and the Markdown shown.
fn hover(source: &str) -> String {
    let f = Fixture::shop(source);
    let (file, at) = f.at();
    let mut out = f.show_cursor();
    match ide::hover(&f.db, f.ws, file, at) {
        Some(h) => {
            out.push_str("----- NAME\n");
            out.push_str(&show_spans(f.text(file), &[h.span]));
            out.push_str("----- HOVER\n");
            out.push_str(&h.markdown);
        }
        None => out.push_str("----- NO HOVER\n"),
    }
    out
}

#[test]
fn field_shows_its_type_and_doc() {
    insta::assert_snapshot!(hover("segment us {\n  user.coun$0try == \"US\"\n}\n"));
}

#[test]
fn address_field_shows_its_type_and_the_ranges_operator_says_what_it_takes() {
    let source = "context request {\n  /// The caller's address.\n  ip: ip?\n}\n\nsegment office {\n  request.ip is set and request.$0ip in [\"10.0.0.0/8\"]\n}\n";
    insta::assert_snapshot!(hover(source));
    insta::assert_snapshot!(hover(&source.replace("$0ip in", "ip i$0n")));
}

#[test]
fn optional_field_says_so() {
    insta::assert_snapshot!(hover(
        "segment acme {\n  user.company is set and user.comp$0any == \"acme\"\n}\n"
    ));
}

#[test]
fn key_field_says_it_is_the_key() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  default false\n  rule => 5% by user.i$0d\n}\n"
    ));
}

#[test]
fn flag_in_a_prerequisite() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  default false\n  requires new-che$0ckout\n}\n"
    ));
}

#[test]
fn flag_with_variants_in_a_test() {
    insta::assert_snapshot!(hover("test \"t\" {\n  expect th$0eme == \"dark\"\n}\n"));
}

#[test]
fn segment_shows_its_condition() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  default false\n  rule when $0staff => true\n}\n"
    ));
}

#[test]
fn experiment_shows_variants_and_weights() {
    insta::assert_snapshot!(hover(
        "test \"t\" {\n  expect checkout-lay$0out variant one-page\n}\n"
    ));
}

#[test]
fn experiment_with_equal_weights() {
    insta::assert_snapshot!(hover(
        "experiment three$0-way: int {\n  unit user\n  variants {\n    a = 1\n    b = 2\n    c = 3\n  }\n  control a\n}\n"
    ));
}

#[test]
fn variant_in_an_expectation() {
    insta::assert_snapshot!(hover("test \"t\" {\n  expect theme variant da$0rk\n}\n"));
}

#[test]
fn enum_value_in_a_comparison() {
    insta::assert_snapshot!(hover("segment big {\n  user.plan == enter$0prise\n}\n"));
}

#[test]
fn context_shows_its_fields() {
    insta::assert_snapshot!(hover("segment prod {\n  en$0v.name == production\n}\n"));
}

#[test]
fn named_rule_in_an_expectation() {
    insta::assert_snapshot!(hover(
        "test \"t\" {\n  expect new-checkout rule lau$0nch\n}\n"
    ));
}

#[test]
fn nothing_on_a_literal() {
    insta::assert_snapshot!(hover("segment us {\n  user.country == \"U$0S\"\n}\n"));
}

#[test]
fn hover_on_a_name_inside_a_broken_item() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  default false\n  rule when $0staff and user. => true\n}\n"
    ));
}

#[test]
fn now_moved_by_a_duration_says_how_far() {
    insta::assert_snapshot!(hover(
        "segment recent {\n  user.created_at > no$0w - 30d\n}\n"
    ));
}

#[test]
fn flag_says_it_is_client_visible_and_where_it_is_on() {
    insta::assert_snapshot!(hover(
        "flag bulk-export: bool {\n  kind release\n  client\n  enabled when env.name != production\n  default false\n}\n\nflag f: bool {\n  kind release\n  default false\n  requires bulk-ex$0port\n}\n"
    ));
}

#[test]
fn the_duration_of_now_plus_shows_the_whole_operand() {
    insta::assert_snapshot!(hover("segment soon {\n  user.created_at < now + 1$0h\n}\n"));
}

#[test]
fn an_operator_says_what_it_does() {
    insta::assert_snapshot!(hover(
        "segment staff {\n  user.email iends$0_with \"@shop.example\"\n}\n"
    ));
}

#[test]
fn iequals_says_it_ignores_case() {
    insta::assert_snapshot!(hover(
        "segment staff {\n  user.email iequ$0als \"Ana@Shop.Example\"\n}\n"
    ));
}

#[test]
fn not_iin_reads_as_one_operator() {
    insta::assert_snapshot!(hover(
        "segment away {\n  user.email not ii$0n [\"a@b.example\"]\n}\n"
    ));
}

#[test]
fn contains_any_reads_as_one_operator() {
    insta::assert_snapshot!(hover(
        "segment admins {\n  user.roles contains a$0ny [\"admin\", \"owner\"]\n}\n"
    ));
}

#[test]
fn a_segment_in_a_switch_is_a_reference() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  enabled when $0paying\n  default false\n}\n"
    ));
}

#[test]
fn staged_rule_lists_when_each_stage_starts_from_durations_or_end_times() {
    insta::assert_snapshot!(hover(
        "flag f: bool {\n  kind release\n  default false\n  rule ra$0mp: from 2026-12-10T09:00:00Z => 1% for 1h, 5% until 2026-12-14T09:00:00Z, 100% by user.id\n}\n"
    ));
}
