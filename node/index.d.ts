// Types of @vexil/node (index.js).

/**
 * An object of contexts, as the flags' schema declares them: `{ user: { id: "u-1" }, location: { country: "DE" } }`
 * (anything else in it is ignored or marks the fields it names invalid).
 */
export type Contexts = Record<string, unknown>;

/** One flag's or experiment's answer. */
export type Details = {
  key: string;
  /** Absent only when the flag does not exist. */
  value?: unknown;
  variant?: string;
  reason: "STATIC" | "DEFAULT" | "TARGETING_MATCH" | "SPLIT" | "DISABLED" | "ERROR" | string;
  rule?: { index: number; number: number; name?: string };
  errorCode?: "FLAG_NOT_FOUND" | "INVALID_CONTEXT" | "TARGETING_KEY_MISSING" | "PARSE_ERROR" | "TYPE_MISMATCH" | "GENERAL";
  errorMessage?: string;
  prerequisiteFailed?: string;
  override?: { actor: string; reason: string; since: string };
};

export type OpenOptions = {
  /** How often the source is checked for changes, in ms (default 1000; 0: only `reload()`). */
  watchMs?: number;
  /** Run the flags' `test` blocks before a version loads (default true). */
  runTests?: boolean;
  backend?: "auto" | "jit" | "interpreter";
  /** Keep events for `takeEvents`: exposures and `track`'s metric events (default false). */
  events?: boolean;
};

export type FollowOptions = {
  /** The `vexil serve` base URL. */
  server: string;
  /** A `server` key. */
  key: string;
  /** A file keeping the last version, to start from when the server is down. */
  cache?: string;
  /** How long to wait for the server at start, in ms (default 5000). */
  startTimeoutMs?: number;
  backend?: "auto" | "jit" | "interpreter";
  /** Keep events for `takeEvents` (default false). */
  events?: boolean;
  /** Send the events (exposures, `track`'s) to the server's `POST /v1/events` every second and at `close()` (default false). */
  sendEvents?: boolean;
};

/** An event, as `POST /v1/events` and `vexil ingest` take it. */
export type Event =
  | { type: "exposure"; experiment: string; variant: string; unit: string; time: number }
  | { type: "track"; event: string; unit: string; value?: number; time: number };

export type ServerStatus = { version: string; connected: boolean; fromCache: boolean; lastError?: string | null };

/** Flags open in this process. */
export declare class Flags {
  /** A directory of `.flag` files (checked, tested, reloaded when they change) or a bundle file. */
  static open(path: string, options?: OpenOptions): Flags;
  /** A `vexil serve`, its flags and overrides followed over its change stream. */
  static follow(options: FollowOptions): Flags;
  evaluate(flag: string, context?: Contexts & { targetingKey?: string }): Details;
  evaluateAll(context?: Contexts & { targetingKey?: string }, options?: { clientOnly?: boolean }): Record<string, Details>;
  /** The context read once, for many flags; the version loaded now answers them all. */
  with(context?: Contexts & { targetingKey?: string }): { evaluate(flag: string): Details; evaluateAll(options?: { clientOnly?: boolean }): Record<string, Details> };
  /** Queue a metric event for `unit` (with `events` or `sendEvents`). */
  track(event: string, unit: string, value?: number): void;
  /** The events since the last call (with `events: true`), oldest first. */
  takeEvents(): Event[];
  readonly eventsDropped: number;
  /** With `sendEvents`: how many the server acknowledged, and the last failure. */
  readonly eventsSent: { sent: number; lastError?: string | null } | null;
  keys(): string[];
  /** The flags and experiments marked `client`: what a browser may see. */
  clientKeys(): string[];
  /** The new version's number, or null when nothing changed; throws when the change is refused. */
  reload(): number | null;
  readonly version: number;
  readonly lastError: string | null;
  readonly server: ServerStatus | null;
  readonly compiled: boolean;
  close(): void;
}

/** An OpenFeature server provider over `Flags` (for `@openfeature/server-sdk`). */
export declare class VexilProvider {
  constructor(flags: Flags, options?: { targetingKey?: string });
  readonly metadata: { name: "vexil" };
  readonly runsOn: "server";
  /** OpenFeature's tracking API: a metric event for the context's unit. */
  track(trackingEventName: string, context: object, details?: { value?: number }): void;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: object): unknown;
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: object): unknown;
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: object): unknown;
  resolveObjectEvaluation<T>(flagKey: string, defaultValue: T, context: object): unknown;
}
