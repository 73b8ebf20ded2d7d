/**
 * Plain data shapes of the radix prefix cache. Every range is an absolute,
 * half-open token position range [start, end) inside the sequence `holder`
 * of the engine's unified KV cache.
 */

/** One node on a match path: copy `seq_cp(holder, dst, start, end)` into the working slot. */
export interface PathEntry {
  readonly nodeId: number;
  readonly holder: number;
  readonly start: number;
  readonly end: number;
}

export interface MatchResult {
  /** Tokens of the query covered by the cache (a prefix of the query). */
  readonly length: number;
  /**
   * Nodes from the root down, contiguous: path[0].start = 0, path[i].end =
   * path[i+1].start, last end = length. Empty when nothing matched.
   */
  readonly path: readonly PathEntry[];
}

export interface InsertResult {
  /** The new leaf holding the part that was not cached yet, or null. */
  readonly inserted: PathEntry | null;
  /** Leading tokens already in the tree (not asked of holderFor). */
  readonly reusedLength: number;
}

/** Told to `evict`'s callback; the engine runs `seq_rm(holder, start, end)`. */
export interface EvictedNode {
  readonly nodeId: number;
  readonly namespace: string;
  readonly holder: number;
  readonly start: number;
  readonly end: number;
}

/** What `evict` tells its callback: the node, and (on demand, only inside the callback) its whole prefix from the root. */
export interface EvictedPrefix extends EvictedNode {
  /** The tokens from the root to this node's end, and the node segments (root first, this node last) that hold their KV. */
  prefix(): { tokens: number[]; segments: PathEntry[] };
}

/**
 * Asked by `insert` which holder stores positions [start, end); `parentHolder`
 * is the holder of the node the new one hangs under (null under the root).
 * Return null when no holder can take it: nothing is inserted then.
 */
export type HolderFor = (start: number, end: number, parentHolder: number | null) => number | null;

export interface CacheStats {
  readonly namespaces: number;
  readonly numNodes: number;
  readonly totalTokens: number;
  readonly lockedTokens: number;
  readonly evictableTokens: number;
  readonly numLocks: number;
  readonly queries: number;
  readonly hits: number;
  readonly queryTokens: number;
  readonly hitTokens: number;
  readonly insertedTokens: number;
  readonly evictedTokens: number;
}

/** A node as `debugNodes` lists it, with its full key from the root. */
export interface NodeInfo extends EvictedNode {
  readonly parentId: number | null;
  readonly lockRef: number;
  readonly lastAccess: number;
  readonly key: number[];
}
