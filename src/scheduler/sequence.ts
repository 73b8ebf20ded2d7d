/**
 * A request's state inside the engine. Only the Scheduler changes it; the
 * runner reads it to build batches.
 */
export type SequenceState = "waiting" | "running" | "finished";

export class Sequence {
  state: SequenceState = "waiting";
  /** The KV sequence id while running, else -1. */
  seqId = -1;
  /** Every token that belongs in the KV cache: prompt, then generated. */
  readonly tokens: number[];
  /** How many of `tokens` are in the KV cache now. */
  nPast = 0;
  /** Tokens in the KV cache that were copied from the prefix cache on the latest admission. */
  cachedTokens = 0;
  /** Prompt tokens served from the cache on the first admission (usage.cached_tokens). */
  promptCachedTokens = 0;
  /** Generated token count. */
  nGenerated = 0;
  /** Times this sequence was preempted and had to recompute. */
  preemptions = 0;
  /** Context shifts so far (runtime.context_shift). */
  contextShifts = 0;
  /** Consecutive steps this sequence's decode waited behind a higher-priority prefill. */
  deferredDecodes = 0;
  readonly arrivalMs: number;

  constructor(
    readonly id: string,
    promptTokens: readonly number[],
    readonly maxTokens: number,
    readonly priority: number,
    readonly tenant: string,
    nowMs: number,
  ) {
    this.tokens = [...promptTokens];
    this.nPrompt = promptTokens.length;
    this.arrivalMs = nowMs;
  }

  readonly nPrompt: number;

  /** Tokens not yet in the KV cache. */
  get pending(): number {
    return this.tokens.length - this.nPast;
  }
}
