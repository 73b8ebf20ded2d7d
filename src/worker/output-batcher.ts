/**
 * Coalesces per-step outputs before they cross to the HTTP thread. Every
 * message wakes the main thread, which then competes with llama.cpp's spinning
 * threads for the cores; so outputs are merged per request and flushed at most
 * every `intervalMs`, except that a request's first output and its last are
 * flushed at once (time to first token and completion are never delayed).
 */
import type { RequestOutput } from "../engine/messages";

export class OutputBatcher {
  private readonly pending = new Map<string, RequestOutput>();
  private urgent = false;
  private lastFlush = 0;

  constructor(private readonly intervalMs: number) {}

  add(outputs: readonly RequestOutput[]): void {
    for (const o of outputs) {
      if (o.promptTokens !== undefined || o.finishReason) this.urgent = true;
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
    this.urgent = false;
    this.lastFlush = nowMs;
    return out;
  }

  get size(): number {
    return this.pending.size;
  }
}
