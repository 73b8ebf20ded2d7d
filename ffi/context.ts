/**
 * A llama_context: the KV cache, decode, logits and sequence memory.
 * Owns its handle and frees it once. Every call happens on the worker thread.
 */
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import type { LlamaBinding } from "./index";
import type { Batch } from "./batch";
import type { Model } from "./model";
import { CONTEXT_PARAMS } from "./layouts";
import { ThreadPool } from "./threadpool";

export interface ContextOptions {
  nCtx: number;
  nBatch: number;
  nUbatch: number;
  nSeqMax: number;
  threads: number;
  threadsBatch: number;
  /** One KV buffer shared by all sequences (required for partial seq_cp). */
  kvUnified: boolean;
  /** -1 auto, 0 off, 1 on. */
  flashAttn?: number;
  /** CPU thread pools' busy-polling level 0..100 (default 50, as llama.cpp). */
  poll?: number;
}

/** The result of a decode, translated from llama_decode's return code. */
export type DecodeResult = "ok" | "no_kv_space" | "aborted" | "invalid_input";

/** The most sequence ids libllama accepts (LLAMA_MAX_SEQ). */
export const MAX_SEQ_ID = 256;

export class Context {
  readonly nCtx: number;
  readonly nBatch: number;
  readonly nSeqMax: number;
  readonly nVocab: number;
  private handle: Pointer | null;
  private readonly memory: Pointer;
  private pools: ThreadPool[] = [];
  /** Kept referenced while libllama holds a pointer into it. */
  private interruptFlags: Int32Array | null = null;

  private constructor(private readonly binding: LlamaBinding, handle: Pointer, model: Model) {
    const { llama } = binding;
    this.handle = handle;
    this.nCtx = llama.llama_n_ctx(handle);
    this.nBatch = llama.llama_n_batch(handle);
    this.nSeqMax = llama.llama_n_seq_max(handle);
    this.nVocab = model.vocab.nTokens;
    this.memory = llama.llama_get_memory(handle) as Pointer;
  }

  static create(binding: LlamaBinding, model: Model, options: ContextOptions): Context {
    if (options.nSeqMax < 1 || options.nSeqMax > MAX_SEQ_ID) throw new RangeError(`parallel sequences must be 1..${MAX_SEQ_ID}`);
    const params = new Uint8Array(CONTEXT_PARAMS.size);
    binding.shim.ifx_context_default_params(ptr(params));
    const v = new DataView(params.buffer);
    v.setUint32(CONTEXT_PARAMS.n_ctx, options.nCtx, true);
    v.setUint32(CONTEXT_PARAMS.n_batch, options.nBatch, true);
    v.setUint32(CONTEXT_PARAMS.n_ubatch, options.nUbatch, true);
    v.setUint32(CONTEXT_PARAMS.n_seq_max, options.nSeqMax, true);
    v.setInt32(CONTEXT_PARAMS.n_threads, options.threads, true);
    v.setInt32(CONTEXT_PARAMS.n_threads_batch, options.threadsBatch, true);
    if (options.flashAttn !== undefined) v.setInt32(CONTEXT_PARAMS.flash_attn_type, options.flashAttn, true);
    v.setUint8(CONTEXT_PARAMS.no_perf, 1);
    v.setUint8(CONTEXT_PARAMS.kv_unified, options.kvUnified ? 1 : 0);
    const handle = binding.shim.ifx_context_init(model.native, ptr(params)) as Pointer | null;
    if (!handle) throw new Error(`failed to create a llama context (n_ctx ${options.nCtx}, parallel ${options.nSeqMax}): out of memory or unsupported parameters`);
    const ctx = new Context(binding, handle, model);
    try {
      ctx.attachThreadPools(options.threads, options.threadsBatch, options.poll ?? 50);
    } catch (e) {
      ctx.free();
      throw e;
    }
    return ctx;
  }

  /**
   * Persistent CPU thread pools, as llama-server sets up: one for single-token
   * decodes and, when the batch thread count differs, one for batches (the
   * first then starts paused; ggml pauses whichever is idle).
   */
  private attachThreadPools(threads: number, threadsBatch: number, poll: number): void {
    const separate = threadsBatch !== threads;
    const batch = separate ? ThreadPool.create(this.binding, { threads: threadsBatch, poll }) : null;
    const single = ThreadPool.create(this.binding, { threads, poll, paused: separate });
    if (!single) return; // no CPU backend pool API: ggml uses per-decode threads
    this.pools = batch ? [single, batch] : [single];
    this.binding.llama.llama_attach_threadpool(this.native, single.native, batch ? batch.native : null);
  }

