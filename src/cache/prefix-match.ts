/**
 * Longest-common-prefix search over stored token sequences (the RAM and disk
 * tiers of the prefix cache). A stored sequence longer than the shared part
 * is still useful: its KV is restored and the rest trimmed. Linear in the
 * entries; each comparison stops at the first differing token.
 */
export interface TokenKeyed {
  readonly tokens: ArrayLike<number>;
}

export function commonPrefixLength(a: ArrayLike<number>, b: ArrayLike<number>, limit: number): number {
  const n = Math.min(a.length, b.length, limit);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * The entry sharing the longest prefix with `tokens` (ties: the shorter
 * entry, less to load), when that prefix is at least `minLength` (and at least
 * one token) long; the length is capped at `maxLength`.
 */
export function bestPrefixMatch<E extends TokenKeyed>(entries: Iterable<E>, tokens: ArrayLike<number>, minLength: number, maxLength: number): { entry: E; length: number } | null {
  let best: E | null = null;
  let bestLength = 0;
  for (const e of entries) {
    const n = commonPrefixLength(e.tokens, tokens, maxLength);
    if (n > bestLength || (n === bestLength && best !== null && e.tokens.length < best.tokens.length)) {
      best = e;
      bestLength = n;
    }
  }
  return best && bestLength >= Math.max(1, minLength) ? { entry: best, length: bestLength } : null;
}
