// The same checkout on the Pages Router: `getServerSideProps` evaluates the
// shopper's client flags for each request (one bulk OFREP call,
// `evaluateForRequest`) and the page renders `VexilProvider` with that
// bootstrap, so the server renders the right variant and the browser
// hydrates the same one, then follows changes live. The App Router's page
// (app/page.tsx) does the same in a server component.
//
// Environment: as app/page.tsx (VEXIL_URL, VEXIL_PUBLIC_URL,
// VEXIL_CLIENT_KEY).
import { type EvaluationContext, VexilProvider } from "@vexil/react";
import { type Bootstrap, evaluateForRequest } from "@vexil/react/server";
import type { GetServerSideProps } from "next";
import type { ReactNode } from "react";

import { Checkout } from "../app/checkout";
import { vexilContext } from "../app/flags";

type Props = {
  shopper: { id: string; name: string; country: string };
  context: EvaluationContext;
  bootstrap: Bootstrap;
  flagServer: string;
  clientKey: string | null;
};

/** Who is shopping (a real app reads its session; here `?user=`). */
const SHOPPERS: Record<string, { name: string; country: string }> = {
  "u-5003": { name: "Ann", country: "US" },
  "u-5008": { name: "Ben", country: "CA" },
};

export const getServerSideProps: GetServerSideProps<Props> = async ({ query }) => {
  const user = typeof query.user === "string" ? query.user : undefined;
  const id = user && user in SHOPPERS ? user : "u-5003";
  const shopper = { id, ...SHOPPERS[id]! };
  const context = vexilContext({
    user: { id, email: `${shopper.name.toLowerCase()}@example.com`, roles: [], orders: 2, tier: "bronze" },
    location: { country: shopper.country },
    env: { name: "staging", region: "eu-west-1" },
    device: { platform: "web", os_version: "14.0.0" },
  });
  const flagServer = process.env.VEXIL_URL ?? "http://127.0.0.1:8080";
  const clientKey = process.env.VEXIL_CLIENT_KEY || null;
  const bootstrap = await evaluateForRequest({ url: flagServer, clientKey: clientKey ?? undefined, context });
  if (bootstrap.error) console.error(`rendering with defaults: ${bootstrap.error}`);
  return {
    props: { shopper, context, bootstrap, flagServer: process.env.VEXIL_PUBLIC_URL ?? flagServer, clientKey },
  };
};

export default function Classic({ shopper, context, bootstrap, flagServer, clientKey }: Props): ReactNode {
  return (
    <VexilProvider url={flagServer} clientKey={clientKey ?? undefined} context={context} bootstrap={bootstrap}>
      <h1>Vexil Shop</h1>
      <p id="shopper">
        {shopper.name} ({shopper.id}, {shopper.country}), Pages Router
      </p>
      <Checkout />
    </VexilProvider>
  );
}
