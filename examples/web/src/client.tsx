// The browser half: hydrate what the server rendered, from the same
// bootstrap, so the first client render matches it exactly.
import { readBootstrap, VexilProvider } from "@vexil/react";
import { useEffect } from "react";
import { hydrateRoot } from "react-dom/client";

import { App } from "./App.js";
import { shopperById } from "./shoppers.js";

const root = document.getElementById("root");
const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as {
  url: string;
  clientKey?: string;
  shopper: string;
};
const bootstrap = readBootstrap();

/** Marks the page hydrated (on <body>, outside the rendered tree), for the browser tests. */
function Hydrated(): null {
  useEffect(() => {
    document.body.dataset.hydrated = "true";
  }, []);
  return null;
}

if (root && bootstrap) {
  const shopper = shopperById(config.shopper);
  hydrateRoot(
    root,
    <VexilProvider url={config.url} clientKey={config.clientKey} context={bootstrap.context} bootstrap={bootstrap}>
      <App shopper={shopper} />
      <Hydrated />
    </VexilProvider>,
    {
      onRecoverableError: (error) => console.error("hydration:", error),
    },
  );
}
