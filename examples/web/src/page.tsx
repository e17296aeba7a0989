// The storefront's page, as the server writes it: the React tree rendered
// to a string from a request's bootstrap, then the HTML around it with the
// bootstrap serialised into it. Shared by the server (src/server.tsx) and
// the SSR benchmark (bench/web), so the benchmark times this very path.
import { type Bootstrap, type EvaluationContext, VexilProvider } from "@vexil/react";
import { renderToString } from "react-dom/server";

import { App, type Shopper } from "./App.js";

export type PageConfig = {
  /** The flag server as the browser reaches it. */
  publicUrl: string;
  clientKey?: string;
  shopper: Shopper;
  context: EvaluationContext;
};

/** The React tree rendered on the server, every hook answering from `bootstrap`. */
export function renderApp(config: PageConfig, bootstrap: Bootstrap): string {
  return renderToString(
    <VexilProvider url={config.publicUrl} clientKey={config.clientKey} context={config.context} bootstrap={bootstrap}>
      <App shopper={config.shopper} />
    </VexilProvider>,
  );
}

function json(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/**
 * The whole document around the rendered tree. `bootstrapHtml` is
 * `bootstrapScript(bootstrap)`, what the browser hydrates from (empty in
 * the benchmark's page without flags).
 */
export function pageHtml(config: PageConfig, appHtml: string, bootstrapHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Vexil Shop</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}.banner{padding:.5rem;border-radius:4px;background:#def}.banner.warning{background:#fd8}</style>
</head>
<body>
<div id="root">${appHtml}</div>
${bootstrapHtml}
<script id="config" type="application/json">${json({ url: config.publicUrl, clientKey: config.clientKey, shopper: config.shopper.id })}</script>
<script type="module" src="/client.js"></script>
</body>
</html>
`;
}
