// A plain Node HTTP server rendering the storefront with react-dom/server
// (src/page.tsx): one bulk evaluation per request (evaluateForRequest),
// serialised into the page (bootstrapScript), and the bundled browser code
// (dist/client.js).
//
// Environment: VEXIL_URL (the flag server as this process reaches it),
// VEXIL_PUBLIC_URL (as the browser reaches it; default VEXIL_URL),
// VEXIL_CLIENT_KEY (a `client` key), PORT (default 0: any free port),
// HOST (default 127.0.0.1). Prints the URL it listens on.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { bootstrapScript, evaluateForRequest } from "@vexil/react/server";

import { pageHtml, renderApp } from "./page.js";
import { contextFor, shopperById } from "./shoppers.js";

const here = dirname(fileURLToPath(import.meta.url));
const flagServer = process.env.VEXIL_URL ?? "http://127.0.0.1:8080";
const publicUrl = process.env.VEXIL_PUBLIC_URL ?? flagServer;
const clientKey = process.env.VEXIL_CLIENT_KEY || undefined;
const clientJs = await readFile(join(here, "client.js"));

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
  const config = { publicUrl, clientKey, shopper, context };
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(pageHtml(config, renderApp(config, bootstrap), bootstrapScript(bootstrap)));
});

const port = Number(process.env.PORT ?? 0);
server.listen(port, process.env.HOST ?? "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`http://${address.address}:${address.port}/`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
