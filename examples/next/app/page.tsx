// A server component: each request evaluates the shopper's client flags
// with one bulk OFREP call (`evaluateForRequest`) and hands the bootstrap to
// `VexilProvider` (a client module), so the server renders the right
// variant and the browser hydrates the same one, then follows changes live.
//
// With VEXIL_SERVER_KEY, the flags are evaluated in this process instead
// (`@vexil/node` following the flag server with that `server` key, its
// overrides included; `evaluateInProcess`): the same bootstrap, no request
// to the flag server on the page's path.
//
// Environment: VEXIL_URL (the flag server as this process reaches it),
// VEXIL_PUBLIC_URL (as the browser reaches it; default VEXIL_URL),
// VEXIL_CLIENT_KEY (a `client` key), VEXIL_SERVER_KEY (optional).
import type { Flags } from "@vexil/node";
import { type EvaluationContext, VexilProvider } from "@vexil/react";
import { type Bootstrap, evaluateForRequest, evaluateInProcess } from "@vexil/react/server";
import type { ReactNode } from "react";

import { Checkout } from "./checkout";
import { vexilContext } from "./flags";

/**
 * The flag server followed in this process (with VEXIL_SERVER_KEY), once
 * per server process. The addon is loaded by Node at run time (a native
 * module is never bundled).
 */
let inProcess: Promise<Flags> | undefined;
function flagsInProcess(flagServer: string): Promise<Flags> | undefined {
  const key = process.env.VEXIL_SERVER_KEY;
  if (key && !inProcess) {
    inProcess = import(/* turbopackIgnore: true */ "@vexil/node").then((m: typeof import("@vexil/node")) =>
      m.Flags.follow({ server: flagServer, key }),
    );
  }
  return inProcess;
}

async function bootstrapFor(context: EvaluationContext, flagServer: string, clientKey?: string): Promise<Bootstrap> {
  const flags = await flagsInProcess(flagServer);
  return flags ? evaluateInProcess(flags, context) : evaluateForRequest({ url: flagServer, clientKey, context });
}

// Flags are per request: never prerendered.
export const dynamic = "force-dynamic";

/** Who is shopping (a real app reads its session; here `?user=`). */
const SHOPPERS: Record<string, { name: string; country: string }> = {
  "u-5003": { name: "Ann", country: "US" },
  "u-5008": { name: "Ben", country: "CA" },
};

export default async function Page({ searchParams }: { searchParams: Promise<{ user?: string }> }): Promise<ReactNode> {
  const { user } = await searchParams;
  const id = user && user in SHOPPERS ? user : "u-5003";
  const shopper = SHOPPERS[id]!;
  const context = vexilContext({
    user: { id, email: `${shopper.name.toLowerCase()}@example.com`, roles: [], orders: 2, tier: "bronze" },
    location: { country: shopper.country },
    env: { name: "staging", region: "eu-west-1" },
    device: { platform: "web", os_version: "14.0.0" },
  });
  const flagServer = process.env.VEXIL_URL ?? "http://127.0.0.1:8080";
  const clientKey = process.env.VEXIL_CLIENT_KEY || undefined;
  const bootstrap = await bootstrapFor(context, flagServer, clientKey);
  if (bootstrap.error) console.error(`rendering with defaults: ${bootstrap.error}`);
  return (
    <VexilProvider url={process.env.VEXIL_PUBLIC_URL ?? flagServer} clientKey={clientKey} context={context} bootstrap={bootstrap}>
      <h1>Vexil Shop</h1>
      <p id="shopper">
        {shopper.name} ({id}, {shopper.country})
      </p>
      <Checkout />
    </VexilProvider>
  );
}
