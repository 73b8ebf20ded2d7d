/**
 * The engine loop's logic: one step = schedule -> run (decode + sample) ->
 * update (append tokens, detokenize, stop strings, finish). It turns engine
 * requests into sequences and sequences' progress into RequestOutputs.
 */
import { Scheduler, type StepItem } from "../scheduler/scheduler";
import { Sequence } from "../scheduler/sequence";
import { StopMatcher } from "../scheduler/stop-strings";
import { Utf8Stream } from "../shared/utf8";
import type { Logger } from "../shared/logger";
import type { EngineRequest, EngineStats, FinishReason, RequestOutput, TokenLogprob } from "../engine/messages";
import type { Runner } from "./runner";
import { PrefixCache, type PrefixCacheTiers } from "./prefix-cache";
import { TriggerWatch } from "./trigger-watch";
import { planContextShift } from "../scheduler/context-shift";
import type { StepInterrupt } from "../engine/step-interrupt";

interface Active {
  /** Watches for a lazy grammar's trigger until the grammar is engaged. */
  lazy?: TriggerWatch;
  req: EngineRequest;
  seq: Sequence;
  handle: number;
  utf8: Utf8Stream;
  stop: StopMatcher;
  out: RequestOutput;
  sentPromptCount: boolean;
}

export class EngineCore {
  private readonly scheduler: Scheduler;
  private readonly active = new Map<string, Active>();
  private readonly pendingOutputs = new Map<string, RequestOutput>();
  private nextHandle = 1;
  private stats = { stepsTotal: 0, tokensGenerated: 0, promptTokensProcessed: 0, preemptions: 0, stepsInterrupted: 0, contextShifts: 0 };
  private readonly cache: PrefixCache | undefined;
  /** Consecutive steps that found no KV space: evicting cached prefixes is tried once, then running work is preempted. */
  private kvFullStreak = 0;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    stepTokenBudget: number,
    prefillChunk: number,
    tiers?: PrefixCacheTiers | null,
    private readonly interrupt?: StepInterrupt,
  ) {
    const budget = Math.min(stepTokenBudget, runner.ctx.nBatch);
    const parallel = runner.init.parallel;
    const init = runner.init;
    const holders = Array.from({ length: init.cacheHolders }, (_, i) => parallel + i);
    const cacheBudget = init.cacheMaxTokens > 0 ? init.cacheMaxTokens : Math.floor(runner.ctx.nCtx / 4);
    const cache = holders.length ? new PrefixCache(runner.ctx, holders, log, cacheBudget, tiers ?? undefined) : undefined;
    this.cache = cache;
    this.scheduler = new Scheduler(
      {
        maxRunning: parallel,
        kvCells: runner.ctx.nCtx,
        stepTokenBudget: Math.max(budget, parallel),
        prefillChunk: Math.max(1, Math.min(prefillChunk, budget)),
        agingPerSecond: runner.init.agingPerSecond,
        preemptPriorityGap: runner.init.preemptPriorityGap,
        tenantWeights: runner.init.tenantWeights,
      },
      {
        cacheCells: () => cache?.cells ?? 0,
        cachedPrefix: (seq) => cache?.peek(seq) ?? 0,
        reclaim: (cells) => cache?.evict(cells) ?? 0,
        onAdmit: (seq) => cache?.admit(seq),
        // A preempted sequence gives its KV back (recomputed later): keeping it in the tree would free nothing.
        onPreempt: (seq, seqId) => {
          this.stats.preemptions++;
          cache?.release(seq);
          runner.clearSequence(seqId);
        },
      },
    );
  }

  /** Moves every unpinned cached prefix to the tiers and waits for disk writes (at shutdown). */
  async shutdownCache(): Promise<void> {
    await this.cache?.spill();
  }

  /** One small piece of work for a moment without requests (see PrefixCache.snapshotIdle); false when none is left. */
  idleWork(): boolean {
    return this.cache?.snapshotIdle() ?? false;
  }

  /** Requests accepted and not finished (running or waiting). */
  get numActive(): number {
    return this.active.size;
  }

  /** True while a step would do something: run sequences or deliver outputs. */
  get hasWork(): boolean {
    return this.scheduler.numRunning + this.scheduler.numWaiting > 0 || this.pendingOutputs.size > 0;
  }

  /** Accepts a request, or reports at once why it cannot run (as an output with an error). */
  add(req: EngineRequest): void {
    if (this.active.has(req.id)) return this.fail(req.id, 400, "duplicate_request", `request id ${req.id} is already running`);
    let tokens: number[];
    try {
      tokens = "tokens" in req.prompt ? req.prompt.tokens : this.runner.tokenize(req.prompt.text, req.prompt.addSpecial, req.prompt.parseSpecial);
    } catch (e) {
      return this.fail(req.id, 400, "invalid_prompt", `could not tokenize the prompt: ${(e as Error).message}`);
    }
    const nVocab = this.runner.ctx.nVocab;
    const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= nVocab);
    if (bad !== undefined) return this.fail(req.id, 400, "invalid_token", `prompt token id ${bad} is outside the vocabulary (0..${nVocab - 1})`, "prompt");
    if (tokens.length === 0) return this.fail(req.id, 400, "empty_prompt", "the prompt is empty", "prompt");
    const nCtx = this.runner.ctx.nCtx;
    if (tokens.length >= nCtx) {
      return this.fail(req.id, 400, "context_length_exceeded",
        `this model's context holds ${nCtx} tokens; the prompt has ${tokens.length} tokens, which leaves no room to generate. Shorten the prompt.`);
    }
    const handle = this.nextHandle++;
    const seed = req.params.seed ?? (Math.random() * 2 ** 32) >>> 0;
    try {
      const lazy = req.grammar !== undefined && (req.grammarTriggers?.length ?? 0) > 0;
      this.runner.createSampler(handle, req.params, seed, req.grammar, req.grammarRoot, lazy);
    } catch (e) {
      return this.fail(req.id, 400, "invalid_sampling", `sampler setup failed: ${(e as Error).message}`);
    }
    const seq = new Sequence(req.id, tokens, req.params.maxTokens, req.priority ?? 0, req.tenant ?? "", performance.now());
    this.active.set(req.id, {
      req, seq, handle,
      utf8: new Utf8Stream(),
      stop: new StopMatcher(req.params.stop),
      out: { id: req.id, text: "", tokenIds: [] },
      sentPromptCount: false,
      lazy: req.grammar !== undefined && req.grammarTriggers?.length ? new TriggerWatch(req.grammarTriggers) : undefined,
    });
    this.cache?.setNamespace(seq, req.cacheNamespace ?? "");
    this.scheduler.add(seq);
  }

  /** Ends requests at once and frees their sequence slots and KV. */
  abort(ids: readonly string[]): void {
    for (const id of ids) {
      const a = this.active.get(id);
      if (a) this.finish(a, "abort");
    }
  }

  /** Runs one step; returns the outputs it produced (possibly empty). */
  step(): RequestOutput[] {
    const items = this.scheduler.schedule();
    if (items.length) {
      this.armInterrupt(items);
      const { result, logitIndex } = this.runner.decode(items);
      this.interrupt?.arm(undefined);
      if (result === "aborted") this.rollBack(items);
      else if (result === "no_kv_space") this.onKvFull(items);
      else if (result !== "ok") this.failItems(items, `decode failed: ${result}`);
      else {
        this.kvFullStreak = 0;
        this.stats.stepsTotal++;
        this.scheduler.commit(items);
        items.forEach((it, i) => this.afterDecode(it, logitIndex[i]));
      }
    }
    const outs = [...this.pendingOutputs.values()];
    this.pendingOutputs.clear();
    return outs;
  }

  statsSnapshot(): EngineStats {
    return {
      running: this.scheduler.numRunning,
      waiting: this.scheduler.numWaiting,
      kvUsedCells: this.scheduler.kvUsed,
      kvTotalCells: this.runner.ctx.nCtx,
      freeSequences: this.scheduler.numFreeSlots,
      ...this.stats,
      prefixCache: this.cache?.stats() ?? { queries: 0, hits: 0, hitTokens: 0, cachedTokens: 0, evictedTokens: 0, locks: 0 },
      grammarMaskedSamples: this.runner.grammarMaskedSamples,
    };
  }

  private afterDecode(it: StepItem, logitIdx: number): void {
    const a = this.active.get(it.seq.id);
    if (!a) return;
    if (!it.sample) {
      this.stats.promptTokensProcessed += it.count;
      return;
    }
    if (it.seq.nGenerated === 0) this.stats.promptTokensProcessed += it.count;
    const token = this.runner.sample(a.handle, logitIdx);
    const out = this.outputOf(a);
    if (token < 0) return this.finish(a, "error", { status: 500, code: "grammar_dead_end", message: "the grammar allows no further token" });
    if (a.req.params.logprobs >= 0) (out.logprobs ??= []).push(this.runner.logprobs(logitIdx, token, a.req.params.logprobs));
    // A grammar allows end-of-generation only once its text is complete: nothing may follow, ignore_eos or not.
    if (this.runner.isEog(token) && (!a.req.params.ignoreEos || this.runner.grammarEngaged(a.handle))) return this.finish(a, "stop");
    this.scheduler.appendToken(it.seq, token);
    this.stats.tokensGenerated++;
    out.tokenIds.push(token);
    const piece = this.runner.piece(token);
    // Triggers may be control tokens (<|python_tag|>), which the output text does not show.
    if (a.lazy) this.watchTrigger(a, this.runner.model.vocab.pieceBytes(token, true));
    const r = a.stop.push(a.utf8.push(piece));
    out.text += r.emit;
    if (r.stopped !== undefined) {
      out.stopString = r.stopped;
      return this.finish(a, "stop");
    }
    if (it.seq.nGenerated >= it.seq.maxTokens) return this.finish(a, "length");
    // The next decode needs one more KV cell for this sequence.
    if (it.seq.tokens.length >= this.runner.ctx.nCtx && !this.shiftContext(a)) return this.finish(a, "length");
  }

  /**
   * At the context limit with runtime.context_shift on: drops the older half
   * of the sequence after its kept opening (see context-shift.ts) so that
   * generation goes on. False when it is off or nothing can be dropped, while
   * the prompt is still being prefilled (a prompt is never cut), and while a
   * lazy grammar still watches for its trigger (the trigger's token offsets
   * count from the start of the output, part of which would be gone).
   */
  private shiftContext(a: Active): boolean {
    const { seq } = a;
    if (!this.runner.init.contextShift || a.lazy || seq.seqId < 0 || seq.nGenerated === 0 || seq.pending !== 1) return false;
    const { vocab } = this.runner.model;
    const plan = planContextShift({ nPast: seq.nPast, nPrompt: seq.nPrompt, nKeep: this.runner.init.nKeep, bos: vocab.addBos && seq.tokens[0] === vocab.bos });
    if (!plan) return false;
    // The cached prefix the sequence started from is no longer all in use: unpinned, it may be evicted to make room.
    // (Cells it shares with the kept opening stay: a cell is freed only when no sequence holds it.)
    this.cache?.release(seq);
    // A memory that cannot drop a tail (recurrent models) gives the whole sequence back instead.
    let kept = plan.keep;
    if (!this.runner.ctx.seqRemove(seq.seqId, kept, -1)) {
      this.runner.clearSequence(seq.seqId);
      kept = 0;
    }
    this.scheduler.shiftContext(seq, plan, kept);
    this.stats.contextShifts++;
    this.log.debug("context shift", { id: seq.id, ...plan, tokens: seq.tokens.length });
    return true;
  }

  /**
   * A request that arrives during a step with a priority at least the
   * preemption gap above everything in the step interrupts it, so it is
   * scheduled at once instead of after the step. A step with prompt prefill
   * can take hundreds of milliseconds on a CPU; even a decode-only step over a
   * large unified KV cache takes tens (measured: 8 tokens over 4,000 cells,
   * 20-30 ms), and the interrupted sequences simply decode again afterwards.
   */
  private armInterrupt(items: readonly StepItem[]): void {
    const gap = this.runner.init.preemptPriorityGap;
    if (!this.interrupt || gap <= 0) return;
    let top = -Infinity;
    for (const it of items) top = Math.max(top, it.seq.priority);
    this.interrupt.arm(top + gap);
  }

  /**
   * An interrupted decode keeps the ubatches it finished and drops the rest
   * (llama_decode removes the interrupted ubatch's positions). Each sequence
   * resumes from what its KV holds; a token whose logits were due is fed again,
   * since nothing was sampled from it.
   */
  private rollBack(items: readonly StepItem[]): void {
    this.stats.stepsInterrupted++;
    for (const it of items) {
      const seqId = it.seq.seqId;
      const end = it.from + it.count;
      let held = Math.min(end, Math.max(it.from, this.runner.ctx.seqPosMax(seqId) + 1));
      if (it.sample && held === end) {
        this.runner.ctx.seqRemove(seqId, end - 1, -1);
        held = end - 1;
      }
      if (held > it.from && (!it.sample || it.seq.nGenerated === 0)) this.stats.promptTokensProcessed += held - it.from;
      it.seq.nPast = held;
    }
  }

  /** A lazy grammar's trigger appeared at a token boundary: the grammar takes over from that token. */
  private watchTrigger(a: Active, piece: Uint8Array): void {
    const hit = a.lazy!.push(piece);
    if (!hit || !("fromToken" in hit)) return; // inside a token: stay free, keep watching
    const generated = a.seq.tokens.slice(a.seq.nPrompt);
    if (this.runner.engageGrammar(a.handle, a.req.grammar!, a.req.grammarRoot ?? "root", generated.slice(hit.fromToken))) {
      a.lazy = undefined;
    } else {
      this.log.debug("lazy grammar did not accept the text from its trigger; output stays free", { id: a.req.id, trigger: hit.trigger });
    }
  }

  /** The cache cannot hold this step: give a lower-priority sequence's KV back, or end the only one. */
  private onKvFull(items: readonly StepItem[]): void {
    // Cached prefixes go first; running work is preempted only when the cache has nothing left to give.
    const want = items.reduce((n, it) => n + it.count, 0);
    if (this.kvFullStreak++ === 0 && this.cache && this.cache.evict(want) > 0) return;
    if (this.scheduler.numRunning > 1) this.kvFullStreak = 0;
    const victim = this.scheduler.preemptOne();
    if (victim) {
      this.runner.clearSequence(victim.seqId);
      this.log.debug("KV cache full: preempted a sequence", { id: victim.seq.id, preemptions: victim.seq.preemptions });
      return;
    }
    // A single sequence filled the whole cache: it shifts or ends as if at the context limit.
    const a = items.length ? this.active.get(items[0].seq.id) : undefined;
    if (a && !this.shiftContext(a)) this.finish(a, "length");
  }

  private failItems(items: readonly StepItem[], message: string): void {
    this.log.error(message, { sequences: items.map((i) => i.seq.id) });
    for (const it of items) {
      const a = this.active.get(it.seq.id);
      if (a) this.finish(a, "error", { status: 500, code: "engine_error", message });
    }
  }

  private outputOf(a: Active): RequestOutput {
    let out = this.pendingOutputs.get(a.req.id);
    if (!out) {
      out = { id: a.req.id, text: "", tokenIds: [] };
      this.pendingOutputs.set(a.req.id, out);
    }
    if (!a.sentPromptCount) {
      out.promptTokens = a.seq.nPrompt;
      a.sentPromptCount = true;
    }
    return out;
  }

  private finish(a: Active, reason: FinishReason, error?: RequestOutput["error"]): void {
    const out = this.outputOf(a);
    if (reason !== "stop" || out.stopString === undefined) out.text += a.stop.push(a.utf8.end()).emit + a.stop.flush();
    out.finishReason = reason;
    if (error) out.error = error;
    out.usage = { promptTokens: a.seq.nPrompt, completionTokens: a.seq.nGenerated, cachedTokens: a.seq.promptCachedTokens };
    // What was computed stays reusable for later requests (not after an error: its KV may be incomplete).
    if (this.cache && a.seq.state === "running") {
      if (reason === "error") this.cache.release(a.seq);
      else this.cache.retain(a.seq, a.seq.seqId);
    }
    this.cache?.forget(a.seq);
    const seqId = this.scheduler.finish(a.seq);
    this.runner.clearSequence(seqId);
    this.runner.freeSampler(a.handle);
    this.active.delete(a.req.id);
  }

  private fail(id: string, status: number, code: string, message: string, param?: string): void {
    this.pendingOutputs.set(id, { id, text: "", tokenIds: [], finishReason: "error", error: { status, code, message, param } });
  }
}

export type { TokenLogprob };
