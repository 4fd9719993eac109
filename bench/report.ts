/**
 * The report's pieces: rows with their baselines and targets, the table, medians.
 *
 * @module
 */
import type { WrkResult } from "./wrk.ts";

/** One line of the table. */
export interface Row {
  readonly endpoint: string;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly baseline: string;
  readonly baselineRps: number | undefined;
  readonly ratio: number | undefined;
  readonly target: number | undefined;
  readonly met: boolean | undefined;
  readonly load: string;
  readonly errors: string;
}

/** A row of `result`, against `baseline` when it has one. */
export function row(
  endpoint: string,
  load: string,
  result: { rps: number; p50Ms: number; p99Ms: number },
  errors: string,
  baseline?: { name: string; rps: number; target?: number; ratio: number },
): Row {
  const ratio = baseline?.ratio;
  return {
    endpoint,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    baseline: baseline?.name ?? "-",
    baselineRps: baseline?.rps,
    ratio,
    target: baseline?.target,
    met: baseline?.target !== undefined && ratio !== undefined
      ? ratio >= baseline.target
      : undefined,
    load,
    errors,
  };
}

/** What went wrong in a wrk run, in words ("0 non-200" when nothing did). */
export function errorsOf(result: WrkResult): string {
  const parts: string[] = [];
  const bad = result.status?.bad ?? result.non2xx;
  parts.push(`${bad} non-200`);
  if (result.status?.firstBad) parts.push(`first: ${result.status.firstBad}`);
  if (result.socketErrors) parts.push(`socket errors: ${result.socketErrors}`);
  return parts.join("; ");
}

export function fmt(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

/** Milliseconds, with two decimals below 10. */
export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(1)} ms`;
}

/** The rows as a Markdown table. */
export function table(rows: readonly Row[]): string {
  const header = [
    "endpoint",
    "rps",
    "p50",
    "p99",
    "baseline",
    "baseline rps",
    "ratio",
    "target",
    "met?",
  ];
  const cells = rows.map((r) => [
    r.endpoint,
    fmt(r.rps),
    ms(r.p50Ms),
    ms(r.p99Ms),
    r.baseline,
    fmt(r.baselineRps),
    r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    r.target === undefined ? "-" : `>= ${r.target.toFixed(2)}x`,
    r.met === undefined ? "-" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...cells.map(line),
  ].join("\n");
}

/** The run with the median requests/s (its latencies come with it). */
export function medianRun(results: readonly WrkResult[]): WrkResult {
  const sorted = [...results].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The middle value (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
