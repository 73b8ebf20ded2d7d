/**
 * Connects the pure radix tree to the KV cache: on admission a sequence's
 * longest cached prefix is copied from holder sequences into its slot
 * (llama_memory_seq_cp, metadata only in a unified cache); on finish or
 * preemption its computed tokens are copied into holders and entered in the
 * tree; under memory pressure least-recently-used unpinned prefixes are evicted.
 *
 * Tiers (optional): every KV cell kept resident is attention work for every
 * token decoded, so while few prompts are found cached, a request's admission
 * moves unpinned prefixes beyond `residentTokens` out of the KV cache. Those
 * the engine saved while idle (llama_state_seq_get_data into host memory
 * and/or the disk store) live on in the tiers; prefixes evicted for room are
 * saved as they go. A later request whose prompt
 * shares a longer prefix with a snapshot than with the tree gets it restored
 * (llama_state_seq_set_data into a scratch sequence, trimmed, copied into a
 * holder and entered in the tree) instead of recomputed.
 */
import { HolderAllocator, RadixTree, type Lock } from "../cache/index";
import type { EvictedPrefix } from "../cache/types";
import type { KvRamStore } from "../cache/kv-ram-store";
import type { Sequence } from "../scheduler/sequence";
import type { Logger } from "../shared/logger";
import type { Context } from "../../ffi/context";
import type { KvFileStore } from "./kv-file-store";

/** Idle prefixes stay resident while at least this share of recently admitted prompts came from the cache. */
const HIT_AVERAGE_KEEP = 0.1;

export interface PrefixCacheTiers {
  ram?: KvRamStore;
  disk?: KvFileStore;
  /** A sequence id used only to assemble and restore snapshots (not a holder, never running). */
  scratch: number;
  /** Unpinned cells left in the KV cache when a request is admitted under a low hit rate; the rest leave it (kept in the tiers if saved while idle). */
  residentTokens: number;
  /** Snapshot or restore only prefixes of at least this many tokens (smaller ones are cheap to recompute). */
  minTokens: number;
}

export interface TierStats {
  snapshots: number;
  restores: number;
  restoredTokens: number;
  restoreFailures: number;
}

export interface PrefixCacheStats {
  queries: number;
  hits: number;
  hitTokens: number;
  cachedTokens: number;
  evictedTokens: number;
  locks: number;
  tiers?: TierStats;
}

export class PrefixCache {
  private readonly tree = new RadixTree();
  private readonly holders: HolderAllocator;
  private readonly locks = new Map<Sequence, Lock>();
  private readonly namespaces = new Map<Sequence, string>();
  evictedTokens = 0;
  /** Moving average of the fraction of admitted prompts served from the cache. */
  private hitAverage = 0;
  private readonly tierStats: TierStats = { snapshots: 0, restores: 0, restoredTokens: 0, restoreFailures: 0 };
  /** Leaves already offered to the tiers by snapshotIdle (node ids; dropped on eviction). */
  private readonly offered = new Set<number>();

  /** holderIds: sequence ids reserved for cached prefixes (not used by running requests). */
  constructor(
    private readonly ctx: Context,
    holderIds: number[],
    private readonly log: Logger,
    private readonly maxTokens: number,
    private readonly tiers?: PrefixCacheTiers,
  ) {
    this.holders = new HolderAllocator(holderIds, { maxPosition: ctx.nCtx });
  }

  get cells(): number {
    return this.tree.totalTokens;
  }

  setNamespace(seq: Sequence, namespace: string): void {
    this.namespaces.set(seq, namespace);
  }

  /** Cached prefix length a sequence would reuse (no side effects). At least one token is always left to compute. */
  peek(seq: Sequence): number {
    return this.tree.matchLength(this.ns(seq), seq.tokens, seq.tokens.length - 1);
  }

  /** Copies the cached prefix into the sequence's slot and pins it while the sequence runs. */
  admit(seq: Sequence): void {
    if (this.tiers) this.restoreFromTiers(seq);
    const m = this.tree.match(this.ns(seq), seq.tokens, seq.tokens.length - 1);
    if (m.length > 0) {
      for (const e of m.path) this.ctx.seqCopy(e.holder, seq.seqId, e.start, e.end);
      this.locks.set(seq, this.tree.lock(m));
      seq.nPast = m.length;
      seq.cachedTokens = m.length;
      if (seq.preemptions === 0) seq.promptCachedTokens = Math.min(m.length, seq.nPrompt);
    }
    if (this.tiers) this.trimResident(m.length, seq.nPrompt);
  }

