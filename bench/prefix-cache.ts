/**
 * Issue 3 workloads, InferFlux vs llama-server in one run (same model, threads, slots, context):
 *  (a) multi-turn chat: 8 conversations x 6 turns, each turn resends the growing history;
 *  (b) 16 agents sharing one ~1500-token system prompt, each asking short distinct questions.
 * Each workload runs twice per server: with the prefix cache, and again with it
 * off (InferFlux `cache.enabled=false`, llama-server `cache_prompt: false`), so
 * the turn >= 2 requests have a cold figure of their own beside turn 1's.
 * Prints TTFT p50 of turn 1, of turns >= 2 with the cache off and with it on, and the ratios.
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

async function multiTurn(s: RunningServer, cache: boolean): Promise<Phase> {
  const res: Phase = { cold: [], warm: [], cachedShare: [] };
  const convs = Array.from({ length: 8 }, (_, c) => makePrompt(`conversation ${c}`, 300, 100 + c));
  for (let turn = 0; turn < 6; turn++) {
    const results = await pool(convs.map((history, c) => async () => {
      const prompt = `${history}\nUser: question ${turn} of conversation ${c}?\nAssistant:`;
      const r = await timedRequest(s.baseUrl, "/v1/completions", { model: s.modelId, prompt, max_tokens: 24, temperature: 0, ignore_eos: true, cache_prompt: cache });
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

async function sharedSystemPrompt(s: RunningServer, cache: boolean): Promise<Phase> {
  const res: Phase = { cold: [], warm: [], cachedShare: [] };
  const system = makePrompt("system", 1500, 7);
  const ask = (agent: number, q: number) => timedRequest(s.baseUrl, "/v1/completions", {
    model: s.modelId, prompt: `${system}\nAgent ${agent} asks: what is step ${q} for task ${agent * 31 + q}?\nAnswer:`, max_tokens: 16, temperature: 0, ignore_eos: true, cache_prompt: cache,
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

/** One workload on a fresh server, with the prefix cache on or off. */
async function measure(name: "llama-server" | "inferflux", wl: string, fn: (s: RunningServer, cache: boolean) => Promise<Phase>, cache: boolean): Promise<Phase> {
  const c = cfg(`${name}-${wl}${cache ? "" : "-nocache"}`);
  const s = name === "llama-server"
    ? await startLlamaServer(LLAMA_SERVER, c, REPO, 180_000)
    : await startInferFlux(REPO, c, LLAMA_LIB_DIR, cache ? [] : ["--set", "cache.enabled=false"], 180_000);
  try {
    return await fn(s, cache);
  } finally {
    await stopServer(s);
  }
}

const table: string[] = [];
const results: Record<string, Record<string, { on: Phase; off: Phase }>> = {};
for (const name of ["llama-server", "inferflux"] as const) {
  for (const [wl, fn] of [["a-multiturn", multiTurn], ["b-shared-system", sharedSystemPrompt]] as const) {
    (results[name] ??= {})[wl] = { on: await measure(name, wl, fn, true), off: await measure(name, wl, fn, false) };
  }
}

table.push("| workload | server | turn-1 TTFT p50 ms | turn>=2, cache off, p50 ms | turn>=2 p50 ms | turn>=2 p95 ms | cache off / on (turn>=2) | turn-1 / turn>=2 |");
table.push("|---|---|---|---|---|---|---|---|");
for (const wl of ["a-multiturn", "b-shared-system"]) {
  for (const name of ["llama-server", "inferflux"]) {
    const { on, off } = results[name][wl];
    const first = percentile(on.cold, 50), warm = percentile(on.warm, 50), uncached = percentile(off.warm, 50);
    table.push(`| ${wl} | ${name} | ${fmt(first)} | ${fmt(uncached)} | ${fmt(warm)} | ${fmt(percentile(on.warm, 95))} | ${fmt(uncached / warm)}x | ${fmt(first / warm)}x |`);
  }
  const ratio = percentile(results["llama-server"][wl].on.warm, 50) / percentile(results.inferflux[wl].on.warm, 50);
  table.push(`| ${wl} | llama-server/inferflux turn>=2 p50 | | | ${fmt(ratio, 2)}x | | | |`);
}
console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, parallel 8, ctx 32768 (unified KV on both)\n`);
console.log(table.join("\n"));
