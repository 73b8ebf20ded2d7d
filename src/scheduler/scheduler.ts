/**
 * Plans each engine step: which sequences decode one token, which prefill a
 * chunk of their prompt, and which waiting requests are admitted, under a
 * per-step token budget, a number of sequence slots and the KV cache size.
 * Pure: no libllama, so the policy is unit-tested on its own.
 */
import { Sequence } from "./sequence";

export interface SchedulerOptions {
  /** Sequence slots (llama context n_seq_max). */
  maxRunning: number;
  /** KV cells in the unified cache (n_ctx). */
  kvCells: number;
  /** Tokens one step may process: one per decoding sequence plus prefill chunks (<= n_batch). */
  stepTokenBudget: number;
  /** Largest prompt chunk a sequence prefills in one step. */
  prefillChunk: number;
}

/**
 * How the scheduler works with a prefix cache (all optional): cells the
 * cache holds, the cached prefix a waiting sequence would reuse, reclaiming
 * cache cells, and the moment a sequence gets its slot (to copy its prefix in).
 */
export interface SchedulerHooks {
  cacheCells(): number;
  cachedPrefix(seq: Sequence): number;
  reclaim(cells: number): number;
  onAdmit(seq: Sequence): void;
  /** A running sequence is about to lose its slot (its KV is still intact). */
  onPreempt(seq: Sequence, seqId: number): void;
}

/** One sequence's share of a step: feed tokens[from, from+count); sample after the last one if `sample`. */
export interface StepItem {
  seq: Sequence;
  from: number;
  count: number;
  sample: boolean;
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  private readonly freeSeqIds: number[];

  constructor(readonly options: SchedulerOptions, private readonly hooks?: SchedulerHooks) {
    if (options.maxRunning < 1) throw new RangeError("maxRunning must be >= 1");
    if (options.stepTokenBudget < options.maxRunning) throw new RangeError("stepTokenBudget must be >= maxRunning");
    this.freeSeqIds = Array.from({ length: options.maxRunning }, (_, i) => options.maxRunning - 1 - i);
  }

  get numWaiting(): number {
    return this.waiting.length;
  }
  get numRunning(): number {
    return this.running.length;
  }
  get numFreeSlots(): number {
    return this.freeSeqIds.length;
  }
  /** KV cells held by running sequences beyond what they share with the cache, plus the cache's own. */
  get kvUsed(): number {
    let n = this.hooks?.cacheCells() ?? 0;
    for (const s of this.running) n += s.nPast - s.cachedTokens;
    return n;
  }
  runningSequences(): readonly Sequence[] {
    return this.running;
  }
  waitingSequences(): readonly Sequence[] {
    return this.waiting;
  }

  add(seq: Sequence): void {
    this.insertWaiting(seq);
  }

  /** Plans one step. Admits waiting sequences into free slots when the KV cache has room for their prompt. */
  schedule(): StepItem[] {
    const items: StepItem[] = [];
    let budget = this.options.stepTokenBudget;
    // 1. Every running sequence that has its prompt in KV decodes one token.
    for (const seq of this.running) {
      if (seq.pending === 1 && seq.nPast > 0) {
        items.push({ seq, from: seq.nPast, count: 1, sample: true });
        budget--;
      }
    }
    // 2. Admit waiting sequences while slots and KV allow.
    let kvFree = this.options.kvCells - this.kvUsed - this.running.length;
    while (this.waiting.length && this.freeSeqIds.length) {
      const next = this.waiting[0];
      const need = next.tokens.length - (this.hooks?.cachedPrefix(next) ?? 0);
      if (need > kvFree && this.hooks) kvFree += this.hooks.reclaim(need - kvFree);
      if (need > kvFree && this.running.length > 0) break;
      this.waiting.shift();
      next.seqId = this.freeSeqIds.pop()!;
      next.state = "running";
      this.running.push(next);
      this.hooks?.onAdmit(next);
      kvFree -= next.tokens.length - next.cachedTokens;
    }
    // 3. Prefill chunks, oldest first, within the remaining budget.
    for (const seq of this.running) {
      if (budget <= 0) break;
      const isDecoding = seq.pending === 1 && seq.nPast > 0;
      if (isDecoding || seq.pending === 0) continue;
      const count = Math.min(seq.pending, this.options.prefillChunk, budget);
      items.push({ seq, from: seq.nPast, count, sample: seq.nPast + count === seq.tokens.length });
      budget -= count;
    }
    return items;
  }

  /** Records that a step's items are now in the KV cache. */
  commit(items: readonly StepItem[]): void {
    for (const it of items) it.seq.nPast = it.from + it.count;
  }

  /** Appends a sampled token to a running sequence. */
  appendToken(seq: Sequence, token: number): void {
    seq.tokens.push(token);
    seq.nGenerated++;
  }

  /** Removes a sequence wherever it is; returns the KV sequence id it held (to clear), or -1. */
  finish(seq: Sequence): number {
    const seqId = seq.seqId;
    seq.state = "finished";
    const w = this.waiting.indexOf(seq);
    if (w >= 0) this.waiting.splice(w, 1);
    const r = this.running.indexOf(seq);
    if (r >= 0) {
      this.running.splice(r, 1);
      this.freeSeqIds.push(seqId);
    }
    seq.seqId = -1;
    return r >= 0 ? seqId : -1;
  }

  /**
   * Picks the running sequence to give up its KV when the cache is full: the
   * lowest priority, then the most recently arrived. It goes back to the
   * waiting queue and recomputes its tokens (prompt + generated) later.
   * Returns the sequence and the KV id to clear, or undefined when only one runs.
   */
  preemptOne(): { seq: Sequence; seqId: number } | undefined {
    if (this.running.length <= 1) return undefined;
    let victim = this.running[0];
    for (const s of this.running) {
      if (s.priority < victim.priority || (s.priority === victim.priority && s.arrivalMs > victim.arrivalMs)) victim = s;
    }
    this.hooks?.onPreempt(victim, victim.seqId);
    const seqId = this.finish(victim);
    victim.state = "waiting";
    victim.nPast = 0;
    victim.cachedTokens = 0;
    victim.preemptions++;
    this.waiting.unshift(victim);
    return { seq: victim, seqId };
  }

  /** Waiting order: higher priority first, then arrival. */
  private insertWaiting(seq: Sequence): void {
    let i = this.waiting.length;
    while (i > 0) {
      const prev = this.waiting[i - 1];
      if (prev.priority > seq.priority || (prev.priority === seq.priority && prev.arrivalMs <= seq.arrivalMs)) break;
      i--;
    }
    this.waiting.splice(i, 0, seq);
  }
}
