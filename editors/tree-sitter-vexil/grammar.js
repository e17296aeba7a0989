/**
 * @file Tree-sitter grammar for Vexil, the feature-flag language (`.flag`).
 *
 * The authoritative grammar is `grammar/src/vexil.pest`; this one follows it
 * rule for rule, but is meant for editors (syntax colours, structure), not
 * for checking: like the pest grammar, literal shapes are lax and the
 * property lists of flags and experiments are shared. It accepts two things
 * that `vexil check` reports as syntax errors (E0001): a reserved word
 * wherever its keyword cannot stand (`flag split: bool`), and an unknown
 * escape in a string.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  or: 1,
  and: 2,
  not: 3,
};

/**
 * One or more `rule` separated by commas, with an optional trailing comma.
 *
 * @param {RuleOrLiteral} rule
 */
function commaSep1(rule) {
  return seq(rule, repeat(seq(',', rule)), optional(','));
}

/**
 * Zero or more `rule` separated by commas, with an optional trailing comma.
 *
 * @param {RuleOrLiteral} rule
 */
function commaSep(rule) {
  return optional(commaSep1(rule));
}

const DIGITS = /[0-9]+/;

module.exports = grammar({
  name: 'vexil',

  // A UTF-8 byte-order mark (U+FEFF) is skipped like white space, as
  // `vexil` skips one at the start of a file (here anywhere: a highlighter
  // need not refuse what the compiler reports).
  extras: $ => [/\s/, /\uFEFF/, $.comment, $.doc_comment],

  // Keywords are contextual, as in the pest grammar: `kind`, `rule` or
  // `flag` are names wherever a keyword cannot stand.
  word: $ => $.identifier,

  // `1% for 1h, ..`: `1% for` may start `VALUE for` (a rollout serving a
  // value) or a stage; the parser tries both and keeps the one that parses.
  conflicts: $ => [[$.stage, $._literal]],

  supertypes: $ => [$._expression, $._value, $._literal],

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice(
      $.context_declaration,
      $.segment_declaration,
      $.flag_declaration,
      $.experiment_declaration,
      $.test_declaration,
    ),

    // ------------------------------------------------------------ names

    // Letters, digits, `_` and inner `-` (`new-checkout`).
    identifier: _ => /[A-Za-z_]([A-Za-z0-9_]|-[A-Za-z0-9_])*/,

    // ------------------------------------------------------------ contexts

    context_declaration: $ => seq(
      'context',
      field('name', $.identifier),
      '{',
      repeat($.field_declaration),
      '}',
    ),

    field_declaration: $ => seq(
      optional(field('key', $.key_marker)),
      field('name', $._field_name),
      ':',
      field('type', $.type),
      optional(','),
    ),

    key_marker: _ => 'key',

    // A field may be called `key` (`key: string`, `key key: string`).
    _field_name: $ => choice($.identifier, alias('key', $.identifier)),

    type: $ => seq(
      choice($.primitive_type, $.list_type, $.enum_type),
      optional(field('optional', $.optional_marker)),
    ),

    optional_marker: _ => '?',

    primitive_type: _ => choice('bool', 'int', 'float', 'string', 'semver', 'timestamp', 'ip'),

    list_type: $ => seq('list', '<', field('element', $.type), '>'),

    enum_type: $ => seq('enum', '{', commaSep(field('member', $.identifier)), '}'),

    // ------------------------------------------------------------ segments

    segment_declaration: $ => seq(
      'segment',
      field('name', $.identifier),
      '{',
      field('condition', $._expression),
      '}',
    ),

    // ------------------------------------------------------------ flags and experiments

    flag_declaration: $ => seq(
      'flag',
      field('name', $.identifier),
      ':',
      field('type', $.value_type),
      $.property_block,
    ),

    experiment_declaration: $ => seq(
      'experiment',
      field('name', $.identifier),
      ':',
      field('type', $.value_type),
      $.property_block,
    ),

    value_type: _ => choice('bool', 'string', 'int', 'float', 'json'),

    // Flags and experiments share one property grammar; the checker says
    // which properties belong to which.
    property_block: $ => seq('{', repeat($._property), '}'),

    _property: $ => choice(
      $.kind_property,
      $.owner_property,
      $.tags_property,
      $.expires_property,
      $.default_property,
      $.enabled_property,
      $.client_property,
      $.salt_property,
      $.requires_property,
      $.variants_property,
      $.rule_property,
      $.unit_property,
      $.layer_property,
      $.traffic_property,
      $.audience_property,
      $.start_property,
      $.end_property,
      $.control_property,
      $.metrics_property,
      $.planning_property,
    ),

    kind_property: $ => seq('kind', field('kind', $.identifier)),
    owner_property: $ => seq('owner', field('owner', $.string)),
    tags_property: $ => seq('tags', '[', commaSep(field('tag', $.string)), ']'),
    expires_property: $ => seq('expires', field('date', $._time_literal)),
    default_property: $ => seq('default', field('value', $._value)),
    // `enabled false`, or `enabled when CONDITION` (on only where it holds).
    enabled_property: $ => seq('enabled', choice(
      field('value', $.boolean),
      seq('when', field('condition', $._expression)),
    )),
    // Client-side keys may evaluate the flag.
    client_property: _ => 'client',
    salt_property: $ => seq('salt', field('salt', $.string)),

    requires_property: $ => seq(
      'requires',
      field('flag', $.identifier),
      optional(seq(field('operator', choice('==', '!=')), field('value', $._value))),
    ),

    variants_property: $ => seq('variants', '{', repeat($.variant), '}'),

    variant: $ => seq(
      field('name', $.identifier),
      '=',
      field('value', $._value),
      optional(field('weight', $.percentage)),
      optional(','),
    ),

    rule_property: $ => seq(
      'rule',
      optional(seq(field('name', $.identifier), ':')),
      optional(seq('from', field('from', $._time_literal))),
      optional(seq('until', field('until', $._time_literal))),
      optional(seq('when', field('condition', $._expression))),
      '=>',
      field('result', choice($.split, $.rollout, $._value)),
      repeat(field('guard', choice($.guard, $.min_sample))),
    ),

    // A staged rollout's guardrails, after its rule:
    // `guard errors: conversion(error) must not increase by 10% => rollback`
    guard: $ => seq(
      'guard',
      field('name', $.identifier),
      ':',
      field('function', $.identifier),
      '(',
      field('event', $._event_name),
      optional(seq(',', field('event', $._event_name))),
      ')',
      optional(seq('within', field('window', $._literal))),
      'must',
      'not',
      field('harmful', $.metric_goal),
      'by',
      field('threshold', $.percentage),
      optional(seq('=>', field('action', $.identifier))),
    ),

    // `min sample 1000 per stage`
    min_sample: $ => seq('min', 'sample', field('units', $.number), 'per', 'stage'),

    // `=> 25% by user.id`, `=> dark for 25% by user.id salt "s"`, and
    // staged: `=> 1% for 1h, 5% for 1d, 100% by user.id`
    rollout: $ => prec.right(seq(
      optional(seq(field('value', $._value), 'for')),
      choice(field('share', $.percentage), field('stages', $.stages)),
      'by',
      field('unit', $.unit),
      optional($.salt_clause),
    )),

    // The stages of a staged rollout: every one but the last lasts a
    // duration or ends at a time (any literal parses, as in vexil.pest).
    stages: $ => seq($.stage, repeat1(seq(',', $.stage))),

    stage: $ => seq(
      field('share', $.percentage),
      optional(choice(
        seq('for', field('duration', $._literal)),
        seq('until', field('until', $._literal)),
      )),
    ),

    // `=> split by user.id { classic 50%, dark 50% }`
    split: $ => seq(
      'split',
      'by',
      field('unit', $.unit),
      optional($.salt_clause),
      '{',
      commaSep1($.split_arm),
      '}',
    ),

    split_arm: $ => seq(field('value', $._value), field('weight', $.percentage)),

    salt_clause: $ => seq('salt', field('salt', $.string)),

    // `user` (the context's key) or `user.id`
    unit: $ => seq(
      field('context', $.identifier),
      optional(seq('.', field('field', $.identifier))),
    ),

    unit_property: $ => seq('unit', field('unit', $.unit)),
    layer_property: $ => seq('layer', field('layer', $.identifier)),
    traffic_property: $ => seq('traffic', field('share', $.percentage)),
    audience_property: $ => seq('audience', field('condition', $._expression)),
    start_property: $ => seq('start', field('time', $._time_literal)),
    end_property: $ => seq('end', field('time', $._time_literal)),
    control_property: $ => seq('control', field('variant', $.identifier)),

    metrics_property: $ => seq('metrics', '{', repeat($.metric), '}'),

    // `primary conversion: conversion(purchase) within 7d increase threshold 5%`
    metric: $ => seq(
      field('role', $.metric_role),
      field('name', $.identifier),
      ':',
      field('function', $.identifier),
      '(',
      field('event', $._event_name),
      optional(seq(',', field('event', $._event_name))),
      ')',
      optional(seq('within', field('window', $._literal))),
      field('goal', $.metric_goal),
      optional(seq('threshold', field('threshold', $.percentage))),
      optional(','),
    ),

    metric_role: _ => choice('primary', 'secondary', 'guardrail'),
    metric_goal: _ => choice('increase', 'decrease'),
    _event_name: $ => choice($.identifier, $.string),

    planning_property: $ => seq('planning', '{', repeat($.planning_entry), '}'),

    planning_entry: $ => seq(
      field('name', $.identifier),
      field('value', choice($.percentage, $.number)),
      optional(','),
    ),

    // ------------------------------------------------------------ tests

    test_declaration: $ => seq(
      'test',
      field('name', $.string),
      '{',
      repeat(choice($.test_context, $.test_now, $.test_expect)),
      '}',
    ),

    test_context: $ => seq('context', '{', repeat($.context_value), '}'),

    // `user { id: "u-1", plan: pro }`
    context_value: $ => seq(
      field('context', $.identifier),
      '{',
      repeat(seq($.field_value, optional(','))),
      '}',
    ),

    field_value: $ => seq(
      field('field', $.identifier),
      ':',
      field('value', choice($.list, $._literal, $.identifier)),
    ),

    test_now: $ => seq('now', field('time', $._time_literal)),

    test_expect: $ => seq(
      'expect',
      field('flag', $.identifier),
      choice(
        seq(field('operator', '=='), field('value', $._value)),
        seq(field('aspect', 'variant'), field('variant', $.identifier)),
        seq(field('aspect', 'reason'), field('reason', $.identifier)),
        seq(field('aspect', 'rule'), field('rule', choice($.identifier, $.number))),
        seq(field('aspect', 'error'), field('error', $.identifier)),
        seq(field('aspect', 'stage'), field('stage', choice($.percentage, $.number))),
      ),
    ),

    // ------------------------------------------------------------ expressions

    // Precedence, loosest first: or, and, not, then the predicates.
    _expression: $ => choice(
      $.or_expression,
      $.and_expression,
      $.not_expression,
      $.parenthesized_expression,
      $.comparison,
      $.membership,
      $.list_comparison,
      $.presence,
      $._operand,
    ),

    or_expression: $ => prec.left(PREC.or, seq(
      field('left', $._expression),
      'or',
      field('right', $._expression),
    )),

    and_expression: $ => prec.left(PREC.and, seq(
      field('left', $._expression),
      'and',
      field('right', $._expression),
    )),

    not_expression: $ => prec(PREC.not, seq('not', field('operand', $._expression))),

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    // `x == y`, `user.plan >= pro`, `user.email iends_with "@shop.example"`
    comparison: $ => seq(
      field('left', $._operand),
      field('operator', choice(
        '==', '!=', '<=', '>=', '<', '>',
        'starts_with', 'ends_with', 'contains', 'matches',
        'istarts_with', 'iends_with', 'icontains', 'imatches', 'iequals',
      )),
      field('right', $._operand),
    ),

    // `x in [..]`, `x not in [..]`, `"admin" in user.roles`, `x iin [..]`
    membership: $ => seq(
      field('left', $._operand),
      optional(field('negated', 'not')),
      choice('in', 'iin'),
      field('right', choice($.list, $._operand)),
    ),

    // `user.roles contains any ["a", "b"]`, `user.roles contains all [..]`
    list_comparison: $ => seq(
      field('left', $._operand),
      'contains',
      field('quantifier', choice('any', 'all')),
      field('right', $.list),
    ),

    // `user.company is set`, `user.company is not set`
    presence: $ => seq(
      field('operand', $._operand),
      'is',
      optional(field('negated', 'not')),
      'set',
    ),

    _operand: $ => choice($.now, $.relative_time, $._literal, $.path, $.identifier),

    now: _ => 'now',

    // `now - 30d`, `now + 1h`: the evaluation time moved by a duration (any
    // literal, as in the pest grammar: the checker says `now - 30` lacks a unit).
    relative_time: $ => seq($.now, field('sign', choice('-', '+')), field('amount', $._literal)),

    // `user.country`; after the dot any word is a field name (`message.from`).
    path: $ => seq(field('context', $.identifier), '.', field('field', $.identifier)),

    list: $ => seq('[', commaSep(choice($._literal, $.identifier)), ']'),

    // ------------------------------------------------------------ literals

    // What flags serve: scalars, JSON, or a variant by name.
    _value: $ => choice($.json_object, $.json_array, $._literal, $.identifier),

    _literal: $ => choice(
      $.boolean,
      $.timestamp,
      $.date,
      $.semver,
      $.duration,
      $.percentage,
      $.number,
      $.string,
    ),

    _time_literal: $ => choice($.timestamp, $.date, $.string),

    boolean: _ => choice('true', 'false'),

    number: _ => token(seq(optional('-'), DIGITS, optional(seq('.', DIGITS)), optional(seq(/[eE]/, optional(/[+-]/), DIGITS)))),

    percentage: _ => token(seq(DIGITS, optional(seq('.', DIGITS)), '%')),

    duration: _ => token(seq(DIGITS, /[wdhms]/)),

    // Shapes are lax on purpose, as in the pest grammar: the checker says
    // what is wrong with `2026-13-45`.
    date: _ => token(seq(/[0-9]{4}/, '-', /[0-9]{1,2}/, '-', /[0-9]{1,2}/)),

    timestamp: _ => token(seq(/[0-9]{4}/, '-', /[0-9]{1,2}/, '-', /[0-9]{1,2}/, /[Tt]/, /[A-Za-z0-9:.+-]+/)),

    semver: _ => token(seq(
      DIGITS, '.', DIGITS, '.', DIGITS,
      optional(seq('-', /[A-Za-z0-9-]+/, repeat(seq('.', /[A-Za-z0-9-]+/)))),
      optional(seq('+', /[A-Za-z0-9-]+/, repeat(seq('.', /[A-Za-z0-9-]+/)))),
    )),

    string: $ => seq(
      '"',
      repeat(choice(
        alias(token.immediate(prec(1, /[^"\\\n]+/)), $.string_content),
        $.escape_sequence,
      )),
      token.immediate('"'),
    ),

    // `\n \t \r \\ \" \0 \u{..}`; the checker rejects any other escape.
    escape_sequence: _ => token.immediate(seq('\\', choice(/u\{[0-9A-Fa-f]*\}/, /[^\n]/))),

    json_object: $ => seq('{', commaSep($.json_pair), '}'),

    json_pair: $ => seq(field('key', $.string), ':', field('value', $._json_value)),

    json_array: $ => seq('[', commaSep($._json_value), ']'),

    _json_value: $ => choice($.json_object, $.json_array, $.null, $.boolean, $.number, $.string),

    null: _ => 'null',

    // ------------------------------------------------------------ comments

    // `///` documents the declaration below; `////` is a plain comment.
    // The two never match the same text, so no precedence is needed.
    doc_comment: _ => token(/\/\/\/([^\/\n][^\n]*)?/),

    comment: _ => token(choice(/\/\/([^\/\n][^\n]*)?/, /\/\/\/\/[^\n]*/)),
  },
});
