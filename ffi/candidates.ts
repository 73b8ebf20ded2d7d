/**
 * A llama_token_data_array over the whole vocabulary, in memory owned by
 * TypeScript, for samplers applied by hand (grammar checks). Also a
 * one-token array used to test a single token against a grammar cheaply.
 */
import { ptr, type Pointer } from "bun:ffi";
import { TOKEN_DATA, TOKEN_DATA_ARRAY } from "./layouts";

export class CandidateArray {
  private readonly data: ArrayBuffer;
  private readonly ids: Int32Array;
  private readonly floats: Float32Array;
  private readonly header = new ArrayBuffer(TOKEN_DATA_ARRAY.size);
  private readonly headerView = new DataView(this.header);
  private heap = new Int32Array(0);
  private cumulative = new Float64Array(0);
  private cumulativeSize = 0;

  constructor(readonly capacity: number) {
    this.data = new ArrayBuffer(capacity * TOKEN_DATA.size);
    this.ids = new Int32Array(this.data);
    this.floats = new Float32Array(this.data);
    for (let i = 0; i < capacity; i++) this.ids[i * 3] = i;
  }

  /** Loads logits as candidates (id = index, p = 0), unsorted, nothing selected. */
  fill(logits: Float32Array): Pointer {
    const n = Math.min(logits.length, this.capacity);
    const ids = this.ids;
    const f = this.floats;
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      ids[o] = i;
      f[o + 1] = logits[i];
      f[o + 2] = 0;
    }
    return this.setHeader(n);
  }

  /** Loads the given token ids (ascending, from the caller) with their logits, or 0 without logits. */
  fillIds(tokenIds: Int32Array, logits?: Float32Array): Pointer {
    const n = Math.min(tokenIds.length, this.capacity);
    const ids = this.ids;
    const f = this.floats;
    for (let j = 0, o = 0; j < n; j++, o += 3) {
      const t = tokenIds[j];
      ids[o] = t;
      f[o + 1] = logits ? logits[t] : 0;
      f[o + 2] = 0;
    }
    return this.setHeader(n);
  }

  /**
   * Prefix sums of the candidates' probabilities (the `p` a dist sampler left),
   * for drawCumulative. False when the array holds no probabilities.
   */
  buildCumulative(): boolean {
    const size = Number(this.headerView.getBigUint64(8, true));
    if (Number(this.headerView.getBigUint64(0, true)) !== ptr(this.data)) return false;
    if (this.cumulative.length < size) this.cumulative = new Float64Array(size);
    const c = this.cumulative;
    const f = this.floats;
    let sum = 0;
    for (let j = 0, o = 2; j < size; j++, o += 3) c[j] = sum += f[o];
    this.cumulativeSize = size;
    return size > 0 && sum > 0;
  }

  /** The candidate whose cumulative probability first reaches u * total (u in [0, 1)), as a dist sampler draws. */
  drawCumulative(u: number): number {
    const c = this.cumulative;
    const n = this.cumulativeSize;
    if (n === 0) return -1;
    const target = u * c[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid] >= target) hi = mid;
      else lo = mid + 1;
    }
    // A zero-probability candidate never reaches the target before a positive one.
    return this.floats[lo * 3 + 2] > 0 ? this.ids[lo * 3] : -1;
  }

  /** True when candidate j of the current array still has a finite logit. */
  allowedAt(j: number): boolean {
    return this.floats[j * 3 + 1] !== -Infinity;
  }

  /**
   * Loads only the k highest logits as candidates (unsorted). A bounded
   * min-heap over the vocabulary: O(n log k), no allocation.
   */
  fillTop(logits: Float32Array, k: number): Pointer {
    const n = Math.min(logits.length, this.capacity);
    const size = Math.min(k, n);
    const heap = this.heap.length >= size ? this.heap : (this.heap = new Int32Array(size));
    const less = (a: number, b: number) => logits[a] < logits[b];
    const siftDown = (i: number, len: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) return;
        const c = l + 1 < len && less(heap[l + 1], heap[l]) ? l + 1 : l;
        if (!less(heap[c], heap[i])) return;
        const t = heap[c];
        heap[c] = heap[i];
        heap[i] = t;
        i = c;
      }
    };
    for (let i = 0; i < size; i++) heap[i] = i;
    for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(i, size);
    for (let i = size; i < n; i++) {
      if (logits[i] > logits[heap[0]]) {
        heap[0] = i;
        siftDown(0, size);
      }
    }
    const ids = this.ids;
    const f = this.floats;
    for (let j = 0, o = 0; j < size; j++, o += 3) {
      ids[o] = heap[j];
      f[o + 1] = logits[heap[j]];
      f[o + 2] = 0;
    }
    return this.setHeader(size);
  }

  /** True when some candidate of the current array still has a finite logit (a grammar left it allowed). */
  anyAllowed(): boolean {
    const size = Number(this.headerView.getBigUint64(8, true));
    for (let j = 0; j < size; j++) if (this.allowedAt(j)) return true;
    return false;
  }

  /** A single candidate: the grammar sets its logit to -inf when it is not allowed. */
  single(token: number): Pointer {
    this.ids[0] = token;
    this.floats[1] = 0;
    this.floats[2] = 0;
    return this.setHeader(1);
  }

  private setHeader(size: number): Pointer {
    const v = this.headerView;
    v.setBigUint64(0, BigInt(ptr(this.data)), true);
    v.setBigUint64(8, BigInt(size), true);
    v.setBigInt64(TOKEN_DATA_ARRAY.selected, -1n, true);
    v.setUint8(TOKEN_DATA_ARRAY.sorted, 0);
    return ptr(this.header);
  }

  /** The token at the array's `selected` index after a sampler chose one, or -1. The data pointer may have been replaced by a sampler. */
  selectedToken(): number {
    const sel = Number(this.headerView.getBigInt64(TOKEN_DATA_ARRAY.selected, true));
    if (sel < 0) return -1;
    const dataPtr = Number(this.headerView.getBigUint64(0, true));
    if (dataPtr === ptr(this.data)) return this.ids[sel * 3];
    throw new Error("a sampler replaced the candidate buffer; unsupported");
  }

  /** The logit of candidate 0 (after a single-token grammar check). */
  firstLogit(): number {
    return this.floats[1];
  }
}
