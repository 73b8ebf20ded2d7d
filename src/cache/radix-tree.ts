/**
 * SGLang-style radix tree over token sequences, one root per namespace (model,
 * LoRA adapter, tenant), so different namespaces never share entries.
 *
 * Every non-root node owns a non-empty edge of tokens and records where their
 * KV lives: `holder` (a cache-holder sequence id) and the absolute positions
 * [start, end) of those tokens in that sequence. A child starts where its
 * parent ends, so a match is served by one `seq_cp(holder, dst, start, end)`
 * per node on the path, in any holder mix.
 *
 * Mid-node matches: `match` SPLITS the node where the match ends (both halves
 * keep the holder; the lower half keeps its id, locks and children), so every
 * returned path entry is a whole node and lock handles stay exact. `matchLength`
 * never changes the tree.
 *
 * Locks pin a node and all its ancestors (reference counts); only unlocked
 * leaves are evicted, least recently used first. Callbacks (`holderFor`,
 * `onEvict`) must not call back into the tree.
 */
import { assert } from "../shared/errors";
import { MinHeap } from "./min-heap";
import type { CacheStats, EvictedPrefix, HolderFor, InsertResult, MatchResult, NodeInfo, PathEntry } from "./types";

class Node {
  readonly children = new Map<number, Node>();
  /** Sum of the locks on this node and on its descendants. */
  lockRef = 0;
  /** Locks whose deepest node is this one. */
  ownLocks = 0;
  lastAccess = 0;
  constructor(
    readonly id: number,
    readonly namespace: string,
    public parent: Node | null,
    public tokens: Int32Array,
    public start: number,
    readonly holder: number,
  ) {}
  get end(): number {
    return this.start + this.tokens.length;
  }
  entry(): PathEntry {
    return { nodeId: this.id, holder: this.holder, start: this.start, end: this.end };
  }
}

/** A pin on a matched prefix; release it with `RadixTree.unlock` (twice is a no-op). */
export class Lock {
  /** @internal */ node: Node | null;
  private done = false;
  constructor(node: Node | null, readonly length: number) {
    this.node = node;
  }
  get released(): boolean {
    return this.done;
  }
  /** @internal */ release(): Node | null {
    if (this.done) return null;
    this.done = true;
    const n = this.node;
    this.node = null;
    return n;
  }
}

const EMPTY = new Int32Array(0);

/** Tokens and segments from the root down to `n` (n may already be detached from its parent). */
function prefixOf(n: Node): { tokens: number[]; segments: PathEntry[] } {
  const chain: Node[] = [];
  for (let c: Node | null = n; c !== null && c.parent !== null; c = c.parent) chain.push(c);
  chain.reverse();
  const tokens: number[] = [];
  for (const c of chain) for (const t of c.tokens) tokens.push(t);
  return { tokens, segments: chain.map((c) => c.entry()) };
}
const lruLess = (a: Node, b: Node): boolean => a.lastAccess < b.lastAccess || (a.lastAccess === b.lastAccess && a.id < b.id);

function commonPrefix(edge: Int32Array, tokens: readonly number[], from: number, to: number): number {
  const n = Math.min(edge.length, to - from);
  let i = 0;
  while (i < n && edge[i] === tokens[from + i]) i++;
  return i;
}

export class RadixTree {
  private readonly roots = new Map<string, Node>();
  private readonly nodes = new Map<number, Node>();
  private readonly evictable = new Set<Node>();
  private readonly locks = new Set<Lock>();
  private nextId = 1;
  private clock = 0;
  private _totalTokens = 0;
  private _lockedTokens = 0;
  private counters = { queries: 0, hits: 0, queryTokens: 0, hitTokens: 0, insertedTokens: 0, evictedTokens: 0 };

  get totalTokens(): number { return this._totalTokens; }
  get lockedTokens(): number { return this._lockedTokens; }
  /** Tokens that repeated eviction could free: those in unlocked nodes. */
  get evictableTokens(): number { return this._totalTokens - this._lockedTokens; }
  /** Non-root nodes. */
  get numNodes(): number { return this.nodes.size; }
  /** Lock handles not yet released. */
  get numLocks(): number { return this.locks.size; }
  get numNamespaces(): number { return this.roots.size; }
  get queries(): number { return this.counters.queries; }
  get hits(): number { return this.counters.hits; }
  get hitTokens(): number { return this.counters.hitTokens; }

