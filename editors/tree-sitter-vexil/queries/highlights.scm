; Syntax colours for Vexil (`.flag`).
;
; Capture names follow Helix's theme scopes; nvim-treesitter falls back along
; the dots (`@constant.numeric` is coloured as `@constant`). Every node gets
; at most one capture, so the result does not depend on whether an editor
; lets the first or the last matching pattern win.

; ------------------------------------------------------------ comments

(comment) @comment
(doc_comment) @comment.block.documentation

; ------------------------------------------------------------ keywords

[
  "context"
  "segment"
  "flag"
  "experiment"
  "test"
] @keyword.storage.type

(key_marker) @keyword.storage.modifier

(client_property) @keyword

[
  "kind"
  "owner"
  "tags"
  "expires"
  "default"
  "enabled"
  "salt"
  "requires"
  "variants"
  "rule"
  "unit"
  "layer"
  "traffic"
  "audience"
  "start"
  "end"
  "control"
  "metrics"
  "planning"
  "within"
  "threshold"
  "expect"
  "variant"
  "reason"
  "error"
  "stage"
  "guard"
  "must"
  "min"
  "sample"
  "per"
  "split"
  "by"
  "for"
] @keyword

(test_now "now" @keyword)

[
  "when"
  "from"
  "until"
] @keyword.control

(metric_role) @keyword.storage.modifier
(metric_goal) @keyword

[
  "and"
  "or"
  "not"
  "in"
  "is"
  "set"
  "starts_with"
  "ends_with"
  "contains"
  "matches"
  "istarts_with"
  "iends_with"
  "icontains"
  "imatches"
  "iequals"
  "iin"
] @keyword.operator

; ------------------------------------------------------------ types

(primitive_type) @type.builtin
(value_type) @type.builtin

[
  "list"
  "enum"
] @type.builtin

; ------------------------------------------------------------ declarations and names

(context_declaration name: (identifier) @type)
(field_declaration name: (identifier) @variable.other.member)
(enum_type member: (identifier) @type.enum.variant)

(segment_declaration name: (identifier) @function)
(flag_declaration name: (identifier) @constant)
(experiment_declaration name: (identifier) @constant)
(variant name: (identifier) @type.enum.variant)
(rule_property name: (identifier) @label)

(kind_property kind: (identifier) @constant.builtin)
(requires_property flag: (identifier) @constant)
(layer_property layer: (identifier) @namespace)
(control_property variant: (identifier) @type.enum.variant)

(metric name: (identifier) @label)
(metric function: (identifier) @function.builtin)
(guard name: (identifier) @label)
(guard function: (identifier) @function.builtin)
(guard action: (identifier) @constant.builtin)
(planning_entry name: (identifier) @variable.parameter)

(path context: (identifier) @variable)
(path field: (identifier) @variable.other.member)
(unit context: (identifier) @variable)
(unit field: (identifier) @variable.other.member)

(context_value context: (identifier) @variable)
(field_value field: (identifier) @variable.other.member)
(test_expect flag: (identifier) @constant)
(test_expect reason: (identifier) @constant.builtin)
(test_expect error: (identifier) @constant.builtin)
(test_expect rule: (identifier) @label)
(test_expect variant: (identifier) @type.enum.variant)


; A bare name where a condition stands is a segment.
(segment_declaration condition: (identifier) @function)
(rule_property condition: (identifier) @function)
(audience_property condition: (identifier) @function)
(and_expression left: (identifier) @function)
(and_expression right: (identifier) @function)
(or_expression left: (identifier) @function)
(or_expression right: (identifier) @function)
(not_expression operand: (identifier) @function)
(parenthesized_expression (identifier) @function)

; A bare name compared or listed is an enum value; one served is a variant.
(comparison left: (identifier) @type.enum.variant)
(comparison right: (identifier) @type.enum.variant)
(membership left: (identifier) @type.enum.variant)
(membership right: (identifier) @type.enum.variant)
(list (identifier) @type.enum.variant)
(field_value value: (identifier) @type.enum.variant)
(default_property value: (identifier) @type.enum.variant)
(requires_property value: (identifier) @type.enum.variant)
(rule_property result: (identifier) @type.enum.variant)
(rollout value: (identifier) @type.enum.variant)
(split_arm value: (identifier) @type.enum.variant)
(test_expect value: (identifier) @type.enum.variant)

; ------------------------------------------------------------ literals

(string) @string
(escape_sequence) @constant.character.escape

[
  (number)
  (percentage)
  (duration)
  (semver)
  (date)
  (timestamp)
] @constant.numeric

(boolean) @constant.builtin.boolean
(null) @constant.builtin
(now) @variable.builtin

; ------------------------------------------------------------ operators and punctuation

[
  "=="
  "!="
  "<="
  ">="
  "="
  "=>"
] @operator

(comparison ["<" ">"] @operator)
(relative_time ["-" "+"] @operator)
(list_comparison ["any" "all"] @keyword.operator)
(optional_marker) @operator

[
  "{"
  "}"
  "["
  "]"
  "("
  ")"
] @punctuation.bracket

(list_type ["<" ">"] @punctuation.bracket)

[
  ","
  ":"
  "."
] @punctuation.delimiter
