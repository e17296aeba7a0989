// @vexil/node: Vexil's runtime inside this Node.js process (the N-API addon
// `vexil.node`, built from this directory's Rust crate). Flags are compiled
// to machine code and evaluated here, with no request to a flag server:
//
//   const flags = Flags.open("flags/");                // a directory or a bundle file, followed
//   const flags = Flags.follow({ server, key });        // or a `vexil serve`, followed live
//   flags.evaluate("new-checkout", { user: { id: "u-1" } })
//     // → { key, value, variant, reason, rule, errorCode, errorMessage, ... }
//
// and an OpenFeature server provider over them (`VexilProvider`).
//
// Environment: VEXIL_NODE_ADDON, the addon's path (default: vexil.node
// beside this file).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const addon = createRequire(import.meta.url)(process.env.VEXIL_NODE_ADDON ?? join(here, "vexil.node"));

/** A context as JSON text: an object of contexts; OpenFeature's `targetingKey` is not one. */
function contextText(context) {
  if (context === null || typeof context !== "object" || Array.isArray(context)) {
    throw new TypeError('the context must be an object of contexts, like { user: { id: "u-1" } }');
  }
  if (!("targetingKey" in context)) return JSON.stringify(context);
  const { targetingKey: _, ...contexts } = context;
  return JSON.stringify(contexts);
}

/** Flags open in this process. */
export class Flags {
  #native;

  constructor(native) {
    this.#native = native;
  }

  /** A directory of `.flag` files (checked, tested, reloaded when they change) or a bundle file. */
  static open(path, options = {}) {
    return new Flags(addon.Flags.open(path, options));
  }

  /** A `vexil serve` (a `server` key), its flags and overrides followed over its change stream. */
  static follow(options) {
    return new Flags(addon.Flags.follow(options));
  }

