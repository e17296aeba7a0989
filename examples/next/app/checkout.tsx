"use client";
// The checkout, a client component: its hooks answer from the bootstrap on
// the server and in the first browser render, then from the flag server.
import { type ReactNode, useEffect } from "react";

import { useCheckoutLayout, useFreeShippingThreshold, useNewCheckout } from "./flags";

export function Checkout(): ReactNode {
  const newCheckout = useNewCheckout();
  const layout = useCheckoutLayout();
  const threshold = useFreeShippingThreshold();
  useEffect(() => {
    // For the browser tests: hydrated (on <body>, outside the tree).
    document.body.dataset.hydrated = "true";
  }, []);
  return (
    <section id="checkout" data-checkout={newCheckout ? "new" : "classic"} data-layout={newCheckout ? layout : undefined}>
      <h2>Checkout</h2>
      <p id="free-shipping">Free shipping from {threshold} EUR</p>
      {!newCheckout ? (
        <p>Continue to the classic checkout (four pages).</p>
      ) : layout === "one-page" ? (
        <p>Address, delivery and payment on one page.</p>
      ) : (
        <p>Address, then delivery, then payment.</p>
      )}
    </section>
  );
}
