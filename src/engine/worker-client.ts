/**
 * EngineClient over a Bun Worker running src/worker/entry.ts. Bounds the
 * admission queue, routes outputs to per-request streams, fails every open
 * request with 503 when the worker dies, and starts a new worker.
 */
import { InferFluxError, RateLimitError, ServiceUnavailableError } from "../shared/errors";
import type { Logger } from "../shared/logger";
import type { EngineClient, EngineState } from "./client";
import type { EngineInit, EngineRequest, EngineStats, FromWorker, ModelInfo, RequestOutput, ToWorker } from "./messages";
import { OutputStream } from "./output-stream";
import { StepInterrupt } from "./step-interrupt";
import { OutputHandoff } from "./output-handoff";

export interface WorkerClientOptions {
  init: EngineInit;
  /** Requests allowed to wait beyond the running slots before 429. */
  maxQueued: number;
  /** Delay before restarting a dead worker. */
  restartDelayMs?: number;
  onProgress?: (fraction: number) => void;
  logger: Logger;
  /** Override the worker script (tests). */
  workerUrl?: URL;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const WORKER_URL = new URL("../worker/entry.ts", import.meta.url);

export class WorkerEngineClient implements EngineClient {
  state: EngineState = "starting";
  model: ModelInfo | undefined;
  private worker: Worker | undefined;
  private readonly open = new Map<string, OutputStream>();
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 1;
  private startPromise: Promise<void> | undefined;
  private closed = false;
  /** Lets a high-priority request cut the worker's running step short. */
  private readonly interrupt = new StepInterrupt();
  private readonly handoff = new OutputHandoff();
  restarts = 0;

  constructor(private readonly options: WorkerClientOptions) {}

  get numOpen(): number {
    return this.open.size;
  }

  start(): Promise<void> {
    this.startPromise ??= this.spawn();
    return this.startPromise;
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(this.options.workerUrl ?? WORKER_URL);
      this.worker = w;
      let ready = false;
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        switch (m.type) {
          case "outputs":
            for (const out of m.outputs) this.deliver(out);
            // After the stream code that the deliveries woke has run and written its bytes.
            if (m.urgent) setImmediate(() => this.handoff.deliveredOne());
            break;
          case "ready":
            ready = true;
            this.model = m.model;
            this.state = "ready";
            resolve();
            break;
          case "progress":
            this.options.onProgress?.(m.fraction);
            break;
          case "reply": {
            const c = this.calls.get(m.callId);
            this.calls.delete(m.callId);
            if (m.error !== undefined) c?.reject(new Error(m.error));
            else c?.resolve(m.result);
            break;
          }
          case "fatal":
            this.options.logger.error("engine failed to start", { error: m.message });
            this.state = "failed";
            reject(new Error(m.message));
            w.terminate();
            break;
        }
      };
      const died = (why: string) => {
        if (this.worker !== w) return;
        this.worker = undefined;
        this.failAll(why);
        if (!ready) {
          this.state = "failed";
          reject(new Error(`engine worker exited during start-up: ${why}`));
          return;
        }
        if (this.closed) return;
        this.state = "restarting";
        this.restarts++;
        this.options.logger.error("engine worker died; restarting", { reason: why, restarts: this.restarts });
        setTimeout(() => {
          if (this.closed) return;
          this.spawn().catch((e) => this.options.logger.error("engine restart failed", { error: String(e) }));
        }, this.options.restartDelayMs ?? 500);
      };
      w.addEventListener("error", (e) => died((e as ErrorEvent).message ?? "error"));
      w.addEventListener("close", () => died("worker exited"));
      this.interrupt.reset();
      this.send({ type: "init", init: this.options.init, interrupt: this.interrupt.buffer, handoff: this.handoff.buffer });
    });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private deliver(out: RequestOutput): void {
    const s = this.open.get(out.id);
    if (!s) return;
    if (out.error) {
      const e = out.error;
      s.fail(new InferFluxError(e.status, e.status >= 500 ? "server_error" : "invalid_request_error", e.code, e.message, { param: e.param }));
    } else s.push(out);
    if (out.finishReason) this.open.delete(out.id);
  }

  private failAll(why: string): void {
    const err = new ServiceUnavailableError(`the inference engine stopped (${why}); retry shortly`, "engine_restarting");
    for (const s of this.open.values()) s.fail(err);
    this.open.clear();
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
  }

  submit(request: EngineRequest, signal?: AbortSignal): AsyncIterable<RequestOutput> {
    if (this.state !== "ready" || !this.worker || !this.model) {
      throw new ServiceUnavailableError(
        this.state === "starting" ? "the model is still loading; retry shortly" : `no model is ready (engine ${this.state})`,
        "model_not_ready",
      );
    }
    if (this.open.size >= this.model.parallel + this.options.maxQueued) {
      throw new RateLimitError(`the server is at capacity (${this.open.size} requests in flight); retry later`, 1, "queue_full");
    }
    if (this.open.has(request.id)) throw new InferFluxError(400, "invalid_request_error", "duplicate_request", `request id ${request.id} is in flight`);
    const stream = new OutputStream();
    this.open.set(request.id, stream);
    this.interrupt.posted(request.priority ?? 0);
    this.send({ type: "add", request });
    signal?.addEventListener("abort", () => this.abort(request.id), { once: true });
    if (signal?.aborted) this.abort(request.id);
    return stream;
  }

  abort(id: string): void {
    const s = this.open.get(id);
    if (!s) return;
    this.open.delete(id);
    s.fail(new InferFluxError(499, "invalid_request_error", "client_closed", "request aborted"));
    this.send({ type: "abort", ids: [id] });
  }

  private call<T>(m: DistributiveOmit<Extract<ToWorker, { callId: number }>, "callId">): Promise<T> {
    if (!this.worker || this.state !== "ready") return Promise.reject(new ServiceUnavailableError("no model is ready"));
    const callId = this.nextCall++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(callId, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ ...m, callId } as ToWorker);
    });
  }

  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Promise<number[]> {
    return this.call({ type: "tokenize", text, addSpecial, parseSpecial });
  }
  detokenize(tokens: number[]): Promise<string> {
    return this.call({ type: "detokenize", tokens });
  }
  stats(): Promise<EngineStats> {
    return this.call({ type: "stats" });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state = "stopped";
    const w = this.worker;
    this.worker = undefined;
    this.failAll("server shutting down");
    if (w) {
      w.postMessage({ type: "shutdown" } satisfies ToWorker);
      // The worker may be saving cached prefixes to the disk tier. A timer, not Bun.sleep: a pending
      // sleep keeps the process alive after the worker is gone (chat --model exited 10 s late).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 10_000);
        w.addEventListener("close", () => resolve());
      });
      clearTimeout(timer);
      w.terminate();
    }
  }
}
