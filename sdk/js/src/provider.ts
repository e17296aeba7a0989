// An OpenFeature web provider that answers from bootstrapped evaluations at
// once (it has no `initialize`, so OpenFeature marks it ready when it is
// set: the first render, hydration included, sees the server's values), and
// hands over to the official OFREP web provider once that has fetched. The
// OFREP provider then follows the server's change stream; if the server
// cannot be reached, the last values keep serving and a fresh OFREP
// provider is tried again with a growing delay. The last values fetched
// are kept in localStorage per server and targeting key: a page rendered
// while the server was away (no bootstrap) shows them once hydrated.
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from "@openfeature/web-sdk";

import type { Bootstrap, BootstrappedFlag } from "./bootstrap.js";

export type VexilWebProviderOptions = {
  /** The `vexil serve` base URL. */
  url: string;
  /** A `client` key (it is in the page anyway). */
  clientKey?: string;
  bootstrap?: Bootstrap;
  /** The first retry's delay when the server cannot be reached (ms, default 500; doubles up to 8 s). */
  retryMs?: number;
};

export class VexilWebProvider implements Provider {
  readonly metadata = { name: "vexil" } as const;
  readonly runsOn = "client" as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly options: VexilWebProviderOptions;
  private live: OFREPWebProvider | undefined;
  private values: Record<string, BootstrappedFlag>;
  private context: EvaluationContext;
  private closed = false;
  private delay: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: VexilWebProviderOptions) {
    this.options = options;
    this.context = options.bootstrap?.context ?? {};
    this.values = options.bootstrap?.flags ?? {};
    this.delay = options.retryMs ?? 500;
  }

  /**
   * Start following the server; the browser calls this once hydrated (a
   * change before then would make the first render differ from the server's).
   */
  connect(): void {
    if (this.live || this.timer || this.closed) return;
    if (this.options.bootstrap?.error || !this.options.bootstrap) {
      const cached = this.readCache();
      if (cached) {
        this.values = cached;
        this.events.emit(ProviderEvents.ConfigurationChanged, { message: "the last values fetched" });
      }
    }
    void this.attempt();
  }

  private cacheKey(): string {
    return `vexil:${this.options.url}:${String(this.context.targetingKey ?? "")}`;
  }

  private readCache(): Record<string, BootstrappedFlag> | undefined {
    try {
      const text = globalThis.localStorage?.getItem(this.cacheKey());
      return text ? (JSON.parse(text) as Record<string, BootstrappedFlag>) : undefined;
    } catch {
      return undefined;
    }
  }

  private writeCache(): void {
    if (!this.live) return;
    const flags: Record<string, BootstrappedFlag> = {};
    for (const [key, item] of Object.entries(this.live.flagCache)) {
      flags[key] =
        "errorCode" in item
          ? { errorCode: item.errorCode }
          : { value: item.value as JsonValue, variant: item.variant, reason: item.reason };
    }
    try {
      globalThis.localStorage?.setItem(this.cacheKey(), JSON.stringify(flags));
    } catch {
      // Storage full or refused: the values in memory still serve.
    }
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    const headers: [string, string][] = [["Vexil-Exposures", "rendered"]];
    if (this.options.clientKey) headers.push(["Authorization", `Bearer ${this.options.clientKey}`]);
    const inner = new OFREPWebProvider({
      baseUrl: this.options.url,
      headers,
      changeDetection: "sse",
      // Our own cache (above) stands in: with the OFREP provider's, a load
      // from it would pass for a connection and no retry would follow.
      cacheMode: "disabled",
    });
    try {
      await inner.initialize(this.context);
    } catch {
      await inner.onClose?.();
      if (this.closed) return;
      this.events.emit(ProviderEvents.Stale, { message: "the flag server cannot be reached: serving the last values" });
      this.timer = setTimeout(() => void this.attempt(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
      return;
    }
    if (this.closed) {
      await inner.onClose?.();
      return;
    }
    this.live = inner;
    this.writeCache();
    inner.events.addHandler(ProviderEvents.ConfigurationChanged, (details) => {
      this.writeCache();
      this.events.emit(ProviderEvents.ConfigurationChanged, details);
    });
    inner.events.addHandler(ProviderEvents.Stale, (details) => this.events.emit(ProviderEvents.Stale, details));
    inner.events.addHandler(ProviderEvents.Ready, (details) => this.events.emit(ProviderEvents.Ready, details));
    inner.events.addHandler(ProviderEvents.Error, (details) => this.events.emit(ProviderEvents.Stale, details));
    this.events.emit(ProviderEvents.ConfigurationChanged, { message: "values from the flag server" });
  }

  resolveBooleanEvaluation(key: string, defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    return this.live?.resolveBooleanEvaluation(key, defaultValue, context) ?? this.fromBootstrap(key, defaultValue, "boolean");
  }

  resolveStringEvaluation(key: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    return this.live?.resolveStringEvaluation(key, defaultValue, context) ?? this.fromBootstrap(key, defaultValue, "string");
  }

  resolveNumberEvaluation(key: string, defaultValue: number, context: EvaluationContext): ResolutionDetails<number> {
    return this.live?.resolveNumberEvaluation(key, defaultValue, context) ?? this.fromBootstrap(key, defaultValue, "number");
  }

  resolveObjectEvaluation<T extends JsonValue>(key: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return this.live?.resolveObjectEvaluation(key, defaultValue, context) ?? this.fromBootstrap(key, defaultValue, "object");
  }

  async onContextChange(oldContext: EvaluationContext, newContext: EvaluationContext): Promise<void> {
    this.context = newContext;
    await this.live?.onContextChange(oldContext, newContext);
  }

  async onClose(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.live?.onClose?.();
  }

  private fromBootstrap<T>(key: string, defaultValue: T, type: string): ResolutionDetails<T> {
    const flag = this.values[key];
    if (!flag) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: this.options.bootstrap?.error ? ErrorCode.PROVIDER_NOT_READY : ErrorCode.FLAG_NOT_FOUND,
      };
    }
    if (flag.errorCode) {
      return { value: defaultValue, reason: "ERROR", errorCode: flag.errorCode as ErrorCode };
    }
    const actual = flag.value === null ? "null" : Array.isArray(flag.value) ? "array" : typeof flag.value;
    if (actual !== type && !(type === "object" && actual === "array")) {
      return { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.TYPE_MISMATCH };
    }
    return { value: flag.value as T, variant: flag.variant, reason: flag.reason };
  }
}
