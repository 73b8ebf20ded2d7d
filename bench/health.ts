/**
 * Issue 2: the health endpoint's latency while 8 clients stream, InferFlux
 * against llama-server in one run (same model, threads, slots, context; the
 * servers one after the other). The probe is a process of its own
 * (bench/lib/health-probe.ts: 50 warm-up + N sequential GETs), so the clients
 * that drive the load do not delay its measurement.
 *
 *   ./node_modules/.bin/bun bench/health.ts [--samples N] [--rounds R] [--only inferflux|llama-server]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, installCleanupHandlers, startInferFlux, startLlamaServer, stopServer, type RunningServer } from "./lib/servers.ts";
import { makePrompt, streamCompletion } from "./lib/workload.ts";
import { benchThreads, fmt, LLAMA_LIB_DIR, LLAMA_SERVER, REPO, requireFile, SYNTHETIC } from "./lib/common.ts";

const { values: opts } = parseArgs({ options: { samples: { type: "string", default: "1000" }, rounds: { type: "string", default: "2" }, only: { type: "string" } } });
requireFile(SYNTHETIC, "the synthetic bench model");
installCleanupHandlers();
const threads = benchThreads();
const STREAMS = 8;

interface Probe { samples: number; p50: number; p90: number; p99: number; max: number }

async function probe(url: string): Promise<Probe> {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "lib/health-probe.ts"), url, opts.samples!], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`health probe of ${url} failed`);
  return JSON.parse(out.trim()) as Probe;
}

async function measure(s: RunningServer, healthPath: string): Promise<{ idle: Probe; busy: Probe }> {
  const idle = await probe(s.baseUrl + healthPath);
  let streaming = true;
  let i = 0;
  const clients = Array.from({ length: STREAMS }, async (_, c) => {
    while (streaming) {
      const r = await streamCompletion({ baseUrl: s.baseUrl, model: s.modelId, prompt: makePrompt(`health ${c}-${i++}`, 100, c * 1000 + i), maxTokens: 256, timeoutMs: 120_000 });
      if (!r.ok) throw new Error(`${s.name}: ${r.error}`);
    }
  });
  await Bun.sleep(1000); // every stream past its first prefill
  const busy = await probe(s.baseUrl + healthPath);
  streaming = false;
  await Promise.all(clients);
  return { idle, busy };
}

const cfg = (name: string) => ({ model: SYNTHETIC, threads, parallel: STREAMS, ctxSize: 16384, port: freePort(), logPath: join(REPO, `bench/results/health-${name}.log`) });
const results: Record<string, { idle: Probe; busy: Probe }[]> = { "llama-server": [], inferflux: [] };
for (let r = 0; r < Number(opts.rounds); r++) {
  if (opts.only !== "inferflux") {
    const ls = await startLlamaServer(LLAMA_SERVER, cfg("llama-server"), REPO, 180_000);
    try { results["llama-server"].push(await measure(ls, "/health")); } finally { await stopServer(ls); }
  }
  if (opts.only !== "llama-server") {
    const ifx = await startInferFlux(REPO, cfg("inferflux"), LLAMA_LIB_DIR, [], 180_000);
    try { results.inferflux.push(await measure(ifx, "/healthz")); } finally { await stopServer(ifx); }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, parallel ${STREAMS}; load: ${STREAMS} streams (~100-token prompts, 256 tokens each, back to back); ${opts.samples} sequential probes per cell, median over ${opts.rounds} rounds\n`);
console.log("| server | load | p50 ms | p90 ms | p99 ms | max ms |");
console.log("|---|---|---|---|---|---|");
for (const [name, rounds] of Object.entries(results)) {
  if (!rounds.length) continue;
  for (const load of ["idle", "busy"] as const) {
    const m = (k: keyof Probe) => fmt(median(rounds.map((x) => x[load][k])), 3);
    console.log(`| ${name} | ${load === "idle" ? "idle" : `${STREAMS} streams`} | ${m("p50")} | ${m("p90")} | ${m("p99")} | ${m("max")} |`);
  }
}
