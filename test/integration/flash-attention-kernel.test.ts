/**
 * The CPU flash-attention kernel of the local source build against a double-precision
 * reference (llama.cpp/check/flash-attn-unified-kv.c), on masks shaped like a unified KV
 * cache: interleaved sequences, shared prefixes, padding rows, a row split over threads.
 * InferFlux's patch (llama.cpp/patches/ggml-cpu-flash-attn-unified-kv.diff) changes which
 * cells that kernel visits; this is what pins that it still computes the same attention.
 * Needs a CPU source build (bash llama.cpp/build.sh cpu) and a C compiler; skips otherwise.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers/server";

const BIN = join(REPO, "llama.cpp", "build", "cpu", "bin");
const haveBuild = existsSync(join(BIN, "libggml-cpu.so")) && existsSync(join(REPO, "llama.cpp", "src", "ggml", "include", "ggml.h"));
const haveCc = Bun.which(process.env.CC ?? "cc") !== null;
if (!haveBuild) console.warn("flash-attention kernel check skipped: no CPU source build (bash llama.cpp/build.sh cpu)");
else if (!haveCc) console.warn("flash-attention kernel check skipped: no C compiler (cc)");

describe.skipIf(!haveBuild || !haveCc)("CPU flash attention over a unified KV cache (source build)", () => {
  test("every mask layout matches the reference", () => {
    const r = Bun.spawnSync(["bash", join(REPO, "llama.cpp", "check", "run.sh"), BIN], { stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString();
    const lines = out.trim().split("\n").filter(Boolean);
    if (r.exitCode !== 0) console.error(out, r.stderr.toString());
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.filter((l) => !l.startsWith("ok "))).toEqual([]);
    expect(r.exitCode).toBe(0);
  }, 120_000);
});
