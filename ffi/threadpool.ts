/**
 * ggml CPU thread pools. Without one attached, ggml's CPU backend starts and
 * joins its worker threads for every graph it computes, i.e. every decode;
 * llama-server attaches persistent pools, and so do we. The functions live in
 * the CPU backend module (one of several CPU variants, loaded at run time), so
 * they are looked up through the backend registry. Owns its handle.
 */
import { CFunction, dlopen, ptr, type Pointer } from "bun:ffi";
import type { LlamaBinding } from "./index";
import { THREADPOOL_PARAMS } from "./layouts";
import { moduleFileOf } from "./module-file";

export interface ThreadPoolOptions {
  threads: number;
  /** Busy-polling level between graphs, 0 (sleep at once) .. 100 (spin longest); llama.cpp's default is 50. */
  poll: number;
  /** Start paused (a pool that shares cores with another one resumes when used). */
  paused?: boolean;
}

interface PoolFns {
  create: (params: Pointer) => Pointer | null;
  free: (pool: Pointer) => void;
  /** Absent from CPU backends that do not export it. */
  pause?: (pool: Pointer) => void;
}

const fnsByBinding = new WeakMap<LlamaBinding, PoolFns | null>();

function poolFunctions(binding: LlamaBinding): PoolFns | null {
  if (fnsByBinding.has(binding)) return fnsByBinding.get(binding)!;
  const { ggml } = binding;
  let fns: PoolFns | null = null;
  const dev = ggml.ggml_backend_dev_by_type(0) as Pointer | null;
  const reg = dev ? (ggml.ggml_backend_dev_backend_reg(dev) as Pointer | null) : null;
  if (reg) {
    const name = (s: string) => Buffer.from(`${s}\0`);
    const newPtr = ggml.ggml_backend_reg_get_proc_address(reg, name("ggml_threadpool_new")) as Pointer | null;
    const freePtr = ggml.ggml_backend_reg_get_proc_address(reg, name("ggml_threadpool_free")) as Pointer | null;
    if (newPtr && freePtr) {
      const create = CFunction({ ptr: newPtr, args: ["ptr"], returns: "ptr" });
      const free = CFunction({ ptr: freePtr, args: ["ptr"], returns: "void" });
      fns = { create: (p) => create(p) as Pointer | null, free: (p) => void free(p) };
      fns.pause = pauseFunction(newPtr);
    }
  }
  fnsByBinding.set(binding, fns);
  return fns;
}

/**
 * ggml_threadpool_pause: the registry does not hand it out, so it is looked up
 * in the module that holds ggml_threadpool_new (Linux; elsewhere pools are not
 * paused and busy-poll as llama-server's do).
 */
function pauseFunction(newPtr: Pointer): ((pool: Pointer) => void) | undefined {
  const file = moduleFileOf(newPtr);
  if (!file) return undefined;
  try {
    const { symbols } = dlopen(file, { ggml_threadpool_pause: { args: ["ptr"], returns: "void" } });
    return (p) => void symbols.ggml_threadpool_pause(p);
  } catch {
    return undefined;
  }
}

export class ThreadPool {
  private handle: Pointer | null;

  private constructor(private readonly fns: PoolFns, handle: Pointer) {
    this.handle = handle;
  }

  /** A new pool, or null where the CPU backend offers none (then ggml falls back to per-decode threads). */
  static create(binding: LlamaBinding, options: ThreadPoolOptions): ThreadPool | null {
    const fns = poolFunctions(binding);
    if (!fns) return null;
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError(`thread pool size must be a positive integer, got ${options.threads}`);
    if (!Number.isInteger(options.poll) || options.poll < 0 || options.poll > 100) throw new RangeError(`thread pool poll level must be 0..100, got ${options.poll}`);
    const params = new Uint8Array(THREADPOOL_PARAMS.size);
    binding.ggml.ggml_threadpool_params_init(ptr(params), options.threads);
    const v = new DataView(params.buffer);
    v.setUint32(THREADPOOL_PARAMS.poll, options.poll, true);
    v.setUint8(THREADPOOL_PARAMS.paused, options.paused ? 1 : 0);
    const handle = fns.create(ptr(params));
    if (!handle) throw new Error(`failed to create a CPU thread pool of ${options.threads} threads`);
    return new ThreadPool(fns, handle);
  }

  get native(): Pointer {
    if (!this.handle) throw new Error("thread pool already freed");
    return this.handle;
  }

  /**
   * Puts the pool's threads to sleep now instead of letting them busy-poll for
   * the next graph (at poll 50, about 200 ms of a core each after every
   * decode). The next graph computed on the pool wakes them (ggml resumes a
   * paused pool at kickoff).
   */
  pause(): void {
    if (this.handle) this.fns.pause?.(this.handle);
  }

  /** Whether pause() can put the threads to sleep here (see pauseFunction). */
  get canPause(): boolean {
    return this.fns.pause !== undefined;
  }

  /** Call only after every context using the pool was freed or detached. */
  free(): void {
    if (!this.handle) return;
    this.fns.free(this.handle);
    this.handle = null;
  }
}
