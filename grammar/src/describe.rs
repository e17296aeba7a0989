//! Grammar rules in words, for "expected ..." in syntax errors.

use crate::parse::GrammarRule as Rule;

/// The words for "an item starts here", which the compiler also reads to
/// suggest the nearest item keyword for a misspelt one.
pub const AN_ITEM: &str = "`context`, `segment`, `flag`, `experiment` or `test`";

/// What the parser expected, in words, most useful first, without repeats.
pub fn describe_expected(rules: &[Rule]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Where an item may start, `context` is one of the item keywords, not a
    // test's `context` block: say it once.
    let at_item = rules.iter().any(|r| describe(*r) == AN_ITEM);
    let property_rules = rules.iter().filter(|r| is_property(**r)).count();
    for rule in rules {
        let words = if is_property(*rule) && property_rules > 3 {
            "a property such as `kind`, `owner`, `default`, `variants` or `rule`".to_string()
        } else {
            describe(*rule).to_string()
        };
        if at_item && words == "`context`" {
            continue;
        }
        if !out.contains(&words) {
            out.push(words);
        }
    }
    out
}

fn is_property(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kind_prop
            | Rule::owner_prop
            | Rule::tags_prop
            | Rule::expires_prop
            | Rule::default_prop
            | Rule::enabled_prop
            | Rule::client_prop
            | Rule::salt_prop
            | Rule::requires_prop
            | Rule::variants_prop
            | Rule::rule_prop
            | Rule::unit_prop
            | Rule::layer_prop
            | Rule::traffic_prop
            | Rule::audience_prop
            | Rule::start_prop
            | Rule::end_prop
            | Rule::control_prop
            | Rule::metrics_prop
            | Rule::planning_prop
            | Rule::kw_kind
            | Rule::kw_owner
            | Rule::kw_tags
            | Rule::kw_expires
            | Rule::kw_default
            | Rule::kw_enabled
            | Rule::kw_client
            | Rule::kw_salt
            | Rule::kw_requires
            | Rule::kw_variants
            | Rule::kw_rule
            | Rule::kw_unit
            | Rule::kw_layer
            | Rule::kw_traffic
            | Rule::kw_audience
            | Rule::kw_start
            | Rule::kw_end
            | Rule::kw_control
            | Rule::kw_metrics
            | Rule::kw_planning
    )
}

fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::ident => "a name",
        Rule::field_name => "a field name",
        Rule::string | Rule::string_inner => "a string",
        Rule::number | Rule::int => "a number",
        Rule::percent => "a percentage like `25%`",
        Rule::duration => "a duration like `7d`",
        Rule::date | Rule::timestamp => "a date or timestamp like `2026-12-01`",
        Rule::semver => "a version like `2.3.0`",
        Rule::boolean => "`true` or `false`",
        Rule::value => "a value",
        Rule::literal => "a literal",
        Rule::type_expr | Rule::prim_type | Rule::list_type | Rule::enum_type => {
            "a type (`bool`, `int`, `float`, `string`, `semver`, `timestamp`, `ip`, `enum {..}`, `list<..>`)"
        }
        Rule::value_type => "a value type (`bool`, `string`, `int`, `float` or `json`)",
        Rule::field_decl | Rule::key_marker => "a field like `country: string`",
        Rule::optional_mark => "`?`",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::predicate => "a condition",
        Rule::operand | Rule::path => "a field, a value or a segment",
        Rule::now_offset | Rule::offset_sign => "`now - DURATION` or `now + DURATION`",
        Rule::compare_op | Rule::compare_tail => "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
        Rule::string_op | Rule::string_tail => "a string operator such as `starts_with`",
        Rule::in_tail | Rule::kw_in => "`in`",
        Rule::kw_iin => "`iin`",
        Rule::presence_tail | Rule::kw_is => "`is set`",
        Rule::list_tail | Rule::list_op | Rule::kw_contains | Rule::list_quantifier => {
            "`contains any [..]` or `contains all [..]`"
        }
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not | Rule::not_in | Rule::negation => "`not`",
        Rule::kw_set => "`set`",
        Rule::paren_expr => "`(`",
        Rule::list_literal => "a list like `[\"a\", \"b\"]`",
        Rule::json_object => "a JSON object",
        Rule::json_value | Rule::json_array | Rule::json_null => "a JSON value",
        Rule::json_member => "a JSON member like `\"key\": 1`",
        Rule::rule_name => "a rule name",
        Rule::rule_from | Rule::kw_from => "`from`",
        Rule::rule_until | Rule::kw_until => "`until`",
        Rule::rule_when | Rule::kw_when => "`when`",
        Rule::rule_result => "a rule result (a value, a rollout like `25% by user.id`, or `split`)",
        Rule::rollout => "a rollout like `25% by user.id`",
        Rule::split | Rule::kw_split => "`split`",
        Rule::split_arm => "a split arm like `a 50%`",
        Rule::kw_for => "`for`",
        Rule::kw_by => "`by`",
        Rule::unit => "a bucketing unit like `user.id`",
        Rule::salt_clause => "`salt`",
        Rule::variant_decl => "a variant like `name = \"value\"`",
        Rule::requires_op => "`==` or `!=`",
        Rule::metric_decl | Rule::metric_role => "a metric like `primary conversion_rate: conversion(purchase) increase`",
        Rule::metric_kind | Rule::metric_fn => "`conversion(..)`, `mean(..)` or `ratio(.., ..)`",
        Rule::event_name => "an event name",
        Rule::metric_window | Rule::kw_within => "`within`",
        Rule::metric_goal => "`increase` or `decrease`",
        Rule::metric_threshold | Rule::kw_threshold => "`threshold`",
        Rule::planning_entry => "a planning entry like `baseline 3.2%`",
        Rule::rule_guard | Rule::guard_decl | Rule::kw_guard => {
            "a guardrail like `guard errors: conversion(error) must not increase by 10%`"
        }
        Rule::guard_sample | Rule::kw_min => "`min sample N per stage`",
        Rule::kw_must => "`must not`",
        Rule::guard_action => "`=> rollback`, `=> pause` or `=> notify`",
        Rule::kw_sample => "`sample`",
        Rule::kw_per => "`per`",
        Rule::test_context | Rule::kw_context => "`context`",
        Rule::context_value => "a context value like `user { id: \"u1\" }`",
        Rule::field_value => "a field value like `id: \"u1\"`",
        Rule::test_value => "a value",
        Rule::test_now | Rule::kw_now => "`now`",
        Rule::test_expect | Rule::kw_expect => "`expect`",
        Rule::expectation | Rule::expect_value => "`== value`, `variant`, `reason`, `rule` or `error`",
        Rule::expect_variant | Rule::kw_variant => "`variant`",
        Rule::expect_reason | Rule::kw_reason => "`reason`",
        Rule::expect_rule => "`rule`",
        Rule::expect_error | Rule::kw_error => "`error`",
        Rule::context_decl
        | Rule::segment_decl
        | Rule::flag_decl
        | Rule::experiment_decl
        | Rule::test_decl
        | Rule::item_keyword_tok
        | Rule::kw_segment
        | Rule::kw_flag
        | Rule::kw_experiment
        | Rule::kw_test => AN_ITEM,
        Rule::EOI => "end of file",
        _ => "something else",
    }
}