  stats(): CacheStats {
    return {
      namespaces: this.roots.size, numNodes: this.nodes.size, totalTokens: this._totalTokens,
      lockedTokens: this._lockedTokens, evictableTokens: this.evictableTokens, numLocks: this.locks.size,
      ...this.counters,
    };
  }

  /**
   * Longest cached prefix of `tokens[0, maxLength)` (pass tokens.length - 1 to
   * keep the last token for a decode). Splits the node the match ends inside,
   * refreshes the LRU time of the path and counts a query.
   */
  match(namespace: string, tokens: readonly number[], maxLength = tokens.length): MatchResult {
    const limit = Math.max(0, Math.min(maxLength, tokens.length));
    this.counters.queries++;
    this.counters.queryTokens += limit;
    const path: PathEntry[] = [];
    let node = this.roots.get(namespace);
    let pos = 0;
    const now = ++this.clock;
    while (node && pos < limit) {
      let child = node.children.get(tokens[pos]);
      if (!child) break;
      const k = commonPrefix(child.tokens, tokens, pos, limit);
      const partial = k < child.tokens.length;
      if (partial) child = this.split(child, k);
      child.lastAccess = now;
      path.push(child.entry());
      pos += k;
      if (partial) break;
      node = child;
    }
    if (pos > 0) {
      this.counters.hits++;
      this.counters.hitTokens += pos;
    }
    return { length: pos, path };
  }

  /** The length `match` would return; changes nothing (for scoring). */
  matchLength(namespace: string, tokens: readonly number[], maxLength = tokens.length): number {
    const limit = Math.max(0, Math.min(maxLength, tokens.length));
    let node = this.roots.get(namespace);
    let pos = 0;
    while (node && pos < limit) {
      const child = node.children.get(tokens[pos]);
      if (!child) break;
      const k = commonPrefix(child.tokens, tokens, pos, limit);
      pos += k;
      if (k < child.tokens.length) break;
      node = child;
    }
    return pos;
  }

  /**
   * Pins the nodes of a match path (its deepest node and every ancestor)
   * until `unlock`. The path must come from `match` with no `evict` since.
   */
  lock(path: readonly PathEntry[] | MatchResult): Lock {
    const entries = "path" in path ? path.path : path;
    const last = entries.length > 0 ? entries[entries.length - 1] : undefined;
    let node: Node | null = null;
    if (last) {
      node = this.nodes.get(last.nodeId) ?? null;
      assert(node !== null, `radix lock: node ${last.nodeId} is not in the tree`);
      node.ownLocks++;
      for (let n: Node = node; n.parent !== null; n = n.parent) {
        if (n.lockRef++ === 0) {
          this._lockedTokens += n.tokens.length;
          this.evictable.delete(n);
        }
      }
    }
    const lock = new Lock(node, last ? last.end : 0);
    this.locks.add(lock);
    return lock;
  }

  /** Releases a lock; a lock already released (or from before `clear`) is a no-op. */
  unlock(lock: Lock): void {
    if (!this.locks.delete(lock)) {
      lock.release();
      return;
    }
    const node = lock.release();
    if (!node) return;
    node.ownLocks--;
    for (let n: Node = node; n.parent !== null; n = n.parent) {
      assert(n.lockRef > 0, "radix unlock: lock count below zero");
      if (--n.lockRef === 0) {
        this._lockedTokens -= n.tokens.length;
        this.refresh(n);
      }
    }
  }

