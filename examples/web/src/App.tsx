// The storefront's checkout page. Every flag is read through a hook
// generated from the flags (`src/flags.ts`): a misspelt hook or a variant
// the experiment does not have is a type error, not a silent default.
import type { ReactNode } from "react";

import {
  useCheckoutLayout,
  useFreeShippingThreshold,
  useMaintenanceBanner,
  useNewCheckout,
  useWishlistSharing,
} from "./flags.js";

export type Shopper = { id: string; name: string; country: string };

export function App({ shopper }: { shopper: Shopper }): ReactNode {
  return (
    <main>
      <Banner />
      <h1>Vexil Shop</h1>
      <p id="shopper">
        Signed in as {shopper.name} ({shopper.id}, {shopper.country})
      </p>
      <Basket />
      <Checkout />
      <Wishlist />
    </main>
  );
}

function Banner(): ReactNode {
  const banner = useMaintenanceBanner();
  if (!banner.show) return null;
  return (
    <div id="banner" className={`banner ${banner.severity ?? "info"}`}>
      {banner.text}
    </div>
  );
}

function Basket(): ReactNode {
  const threshold = useFreeShippingThreshold();
  return (
    <section id="basket">
      <h2>Basket</h2>
      <p>2 × Kraft notebook, 24.00 EUR</p>
      <p id="free-shipping">{threshold === 0 ? "Free shipping for members" : `Free shipping from ${threshold} EUR`}</p>
    </section>
  );
}

function Checkout(): ReactNode {
  const newCheckout = useNewCheckout();
  const layout = useCheckoutLayout();
  if (!newCheckout) {
    return (
      <section id="checkout" data-checkout="classic">
        <h2>Checkout</h2>
        <p>Continue to the classic checkout (four pages).</p>
      </section>
    );
  }
  return (
    <section id="checkout" data-checkout="new" data-layout={layout}>
      <h2>Checkout</h2>
      {layout === "one-page" ? (
        <p>Address, delivery and payment on one page.</p>
      ) : (
        <ol>
          <li>Address</li>
          <li>Delivery</li>
          <li>Payment</li>
        </ol>
      )}
    </section>
  );
}

function Wishlist(): ReactNode {
  // A kill switch: off since INC-2291.
  const sharing = useWishlistSharing();
  return <p id="wishlist">{sharing ? "Share your wishlist" : "Wishlist sharing is unavailable"}</p>;
}