  /**
   * Idle prefixes stay in the KV cache only while the cache pays off: while
   * admitted prompts have mostly been found cached (a moving average), they
   * stay up to the cache's budget; otherwise, as llama-server does with idle
   * slots, they leave the KV cache when new work starts, down to
   * `residentTokens`, because every resident cell costs attention work.
   * What snapshotIdle saved of them stays in the tiers.
   */
  private trimResident(cachedTokens: number, promptTokens: number): void {
    // A hit shorter than a snapshot's minimum (a common opening of otherwise distinct prompts) saves next to nothing:
    // counted, it would keep every idle prefix resident in a workload that never reuses them.
    const useful = cachedTokens >= this.tiers!.minTokens ? cachedTokens : 0;
    const fraction = promptTokens > 0 ? Math.min(1, useful / promptTokens) : 0;
    this.hitAverage = 0.8 * this.hitAverage + 0.2 * fraction;
    if (this.hitAverage >= HIT_AVERAGE_KEEP) return;
    const excess = this.tree.evictableTokens - this.tiers!.residentTokens;
    // Only what idle time saved (snapshotIdle) survives in the tiers: saving the rest now would put
    // ~5-10 µs a cell on this request's time to first token, for prefixes a low hit rate says are rarely reused.
    if (excess > 0) this.evict(excess, false);
  }

  /** Restores a snapshot that shares a longer prefix with the prompt than the tree does (no-op otherwise). */
  private restoreFromTiers(seq: Sequence): void {
    const t = this.tiers!;
    const ns = this.ns(seq);
    const maxLength = seq.tokens.length - 1;
    const inTree = this.tree.matchLength(ns, seq.tokens, maxLength);
    const minLength = Math.max(t.minTokens, inTree + t.minTokens);
    let state: Uint8Array | null = null;
    let length = 0;
    const ram = t.ram?.bestMatch(ns, seq.tokens, minLength, maxLength);
    if (ram) {
      state = ram.entry.state;
      length = ram.length;
    } else if (t.disk) {
      const hit = t.disk.bestMatch(ns, seq.tokens, minLength, maxLength);
      state = hit ? t.disk.load(hit.entry) : null;
      length = hit?.length ?? 0;
      if (state && hit) t.ram?.put(ns, hit.entry.tokens, state);
    }
    if (!state || length < minLength) return;
    const { ctx } = this;
    // The snapshot restores its whole sequence; what the prompt does not share is trimmed off.
    if (!ctx.seqStateSet(t.scratch, state)) {
      this.tierStats.restoreFailures++;
      ctx.seqRemove(t.scratch);
      return;
    }
    ctx.seqRemove(t.scratch, length, -1);
    const holderFor = (start: number, end: number, parent: number | null) => this.holders.allocate(start, end, parent);
    const r = this.tree.insert(ns, seq.tokens.slice(0, length), holderFor);
    if (r.inserted) ctx.seqCopy(t.scratch, r.inserted.holder, r.inserted.start, r.inserted.end);
    ctx.seqRemove(t.scratch);
    if (r.inserted) {
      this.tierStats.restores++;
      this.tierStats.restoredTokens += r.inserted.end - r.inserted.start;
    }
  }

  /**
   * Saves one idle cached prefix (an unlocked leaf with its ancestors) to the
   * tiers ahead of its eviction, leaving it in the KV cache. The engine calls
   * it while it has no work: reading a finished sequence's KV state costs about
   * 10 µs a cell (its cells lie scattered between the others'), and the
   * eviction that moves it out when new work starts then only frees cells
   * instead of adding that to the next request's time to first token.
   * Only while recent prompts were mostly not found cached: that is when the
   * next admission moves idle prefixes out (trimResident); otherwise they stay
   * resident and saving them now would be speculative work.
   * Returns false when nothing is left to save.
   */
  snapshotIdle(): boolean {
    if (!this.tiers || this.hitAverage >= HIT_AVERAGE_KEEP) return false;
    for (const leaf of this.tree.evictableLeaves()) {
      if (this.offered.has(leaf.nodeId)) continue;
      this.offered.add(leaf.nodeId);
      this.snapshot(leaf); // a no-op when the tiers already cover it
      return true;
    }
    return false;
  }

