/**
 * Connects the pure radix tree to the KV cache: on admission a sequence's
 * longest cached prefix is copied from holder sequences into its slot
 * (llama_memory_seq_cp, metadata only in a unified cache); on finish or
 * preemption its computed tokens are copied into holders and entered in the
 * tree; under memory pressure least-recently-used unpinned prefixes are evicted.
 */
import { HolderAllocator, RadixTree, type Lock } from "../cache/index";
import type { Sequence } from "../scheduler/sequence";
import type { Logger } from "../shared/logger";
import type { Context } from "../../ffi/context";

export interface PrefixCacheStats {
  queries: number;
  hits: number;
  hitTokens: number;
  cachedTokens: number;
  evictedTokens: number;
  locks: number;
}

export class PrefixCache {
  private readonly tree = new RadixTree();
  private readonly holders: HolderAllocator;
  private readonly locks = new Map<Sequence, Lock>();
  private readonly namespaces = new Map<Sequence, string>();
  evictedTokens = 0;

  /** holderIds: sequence ids reserved for cached prefixes (not used by running requests). */
  constructor(private readonly ctx: Context, holderIds: number[], private readonly log: Logger, private readonly maxTokens: number) {
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
    const m = this.tree.match(this.ns(seq), seq.tokens, seq.tokens.length - 1);
    if (m.length === 0) return;
    for (const e of m.path) this.ctx.seqCopy(e.holder, seq.seqId, e.start, e.end);
    this.locks.set(seq, this.tree.lock(m));
    seq.nPast = m.length;
    seq.cachedTokens = m.length;
    if (seq.preemptions === 0) seq.promptCachedTokens = Math.min(m.length, seq.nPrompt);
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

  /** Frees at least `cells` cached cells (LRU, unpinned leaves first); returns how many were freed. */
  evict(cells: number): number {
    const freed = this.tree.evict(cells, (node) => {
      this.holders.release(node.holder, node.start, node.end);
      this.ctx.seqRemove(node.holder, node.start, node.end);
    });
    if (freed) this.log.debug("prefix cache evicted", { cells: freed });
    this.evictedTokens += freed;
    return freed;
  }

  get evictable(): number {
    return this.tree.evictableTokens;
  }

  stats(): PrefixCacheStats {
    const s = this.tree.stats();
    return { queries: s.queries, hits: s.hits, hitTokens: s.hitTokens, cachedTokens: s.totalTokens, evictedTokens: this.evictedTokens, locks: s.numLocks };
  }

  private ns(seq: Sequence): string {
    return this.namespaces.get(seq) ?? "";
  }
}
