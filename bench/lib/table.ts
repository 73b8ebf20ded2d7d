/**
 * Markdown table: one row per (prompt length, concurrency), llama-server vs InferFlux.
 */
import { percentile, ratio } from "./stats.ts";

export interface LevelSummary {
  promptTokens: number;
  concurrency: number;
  /** Mean prompt tokens as reported by the server's usage (undefined when not reported). */
  promptTokensMeasured?: number;
  requests: number;
  errors: number;
  completionTokens: number;
  wallMs: number;
  tokPerSec: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
}

export type ServerSummaries = Partial<Record<"llama-server" | "inferflux", LevelSummary[]>>;

const fmt = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(0));
const pair = (s: LevelSummary | undefined) => (s ? `${ms(s.ttftP50Ms)} / ${ms(s.ttftP95Ms)}` : "—");
const errs = (s: LevelSummary | undefined) => (s && s.errors ? ` (${s.errors} err)` : "");

/** Median and range of per-round ratios: "1.02 (0.95–1.10)". */
function ratioSpread(values: number[] | undefined): string {
  const v = (values ?? []).filter(Number.isFinite);
  if (!v.length) return "—";
  const mid = percentile(v, 50).toFixed(2);
  return v.length === 1 ? mid : `${mid} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
}

/** `paired`: per cell ("prompt/concurrency"), the IF/LS tok/s ratio of each round run back to back. */
export function markdownTable(results: ServerSummaries, paired?: Map<string, number[]>): string {
  const ls = results["llama-server"] ?? [];
  const inf = results["inferflux"] ?? [];
  const keys = new Map<string, { p: number; c: number }>();
  for (const s of [...ls, ...inf]) keys.set(`${s.promptTokens}/${s.concurrency}`, { p: s.promptTokens, c: s.concurrency });
  const find = (list: LevelSummary[], p: number, c: number) => list.find((s) => s.promptTokens === p && s.concurrency === c);

  const header = [
    "prompt tok", "conc", "llama-server tok/s", "InferFlux tok/s", "tok/s ratio (IF/LS)",
    "llama-server TTFT p50/p95 ms", "InferFlux TTFT p50/p95 ms", "TTFT p95 ratio (IF/LS)",
    ...(paired ? ["paired tok/s ratio per round, median (range)"] : []),
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const { p, c } of [...keys.values()].sort((a, b) => a.p - b.p || a.c - b.c)) {
    const a = find(ls, p, c);
    const b = find(inf, p, c);
    const measured = a?.promptTokensMeasured ?? b?.promptTokensMeasured;
    const pLabel = measured !== undefined ? `~${p} (${measured.toFixed(0)})` : `~${p}`;
    lines.push(`| ${[
      pLabel, String(c),
      fmt(a?.tokPerSec) + errs(a), fmt(b?.tokPerSec) + errs(b), fmt(ratio(b?.tokPerSec, a?.tokPerSec), 2),
      pair(a), pair(b), fmt(ratio(b?.ttftP95Ms, a?.ttftP95Ms), 2),
      ...(paired ? [ratioSpread(paired.get(`${p}/${c}`))] : []),
    ].join(" | ")} |`);
  }
  return lines.join("\n");
}
