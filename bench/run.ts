/**
 * InferFlux vs llama.cpp's llama-server, one run, same model / threads / slots / context.
 *
 *   ./node_modules/.bin/bun bench/run.ts [options]
 *
 * Both servers stay up; every cell runs on both back to back, alternating which goes first,
 * so the machine's drifting speed falls on both alike (--sequential: one server at a time).
 * Workloads: streamed POST /v1/completions, temperature 0, ignore_eos, distinct prompts,
 * for every (prompt length, concurrency): 1 warm-up + K measured requests per stream-slot.
 * Prints a markdown table and writes bench/results/<timestamp>.json. See bench/README.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  buildInfo, freePort, installCleanupHandlers, llamaServerVersion, startInferFlux, startLlamaServer, stopServer,
  type RunningServer, type ServerName,
} from "./lib/servers.ts";
import { summarize, sum, mean, percentile } from "./lib/stats.ts";
import { markdownTable, type LevelSummary, type ServerSummaries } from "./lib/table.ts";
import { runLevel, type LevelResult } from "./lib/workload.ts";
import { foreignShare, sampleCpu } from "./lib/load.ts";
import { physicalCores } from "../src/shared/cpu.ts";

const REPO = resolve(import.meta.dir, "..");
const DEFAULT_MODEL = resolve(REPO, "../shared/models/synthetic-llama2vocab-24M-random-q8_0.gguf");

const HELP = `usage: bun bench/run.ts [options]
  --model PATH           GGUF model (default ${DEFAULT_MODEL})
  --threads N            threads for both servers (default: physical cores)
  --parallel N           parallel slots for both servers (default 8)
  --ctx-size N           one unified KV cache of N tokens for both (default 16384: 8 streams of
                         ~1000 + 128 tokens need ~9100, more than 8192)
  --max-tokens N         completion tokens per request, ignore_eos (default 128)
  --requests K           measured requests per stream-slot, after 1 warm-up (default 3)
  --rounds R             repeat the whole sweep R times; per cell the table shows the median tok/s
                         and the TTFT percentiles over the rounds run on a quiet machine (others
                         < 5% CPU), else all, and the per-round paired tok/s ratios (default 1)
  --sequential           one server at a time: per round, llama-server runs the whole sweep and is
                         stopped, then InferFlux. Default: both stay up and every cell runs on both
                         back to back, which goes first alternating by cell and round
  --concurrency LIST     concurrent streams per level (default 1,4,8)
  --prompt-tokens LIST   approximate prompt lengths in Llama-2 tokens (default 100,1000)
  --only NAME            llama-server or inferflux
  --llama-server PATH    llama-server binary (default llama.cpp/build/cpu/bin/llama-server)
  --llama-lib DIR|auto   INFERFLUX_LLAMA_LIB for InferFlux (default: the llama-server binary's
                         directory, so both use the same libllama build; auto = InferFlux's lookup)
  --inferflux-arg ARG    extra argument for 'inferflux serve' (repeatable)
  --llama-server-arg ARG extra argument for llama-server (repeatable; --llama-server-arg=--cache-ram)
  --timeout S            per-request timeout in seconds (default 300)
  --health-timeout S     seconds to wait for a server to become healthy (default 180)
  --seed N               prompt seed of round 1; round r uses N + r - 1 (default 1)
  --out PATH             results JSON (default bench/results/<timestamp>.json)`;


function fatal(msg: string): never {
  console.error(`bench: ${msg} (see --help)`);
  process.exit(2);
}

const intList = (s: string) => s.split(",").map((x) => parseInt(x.trim(), 10)).filter((n) => n > 0);
function posInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = parseInt(v, 10);
  if (!(n > 0)) fatal(`--${name} must be a positive integer (got ${v})`);
  return n;
}

function parseOptions() {
  return parseArgs({
    options: {
      model: { type: "string" }, threads: { type: "string" }, parallel: { type: "string" },
      "ctx-size": { type: "string" }, "max-tokens": { type: "string" }, requests: { type: "string" }, rounds: { type: "string" },
      concurrency: { type: "string" }, "prompt-tokens": { type: "string" }, only: { type: "string" },
      "llama-server": { type: "string" }, "llama-lib": { type: "string" },
      "inferflux-arg": { type: "string", multiple: true }, "llama-server-arg": { type: "string", multiple: true }, timeout: { type: "string" },
      "health-timeout": { type: "string" }, seed: { type: "string" }, out: { type: "string" },
      sequential: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
}
let parsed: ReturnType<typeof parseOptions>;
try {
  parsed = parseOptions();
} catch (e) {
  fatal(e instanceof Error ? e.message : String(e));
}
const opt = parsed.values;
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const cfg = {
  model: resolve(opt.model ?? DEFAULT_MODEL),
  threads: posInt("threads", opt.threads, physicalCores()),
  parallel: posInt("parallel", opt.parallel, 8),
  ctxSize: posInt("ctx-size", opt["ctx-size"], 16384),
  maxTokens: posInt("max-tokens", opt["max-tokens"], 128),
  requestsPerSlot: posInt("requests", opt.requests, 3),
  rounds: posInt("rounds", opt.rounds, 1),
  concurrency: intList(opt.concurrency ?? "1,4,8"),
  promptTokens: intList(opt["prompt-tokens"] ?? "100,1000"),
  timeoutMs: posInt("timeout", opt.timeout, 300) * 1000,
  healthTimeoutMs: posInt("health-timeout", opt["health-timeout"], 180) * 1000,
  seed: posInt("seed", opt.seed, 1),
  llamaServer: resolve(opt["llama-server"] ?? join(REPO, "llama.cpp/build/cpu/bin/llama-server")),
  paired: !opt.sequential && !opt.only,
};
const only = opt.only as ServerName | undefined;
if (only && only !== "llama-server" && only !== "inferflux") fatal("--only must be llama-server or inferflux");
if (!existsSync(cfg.model)) fatal(`model not found: ${cfg.model}`);
if (!cfg.concurrency.length || !cfg.promptTokens.length) fatal("empty --concurrency or --prompt-tokens");
if (Math.max(...cfg.concurrency) > cfg.parallel) {
  console.error(`[bench] warning: concurrency ${Math.max(...cfg.concurrency)} > --parallel ${cfg.parallel}; requests will queue`);
}
const kvNeeded = Math.max(...cfg.concurrency) * (Math.ceil(Math.max(...cfg.promptTokens) * 1.05) + cfg.maxTokens);
if (kvNeeded > cfg.ctxSize) {
  console.error(`[bench] warning: the largest level needs ~${kvNeeded} KV cells (streams x (prompt + max_tokens)) > --ctx-size ${cfg.ctxSize}; expect errors or queueing there`);
}
const libOpt = opt["llama-lib"];
const inferfluxLib = libOpt === "auto" ? undefined : resolve(libOpt ?? dirname(cfg.llamaServer));

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outPath = resolve(opt.out ?? join(REPO, "bench/results", `${stamp}.json`));
mkdirSync(dirname(outPath), { recursive: true });
installCleanupHandlers();

/** Summary of one (prompt length, concurrency) cell over one or more rounds. */
function summarizeCell(rounds: LevelResult[]): LevelSummary {
  const all = rounds.flatMap((r) => r.requests);
  const ok = all.filter((q) => q.ok);
  const prompts = ok.map((q) => q.promptTokens).filter((n): n is number => n !== undefined);
  const ttft = summarize(ok.map((q) => q.ttftMs).filter(Number.isFinite));
  const perRound = rounds.map((r) => sum(r.requests.filter((q) => q.ok).map((q) => q.tokens)) / (r.wallMs / 1000));
  return {
    promptTokens: rounds[0].promptTokens,
    concurrency: rounds[0].concurrency,
    promptTokensMeasured: prompts.length ? mean(prompts) : undefined,
    requests: all.length,
    errors: all.length - ok.length,
    completionTokens: sum(ok.map((q) => q.tokens)),
    wallMs: sum(rounds.map((r) => r.wallMs)),
    tokPerSec: percentile(perRound, 50),
    ttftP50Ms: ttft.p50,
    ttftP95Ms: ttft.p95,
  };
}