  /** Saves an evicted prefix to the tiers (assembled in the scratch sequence from the tree's segments). */
  private snapshot(node: EvictedPrefix): void {
    const t = this.tiers!;
    if (node.end < t.minTokens) return;
    const { tokens, segments } = node.prefix();
    const inRam = t.ram?.covers(node.namespace, tokens) ?? false;
    const onDisk = !t.disk || t.disk.has(node.namespace, tokens);
    if (inRam && onDisk) return;
    const { ctx } = this;
    for (const s of segments) ctx.seqCopy(s.holder, t.scratch, s.start, s.end);
    const state = ctx.seqStateGet(t.scratch);
    ctx.seqRemove(t.scratch);
    if (!state) return;
    this.tierStats.snapshots++;
    if (!inRam) t.ram?.put(node.namespace, tokens, state);
    if (!onDisk) {
      t.disk!.save(node.namespace, tokens, state).catch((e: unknown) => this.log.warn("prefix cache disk save failed", { error: String(e) }));
    }
  }

  /** Keeps what a leaving sequence computed (tokens[0, nPast)) in the tree; the caller clears its slot afterwards. */
  retain(seq: Sequence, seqId: number): void {
    this.release(seq);
    const n = seq.nPast;
    if (n <= 0 || seqId < 0) return;
    const tokens = seq.tokens.slice(0, n);
    const holderFor = (start: number, end: number, parent: number | null) => this.holders.allocate(start, end, parent);
    let r = this.tree.insert(this.ns(seq), tokens, holderFor);
    if (!r.inserted && r.reusedLength < n) {
      this.evict(n - r.reusedLength);
      r = this.tree.insert(this.ns(seq), tokens, holderFor);
    }
    if (r.inserted) this.ctx.seqCopy(seqId, r.inserted.holder, r.inserted.start, r.inserted.end);
    if (this.tree.totalTokens > this.maxTokens) this.evict(this.tree.totalTokens - this.maxTokens);
  }

  /** Unpins a sequence's prefix (finish, abort, preemption). */
  release(seq: Sequence): void {
    const lock = this.locks.get(seq);
    if (lock) this.tree.unlock(lock);
    this.locks.delete(seq);
  }

  /** Drops a finished sequence's bookkeeping. */
  forget(seq: Sequence): void {
    this.release(seq);
    this.namespaces.delete(seq);
  }

  /** Frees at least `cells` cached cells (LRU, unpinned leaves first), saving them to the tiers unless `save` is false; returns how many were freed. */
  evict(cells: number, save = true): number {
    const freed = this.tree.evict(cells, (node) => {
      this.offered.delete(node.nodeId);
      if (this.tiers && save) this.snapshot(node);
      this.holders.release(node.holder, node.start, node.end);
      this.ctx.seqRemove(node.holder, node.start, node.end);
    });
    if (freed) this.log.debug("prefix cache evicted", { cells: freed });
    this.evictedTokens += freed;
    return freed;
  }

  /** Snapshots every unpinned prefix into the tiers and waits for pending disk writes (shutdown). */
  async spill(): Promise<void> {
    if (!this.tiers) return;
    this.evict(this.tree.evictableTokens);
    await this.tiers.disk?.flush();
  }

  get evictable(): number {
    return this.tree.evictableTokens;
  }

  stats(): PrefixCacheStats {
    const s = this.tree.stats();
    return {
      queries: s.queries, hits: s.hits, hitTokens: s.hitTokens, cachedTokens: s.totalTokens, evictedTokens: this.evictedTokens, locks: s.numLocks,
      ...(this.tiers ? { tiers: { ...this.tierStats } } : {}),
    };
  }

  private ns(seq: Sequence): string {
    return this.namespaces.get(seq) ?? "";
  }
}