  /** One flag or experiment for `context` (`{ user: {...}, location: {...} }`). */
  evaluate(flag, context = {}) {
    return JSON.parse(this.#native.evaluateJson(String(flag), contextText(context)));
  }

  /** Every flag and experiment for `context` (with `clientOnly`, those marked `client`), keyed by name. */
  evaluateAll(context = {}, options = {}) {
    return JSON.parse(this.#native.evaluateAllJson(contextText(context), options.clientOnly === true));
  }

  /**
   * `context` read once, for many flags (a request's): `with(ctx).evaluate(flag)`
   * skips reading the context again. The version loaded now answers them all.
   */
  with(context = {}) {
    const bound = this.#native.withJson(contextText(context));
    return {
      evaluate: (flag) => JSON.parse(bound.evaluateJson(String(flag))),
      evaluateAll: (options = {}) => JSON.parse(bound.evaluateAllJson(options.clientOnly === true)),
    };
  }

  /**
   * Queue a metric event for `unit` (`vexil ingest`'s `track` line, the
   * time now), with the exposures: for `takeEvents`, or sent with
   * `sendEvents`. `value` is optional (a conversion counts 1).
   */
  track(event, unit, value) {
    this.#native.track(String(event), String(unit), value === undefined || value === null ? undefined : Number(value));
  }

  /**
   * The events since the last call (open with `events: true`): the
   * experiments' exposures (once per unit, variant and experiment) and
   * `track`'s metric events, in the format `POST /v1/events` on `vexil
   * serve` and `vexil ingest` take, oldest first.
   */
  takeEvents() {
    return JSON.parse(this.#native.takeEventsJson());
  }

  /** With `sendEvents`: `{ sent, lastError }`, else null. */
  get eventsSent() {
    return this.#native.eventsSent ?? null;
  }

  /** Events dropped because more than 100,000 were waiting. */
  get eventsDropped() {
    return this.#native.eventsDropped;
  }

  /** The names of every flag and experiment. */
  keys() {
    return this.#native.keys();
  }

  /** The flags and experiments marked `client`: what a browser may see. */
  clientKeys() {
    return this.#native.clientKeys();
  }

  /** Check the source now: the new version's number, or null. Throws if the change is refused. */
  reload() {
    return this.#native.reload();
  }

  /** The loaded version's number (1 at open). */
  get version() {
    return this.#native.version;
  }

  /** Why the last change was refused (diagnostics, failed tests), or null. */
  get lastError() {
    return this.#native.lastError ?? null;
  }

  /** The followed server's state, or null. */
  get server() {
    return this.#native.server ?? null;
  }

  /** Whether every flag runs as machine code yet. */
  get compiled() {
    return this.#native.compiled;
  }

  /** Stop following the source; the last version keeps answering. */
  close() {
    this.#native.close();
  }
}

const TYPES = { boolean: "boolean", string: "string", number: "number", object: "object" };

/**
 * An OpenFeature server provider evaluating in this process. Contexts are
 * Vexil's: an object of contexts (`{ user: { id }, location: { country } }`,
 * as `vexil codegen`'s `vexilContext` builds them); with `targetingKey`
 * naming a field (`"user.id"`), OpenFeature's `targetingKey` fills it when
 * the context does not.
 */
export class VexilProvider {
  metadata = { name: "vexil" };
  runsOn = "server";
  #flags;
  #targetingKey;

  constructor(flags, options = {}) {
    this.#flags = flags;
    this.#targetingKey = options.targetingKey?.split(".");
  }

  /**
   * OpenFeature's tracking API: a metric event for the context's unit
   * (`targetingKey`, or the field named by the `targetingKey` option),
   * with `details.value`; the flags must keep or send events.
   */
  track(trackingEventName, context, details) {
    const contexts = this.#contexts(context);
    const path = this.#targetingKey;
    const unit = context?.targetingKey ?? (path?.length === 2 ? contexts[path[0]]?.[path[1]] : undefined);
    if (unit === undefined || unit === null || unit === "") {
      throw new Error(`tracking \`${trackingEventName}\` needs a unit: a targetingKey in the context`);
    }
    this.#flags.track(trackingEventName, String(unit), details?.value);
  }

  resolveBooleanEvaluation(flagKey, defaultValue, context) {
    return this.#resolve(flagKey, defaultValue, context, TYPES.boolean);
  }

  resolveStringEvaluation(flagKey, defaultValue, context) {
    return this.#resolve(flagKey, defaultValue, context, TYPES.string);
  }

  resolveNumberEvaluation(flagKey, defaultValue, context) {
    return this.#resolve(flagKey, defaultValue, context, TYPES.number);
  }

  resolveObjectEvaluation(flagKey, defaultValue, context) {
    return this.#resolve(flagKey, defaultValue, context, TYPES.object);
  }

  #contexts(context) {
    const { targetingKey, ...contexts } = context ?? {};
    const path = this.#targetingKey;
    if (path?.length === 2 && targetingKey !== undefined) {
      const [name, field] = path;
      const fields = { ...(contexts[name] ?? {}) };
      if (fields[field] === undefined) fields[field] = targetingKey;
      contexts[name] = fields;
    }
    return contexts;
  }

  #resolve(flagKey, defaultValue, context, type) {
    const d = this.#flags.evaluate(flagKey, this.#contexts(context));
    const flagMetadata = d.rule ? { rule: d.rule.name ?? `#${d.rule.index + 1}` } : {};
    if (d.errorCode || d.value === undefined) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: d.errorCode ?? "GENERAL",
        errorMessage: d.errorMessage,
        flagMetadata,
      };
    }
    const actual = d.value === null ? "null" : Array.isArray(d.value) ? "array" : typeof d.value;
    if (actual !== type && !(type === TYPES.object && actual === "array")) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: "TYPE_MISMATCH",
        errorMessage: `\`${flagKey}\` serves a ${actual}, not a ${type}`,
        flagMetadata,
      };
    }
    return { value: d.value, variant: d.variant, reason: d.reason, flagMetadata };
  }
}