interface ServerRun {
  status: "ok" | "missing" | "failed";
  error?: string;
  command?: string[];
  env?: Record<string, string>;
  modelId?: string;
  log?: string;
  tokensFrom?: string[];
  round: number;
  /** Per level: share of the machine's CPU used by processes other than the bench and this server. */
  levels: (LevelResult & { summary: LevelSummary; foreignCpuShare: number })[];
}

/** Starts one server for a round (or for the whole paired run); a failed start is recorded in the returned run. */
async function startServer(name: ServerName, round: number): Promise<{ server?: RunningServer; run: ServerRun }> {
  const suffix = cfg.paired ? `-${name}` : cfg.rounds > 1 ? `-${name}-r${round}` : `-${name}`;
  const logPath = outPath.replace(/\.json$/, `${suffix}.log`);
  const serverCfg = { model: cfg.model, threads: cfg.threads, parallel: cfg.parallel, ctxSize: cfg.ctxSize, port: freePort(), logPath };
  try {
    console.error(`[bench] starting ${name} on port ${serverCfg.port} (log: ${logPath})`);
    const server = name === "llama-server"
      ? await startLlamaServer(cfg.llamaServer, serverCfg, REPO, cfg.healthTimeoutMs, opt["llama-server-arg"] ?? [])
      : await startInferFlux(REPO, serverCfg, inferfluxLib, opt["inferflux-arg"] ?? [], cfg.healthTimeoutMs);
    console.error(`[bench] ${name} healthy: ${server.command.join(" ")}`);
    return { server, run: { status: "ok", command: server.command, env: server.env, modelId: server.modelId, log: logPath, round, levels: [] } };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const missing = name === "inferflux" && msg.includes("does not exist");
    console.error(`[bench] ${name} ${missing ? "missing" : "failed to start"}: ${msg}`);
    return { run: { status: missing ? "missing" : "failed", error: msg, round, levels: [] } };
  }
}

