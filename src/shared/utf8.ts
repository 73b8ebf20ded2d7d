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

/**
 * Strict incremental UTF-8 validation (the WHATWG decoder's rules: no
 * overlong forms, no surrogates, nothing above U+10FFFF), for output that must
 * stay valid: a byte sequence it refuses would reach the client as U+FFFD.
 */
export class Utf8Validator {
  /** Continuation bytes still needed by the character in progress. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrower after E0, ED, F0, F4). */
  private lower = 0x80;
  private upper = 0xbf;

  /** True when the output stays valid (possibly ending inside a character) with `bytes` appended. */
  accepts(bytes: Uint8Array): boolean {
    return this.run(bytes, false);
  }

  /** Appends bytes the validator accepts (others leave it unchanged and return false). */
  push(bytes: Uint8Array): boolean {
    return this.run(bytes, true);
  }

  /** True when no character is in progress. */
  get complete(): boolean {
    return this.need === 0;
  }

  private run(bytes: Uint8Array, commit: boolean): boolean {
    let { need, lower, upper } = this;
    for (const b of bytes) {
      if (need > 0) {
        if (b < lower || b > upper) return false;
        need--;
        lower = 0x80;
        upper = 0xbf;
        continue;
      }
      if (b < 0x80) continue;
      if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
      } else return false; // a continuation byte without a lead, C0/C1 (overlong) or F5..FF
    }
    if (commit) {
      this.need = need;
      this.lower = lower;
      this.upper = upper;
    }
    return true;
  }
}

/** True when the bytes are complete, valid UTF-8 on their own. */
export function isCompleteUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.complete;
}
