/**
 * Stop-string matching over streamed text. Text that might be the start of a
 * stop string is withheld until it is known not to be, so no part of a stop
 * string is ever streamed.
 */
export interface StopResult {
  /** Text safe to emit now. */
  emit: string;
  /** The stop string found, if any (emit then holds only the text before it). */
  stopped?: string;
}

export class StopMatcher {
  private held = "";
  private readonly maxLen: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  push(text: string): StopResult {
    if (!this.stops.length) return { emit: text };
    const buf = this.held + text;
    let first = -1;
    let which = "";
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) {
        first = i;
        which = s;
      }
    }
    if (first >= 0) {
      this.held = "";
      return { emit: buf.slice(0, first), stopped: which };
    }
    const keep = this.partialSuffixLength(buf);
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep) };
  }

  /** Releases withheld text at the end of generation (it was not a stop string). */
  flush(): string {
    const t = this.held;
    this.held = "";
    return t;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private partialSuffixLength(buf: string): number {
    for (let len = Math.min(this.maxLen - 1, buf.length); len > 0; len--) {
      const tail = buf.slice(buf.length - len);
      if (this.stops.some((s) => s.startsWith(tail))) return len;
    }
    return 0;
  }
}
