/** Shared setup of the issue benchmarks: model path, threads, the pinned llama-server. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { physicalCores } from "../../src/shared/cpu";

export const REPO = resolve(import.meta.dir, "../..");
export const MODELS = resolve(REPO, "../shared/models");
export const SYNTHETIC = join(MODELS, "synthetic-llama2vocab-24M-random-q8_0.gguf");
export const LLAMA_SERVER = join(REPO, "llama.cpp/build/cpu/bin/llama-server");
export const LLAMA_LIB_DIR = join(REPO, "llama.cpp/build/cpu/bin");

export function benchThreads(): number {
  return Number(process.env.BENCH_THREADS ?? physicalCores());
}

export function requireFile(path: string, hint: string): void {
  if (!existsSync(path)) {
    console.error(`missing ${path}: ${hint}`);
    process.exit(2);
  }
}

export const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
