/**
 * Issue 5: per-request overhead of the whole policy layer (API-key auth, rate
 * limits, guardrails on prompt and streamed output, audit log) against the same
 * server with the layer off. Goal: < 2% aggregate tokens/s, < 5 ms TTFT p95.
 *
 *   BENCH_ROUNDS=12 ./node_modules/.bin/bun bench/policy-overhead.ts
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, installCleanupHandlers, startInferFlux, stopServer } from "./lib/servers.ts";
import { makePrompt } from "./lib/workload.ts";
import { percentile } from "./lib/stats.ts";
import { pool, timedRequest } from "./lib/request.ts";
import { benchThreads, fmt, REPO, SYNTHETIC } from "./lib/common.ts";

installCleanupHandlers();
const threads = benchThreads();
const dir = mkdtempSync(join(tmpdir(), "ifx-bench-policy-"));
const KEY = "bench-key-0123456789";
writeFileSync(join(dir, "on.yaml"), [
  "auth:",
  `  api_keys: [{ key: ${KEY}, scopes: [generate, read] }]`,
  "rate_limit: { requests_per_minute: 100000, tokens_per_minute: 100000000 }",
  "guardrails: { blocklist: [classified, secret, password, confidential] }",
  `audit: { path: ${join(dir, "audit.log")} }`,
].join("\n"));
writeFileSync(join(dir, "off.yaml"), "logging: { level: info }\n");

// Both servers run for the whole bench; bursts alternate between them (order shuffled per round), so
// slow drifts of this shared machine hit both alike. Only one server works at a time.
const servers = {
  off: await startInferFlux(REPO, { model: SYNTHETIC, threads, parallel: 8, ctxSize: 8192, port: freePort(), logPath: join(dir, "off.log") }, undefined, ["--config", join(dir, "off.yaml")], 180_000),
  on: await startInferFlux(REPO, { model: SYNTHETIC, threads, parallel: 8, ctxSize: 8192, port: freePort(), logPath: join(dir, "on.log") }, undefined, ["--config", join(dir, "on.yaml")], 180_000),
};
const headers = { off: {}, on: { authorization: `Bearer ${KEY}` } };

async function burst(which: "off" | "on", round: number) {
  const s = servers[which];
  const req = (i: number) => () => timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt: makePrompt(`p${round}-${i}`, 100, 300 + round * 100 + i), max_tokens: 64, temperature: 0, ignore_eos: true }, headers[which]);
  const t0 = performance.now();
  const rs = await pool(Array.from({ length: 16 }, (_, i) => req(i)), 8);
  const wall = (performance.now() - t0) / 1000;
  for (const r of rs) if (!r.ok) throw new Error(r.error);
  return { tokS: rs.reduce((n, r) => n + r.tokens, 0) / wall, ttfts: rs.map((r) => r.ttftMs) };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const ratios: number[] = [];
const ttft = { off: [] as number[], on: [] as number[] };
const tok = { off: [] as number[], on: [] as number[] };
try {
  await burst("off", -1);
  await burst("on", -1);
  for (let round = 0; round < ROUNDS; round++) {
    const order: ("off" | "on")[] = Math.random() < 0.5 ? ["off", "on"] : ["on", "off"];
    const got: Record<string, Awaited<ReturnType<typeof burst>>> = {};
    for (const w of order) got[w] = await burst(w, round);
    ratios.push(got.on.tokS / got.off.tokS);
    for (const w of ["off", "on"] as const) {
      tok[w].push(got[w].tokS);
      ttft[w].push(...got[w].ttfts);
    }
  }
} finally {
  await stopServer(servers.off);
  await stopServer(servers.on);
}
const sorted = [...ratios].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, 8 concurrent streams, 100-token prompts, 64 tokens; ${ROUNDS} rounds, each a 16-request burst on each server in shuffled order\n`);
console.log("| server | median burst tok/s | TTFT p50 ms | TTFT p95 ms |");
console.log("|---|---|---|---|");
for (const w of ["off", "on"] as const) {
  const t = [...tok[w]].sort((a, b) => a - b)[Math.floor(tok[w].length / 2)];
  console.log(`| layer ${w} | ${fmt(t)} | ${fmt(percentile(ttft[w], 50))} | ${fmt(percentile(ttft[w], 95))} |`);
}
console.log(`\npaired tok/s ratio on/off: median ${fmt(median, 3)} (quartiles ${fmt(q(25), 3)}..${fmt(q(75), 3)}) -> change ${fmt((median - 1) * 100, 2)}%`);
console.log(`TTFT p95 delta (on - off): ${fmt(percentile(ttft.on, 95) - percentile(ttft.off, 95), 2)} ms; p50 delta ${fmt(percentile(ttft.on, 50) - percentile(ttft.off, 50), 2)} ms`);
