/**
 * Coalesces per-step outputs before they cross to the HTTP thread. Every
 * message wakes the main thread, which then competes with llama.cpp's spinning
 * threads for the cores; so outputs are merged per request and flushed at most
 * every `intervalMs`, except that a request's first output and its last are
 * flushed at once, and so is the first that carries text (a first token that
 * is half a UTF-8 character, or held back as a possible stop string, shows no
 * text yet): time to first token and completion are never delayed.
 */
import type { RequestOutput } from "../engine/messages";

export class OutputBatcher {
  private readonly pending = new Map<string, RequestOutput>();
  private urgent = false;
  /** Requests whose visible text has started: until then, an output with text is urgent too. */
  private readonly textStarted = new Set<string>();
  private lastFlush = 0;
  /** Whether the last outputs taken included an urgent one. */
  tookUrgent = false;

  constructor(private readonly intervalMs: number) {}

  add(outputs: readonly RequestOutput[]): void {
    for (const o of outputs) {
      if (o.promptTokens !== undefined || o.finishReason) this.urgent = true;
      if (o.text && !this.textStarted.has(o.id)) {
        this.urgent = true;
        this.textStarted.add(o.id);
      }
      if (o.finishReason) this.textStarted.delete(o.id);
      const prev = this.pending.get(o.id);
      if (!prev) {
        this.pending.set(o.id, { ...o, tokenIds: [...o.tokenIds], logprobs: o.logprobs ? [...o.logprobs] : undefined });
        continue;
      }
      prev.text += o.text;
      prev.tokenIds.push(...o.tokenIds);
      if (o.logprobs) (prev.logprobs ??= []).push(...o.logprobs);
      prev.promptTokens ??= o.promptTokens;
      if (o.finishReason) {
        prev.finishReason = o.finishReason;
        prev.stopString = o.stopString;
        prev.error = o.error;
        prev.usage = o.usage;
      }
    }
  }

  /** The outputs to send now, or none yet. `force` flushes whatever is pending. */
  take(nowMs: number, force = false): RequestOutput[] {
    if (!this.pending.size) return [];
    if (!force && !this.urgent && nowMs - this.lastFlush < this.intervalMs) return [];
    const out = [...this.pending.values()];
    this.pending.clear();
    this.tookUrgent = this.urgent;
    this.urgent = false;
    this.lastFlush = nowMs;
    return out;
  }

  get size(): number {
    return this.pending.size;
  }
}