  /**
   * Inserts a finished sequence (tokens whose KV the working slot holds at
   * positions 0..length-1). The cached part is reused (splitting the node it
   * diverges inside); for the rest, [reusedLength, length), `holderFor` names
   * the holder the engine will copy it into. Refreshes the LRU time of the path.
   */
  insert(namespace: string, tokens: readonly number[], holderFor: HolderFor): InsertResult {
    const len = tokens.length;
    if (len === 0) return { inserted: null, reusedLength: 0 };
    let root = this.roots.get(namespace);
    if (!root) {
      root = new Node(0, namespace, null, EMPTY, 0, -1);
      this.roots.set(namespace, root);
    }
    const now = ++this.clock;
    let node = root;
    let pos = 0;
    while (pos < len) {
      let child = node.children.get(tokens[pos]);
      if (!child) break;
      const k = commonPrefix(child.tokens, tokens, pos, len);
      if (k < child.tokens.length) child = this.split(child, k);
      child.lastAccess = now;
      pos += k;
      node = child;
    }
    if (pos === len) return { inserted: null, reusedLength: len };
    const holder = holderFor(pos, len, node === root ? null : node.holder);
    if (holder === null) {
      if (root.children.size === 0) this.roots.delete(namespace);
      return { inserted: null, reusedLength: pos };
    }
    assert(Number.isInteger(holder) && holder >= 0, `radix insert: bad holder ${holder}`);
    const edge = new Int32Array(len - pos);
    for (let i = pos; i < len; i++) {
      const t = tokens[i];
      assert(Number.isInteger(t) && t >= 0 && t <= 0x7fffffff, `radix insert: bad token ${t}`);
      edge[i - pos] = t;
    }
    const leaf = new Node(this.nextId++, namespace, node, edge, pos, holder);
    leaf.lastAccess = now;
    node.children.set(edge[0], leaf);
    this.nodes.set(leaf.id, leaf);
    this._totalTokens += edge.length;
    this.counters.insertedTokens += edge.length;
    this.evictable.delete(node);
    this.evictable.add(leaf);
    return { inserted: leaf.entry(), reusedLength: pos };
  }

  /**
   * Frees at least `numTokens` cached tokens (whole nodes, so possibly more),
   * or as many as unlocked leaves allow, least recently used leaf first; a
   * parent left childless becomes a candidate. Returns the tokens freed.
   */
  evict(numTokens: number, onEvict?: (node: EvictedPrefix) => void): number {
    if (!(numTokens > 0) || this.evictable.size === 0) return 0;
    const heap = new MinHeap<Node>(lruLess, this.evictable);
    let freed = 0;
    while (freed < numTokens) {
      const n = heap.pop();
      if (!n) break;
      if (!this.evictable.has(n)) continue;
      const parent = n.parent!;
      this.remove(n);
      freed += n.tokens.length;
      if (this.evictable.has(parent)) heap.push(parent);
      // Ancestors are still in the tree (they go later, leaves first), so the prefix can be read now.
      onEvict?.({ nodeId: n.id, namespace: n.namespace, holder: n.holder, start: n.start, end: n.end, prefix: () => prefixOf(n) });
    }
    this.counters.evictedTokens += freed;
    return freed;
  }

  /** Unlocked leaves (what `evict` takes first), least recently used first; the tree is not changed. */
  evictableLeaves(): EvictedPrefix[] {
    return [...this.evictable].sort((a, b) => (lruLess(a, b) ? -1 : 1)).map((n) => ({
      nodeId: n.id, namespace: n.namespace, holder: n.holder, start: n.start, end: n.end, prefix: () => prefixOf(n),
    }));
  }

  /**
   * Forgets everything without callbacks (the KV cache was wiped, e.g. a new
   * context); outstanding locks become no-ops. Counters are kept.
   */
  clear(): void {
    for (const lock of this.locks) lock.release();
    this.locks.clear();
    this.roots.clear();
    this.nodes.clear();
    this.evictable.clear();
    this._totalTokens = 0;
    this._lockedTokens = 0;
  }

  /** Every node with its full key, for tests and debugging (O(tree)). */
  debugNodes(): NodeInfo[] {
    const out: NodeInfo[] = [];
    for (const n of this.nodes.values()) {
      const parts: Int32Array[] = [];
      for (let p: Node | null = n; p; p = p.parent) parts.push(p.tokens);
      const key: number[] = [];
      for (let i = parts.length - 1; i >= 0; i--) for (const t of parts[i]) key.push(t);
      out.push({
        nodeId: n.id, namespace: n.namespace, holder: n.holder, start: n.start, end: n.end,
        parentId: n.parent && n.parent.parent ? n.parent.id : null, lockRef: n.lockRef, lastAccess: n.lastAccess, key,
      });
    }
    return out;
  }

