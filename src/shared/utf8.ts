/**
 * Incremental UTF-8 decoding for token streams: a character split across
 * tokens is held back until complete, so streamed text never shows U+FFFD for
 * a character that is merely incomplete. Truly invalid bytes still become U+FFFD.
 */
export class Utf8Stream {
  private pending: number[] = [];

  /** Adds bytes; returns the text that is complete so far. */
  push(bytes: Uint8Array): string {
    for (const b of bytes) this.pending.push(b);
    const cut = completePrefixLength(this.pending);
    if (cut === 0) return "";
    const text = Buffer.from(this.pending.slice(0, cut)).toString("utf8");
    this.pending = this.pending.slice(cut);
    return text;
  }

  /** Flushes what is left (an incomplete tail becomes U+FFFD). */
  end(): string {
    if (!this.pending.length) return "";
    const text = Buffer.from(this.pending).toString("utf8");
    this.pending = [];
    return text;
  }
}

/** Length of the longest prefix that does not end inside an incomplete (but so far valid) multi-byte sequence. */
export function completePrefixLength(bytes: ArrayLike<number>): number {
  const n = bytes.length;
  // Look back at most 3 bytes for the start of a multi-byte sequence.
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}
