// A server component: each request evaluates the shopper's client flags
// with one bulk OFREP call (`evaluateForRequest`) and hands the bootstrap to
// `VexilProvider` (a client module), so the server renders the right
// variant and the browser hydrates the same one, then follows changes live.
//
// Environment: VEXIL_URL (the flag server as this process reaches it),
// VEXIL_PUBLIC_URL (as the browser reaches it; default VEXIL_URL),
// VEXIL_CLIENT_KEY (a `client` key).
import { VexilProvider } from "@vexil/react";
import { evaluateForRequest } from "@vexil/react/server";
import type { ReactNode } from "react";

import { Checkout } from "./checkout";
import { vexilContext } from "./flags";

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
  const bootstrap = await evaluateForRequest({ url: flagServer, clientKey, context });
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
