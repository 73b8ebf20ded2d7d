/**
 * The HTTP side's view of the engine: submit a request, read its outputs as
 * a stream, abort it. Implemented over a Bun Worker (worker-client.ts).
 */
import type { EngineRequest, EngineStats, ModelInfo, RequestOutput } from "./messages";

export type EngineState = "starting" | "ready" | "restarting" | "failed" | "stopped";

export interface EngineClient {
  readonly state: EngineState;
  /** The loaded model, once ready. */
  readonly model: ModelInfo | undefined;
  /** Requests submitted and not yet finished. */
  readonly numOpen: number;
  /** Resolves when the model is loaded; rejects when it cannot be. */
  start(): Promise<void>;
  /**
   * Starts a request. Throws ServiceUnavailableError when no model is ready and
   * RateLimitError when the admission queue is full. The stream ends after the
   * output with a finishReason; an engine-side error is thrown from the iterator.
   * Aborting the signal frees the sequence within one step.
   */
  submit(request: EngineRequest, signal?: AbortSignal): AsyncIterable<RequestOutput>;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Promise<number[]>;
  detokenize(tokens: number[]): Promise<string>;
  stats(): Promise<EngineStats>;
  close(): Promise<void>;
}
