/**
 * Plans each engine step: which sequences decode one token, which prefill a
 * chunk of their prompt, and which waiting requests are admitted, under a
 * per-step token budget, a number of sequence slots and the KV cache size.
 * Pure: no libllama, so the policy is unit-tested on its own.
 */
import { Sequence } from "./sequence";
import type { ContextShiftPlan } from "./context-shift";

export interface SchedulerOptions {
  /** Sequence slots (llama context n_seq_max). */
  maxRunning: number;
  /** KV cells in the unified cache (n_ctx). */
  kvCells: number;
  /** Tokens one step may process: one per decoding sequence plus prefill chunks (<= n_batch). */
  stepTokenBudget: number;
  /** Largest prompt chunk a sequence prefills in one step. */
  prefillChunk: number;
  /** Priority points a waiting request gains per second, so nothing starves (0 = strict priority). */
  agingPerSecond?: number;
  /** Relative share of running slots per tenant (default 1 each). */
  tenantWeights?: Readonly<Record<string, number>>;
  /** A waiting request preempts a running one when its priority is at least this much higher (0 = never). */
  preemptPriorityGap?: number;
  now?: () => number;
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
  /** A running sequence loses its slot: the engine must clear that KV sequence now, before the slot is reused. */
  onPreempt(seq: Sequence, seqId: number): void;
}

/** One sequence's share of a step: feed tokens[from, from+count); sample after the last one if `sample`. */
export interface StepItem {
  seq: Sequence;
  from: number;
  count: number;
  sample: boolean;
}