/** Runs one (prompt length, concurrency) cell against a running server and records it in `run`. */
/**
 * Quiet time before a cell: a llama.cpp thread pool busy-polls a core for about 200 ms after its
 * last decode (poll 50; llama-server's pools do, InferFlux pauses its own after 100 ms idle), which would
 * otherwise fall on the first requests of the next cell, whichever server runs it.
 */
const SETTLE_MS = 400;

async function measureCell(server: RunningServer, run: ServerRun, promptTokens: number, concurrency: number): Promise<void> {
  await Bun.sleep(SETTLE_MS);
  // Every other server process of the bench (the idle partner in a paired run) counts as "other processes".
  const cpu0 = sampleCpu([server.proc.pid, process.pid]);
  // Each round its own prompts (the same for both servers): a server that stays up would otherwise find a round's prompts cached.
  const r = await runLevel(server.baseUrl, server.modelId, {
    promptTokens, concurrency, requestsPerSlot: cfg.requestsPerSlot, maxTokens: cfg.maxTokens, timeoutMs: cfg.timeoutMs, seed: cfg.seed + run.round,
  });
  const foreign = foreignShare(cpu0, sampleCpu([server.proc.pid, process.pid]));
  const s = summarizeCell([r]);
  run.levels.push({ ...r, summary: s, foreignCpuShare: foreign });
  const firstErr = r.requests.find((q) => !q.ok)?.error;
  console.error(
    `[bench] ${cfg.rounds > 1 ? `round ${run.round + 1}/${cfg.rounds} ` : ""}${server.name} prompt~${promptTokens} conc=${concurrency}: ${s.tokPerSec.toFixed(1)} tok/s, ` +
      `TTFT p50 ${s.ttftP50Ms.toFixed(0)} ms p95 ${s.ttftP95Ms.toFixed(0)} ms, ${s.completionTokens} tok in ${(s.wallMs / 1000).toFixed(1)} s` +
      (s.errors ? `, ${s.errors} errors (${firstErr})` : "") + (r.warmupErrors ? `, ${r.warmupErrors} warm-up errors` : "") +
      (foreign >= 0.05 ? `; other processes used ${(foreign * 100).toFixed(0)}% of the CPUs` : ""),
  );
}

