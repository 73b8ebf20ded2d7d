/**
 * Issue 3 fairness: one tenant floods low-priority requests while another sends
 * interactive high-priority ones. Compares the interactive TTFT p95 with the same
 * requests on an idle server (goal: within 2x).
 *
 *   ./node_modules/.bin/bun bench/mixed-priority.ts
 */
import { join } from "node:path";
import { freePort, installCleanupHandlers, startInferFlux, stopServer } from "./lib/servers.ts";
import { makePrompt } from "./lib/workload.ts";
import { percentile } from "./lib/stats.ts";
import { timedRequest } from "./lib/request.ts";
import { benchThreads, fmt, REPO, SYNTHETIC } from "./lib/common.ts";

installCleanupHandlers();
const threads = benchThreads();
const s = await startInferFlux(REPO, { model: SYNTHETIC, threads, parallel: 8, ctxSize: 16384, port: freePort(), logPath: join(REPO, "bench/results/mixed.log") }, undefined, process.argv.slice(2), 180_000);

// Every interactive prompt is new (`from` apart per phase): a cached one would skip its prefill.
const interactive = async (n: number, from: number) => {
  const ttft: number[] = [];
  for (let i = from; i < from + n; i++) {
    const r = await timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt: makePrompt(`interactive ${i}`, 100, 500 + i), max_tokens: 16, temperature: 0, ignore_eos: true, priority: 50 }, { "x-tenant": "interactive" });
    if (!r.ok) throw new Error(r.error);
    ttft.push(r.ttftMs);
  }
  return ttft;
};

try {
  await interactive(3, 0); // warm-up: the first requests pay for JIT and first-use setup
  const idle = await interactive(40, 100);
  let flooding = true;
  const flood = Array.from({ length: 24 }, async (_, w) => {
    let i = 0;
    while (flooding) {
      await timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt: makePrompt(`flood ${w}-${i++}`, 400, w * 1000 + i), max_tokens: 128, temperature: 0, ignore_eos: true, priority: -10 }, { "x-tenant": "flood" });
    }
  });
  await Bun.sleep(2000);
  const busy = await interactive(40, 200);
  flooding = false;
  await Promise.all(flood);
  console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, parallel 8; flood: 24 concurrent low-priority streams (400-token prompts, 128 tokens)\n`);
  console.log("| interactive TTFT | p50 ms | p95 ms |");
  console.log("|---|---|---|");
  console.log(`| idle server | ${fmt(percentile(idle, 50))} | ${fmt(percentile(idle, 95))} |`);
  console.log(`| under flood | ${fmt(percentile(busy, 50))} | ${fmt(percentile(busy, 95))} |`);
  console.log(`| ratio | ${fmt(percentile(busy, 50) / percentile(idle, 50), 2)}x | ${fmt(percentile(busy, 95) / percentile(idle, 95), 2)}x |`);
} finally {
  await stopServer(s);
}
