// The server half on its own: serialisation that no value can break out of,
// and an unreachable flag server giving defaults instead of an exception.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";

import { bootstrapScript, evaluateForRequest } from "../dist/server.js";

test("no value can close the bootstrap's script element", () => {
  const hostile = "</script><script>alert(1)</script><!-- \u2028\u2029 & </SCRIPT >";
  const bootstrap = { context: { targetingKey: hostile }, flags: { banner: { value: { text: hostile }, variant: "x", reason: "STATIC" } } };
  const html = bootstrapScript(bootstrap);
  const open = '<script id="__vexil_bootstrap__" type="application/json">';
  assert.ok(html.startsWith(open));
  assert.ok(html.endsWith("</script>"));
  const body = html.slice(open.length, -"</script>".length);
  assert.doesNotMatch(body, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(body), bootstrap);
});

test("an unreachable flag server gives an empty bootstrap that says why", async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
  const context = { targetingKey: "u-1" };
  const bootstrap = await evaluateForRequest({ url: `http://127.0.0.1:${port}`, context, timeoutMs: 2000 });
  assert.deepEqual(bootstrap.flags, {});
  assert.deepEqual(bootstrap.context, context);
  assert.match(bootstrap.error, /could not be reached/);
});
