/**
 * Issue 4: grammar-constrained vs unconstrained generation speed on the 32k-vocabulary
 * bench model (same prompts, same server). Decode tokens/s excludes time to first token.
 *
 *   ./node_modules/.bin/bun bench/structured.ts
 */
import { join } from "node:path";
import { freePort, installCleanupHandlers, startInferFlux, stopServer } from "./lib/servers.ts";
import { makePrompt } from "./lib/workload.ts";
import { pool, timedRequest, type TimedResult } from "./lib/request.ts";
import { benchThreads, fmt, REPO, SYNTHETIC } from "./lib/common.ts";

installCleanupHandlers();
const threads = benchThreads();
const s = await startInferFlux(REPO, { model: SYNTHETIC, threads, parallel: 4, ctxSize: 8192, port: freePort(), logPath: join(REPO, "bench/results/structured.log") }, undefined, [], 180_000);

// Long outputs under both: an array of at least 64 free strings, which cannot be complete within
// max_tokens, so both modes generate exactly MAX tokens (a grammar that completes ends the request).
const schema = { type: "object", properties: { notes: { type: "array", items: { type: "string" }, minItems: 64 } }, required: ["notes"] };
const MAX = 128;

async function run(label: string, extra: Record<string, unknown>, concurrency: number): Promise<number> {
  const jobs = Array.from({ length: concurrency * 3 }, (_, i) => () =>
    timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt: makePrompt(`${label} ${i}`, 100, 900 + i), max_tokens: MAX, temperature: 0.8, seed: i, ignore_eos: true, ...extra }));
  const t0 = performance.now();
  const rs: TimedResult[] = await pool(jobs, concurrency);
  const wall = (performance.now() - t0) / 1000;
  for (const r of rs) if (!r.ok) throw new Error(r.error);
  const tokens = rs.reduce((n, r) => n + r.tokens, 0);
  if (tokens !== jobs.length * MAX) console.warn(`[bench] ${label}: ${tokens} tokens, expected ${jobs.length * MAX}`);
  return tokens / wall;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  await run("warmup", {}, 1);
  await run("warmup-json", { response_format: { type: "json_schema", json_schema: { name: "notes", schema } } }, 1);
  console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, parallel 4, ${MAX} tokens per request; ${ROUNDS} rounds, each one unconstrained and one json_schema burst, back to back (order alternating); medians\n`);
  console.log("| streams | unconstrained tok/s | json_schema tok/s | ratio (median of paired rounds) |");
  console.log("|---|---|---|---|");
  for (const c of [1, 4]) {
    const free: number[] = [];
    const constrained: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const json = () => run("json", { response_format: { type: "json_schema", json_schema: { name: "notes", schema } } }, c);
      if (r % 2 === 0) {
        free.push(await run("free", {}, c));
        constrained.push(await json());
      } else {
        constrained.push(await json());
        free.push(await run("free", {}, c));
      }
    }
    const ratios = free.map((f, i) => constrained[i] / f);
    console.log(`| ${c} | ${fmt(median(free))} | ${fmt(median(constrained))} | ${fmt(median(ratios), 3)} (min ${fmt(Math.min(...ratios), 3)}, max ${fmt(Math.max(...ratios), 3)}) |`);
  }
  const stats = await (await fetch(`${s.baseUrl}/metrics`)).text();
  console.log(stats.split("\n").filter((l) => l.startsWith("inferflux_completion_tokens_total")).join("\n"));
} finally {
  await stopServer(s);
}
