// Bootstrapped evaluations: what the server resolved for a request, carried
// into the page so that the browser's first render has every flag's value.
import type { EvaluationContext, JsonValue } from "@openfeature/web-sdk";

/** One flag as the server evaluated it (an OFREP bulk item). */
export type BootstrappedFlag = {
  value?: JsonValue;
  variant?: string;
  reason?: string;
  errorCode?: string;
};

/** Every client flag evaluated for one request's context. */
export type Bootstrap = {
  context: EvaluationContext;
  flags: Record<string, BootstrappedFlag>;
  /** The served version, when the server answered. */
  version?: string;
  /** Why there are no values (the server could not be reached): hooks serve their defaults. */
  error?: string;
};

/** The id of the element the bootstrap is serialised into. */
export const BOOTSTRAP_ELEMENT_ID = "__vexil_bootstrap__";

/**
 * The bootstrap as a `<script type="application/json">` element for the
 * page. `<`, `>`, `&` and the JavaScript line separators are written as
 * `\u` escapes, so no value (`</script>`, `<!--`) can end the element or
 * start markup: JSON.parse reads the same text back.
 */
export function bootstrapScript(bootstrap: Bootstrap, id: string = BOOTSTRAP_ELEMENT_ID): string {
  const json = JSON.stringify(bootstrap).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
  const safeId = id.replace(/[^A-Za-z0-9_-]/g, "");
  return `<script id="${safeId}" type="application/json">${json}</script>`;
}

/** The bootstrap the server wrote into the page, if any. */
export function readBootstrap(id: string = BOOTSTRAP_ELEMENT_ID): Bootstrap | undefined {
  if (typeof document === "undefined") return undefined;
  const text = document.getElementById(id)?.textContent;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Bootstrap;
  } catch {
    return undefined;
  }
}
