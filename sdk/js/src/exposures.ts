// Exposures reported when a component renders an experiment's variant, once
// per unit, flag and variant: a page view does not re-send what this page
// already sent, and the event's id (unit, flag, variant) makes the event
// store keep one row even across page loads and retries.

export type ExposureOptions = {
  url: string;
  clientKey?: string;
  /** Batch what is rendered together (ms, default 200). */
  flushMs?: number;
};

type Pending = { id: string; experiment: string; variant: string; unit: string; time: number };

export class ExposureReporter {
  private readonly seen = new Set<string>();
  private pending: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly options: ExposureOptions;

  constructor(options: ExposureOptions) {
    this.options = options;
  }

  /** Record that `unit` was shown `variant` of `flag` (at most once). */
  report(flag: string, variant: string, unit: string): void {
    const id = JSON.stringify([unit, flag, variant]);
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.pending.push({ id: `vexil-web:${id}`, experiment: flag, variant, unit, time: Date.now() * 1000 });
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 200);
  }

  /** Send what is pending now; what fails is kept for the next report. */
  async flush(): Promise<void> {
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.options.clientKey) headers.Authorization = `Bearer ${this.options.clientKey}`;
    try {
      const response = await fetch(`${this.options.url.replace(/\/+$/, "")}/v1/events`, {
        method: "POST",
        headers,
        body: JSON.stringify(batch.map((e) => ({ type: "exposure", ...e }))),
        keepalive: true,
      });
      // 503: the store failed and kept nothing; send again later.
      if (response.status === 503) this.pending.unshift(...batch);
    } catch {
      this.pending.unshift(...batch);
    }
  }
}
