// A plain Node HTTP server rendering the storefront with react-dom/server:
// one bulk evaluation per request (evaluateForRequest), serialised into the
// page (bootstrapScript), and the bundled browser code (dist/client.js).
//
// Environment: VEXIL_URL (the flag server as this process reaches it),
// VEXIL_PUBLIC_URL (as the browser reaches it; default VEXIL_URL),
// VEXIL_CLIENT_KEY (a `client` key), PORT (default 0: any free port),
// HOST (default 127.0.0.1). Prints the URL it listens on.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { VexilProvider } from "@vexil/react";
import { bootstrapScript, evaluateForRequest } from "@vexil/react/server";
import { renderToString } from "react-dom/server";

import { App } from "./App.js";
import { contextFor, shopperById } from "./shoppers.js";

const here = dirname(fileURLToPath(import.meta.url));
const flagServer = process.env.VEXIL_URL ?? "http://127.0.0.1:8080";
const publicUrl = process.env.VEXIL_PUBLIC_URL ?? flagServer;
const clientKey = process.env.VEXIL_CLIENT_KEY || undefined;
const clientJs = await readFile(join(here, "client.js"));

function json(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/client.js") {
    res.writeHead(200, { "Content-Type": "text/javascript" });
    res.end(clientJs);
    return;
  }
  if (url.pathname !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
    return;
  }
  const shopper = shopperById(url.searchParams.get("user"));
  const context = contextFor(shopper);
  const bootstrap = await evaluateForRequest({ url: flagServer, clientKey, context });
  if (bootstrap.error) console.error(`rendering with defaults: ${bootstrap.error}`);
  const html = renderToString(
    <VexilProvider url={publicUrl} clientKey={clientKey} context={context} bootstrap={bootstrap}>
      <App shopper={shopper} />
    </VexilProvider>,
  );
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Vexil Shop</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}.banner{padding:.5rem;border-radius:4px;background:#def}.banner.warning{background:#fd8}</style>
</head>
<body>
<div id="root">${html}</div>
${bootstrapScript(bootstrap)}
<script id="config" type="application/json">${json({ url: publicUrl, clientKey, shopper: shopper.id })}</script>
<script type="module" src="/client.js"></script>
</body>
</html>
`);
});

const port = Number(process.env.PORT ?? 0);
server.listen(port, process.env.HOST ?? "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`http://${address.address}:${address.port}/`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