  /** Throws if any structural invariant is broken (tests call it after every operation). */
  checkInvariants(): void {
    let total = 0, locked = 0, count = 0, ownLocks = 0;
    const byHolder = new Map<number, [number, number][]>();
    const evictable = new Set<Node>();
    const walk = (n: Node, ns: string): number => {
      let ref = n.ownLocks;
      for (const [first, c] of n.children) {
        assert(c.parent === n, `node ${c.id}: parent pointer`);
        assert(c.namespace === ns, `node ${c.id}: namespace ${c.namespace} under root ${ns}`);
        assert(c.tokens.length > 0, `node ${c.id}: empty edge`);
        assert(c.tokens[0] === first, `node ${c.id}: keyed by ${first}, starts with ${c.tokens[0]}`);
        assert(c.start === n.end, `node ${c.id}: start ${c.start} != parent end ${n.end}`);
        assert(this.nodes.get(c.id) === c, `node ${c.id}: not registered`);
        assert(c.ownLocks >= 0 && c.lockRef >= 0, `node ${c.id}: negative lock count`);
        const sub = walk(c, ns);
        assert(c.lockRef === sub, `node ${c.id}: lockRef ${c.lockRef} != locks below ${sub}`);
        ref += sub;
        count++;
        total += c.tokens.length;
        if (c.lockRef > 0) locked += c.tokens.length;
        if (c.lockRef === 0 && c.children.size === 0) evictable.add(c);
        const ranges = byHolder.get(c.holder) ?? [];
        ranges.push([c.start, c.end]);
        byHolder.set(c.holder, ranges);
      }
      ownLocks += n.ownLocks;
      return ref;
    };
    for (const [ns, root] of this.roots) {
      assert(root.namespace === ns && root.parent === null && root.tokens.length === 0 && root.start === 0, `root ${ns}: malformed`);
      assert(root.ownLocks === 0, `root ${ns}: locked directly`);
      walk(root, ns);
    }
    assert(count === this.nodes.size, `numNodes ${this.nodes.size} != reachable ${count}`);
    assert(total === this._totalTokens, `totalTokens ${this._totalTokens} != ${total}`);
    assert(locked === this._lockedTokens, `lockedTokens ${this._lockedTokens} != ${locked}`);
    let handles = 0;
    for (const l of this.locks) if (l.node) handles++;
    assert(ownLocks === handles, `locks on nodes ${ownLocks} != live handles ${handles}`);
    assert(evictable.size === this.evictable.size && [...evictable].every((n) => this.evictable.has(n)), "evictable leaf set out of date");
    for (const [holder, ranges] of byHolder) {
      ranges.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ranges.length; i++)
        assert(ranges[i][0] >= ranges[i - 1][1], `holder ${holder}: ranges ${ranges[i - 1]} and ${ranges[i]} overlap`);
    }
  }

  /** Cuts `n` after `k` tokens: a new upper node takes [start, start+k); `n` keeps the rest, its id and children. */
  private split(n: Node, k: number): Node {
    const parent = n.parent!;
    const upper = new Node(this.nextId++, n.namespace, parent, n.tokens.slice(0, k), n.start, n.holder);
    upper.lockRef = n.lockRef;
    upper.lastAccess = n.lastAccess;
    parent.children.set(upper.tokens[0], upper);
    n.tokens = n.tokens.slice(k);
    n.start += k;
    n.parent = upper;
    upper.children.set(n.tokens[0], n);
    this.nodes.set(upper.id, upper);
    return upper;
  }

  private remove(n: Node): void {
    const parent = n.parent!;
    parent.children.delete(n.tokens[0]);
    this.nodes.delete(n.id);
    this.evictable.delete(n);
    this._totalTokens -= n.tokens.length;
    if (parent.parent === null) {
      if (parent.children.size === 0) this.roots.delete(parent.namespace);
    } else this.refresh(parent);
  }

  /** Keeps the evictable-leaf set true for `n`. */
  private refresh(n: Node): void {
    if (n.parent !== null && n.lockRef === 0 && n.children.size === 0) this.evictable.add(n);
    else this.evictable.delete(n);
  }
}