function finishRun(run: ServerRun): ServerRun {
  run.tokensFrom = [...new Set(run.levels.flatMap((l) => l.requests.filter((q) => q.ok).map((q) => q.tokensFrom)))];
  return run;
}

const cells = cfg.promptTokens.flatMap((promptTokens) => cfg.concurrency.map((concurrency) => ({ promptTokens, concurrency })));
const order: ServerName[] = only ? [only] : ["llama-server", "inferflux"];
const runs: Partial<Record<ServerName, ServerRun[]>> = {};

/** Sequential: per round, each server in turn runs the whole sweep and is stopped. */
async function runSequential(): Promise<void> {
  for (let round = 0; round < cfg.rounds; round++) {
    for (const name of order) {
      const previous = runs[name] ?? (runs[name] = []);
      if (previous.some((r) => r.status !== "ok")) continue; // it failed to start once: don't retry every round
      const { server, run } = await startServer(name, round);
      previous.push(run);
      if (!server) continue;
      try {
        for (const c of cells) await measureCell(server, run, c.promptTokens, c.concurrency);
      } finally {
        await stopServer(server);
        console.error(`[bench] ${name} stopped`);
      }
      finishRun(run);
    }
  }
}

/**
 * Paired: both servers stay up (the idle one waits on its socket); every cell runs on both
 * back to back, the server that goes first alternating by cell and round, so drift of the
 * machine's speed over the run (hypervisor steal, thermal) falls on both alike.
 */
async function runPaired(): Promise<void> {
  const servers: Partial<Record<ServerName, RunningServer>> = {};
  try {
    for (const name of order) {
      const { server, run } = await startServer(name, 0);
      runs[name] = [run];
      if (server) servers[name] = server;
    }
    for (let round = 0; round < cfg.rounds; round++) {
      for (const name of order) {
        if (round > 0 && servers[name]) runs[name]!.push({ ...runs[name]![0], round, levels: [], tokensFrom: undefined });
      }
      for (const [i, c] of cells.entries()) {
        const turn = (round + i) % 2 === 0 ? order : [...order].reverse();
        for (const name of turn) {
          const server = servers[name];
          if (server) await measureCell(server, runs[name]![round], c.promptTokens, c.concurrency);
        }
      }
    }
  } finally {
    for (const name of order) {
      const server = servers[name];
      if (!server) continue;
      await stopServer(server);
      console.error(`[bench] ${name} stopped`);
    }
  }
  for (const name of order) runs[name]!.forEach(finishRun);
}

await (cfg.paired ? runPaired() : runSequential());

function cellKey(c: { promptTokens: number; concurrency: number }): string {
  return `${c.promptTokens}/${c.concurrency}`;
}

