// The checkout route. Its loader runs on the server for each request: it
// evaluates the shopper's client flags with one bulk OFREP call
// (`evaluateForRequest`, with a `client` key, so only client flags reach the
// page) and returns the bootstrap with the loader's data; the route renders
// `VexilProvider` with it, so the server's HTML has the right variant and
// the browser hydrates the same one, then follows changes live.
//
// Environment (read by the loader, on the server): VEXIL_URL (the flag
// server as this process reaches it), VEXIL_PUBLIC_URL (as the browser
// reaches it; default VEXIL_URL), VEXIL_CLIENT_KEY (a `client` key).
import { VexilProvider } from "@vexil/react";
import { evaluateForRequest } from "@vexil/react/server";
import { type ReactNode, useEffect } from "react";
import { type LoaderFunctionArgs, useLoaderData } from "react-router";

import { useCheckoutLayout, useFreeShippingThreshold, useNewCheckout, vexilContext } from "../flags";

/** Who is shopping (a real app reads its session; here `?user=`). */
const SHOPPERS: Record<string, { name: string; country: string }> = {
  "u-5003": { name: "Ann", country: "US" },
  "u-5008": { name: "Ben", country: "CA" },
};

export async function loader({ request }: LoaderFunctionArgs) {
  const asked = new URL(request.url).searchParams.get("user");
  const id = asked && asked in SHOPPERS ? asked : "u-5003";
  const shopper = { id, ...SHOPPERS[id]! };
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
  return { shopper, context, bootstrap, publicUrl: process.env.VEXIL_PUBLIC_URL ?? flagServer, clientKey };
}

export default function CheckoutRoute(): ReactNode {
  const { shopper, context, bootstrap, publicUrl, clientKey } = useLoaderData<typeof loader>();
  return (
    <VexilProvider url={publicUrl} clientKey={clientKey} context={context} bootstrap={bootstrap}>
      <h1>Vexil Shop</h1>
      <p id="shopper">
        {shopper.name} ({shopper.id}, {shopper.country}), React Router
      </p>
      <Steps />
    </VexilProvider>
  );
}

/** The checkout itself: its hooks answer from the bootstrap, then live. */
function Steps(): ReactNode {
  const newCheckout = useNewCheckout();
  const layout = useCheckoutLayout();
  const threshold = useFreeShippingThreshold();
  useEffect(() => {
    // For the browser tests: hydrated (on <body>, outside the tree).
    document.body.dataset.hydrated = "true";
  }, []);
  const steps = !newCheckout
    ? "Continue to the classic checkout (four pages)."
    : layout === "one-page"
      ? "Address, delivery and payment on one page."
      : "Address, then delivery, then payment.";
  return (
    <section id="checkout" data-checkout={newCheckout ? "new" : "classic"} data-layout={newCheckout ? layout : undefined}>
      <h2>Checkout</h2>
      <p id="free-shipping">Free shipping from {threshold} EUR</p>
      <p>{steps}</p>
    </section>
  );
}
