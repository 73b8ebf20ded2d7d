/**
 * Compiles shim.c with bun:ffi's TinyCC against the pinned headers and the
 * located libllama, then checks struct layouts. Refuses to run on a mismatch.
 */
import { cc, ptr } from "bun:ffi";
import { join } from "node:path";
import { REPO_ROOT } from "./library";
import { compareLayouts } from "./layouts";

const p = "ptr", i32 = "i32", bool = "bool", v = "void", cstring = "cstring";

export const shimSymbols = {
  ifx_layout: { args: [p, i32], returns: i32 },
  ifx_model_default_params: { args: [p], returns: v },
  ifx_context_default_params: { args: [p], returns: v },
  /** Owned model or NULL (missing/corrupt file, failed allocation). */
  ifx_model_load: { args: [cstring, p], returns: p },
  /** Owned context or NULL (bad parameters, out of memory). */
  ifx_context_init: { args: [p, p], returns: p },
  ifx_batch_init: { args: [p, i32, i32, i32], returns: v },
  ifx_batch_free: { args: [p], returns: v },
  /** 0 ok; 1 no KV slot for the batch; 2 aborted; -1 invalid input; < -1 fatal. */
  ifx_decode: { args: [p, p], returns: i32 },
  /** Owned sampler chain; free with llama_sampler_free. */
  ifx_sampler_chain_init: { args: [bool], returns: p },
  /** Routes llama.cpp's log to a (threadsafe) callback that receives a heap copy of each fragment; NULL restores the default. */
  ifx_log_set: { args: [p], returns: v },
  /** Frees a log fragment copy. */
  ifx_free: { args: [p], returns: v },
  /** Lets decode stop early when flags[0] >= flags[1] (two int32 in shared memory; NULL: never). */
  ifx_set_interrupt: { args: [p, p], returns: v },
} as const;

export type Shim = ReturnType<typeof compileShim>;

export function compileShim(linkDir: string) {
  const cDir = join(REPO_ROOT, "ffi", "c");
  const { symbols } = cc({
    source: join(cDir, "shim.c"),
    library: ["llama", "ggml", "ggml-base", "c"],
    flags: ["-nostdinc", `-I${join(cDir, "stub-include")}`, `-I${join(REPO_ROOT, "llama.cpp", "include")}`, `-L${linkDir}`],
    symbols: shimSymbols,
  });
  const out = new BigInt64Array(64);
  const count = symbols.ifx_layout(ptr(out), out.length);
  const problems = compareLayouts(out, count);
  if (problems.length) {
    throw new Error(`libllama struct layouts differ from the binding (wrong llama.cpp version?):\n  ${problems.join("\n  ")}`);
  }
  return symbols;
}