/** A level counts as measured on a quiet machine when other processes used less than this share of the CPU. */
const QUIET = 0.05;
const summaries: ServerSummaries = {};
const notes: string[] = [];
for (const name of order) {
  const ok = runs[name]!.filter((r) => r.status === "ok");
  const bad = runs[name]!.find((r) => r.status !== "ok");
  if (bad) notes.push(`${name}: ${bad.status}${bad.error ? ` (${bad.error.split("\n")[0]})` : ""}`);
  if (!ok.length) continue;
  const byCell = new Map<string, ServerRun["levels"]>();
  for (const r of ok) for (const l of r.levels) {
    const key = cellKey(l);
    byCell.set(key, [...(byCell.get(key) ?? []), l]);
  }
  // Per cell, only the rounds during which other processes stayed under QUIET of the CPU, when there are any.
  let busiest = 0;
  summaries[name] = [...byCell.values()].map((rounds) => {
    const quiet = rounds.filter((l) => !(l.foreignCpuShare >= QUIET));
    const used = quiet.length ? quiet : rounds;
    busiest = Math.max(busiest, ...used.map((l) => l.foreignCpuShare).filter(Number.isFinite));
    return summarizeCell(used);
  });
  if (cfg.rounds > 1) notes.push(`${name}: each cell uses the rounds where other processes used < ${QUIET * 100}% of the CPU, when there are any`);
  if (busiest >= QUIET) {
    notes.push(`${name}: other processes used up to ${(busiest * 100).toFixed(0)}% of the machine's CPU during levels in the table; those numbers are noisy (runs[].levels[].foreignCpuShare; more --rounds or a quiet machine help)`);
  }
  if (ok.some((r) => r.tokensFrom?.includes("max_tokens"))) {
    notes.push(`${name}: no usage.completion_tokens in some streams; counted max_tokens (ignore_eos) for those`);
  }
}

/**
 * Paired runs: per cell, InferFlux/llama-server tok/s of each round (both measured back to back),
 * over the rounds where both were quiet when there are any.
 */
function pairedRatios(): Map<string, number[]> | undefined {
  if (!cfg.paired) return undefined;
  const ls = runs["llama-server"]?.filter((r) => r.status === "ok") ?? [];
  const inf = runs["inferflux"]?.filter((r) => r.status === "ok") ?? [];
  const out = new Map<string, number[]>();
  for (const c of cells) {
    const key = cellKey(c);
    const pairs = ls.flatMap((a) => {
      const b = inf.find((r) => r.round === a.round);
      const la = a.levels.find((l) => cellKey(l) === key);
      const lb = b?.levels.find((l) => cellKey(l) === key);
      return la && lb ? [{ a: la, b: lb }] : [];
    });
    const quiet = pairs.filter((p) => !(p.a.foreignCpuShare >= QUIET) && !(p.b.foreignCpuShare >= QUIET));
    out.set(key, (quiet.length ? quiet : pairs).map((p) => p.b.summary.tokPerSec / p.a.summary.tokPerSec));
  }
  return out;
}

const table = markdownTable(summaries, pairedRatios());
console.log(
  `\nmodel ${cfg.model}; threads ${cfg.threads}, parallel ${cfg.parallel}, ctx ${cfg.ctxSize} (unified), ` +
    `max_tokens ${cfg.maxTokens}, ${cfg.requestsPerSlot} requests/slot after 1 warm-up, ${cfg.rounds} round(s); ` +
    `tok/s = completion tokens / wall time${cfg.rounds > 1 ? " (median over rounds)" : ""}; ` +
    `prompt tok = target (mean reported by server)\n`,
);
console.log(table);
if (notes.length) console.log("\n" + notes.map((n) => `- ${n}`).join("\n"));

writeFileSync(
  outPath,
  JSON.stringify(
    {
      timestamp: new Date().toISOString(),
      host: { cpu: cpus()[0]?.model, logicalCpus: cpus().length, physicalCores: physicalCores(), platform: process.platform, arch: process.arch },
      config: { ...cfg, only: only ?? null, inferfluxLlamaLib: inferfluxLib ?? "auto" },
      llamaServer: { version: llamaServerVersion(cfg.llamaServer), build: buildInfo(cfg.llamaServer) },
      runs,
      table,
      notes,
    },
    null,
    2,
  ),
);
console.error(`\n[bench] results: ${outPath}`);
process.exit(0);
