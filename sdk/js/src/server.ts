// The server half: one bulk OFREP evaluation per request (with a client
// key, so only client flags reach the page), or the same evaluated in this
// process by `@vexil/node`, and its serialisation.
import type { EvaluationContext, JsonValue } from "@openfeature/web-sdk";

import { type Bootstrap, type BootstrappedFlag, bootstrapScript } from "./bootstrap.js";

export { type Bootstrap, type BootstrappedFlag, bootstrapScript, BOOTSTRAP_ELEMENT_ID } from "./bootstrap.js";

export type EvaluateOptions = {
  /** The `vexil serve` base URL, like `http://127.0.0.1:8080`. */
  url: string;
  /** A `client` key: what it evaluates ends up in the page. */
  clientKey?: string;
  context: EvaluationContext;
  /** Give up after this long and render the defaults (default 1000 ms). */
  timeoutMs?: number;
};

type BulkItem = {
  key?: string;
  value?: JsonValue;
  variant?: string;
  reason?: string;
  errorCode?: string;
};

/**
 * Every client flag for `context`, in one bulk OFREP request. Never throws:
 * when the server cannot answer, the bootstrap has no flags and says why
 * (`error`), and the page renders with the flags' defaults; the browser's
 * provider then catches up when the server is back.
 *
 * The request asks the server not to record exposures
 * (`Vexil-Exposures: rendered`): the browser reports an exposure when a
 * component renders the variant, not when it was merely evaluated.
 */
export async function evaluateForRequest(options: EvaluateOptions): Promise<Bootstrap> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Vexil-Exposures": "rendered",
  };
  if (options.clientKey) headers.Authorization = `Bearer ${options.clientKey}`;
  const base = options.url.replace(/\/+$/, "");
  try {
    const response = await fetch(`${base}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers,
      body: JSON.stringify({ context: options.context }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 1000),
    });
    if (!response.ok) {
      return { context: options.context, flags: {}, error: `the flag server answered ${response.status}` };
    }
    const body = (await response.json()) as { flags?: BulkItem[]; metadata?: { version?: string } };
    const flags: Record<string, BootstrappedFlag> = {};
    for (const item of body.flags ?? []) {
      if (typeof item.key !== "string") continue;
      flags[item.key] = item.errorCode
        ? { errorCode: item.errorCode }
        : { value: item.value, variant: item.variant, reason: item.reason };
    }
    return { context: options.context, flags, version: body.metadata?.version };
  } catch (e) {
    return { context: options.context, flags: {}, error: `the flag server could not be reached: ${(e as Error).message}` };
  }
}

/** One answer of `@vexil/node`. */
type InProcessAnswer = { value?: unknown; variant?: string; reason?: string; errorCode?: string };

/** What `evaluateInProcess` needs of `@vexil/node`'s `Flags` (no dependency on it). */
export type InProcessFlags = {
  evaluateAll(context: EvaluationContext, options?: { clientOnly?: boolean }): Record<string, InProcessAnswer>;
  clientKeys(): string[];
  readonly version: number;
};

/**
 * The bootstrap `evaluateForRequest` gives, evaluated in this process by
 * `@vexil/node` (`Flags.open` or `Flags.follow`) instead of over HTTP:
 * the client flags only, as a client key sees them. Open those flags
 * without `exposures`: the browser reports an exposure when a component
 * renders the variant. Never throws: a failure renders the defaults.
 */
export function evaluateInProcess(flags: InProcessFlags, context: EvaluationContext): Bootstrap {
  try {
    const all = flags.evaluateAll(context, { clientOnly: true });
    const out: Record<string, BootstrappedFlag> = {};
    for (const key of flags.clientKeys()) {
      const item = all[key];
      if (!item) continue;
      // As `vexil serve` answers OFREP: a flag without named variants has
      // its value's text as its variant.
      const variant = item.variant ?? (typeof item.value === "string" ? item.value : JSON.stringify(item.value));
      // JSON text parsed: a JSON value.
      const value = item.value as JsonValue;
      out[key] = item.errorCode ? { errorCode: item.errorCode } : { value, variant, reason: item.reason };
    }
    return { context, flags: out, version: `in-process-${flags.version}` };
  } catch (e) {
    return { context, flags: {}, error: `the flags could not be evaluated in this process: ${(e as Error).message}` };
  }
}