  /** Lets the CPU pools' threads sleep until the next decode (see ThreadPool.pause); for when the engine goes idle. */
  pauseThreads(): void {
    for (const p of this.pools) p.pause();
  }

  /** Whether pauseThreads does anything (a pool is attached and its module exports the pause). */
  get canPauseThreads(): boolean {
    return this.pools.length > 0 && this.pools.every((p) => p.canPause);
  }

  get native(): Pointer {
    if (!this.handle) throw new Error("context already freed");
    return this.handle;
  }

  decode(batch: Batch): DecodeResult {
    if (batch.nTokens === 0) return "ok";
    if (batch.nTokens > this.nBatch) throw new RangeError(`batch of ${batch.nTokens} tokens exceeds n_batch ${this.nBatch}`);
    const rc = this.binding.shim.ifx_decode(this.native, batch.nativeForDecode());
    if (rc === 0) return "ok";
    if (rc === 1) return "no_kv_space";
    if (rc === 2) return "aborted";
    if (rc === -1) return "invalid_input";
    throw new Error(`llama_decode failed fatally (${rc})`);
  }

  /**
   * Lets a decode stop between graph nodes once flags[0] >= flags[1] (two
   * int32 values, normally in a SharedArrayBuffer another thread writes); it
   * then returns "aborted" with the ubatches before the interrupted one kept
   * in memory. null turns it off.
   */
  setInterrupt(flags: Int32Array | null): void {
    if (flags && flags.length < 2) throw new RangeError("interrupt flags need two int32 values");
    this.binding.shim.ifx_set_interrupt(this.native, flags ? ptr(flags) : null);
    this.interruptFlags = flags;
  }

  /** The logits of output index i of the last decode, as a view valid until the next decode. */
  logits(i: number): Float32Array {
    const p = this.binding.llama.llama_get_logits_ith(this.native, i);
    if (!p) throw new RangeError(`no logits at batch index ${i}`);
    return new Float32Array(toArrayBuffer(p, 0, this.nVocab * 4));
  }

  private checkSeq(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.nSeqMax) throw new RangeError(`sequence id ${seq} outside 0..${this.nSeqMax - 1}`);
  }

  /** Removes positions [p0, p1) of a sequence (p1 < 0: to the end). */
  seqRemove(seq: number, p0 = 0, p1 = -1): boolean {
    this.checkSeq(seq);
    return this.binding.llama.llama_memory_seq_rm(this.memory, seq, p0, p1);
  }

  /** Shares positions [p0, p1) of src with dst (metadata only in a unified cache). */
  seqCopy(src: number, dst: number, p0 = 0, p1 = -1): void {
    this.checkSeq(src);
    this.checkSeq(dst);
    this.binding.llama.llama_memory_seq_cp(this.memory, src, dst, p0, p1);
  }

  /** The largest position a sequence holds, or -1 when empty. */
  seqPosMax(seq: number): number {
    this.checkSeq(seq);
    return this.binding.llama.llama_memory_seq_pos_max(this.memory, seq);
  }

  /** A copy of the sequence's KV state (what llama_state_seq_set_data takes back); null when it cannot be read. */
  seqStateGet(seq: number): Uint8Array | null {
    this.checkSeq(seq);
    const { llama } = this.binding;
    const size = Number(llama.llama_state_seq_get_size(this.native, seq));
    if (size <= 0) return null;
    const buf = new Uint8Array(size);
    const written = Number(llama.llama_state_seq_get_data(this.native, ptr(buf), size, seq));
    return written > 0 ? buf.subarray(0, written) : null;
  }

  /** Loads a state from seqStateGet into an (empty) sequence; false when libllama refuses it (wrong model or layout, no space). */
  seqStateSet(seq: number, state: Uint8Array): boolean {
    this.checkSeq(seq);
    if (state.byteLength === 0) return false;
    return Number(this.binding.llama.llama_state_seq_set_data(this.native, ptr(state), state.byteLength, seq)) > 0;
  }

  clearMemory(): void {
    this.binding.llama.llama_memory_clear(this.memory, true);
  }

  free(): void {
    if (!this.handle) return;
    this.binding.llama.llama_free(this.handle);
    this.handle = null;
    this.interruptFlags = null;
    for (const p of this.pools) p.free();
    this.pools = [];
  }
}