/** Consecutive steps a running sequence's decode may wait behind a higher-priority prefill. */
export const MAX_DEFERRED_DECODES = 4;

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
  /**
   * KV cells the running sequences will hold once their pending tokens are in
   * (prompt chunks still to prefill, the next decode token), plus the cache's.
   * Admission counts these, not kvUsed: a sequence admitted beside one that
   * still prefills (chunked, or again after a context shift) must not take the
   * cells that one is about to fill.
   */
  private get kvReserved(): number {
    let n = this.hooks?.cacheCells() ?? 0;
    for (const s of this.running) n += s.tokens.length - s.cachedTokens;
    return n;
  }
  runningSequences(): readonly Sequence[] {
    return this.running;
  }
  waitingSequences(): readonly Sequence[] {
    return this.waiting;
  }

  add(seq: Sequence): void {
    this.waiting.push(seq);
  }

  /**
   * Admission order: priority plus aging, minus the tenant's current share of
   * running slots (weighted), then arrival. A tenant flooding the queue only
   * competes with itself once it holds more than its share.
   */
  private score(seq: Sequence, nowMs: number): number {
    const aging = (this.options.agingPerSecond ?? 1) * Math.max(0, nowMs - seq.arrivalMs) / 1000;
    const weight = this.options.tenantWeights?.[seq.tenant] ?? 1;
    let running = 0;
    for (const r of this.running) if (r.tenant === seq.tenant) running++;
    const fairShare = this.options.maxRunning / Math.max(1, this.tenantCount());
    return seq.priority + aging - (10 * running) / (weight * Math.max(1, fairShare));
  }

  private tenantCount(): number {
    const t = new Set<string>();
    for (const s of this.running) t.add(s.tenant);
    for (const s of this.waiting) t.add(s.tenant);
    return t.size;
  }

  /** Index of the waiting sequence to admit next (the waiting list keeps arrival order). */
  private nextWaiting(): number {
    const now = this.options.now?.() ?? performance.now();
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < this.waiting.length; i++) {
      const sc = this.score(this.waiting[i], now);
      if (sc > bestScore) {
        bestScore = sc;
        best = i;
      }
    }
    return best;
  }

  /** Plans one step. Admits waiting sequences into free slots when the KV cache has room for their prompt. */
  schedule(): StepItem[] {
    // Preempt first: a preempted sequence must not also get a decode item in this step.
    this.preemptForPriority();
    const items: StepItem[] = [];
    let budget = this.options.stepTokenBudget;
    // 1. Every running sequence that has its prompt in KV decodes one token.
    const decoding = new Set<Sequence>();
    for (const seq of this.running) {
      if (seq.pending === 1 && seq.nPast > 0) {
        items.push({ seq, from: seq.nPast, count: 1, sample: true });
        decoding.add(seq);
        budget--;
      }
    }
    // 2. Admit waiting sequences while slots and KV allow.
    let kvFree = this.options.kvCells - this.kvReserved;
    while (this.waiting.length && this.freeSeqIds.length) {
      const idx = this.nextWaiting();
      const next = this.waiting[idx];
      const need = next.tokens.length - (this.hooks?.cachedPrefix(next) ?? 0);
      if (need > kvFree && this.hooks) kvFree += this.hooks.reclaim(need - kvFree);
      if (need > kvFree && this.running.length > 0) break;
      this.waiting.splice(idx, 1);
      next.seqId = this.freeSeqIds.pop()!;
      next.state = "running";
      this.running.push(next);
      this.hooks?.onAdmit(next);
      kvFree -= next.tokens.length - next.cachedTokens;
    }
    // 3. Prefill chunks within the remaining budget: highest priority first, then oldest.
    //    A step that prefills a higher-priority prompt carries no lower-priority prefill:
    //    its duration is that request's time to first token.
    const byPriority = this.running.length > 1 ? [...this.running].sort((a, b) => b.priority - a.priority || a.arrivalMs - b.arrivalMs) : this.running;
    let prefillPriority: number | undefined;
    for (const seq of byPriority) {
      if (budget <= 0) break;
      // A sequence admitted just now with all but its last prompt token cached has one token to feed: it goes here.
      if (decoding.has(seq) || seq.pending === 0) continue;
      if (prefillPriority !== undefined && seq.priority < prefillPriority) break;
      prefillPriority ??= seq.priority;
      const count = Math.min(seq.pending, this.options.prefillChunk, budget);
      items.push({ seq, from: seq.nPast, count, sample: seq.nPast + count === seq.tokens.length });
      budget -= count;
    }
    return this.withoutOutrankedDecodes(items, decoding, prefillPriority);
  }

  /**
   * A step that prefills a prompt `preemptPriorityGap` points above some decoding
   * sequences leaves their decodes to a later step, at most MAX_DEFERRED_DECODES
   * steps in a row. Over a unified KV cache, decode rows in the same batch as a
   * prefill make the attention kernel visit every cell for the rows they share a
   * tile with (measured: 100 prefill tokens over 4,000 cached cells take 46 ms
   * alone and 105-113 ms with 7 decode tokens beside them), and that step's
   * length is the urgent request's time to first token.
   */
  private withoutOutrankedDecodes(items: StepItem[], decoding: ReadonlySet<Sequence>, prefillPriority: number | undefined): StepItem[] {
    const gap = this.options.preemptPriorityGap ?? 0;
    const floor = gap > 0 && prefillPriority !== undefined ? prefillPriority - gap : -Infinity;
    const deferred = (it: StepItem) => decoding.has(it.seq) && it.seq.priority <= floor && it.seq.deferredDecodes < MAX_DEFERRED_DECODES;
    const kept: StepItem[] = [];
    for (const it of items) {
      if (deferred(it)) it.seq.deferredDecodes++;
      else {
        if (decoding.has(it.seq)) it.seq.deferredDecodes = 0;
        kept.push(it);
      }
    }
    return kept;
  }

  /** Records that a step's items are now in the KV cache. */
  commit(items: readonly StepItem[]): void {
    for (const it of items) it.seq.nPast = it.from + it.count;
  }

  /**
   * Records a context shift once the engine has removed the sequence's KV
   * from `kept` on and unpinned its cached prefix: the plan's discarded
   * tokens leave the sequence, and what follows the kept opening is prefilled
   * again. The kept cells count as its own from now on (if the cache keeps
   * them too, they are counted twice: the safe side).
   */
  shiftContext(seq: Sequence, plan: ContextShiftPlan, kept: number): void {
    seq.tokens.splice(plan.keep, plan.discard);
    seq.nPast = kept;
    seq.cachedTokens = 0;
    seq.contextShifts++;
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
    const seqId = this.preempt(victim);
    return { seq: victim, seqId };
  }

  /**
   * When every slot is busy and a waiting request outranks the lowest-priority
   * running one by the configured gap, that running sequence is preempted
   * (recomputed later) so the higher-priority request can start now.
   */
  private preemptForPriority(): void {
    const gap = this.options.preemptPriorityGap ?? 0;
    if (gap <= 0 || this.freeSeqIds.length || !this.waiting.length || !this.running.length) return;
    let top = this.waiting[0];
    for (const w of this.waiting) if (w.priority > top.priority) top = w;
    let low = this.running[0];
    for (const r of this.running) if (r.priority < low.priority || (r.priority === low.priority && r.arrivalMs > low.arrivalMs)) low = r;
    if (top.priority - low.priority < gap) return;
    this.preempt(low);
  }

  /** Moves a running sequence back to waiting; its KV is given back (the caller clears the returned id). */
  private preempt(victim: Sequence): number {
    this.hooks?.onPreempt(victim, victim.seqId);
    const seqId = this.finish(victim);
    victim.state = "waiting";
    victim.nPast = 0;
    victim.cachedTokens = 0;
    victim.preemptions++;
    this.waiting.unshift(victim);
    return seqId;
  }
}
