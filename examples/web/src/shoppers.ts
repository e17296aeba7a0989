// The demo's shoppers (`?user=ID`), and the typed evaluation context for one.
import { type VexilContext, vexilContext } from "./flags.js";
import type { Shopper } from "./App.js";
import type { EvaluationContext } from "@vexil/react";

export const shoppers: Shopper[] = [
  { id: "u-5003", name: "Ann", country: "US" },
  { id: "u-5008", name: "Ben", country: "CA" },
  { id: "u-5001", name: "Eli", country: "US" },
];

export function shopperById(id: string | null): Shopper {
  return shoppers.find((s) => s.id === id) ?? shoppers[0]!;
}

/** The context the storefront evaluates flags for (a staging storefront). */
export function contextFor(shopper: Shopper): EvaluationContext {
  const context: VexilContext = {
    user: { id: shopper.id, email: `${shopper.name.toLowerCase()}@example.com`, roles: [], orders: 2, tier: "bronze" },
    location: { country: shopper.country },
    env: { name: "staging", region: "eu-west-1" },
    device: { platform: "web", os_version: "14.0.0" },
  };
  return vexilContext(context);
}
