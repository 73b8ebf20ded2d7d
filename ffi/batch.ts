/**
 * A native llama_batch of fixed capacity, filled from TypeScript through
 * typed-array views over libllama's own buffers. One token belongs to one
 * sequence. Owns the batch; free() releases it exactly once.
 */
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import type { LlamaBinding } from "./index";
import { BATCH } from "./layouts";

export class Batch {
  readonly capacity: number;
  nTokens = 0;
  private readonly struct: Uint8Array;
  private readonly view: DataView;
  private readonly tokens: Int32Array;
  private readonly positions: Int32Array;
  private readonly nSeqIds: Int32Array;
  private readonly seqIds: Int32Array[];
  private readonly logits: Int8Array;
  private freed = false;

  constructor(private readonly binding: LlamaBinding, capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`batch capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.struct = new Uint8Array(BATCH.size);
    this.view = new DataView(this.struct.buffer);
    binding.shim.ifx_batch_init(ptr(this.struct), capacity, 0, 1);
    const field = (offset: number) => Number(this.view.getBigUint64(offset, true)) as Pointer;
    this.tokens = new Int32Array(toArrayBuffer(field(BATCH.token), 0, capacity * 4));
    this.positions = new Int32Array(toArrayBuffer(field(BATCH.pos), 0, capacity * 4));
    this.nSeqIds = new Int32Array(toArrayBuffer(field(BATCH.n_seq_id), 0, capacity * 4));
    this.logits = new Int8Array(toArrayBuffer(field(BATCH.logits), 0, capacity));
    const seqPtrs = new BigUint64Array(toArrayBuffer(field(BATCH.seq_id), 0, capacity * 8));
    this.seqIds = Array.from(seqPtrs, (p) => new Int32Array(toArrayBuffer(Number(p) as Pointer, 0, 4)));
  }

  clear(): void {
    this.nTokens = 0;
  }

  /** Appends a token; returns its index in the batch (the logits index when wantLogits). */
  add(token: number, pos: number, seqId: number, wantLogits: boolean): number {
    const i = this.nTokens;
    if (i >= this.capacity) throw new RangeError(`batch full (${this.capacity} tokens)`);
    this.tokens[i] = token;
    this.positions[i] = pos;
    this.nSeqIds[i] = 1;
    this.seqIds[i][0] = seqId;
    this.logits[i] = wantLogits ? 1 : 0;
    this.nTokens = i + 1;
    return i;
  }

  /** The struct pointer with n_tokens written, for ifx_decode. */
  nativeForDecode(): Pointer {
    if (this.freed) throw new Error("batch already freed");
    this.view.setInt32(0, this.nTokens, true);
    return ptr(this.struct);
  }

  free(): void {
    if (this.freed) return;
    this.view.setInt32(0, this.capacity, true);
    this.binding.shim.ifx_batch_free(ptr(this.struct));
    this.freed = true;
  }
}
