/**
 * Issue 3's warm multi-turn step in libllama alone, without the server: 8 sequences of
 * 330 prompt tokens, then 5 turns of 24 interleaved decode steps followed by one step that
 * feeds 20 new tokens to each sequence (the next turn's suffix). Prints, per library, each
 * turn's 8x20 step and the mean 8-token decode step, so the source build's patched CPU
 * flash attention can be set against the npm prebuilt's upstream kernels (same llama.cpp).
 *
 *   ./node_modules/.bin/bun bench/attention-step.ts [--lib DIR]... [--threads N]
 *
 * Default libraries: llama.cpp/build/cpu/bin and the npm prebuilt, those that exist.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchThreads, fmt, LLAMA_LIB_DIR, REPO, requireFile, SYNTHETIC } from "./lib/common.ts";

const TURNS = 5, SEQS = 8, PROMPT = 330, DECODES = 24, SUFFIX = 20;

async function child(threads: number): Promise<void> {
  const { loadLlama } = await import("../ffi/index");
  const { Model } = await import("../ffi/model");
  const { Context } = await import("../ffi/context");
  const { Batch } = await import("../ffi/batch");
  const { createLogger, setLogLevel } = await import("../src/shared/logger");
  setLogLevel("warn");
  const binding = loadLlama(createLogger("bench"));
  const model = Model.load(binding, { path: SYNTHETIC, gpuLayers: 0 });
  const ctx = Context.create(binding, model, { nCtx: 32768, nBatch: 2048, nUbatch: 512, nSeqMax: SEQS, threads, threadsBatch: threads, kvUnified: true, poll: 50 });
  const batch = new Batch(binding, 2048);
  const pos = new Array(SEQS).fill(0);
  let tok = 1000;
  const step = (n: number, seqs: number[]) => {
    batch.clear();
    for (const s of seqs) for (let i = 0; i < n; i++) batch.add(100 + (tok++ % 30000), pos[s]++, s, i === n - 1);
    const t = performance.now();
    const r = ctx.decode(batch);
    if (r !== "ok") throw new Error(`decode: ${r}`);
    return performance.now() - t;
  };
  const all = Array.from({ length: SEQS }, (_, s) => s);
  for (let h = 0; h < SEQS; h += 4) step(PROMPT, all.slice(h, h + 4));
  const turns: { cells: number; suffixMs: number; decodeMs: number }[] = [];
  for (let t = 0; t < TURNS; t++) {
    let dec = 0;
    for (let d = 0; d < DECODES; d++) dec += step(1, all);
    const suffixMs = step(SUFFIX, all);
    turns.push({ cells: pos.reduce((a, b) => a + b, 0), suffixMs, decodeMs: dec / DECODES });
  }
  console.log(JSON.stringify(turns));
}

const { values } = parseArgs({ options: { lib: { type: "string", multiple: true }, threads: { type: "string" }, child: { type: "boolean" } } });
const threads = Number(values.threads ?? benchThreads());
if (values.child) {
  await child(threads);
} else {
  requireFile(SYNTHETIC, "the bench model is in ../shared/models");
  const npm = join(REPO, "node_modules", "@node-llama-cpp", `${process.platform}-${process.arch}`, "bins", `${process.platform}-${process.arch}`);
  const libs = values.lib ?? [LLAMA_LIB_DIR, npm].filter((d) => existsSync(d));
  const rows: string[] = ["| library | cells after the turn | 8x20 step ms | 8-token decode step ms |", "|---|---|---|---|"];
  for (const lib of libs) {
    const p = Bun.spawnSync([process.execPath, import.meta.path, "--child", "--threads", String(threads)], { env: { ...process.env, INFERFLUX_LLAMA_LIB: lib }, stdout: "pipe", stderr: "pipe" });
    const line = p.stdout.toString().trim().split("\n").pop() ?? "";
    if (p.exitCode !== 0 || !line.startsWith("[")) {
      console.error(`${lib}: failed (${p.exitCode})\n${p.stderr.toString().slice(-2000)}`);
      process.exit(1);
    }
    for (const t of JSON.parse(line)) rows.push(`| ${lib.replace(REPO + "/", "")} | ${t.cells} | ${fmt(t.suffixMs)} | ${fmt(t.decodeMs, 2)} |`);
  }
  console.log(`\nmodel ${SYNTHETIC}, threads ${threads}, ${SEQS} sequences x ${PROMPT} prompt tokens, unified KV of 32768 cells\n`);
  console.log(rows.join("\n"));
}
