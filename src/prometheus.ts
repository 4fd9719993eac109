/**
 * A small Prometheus text exposition (format 0.0.4): counters and histograms with fixed label
 * names, all this server uses. It replaces prom-client, whose modules cost about 20 ms of every
 * start (and Deno's Node compatibility layer with them) and whose `observe` hashed labels on
 * every request. The output keeps prom-client's names and layout (`le` first on buckets).
 *
 * @module
 */

/** The `Content-Type` of {@link Registry.metrics}. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Something a {@link Registry} can print. */
interface Collector {
  /** Appends this metric's lines (HELP, TYPE, samples) to `out`. */
  write(out: string[]): void;
}

/** The metrics of one process (or one test app). */
export class Registry {
  readonly contentType: string = PROMETHEUS_CONTENT_TYPE;
  readonly #collectors: Collector[] = [];

  /** Adds `collector` to the exposition, in registration order. */
  register(collector: Collector): void {
    this.#collectors.push(collector);
  }

  /**
   * Every metric in the text format.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Counter, Registry } from "./prometheus.ts";
   * const registry = new Registry();
   * const hits = new Counter(registry, "hits_total", "Hits", ["kind"]);
   * hits.inc({ kind: "a" });
   * assert.match(registry.metrics(), /^hits_total\{kind="a"\} 1$/m);
   * ```
   */
  metrics(): string {
    const out: string[] = [];
    for (const collector of this.#collectors) collector.write(out);
    return out.join("\n") + "\n";
  }
}

/** A monotonically increasing count per label set. */
export class Counter<L extends string = never> implements Collector {
  readonly #name: string;
  readonly #help: string;
  readonly #labelNames: readonly L[];
  /** Rendered label set (`{a="x"}`, or `""` without labels) -> count. */
  readonly #values = new Map<string, number>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[] = []) {
    this.#name = name;
    this.#help = help;
    this.#labelNames = labelNames;
    // Like prom-client: a counter without labels shows 0 before its first increment.
    if (labelNames.length === 0) this.#values.set("", 0);
    registry.register(this);
  }

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels?: Readonly<Record<L, string>>, by = 1): void {
    const key = renderLabels(this.#labelNames, labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  write(out: string[]): void {
    header(out, this.#name, this.#help, "counter");
    for (const [labels, value] of this.#values) out.push(`${this.#name}${labels} ${value}`);
  }
}

/** One label set's buckets, sum and count. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** Observations counted into fixed buckets, per label set. */
export class Histogram<L extends string = never> implements Collector {
  readonly #name: string;
  readonly #help: string;
  readonly #labelNames: readonly L[];
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ) {
    this.#name = name;
    this.#help = help;
    this.#labelNames = labelNames;
    this.#buckets = [...buckets].sort((a, b) => a - b);
    registry.register(this);
  }

  /**
   * The series of these label values, in `labelNames` order. Keep it: `observe` on it allocates
   * nothing.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Histogram, Registry } from "./prometheus.ts";
   * const registry = new Registry();
   * const latency = new Histogram(registry, "latency_seconds", "Latency", ["route"], [0.1, 1]);
   * latency.labels("/a").observe(0.5);
   * const text = registry.metrics();
   * assert.match(text, /^latency_seconds_bucket\{le="0.1",route="\/a"\} 0$/m);
   * assert.match(text, /^latency_seconds_bucket\{le="1",route="\/a"\} 1$/m);
   * assert.match(text, /^latency_seconds_count\{route="\/a"\} 1$/m);
   * ```
   */
  labels(...values: string[]): HistogramSeries {
    const labels = Object.fromEntries(
      this.#labelNames.map((name, i) => [name, values[i] ?? ""]),
    ) as Record<L, string>;
    const key = renderLabels(this.#labelNames, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new Series(this.#buckets, key);
      this.#series.set(key, series);
    }
    return series;
  }

  write(out: string[]): void {
    header(out, this.#name, this.#help, "histogram");
    for (const series of this.#series.values()) {
      // `le` comes first, as prom-client wrote it: {le="0.1",route="/a"}.
      const rest = series.labels === "" ? "" : `,${series.labels.slice(1, -1)}`;
      let cumulative = 0;
      for (const [i, bound] of this.#buckets.entries()) {
        cumulative += series.counts[i]!;
        out.push(`${this.#name}_bucket{le="${bound}"${rest}} ${cumulative}`);
      }
      out.push(`${this.#name}_bucket{le="+Inf"${rest}} ${series.count}`);
      out.push(`${this.#name}_sum${series.labels} ${series.sum}`);
      out.push(`${this.#name}_count${series.labels} ${series.count}`);
    }
  }
}

class Series implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[], readonly labels: string) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    // The first bucket whose bound holds it; above the last bound, only +Inf (the count).
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
  out.push(`# TYPE ${name} ${type}`);
}

/** `{a="x",b="y"}` in `names` order, or `""` without labels; values escaped per the format. */
function renderLabels<L extends string>(
  names: readonly L[],
  labels: Readonly<Record<L, string>> | undefined,
): string {
  if (names.length === 0) return "";
  const parts = names.map((name) => {
    const value = String(labels?.[name] ?? "");
    return `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  });
  return `{${parts.join(",")}}`;
}
