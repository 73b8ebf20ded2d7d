/**
 * The host-memory tier of the prefix cache: snapshots of evicted prefixes'
 * KV state (opaque bytes from libllama's sequence-state API), keyed by
 * namespace and tokens, bounded in bytes, least recently used out first.
 *
 * Why a tier at all: every cell kept in the unified KV cache is attention
 * work for every token decoded, cached or not, so idle prefixes leave the KV
 * cache; restoring one from here is a memcpy, far cheaper than recomputing.
 *
 * Lookup is by longest common prefix (prefix-match.ts).
 */
import { bestPrefixMatch, commonPrefixLength as commonPrefix } from "./prefix-match";

export interface KvSnapshot {
  readonly namespace: string;
  readonly tokens: Int32Array;
  readonly state: Uint8Array;
  lastUsed: number;
}

export interface KvRamStats {
  entries: number;
  bytes: number;
  saves: number;
  hits: number;
  evictions: number;
}

/** Bytes an entry is charged: its state plus its tokens. */
const costOf = (e: KvSnapshot) => e.state.byteLength + e.tokens.byteLength;


export class KvRamStore {
  private readonly byNamespace = new Map<string, Set<KvSnapshot>>();
  private bytes = 0;
  private counters = { saves: 0, hits: 0, evictions: 0 };
  private clock = 0;

  /** `now` orders entries by use; the default is a counter (only the order matters). */
  constructor(readonly maxBytes: number, private readonly now: () => number = () => ++this.clock) {
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  }

  /**
   * The entry sharing the longest prefix with `tokens`, when that prefix is
   * at least `minLength` long; the length is capped at `maxLength`.
   */
  bestMatch(namespace: string, tokens: readonly number[], minLength: number, maxLength: number): { entry: KvSnapshot; length: number } | null {
    const set = this.byNamespace.get(namespace);
    const m = set ? bestPrefixMatch(set, tokens, minLength, maxLength) : null;
    if (!m) return null;
    m.entry.lastUsed = this.now();
    this.counters.hits++;
    return m;
  }

  /** True when some entry already holds all of `tokens` (the same prefix or a longer one). */
  covers(namespace: string, tokens: readonly number[]): boolean {
    const set = this.byNamespace.get(namespace);
    if (!set) return false;
    for (const e of set) if (e.tokens.length >= tokens.length && commonPrefix(e.tokens, tokens, tokens.length) === tokens.length) return true;
    return false;
  }

  /**
   * Stores a snapshot (the store keeps `state`; do not change it afterwards).
   * Entries that the new one extends are dropped (it serves their prefixes too);
   * least recently used entries go to make room. False when it can never fit.
   */
  put(namespace: string, tokens: readonly number[], state: Uint8Array): boolean {
    if (tokens.length === 0) throw new RangeError("a snapshot needs at least one token");
    const entry: KvSnapshot = { namespace, tokens: Int32Array.from(tokens), state, lastUsed: this.now() };
    if (costOf(entry) > this.maxBytes) return false;
    const set = this.byNamespace.get(namespace) ?? new Set<KvSnapshot>();
    for (const e of set) if (e.tokens.length <= tokens.length && commonPrefix(e.tokens, tokens, e.tokens.length) === e.tokens.length) this.drop(e);
    while (this.bytes + costOf(entry) > this.maxBytes && this.evictOne()) this.counters.evictions++;
    set.add(entry);
    this.byNamespace.set(namespace, set);
    this.bytes += costOf(entry);
    this.counters.saves++;
    return true;
  }

  stats(): KvRamStats {
    let entries = 0;
    for (const s of this.byNamespace.values()) entries += s.size;
    return { entries, bytes: this.bytes, ...this.counters };
  }

  private evictOne(): boolean {
    let oldest: KvSnapshot | null = null;
    for (const s of this.byNamespace.values()) for (const e of s) if (!oldest || e.lastUsed < oldest.lastUsed) oldest = e;
    if (!oldest) return false;
    this.drop(oldest);
    return true;
  }

  private drop(e: KvSnapshot): void {
    const set = this.byNamespace.get(e.namespace);
    if (!set?.delete(e)) return;
    this.bytes -= costOf(e);
    if (set.size === 0) this.byNamespace.delete(e.namespace);
  }
}
