// Tokenizes Vexil samples with the TextMate grammar (the engine VS Code
// uses) and checks the scope of selected tokens. Run: `npm test`.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
const onigLib = oniguruma.loadWASM(wasm.buffer).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));

const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async (scopeName) => {
    if (scopeName !== "source.vexil") return null;
    const file = path.join(__dirname, "..", "syntaxes", "vexil.tmLanguage.json");
    return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
  },
});

/** Every token of `source` as {text, scopes}, line by line. */
function tokenize(grammar, source) {
  let state = vsctm.INITIAL;
  const out = [];
  for (const line of source.split("\n")) {
    const result = grammar.tokenizeLine(line, state);
    for (const t of result.tokens) {
      out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    state = result.ruleStack;
  }
  return out;
}

/** The innermost scope of the `nth` token whose text is `text`. */
function scopeOf(tokens, text, nth = 0) {
  const found = tokens.filter((t) => t.text === text);
  assert.ok(found.length > nth, `no token ${JSON.stringify(text)} (#${nth})`);
  return found[nth].scopes[found[nth].scopes.length - 1];
}

const SAMPLE = `/// A signed-in shopper.
context user {
  key id: string
  plan: enum { free, pro, enterprise }
  company: string?
  roles: list<string>
}

segment staff {
  user.email iends_with "@shop.example" or "admin" in user.roles
}

// The redesigned checkout.
flag new-checkout: bool {
  kind release
  owner "team-checkout"
  expires 2027-03-01
  default false
  requires payments-v2
  rule staff: when staff and not user.company is set => true
  rule launch: from 2026-12-01T09:00:00Z when user.app_version >= 2.3.0 => 25% by user.id salt "x\\n"
}

experiment layout: string {
  unit user.id
  traffic 40%
  variants {
    one-page = "one-page" 50%
    multi-page = "multi-page" 50%
  }
  control multi-page
  metrics {
    primary conversion: conversion(purchase) within 7d increase
  }
  planning {
    baseline 3.2%
  }
}

test "staff see it" {
  context {
    user { id: "u-1", plan: pro }
  }
  now 2026-12-05T10:00:00Z
  expect new-checkout reason TARGETING_MATCH
  expect layout variant one-page
}
`;

async function main() {
  const grammar = await registry.loadGrammar("source.vexil");
  const tokens = tokenize(grammar, SAMPLE);
  const expect = [
    ["/// A signed-in shopper.", 0, "comment.line.documentation.vexil"],
    ["// The redesigned checkout.", 0, "comment.line.double-slash.vexil"],
    ["context", 0, "storage.type.context.vexil"],
    ["user", 0, "entity.name.type.context.vexil"],
    ["key", 0, "storage.modifier.key.vexil"],
    ["id", 0, "variable.other.property.vexil"],
    ["string", 0, "storage.type.primitive.vexil"],
    ["enum", 0, "storage.type.vexil"],
    ["?", 0, "keyword.operator.optional.vexil"],
    ["list", 0, "storage.type.vexil"],
    ["segment", 0, "storage.type.segment.vexil"],
    ["staff", 0, "entity.name.function.segment.vexil"],
    ["user", 1, "variable.other.object.context.vexil"],
    ["email", 0, "variable.other.property.vexil"],
    ["iends_with", 0, "keyword.operator.string.vexil"],
    ["@shop.example", 0, "string.quoted.double.vexil"],
    ["or", 0, "keyword.operator.logical.vexil"],
    ["in", 0, "keyword.operator.word.vexil"],
    ["flag", 0, "storage.type.flag.vexil"],
    ["new-checkout", 0, "variable.other.constant.flag.vexil"],
    ["bool", 0, "storage.type.primitive.vexil"],
    ["kind", 0, "keyword.other.property.vexil"],
    ["release", 0, "constant.language.kind.vexil"],
    ["owner", 0, "keyword.other.property.vexil"],
    ["2027-03-01", 0, "constant.numeric.date.vexil"],
    ["false", 0, "constant.language.boolean.vexil"],
    ["requires", 0, "keyword.other.property.vexil"],
    ["rule", 0, "keyword.other.property.vexil"],
    ["staff", 1, "entity.name.label.rule.vexil"],
    ["when", 0, "keyword.control.vexil"],
    ["not", 0, "keyword.operator.logical.vexil"],
    ["is", 0, "keyword.operator.word.vexil"],
    ["set", 0, "keyword.operator.word.vexil"],
    ["=>", 0, "keyword.operator.arrow.vexil"],
    ["true", 0, "constant.language.boolean.vexil"],
    ["launch", 0, "entity.name.label.rule.vexil"],
    ["from", 0, "keyword.control.vexil"],
    ["2026-12-01T09:00:00Z", 0, "constant.numeric.timestamp.vexil"],
    [">=", 0, "keyword.operator.comparison.vexil"],
    ["2.3.0", 0, "constant.numeric.version.vexil"],
    ["25%", 0, "constant.numeric.percent.vexil"],
    ["by", 0, "keyword.control.vexil"],
    ["salt", 0, "keyword.control.vexil"],
    ["\\n", 0, "constant.character.escape.vexil"],
    ["experiment", 0, "storage.type.experiment.vexil"],
    ["layout", 0, "entity.name.class.experiment.vexil"],
    ["40%", 0, "constant.numeric.percent.vexil"],
    ["one-page", 0, "variable.other.enummember.vexil"],
    ["control", 0, "keyword.other.property.vexil"],
    ["primary", 0, "storage.modifier.role.vexil"],
    ["conversion", 1, "support.function.metric.vexil"],
    ["within", 0, "keyword.control.vexil"],
    ["7d", 0, "constant.numeric.duration.vexil"],
    ["increase", 0, "keyword.other.goal.vexil"],
    ["baseline", 0, "variable.parameter.planning.vexil"],
    ["test", 0, "storage.type.test.vexil"],
    ["now", 0, "keyword.other.test.vexil"],
    ["expect", 0, "keyword.other.test.vexil"],
    ["reason", 0, "keyword.other.test.vexil"],
    ["TARGETING_MATCH", 0, "constant.other.reason.vexil"],
    ["variant", 0, "keyword.other.test.vexil"],
  ];
  let failures = 0;
  for (const [text, nth, scope] of expect) {
    try {
      assert.equal(scopeOf(tokens, text, nth), scope, `scope of ${JSON.stringify(text)} #${nth}`);
    } catch (e) {
      failures += 1;
      console.error(`FAIL ${e.message}`);
    }
  }
  // An invalid escape is flagged, and an unterminated string ends at the line.
  const broken = tokenize(grammar, 'owner "a\\q\nkind release');
  assert.equal(scopeOf(broken, "\\q"), "invalid.illegal.escape.vexil");
  assert.equal(scopeOf(broken, "kind"), "keyword.other.property.vexil");
  if (failures > 0) {
    console.error(`${failures} of ${expect.length} scopes wrong`);
    process.exit(1);
  }
  console.log(`grammar: ${expect.length + 2} scopes as expected`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
