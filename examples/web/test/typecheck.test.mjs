// The generated hooks under `tsc --strict`: the storefront compiles, and a
// misspelt hook or a variant the experiment does not have does not.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(web, "node_modules/typescript/bin/tsc");

/** Type-checks `source` as a module beside the generated flags; tsc's exit status and output. */
function check(name, source) {
  const dir = join(web, "test/.typecheck", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "case.ts"), source);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ extends: "../../../tsconfig.json", include: ["case.ts"] }),
  );
  const r = spawnSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
  return { status: r.status, output: r.stdout + r.stderr };
}

test("the storefront and its generated hooks compile with --strict", () => {
  const r = spawnSync(process.execPath, [tsc, "-p", join(web, "tsconfig.json")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("correct uses of the hooks compile", () => {
  const r = check(
    "correct",
    `import { useCheckoutLayout, useNewCheckout, type CheckoutLayout } from "../../../src/flags.js";
export function read(): [boolean, CheckoutLayout] {
  const layout = useCheckoutLayout();
  if (layout === "one-page") return [useNewCheckout(), layout];
  return [false, "multi-page"];
}
`,
  );
  assert.equal(r.status, 0, r.output);
});

test("a misspelt hook fails the type check", () => {
  const r = check(
    "misspelt-hook",
    `import { useNewChekout } from "../../../src/flags.js";
export const on: boolean = useNewChekout();
`,
  );
  assert.notEqual(r.status, 0);
  assert.match(r.output, /useNewChekout/);
  assert.match(r.output, /TS2724|TS2305/, r.output);
});

test("a variant the experiment does not have fails the type check", () => {
  const r = check(
    "wrong-variant",
    `import { useCheckoutLayout, type CheckoutLayout } from "../../../src/flags.js";
export function twoPages(): boolean {
  return useCheckoutLayout() === "two-page";
}
export const fallback: CheckoutLayout = "single-page";
`,
  );
  assert.notEqual(r.status, 0);
  assert.match(r.output, /TS2367/, r.output); // the comparison with "two-page"
  assert.match(r.output, /TS2322.*"single-page"/, r.output);
});
