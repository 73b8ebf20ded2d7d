/**
 * Issue 5: per-request overhead of the whole policy layer (API-key auth, rate
 * limits, guardrails on prompt and streamed output, audit log) against the same
 * server with the layer off. Goal: < 2% aggregate tokens/s, < 5 ms TTFT p95.
 *
 *   ./node_modules/.bin/bun bench/policy-overhead.ts
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

async function measure(config: string, headers: Record<string, string>) {
  const s = await startInferFlux(REPO, { model: SYNTHETIC, threads, parallel: 8, ctxSize: 8192, port: freePort(), logPath: join(dir, `${config}.log`) }, undefined, ["--config", join(dir, `${config}.yaml`)], 180_000);
  try {
    const req = (i: number) => () => timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt: makePrompt(`p${i}`, 100, 300 + i), max_tokens: 64, temperature: 0, ignore_eos: true }, headers);
    await pool([req(-1)], 1);
    const t0 = performance.now();
    const rs = await pool(Array.from({ length: 48 }, (_, i) => req(i)), 8);
    const wall = (performance.now() - t0) / 1000;
    for (const r of rs) if (!r.ok) throw new Error(r.error);
    return { tokS: rs.reduce((n, r) => n + r.tokens, 0) / wall, ttftP95: percentile(rs.map((r) => r.ttftMs), 95), ttftP50: percentile(rs.map((r) => r.ttftMs), 50) };
  } finally {
    await stopServer(s);
  }
}

const rows: string[] = [];
const runs: { off: Awaited<ReturnType<typeof measure>>; on: Awaited<ReturnType<typeof measure>> }[] = [];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
for (let round = 0; round < ROUNDS; round++) {
  const off = await measure("off", {});
  const on = await measure("on", { authorization: `Bearer ${KEY}` });
  runs.push({ off, on });
}
console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, 8 concurrent streams, 100-token prompts, 64 tokens, ${ROUNDS} rounds alternating off and on\n`);
console.log("| round | layer off tok/s | layer on tok/s | tok/s change | TTFT p95 off ms | TTFT p95 on ms | p95 delta ms |");
console.log("|---|---|---|---|---|---|---|");
runs.forEach(({ off, on }, i) => rows.push(`| ${i + 1} | ${fmt(off.tokS)} | ${fmt(on.tokS)} | ${fmt(((on.tokS - off.tokS) / off.tokS) * 100, 2)}% | ${fmt(off.ttftP95)} | ${fmt(on.ttftP95)} | ${fmt(on.ttftP95 - off.ttftP95, 2)} |`));
console.log(rows.join("\n"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tokChange = median(runs.map(({ off, on }) => ((on.tokS - off.tokS) / off.tokS) * 100));
const p95Delta = median(runs.map(({ off, on }) => on.ttftP95 - off.ttftP95));
console.log(`\nmedian over rounds: tok/s change ${fmt(tokChange, 2)}%, TTFT p95 delta ${fmt(p95Delta, 2)} ms`);
