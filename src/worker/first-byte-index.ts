/**
 * Narrows a full-vocabulary grammar mask to the tokens that can pass it.
 *
 * llama.cpp's grammar sampler checks each candidate's piece byte by byte; on a
 * 32k vocabulary one full mask costs several milliseconds, more than a decode
 * of a small model. At structural positions of a grammar (after `"` in JSON
 * only `,` `]` `}` may follow) almost every token is rejected for its first
 * byte alone. A token whose piece starts with byte b can only be allowed if the
 * one-byte piece b is (a grammar accepts a piece only when every prefix of it
 * is a viable prefix). So: check one probe token per byte value first, then
 * only the tokens whose first byte passed, plus the end-of-generation tokens
 * (a grammar allows those by its own rule, whatever their text).
 *
 * Valid only while the grammar holds no partial UTF-8 character (the caller
 * checks that the text accepted so far ends on a complete character); the second
 * check is the grammar's own, so the result is exactly the full mask's.
 */

export class FirstByteIndex {
  /** One token per byte value whose piece is exactly that byte (a byte with none is not probed). */
  readonly probes: Int32Array;
  /** The byte value each probe stands for. */
  private readonly probeBytes: Uint8Array;
  /** Token ids by the first byte of their piece, ascending. */
  private readonly buckets: Int32Array[];
  /** Bytes with no probe token: their buckets are always checked. */
  private readonly unprobed: number[];
  /** End-of-generation tokens: always checked. */
  private readonly eog: Int32Array;
  private readonly buffer: Int32Array;
  private readonly nVocab: number;

  constructor(nVocab: number, piece: (token: number) => Uint8Array, isEog: (token: number) => boolean) {
    this.nVocab = nVocab;
    const lists: number[][] = Array.from({ length: 256 }, () => []);
    const probeOf = new Int32Array(256).fill(-1);
    const eog: number[] = [];
    for (let t = 0; t < nVocab; t++) {
      if (isEog(t)) {
        eog.push(t);
        continue;
      }
      const p = piece(t);
      // An empty piece or one starting with NUL is always rejected by the grammar.
      if (p.length === 0 || p[0] === 0) continue;
      lists[p[0]].push(t);
      if (p.length === 1 && probeOf[p[0]] < 0) probeOf[p[0]] = t;
    }
    const probes: number[] = [];
    const probeBytes: number[] = [];
    this.unprobed = [];
    for (let b = 1; b < 256; b++) {
      if (lists[b].length === 0) continue;
      if (probeOf[b] >= 0) {
        probes.push(probeOf[b]);
        probeBytes.push(b);
      } else {
        this.unprobed.push(b);
      }
    }
    this.probes = Int32Array.from(probes);
    this.probeBytes = Uint8Array.from(probeBytes);
    this.buckets = lists.map((l) => Int32Array.from(l));
    this.eog = Int32Array.from(eog);
    this.buffer = new Int32Array(nVocab);
  }

  /**
   * The tokens to check, ascending, given which probes the grammar allowed;
   * null when they would be most of the vocabulary (the full mask is cheaper
   * than building the subset then). The array is reused by the next call.
   */
  candidates(probeAllowed: (probeIndex: number) => boolean): Int32Array | null {
    const bytes: number[] = [...this.unprobed];
    for (let i = 0; i < this.probes.length; i++) if (probeAllowed(i)) bytes.push(this.probeBytes[i]);
    let n = this.eog.length;
    for (const b of bytes) n += this.buckets[b].length;
    if (n > this.nVocab / 2) return null;
    const out = this.buffer.subarray(0, n);
    out.set(this.eog, 0);
    let o = this.eog.length;
    for (const b of bytes) {
      out.set(this.buckets[b], o);
      o += this.buckets[b].length;
    }
    // Ascending ids, as in the full array: the chain's draw then picks the same token either way.
    return out.sort();
  }
}
