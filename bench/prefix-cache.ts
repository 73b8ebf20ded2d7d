/**
 * Issue 3 workloads, InferFlux vs llama-server in one run (same model, threads, slots, context):
 *  (a) multi-turn chat: 8 conversations x 6 turns, each turn resends the growing history;
 *  (b) 16 agents sharing one ~1500-token system prompt, each asking short distinct questions.
 * Prints TTFT p50 of turn 1 (cold) and of turns >= 2, and the ratios.
 *
 *   ./node_modules/.bin/bun bench/prefix-cache.ts
 */
import { join } from "node:path";
import { freePort, installCleanupHandlers, startInferFlux, startLlamaServer, stopServer, type RunningServer } from "./lib/servers.ts";
import { makePrompt } from "./lib/workload.ts";
import { percentile } from "./lib/stats.ts";
import { pool, timedRequest } from "./lib/request.ts";
import { benchThreads, fmt, LLAMA_LIB_DIR, LLAMA_SERVER, REPO, requireFile, SYNTHETIC } from "./lib/common.ts";

installCleanupHandlers();
requireFile(LLAMA_SERVER, "build it with: bash llama.cpp/build.sh cpu");
const threads = benchThreads();
const cfg = (name: string) => ({ model: SYNTHETIC, threads, parallel: 8, ctxSize: 32768, port: freePort(), logPath: join(REPO, `bench/results/prefix-${name}.log`) });

interface Phase { cold: number[]; warm: number[]; cachedShare: number[] }

async function multiTurn(s: RunningServer): Promise<Phase> {
  const res: Phase = { cold: [], warm: [], cachedShare: [] };
  const convs = Array.from({ length: 8 }, (_, c) => makePrompt(`conversation ${c}`, 300, 100 + c));
  for (let turn = 0; turn < 6; turn++) {
    const results = await pool(convs.map((history, c) => async () => {
      const prompt = `${history}\nUser: question ${turn} of conversation ${c}?\nAssistant:`;
      const r = await timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt, max_tokens: 24, temperature: 0, ignore_eos: true, cache_prompt: true });
      if (!r.ok) throw new Error(r.error);
      convs[c] = prompt + r.text;
      return r;
    }), 8);
    for (const r of results) {
      (turn === 0 ? res.cold : res.warm).push(r.ttftMs);
      if (r.cachedTokens !== undefined) res.cachedShare.push(r.cachedTokens);
    }
  }
  return res;
}

async function sharedSystemPrompt(s: RunningServer): Promise<Phase> {
  const res: Phase = { cold: [], warm: [], cachedShare: [] };
  const system = makePrompt("system", 1500, 7);
  const ask = (agent: number, q: number) => timedRequest(s.baseUrl, "/v1/completions", {
    model: s.modelId, prompt: `${system}\nAgent ${agent} asks: what is step ${q} for task ${agent * 31 + q}?\nAnswer:`, max_tokens: 16, temperature: 0, ignore_eos: true, cache_prompt: true,
  });
  // Turn 1: the very first agent alone (nothing cached anywhere).
  const first = await ask(0, 0);
  res.cold.push(first.ttftMs);
  // Then all 16 agents, 8 at a time, 3 questions each.
  for (let q = 1; q <= 3; q++) {
    const rs = await pool(Array.from({ length: 16 }, (_, a) => () => ask(a, q)), 8);
    for (const r of rs) {
      if (!r.ok) throw new Error(r.error);
      res.warm.push(r.ttftMs);
    }
  }
  return res;
}

const table: string[] = [];
const results: Record<string, Record<string, Phase>> = {};
for (const name of ["llama-server", "inferflux"] as const) {
  for (const [wl, fn] of [["a-multiturn", multiTurn], ["b-shared-system", sharedSystemPrompt]] as const) {
    const c = cfg(`${name}-${wl}`);
    const s = name === "llama-server"
      ? await startLlamaServer(LLAMA_SERVER, c, REPO, 180_000)
      : await startInferFlux(REPO, c, LLAMA_LIB_DIR, [], 180_000);
    try {
      (results[name] ??= {})[wl] = await fn(s);
    } finally {
      await stopServer(s);
    }
  }
}

table.push("| workload | server | cold TTFT p50 ms | TTFT p50 turn>=2 ms | TTFT p95 turn>=2 ms | cold/warm |");
table.push("|---|---|---|---|---|---|");
for (const wl of ["a-multiturn", "b-shared-system"]) {
  for (const name of ["llama-server", "inferflux"]) {
    const p = results[name][wl];
    const cold = percentile(p.cold, 50), warm = percentile(p.warm, 50);
    table.push(`| ${wl} | ${name} | ${fmt(cold)} | ${fmt(warm)} | ${fmt(percentile(p.warm, 95))} | ${fmt(cold / warm)}x |`);
  }
  const ratio = percentile(results["llama-server"][wl].warm, 50) / percentile(results.inferflux[wl].warm, 50);
  table.push(`| ${wl} | llama-server/inferflux warm p50 | | ${fmt(ratio, 2)}x | | |`);
}
console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, parallel 8, ctx 32768 (unified KV on both)\n`);
console.log(table.join("\n"));
