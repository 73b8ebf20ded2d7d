/**
 * The worker client over a real Bun Worker (a small stand-in script): when
 * the worker dies, every open request fails with 503, the client reports
 * not-ready, and a new worker is started.
 */
import { describe, expect, test } from "bun:test";
import { WorkerEngineClient } from "../../../src/engine/worker-client";
import { createLogger } from "../../../src/shared/logger";
import { InferFluxError } from "../../../src/shared/errors";
import type { SamplingParams } from "../../../src/engine/messages";

const params = { maxTokens: 1 } as SamplingParams;
const init = { modelPath: "x", nCtx: 64, parallel: 2, nBatch: 32, nUbatch: 32, threads: 1, threadsBatch: 1, poll: 50, gpuLayers: 0, flashAttn: -1, stepTokenBudget: 32, prefillChunk: 32, cacheHolders: 0, cacheMaxTokens: 0, cacheResidentTokens: 0, cacheRamBytes: 0, cacheDiskPath: "", cacheDiskMaxBytes: 0, agingPerSecond: 1, admissionWindowMs: 0, preemptPriorityGap: 0, tenantWeights: {}, contextShift: false, nKeep: 0, logLevel: "silent" };

async function drain(it: AsyncIterable<unknown>) {
  const out: unknown[] = [];
  for await (const o of it) out.push(o);
  return out;
}

describe("WorkerEngineClient", () => {
  test("fails open requests with 503 when the worker dies, then restarts it", async () => {
    const c = new WorkerEngineClient({ init, maxQueued: 1, logger: createLogger("test"), restartDelayMs: 10, workerUrl: new URL("../../fixtures/dying-worker.ts", import.meta.url) });
    await c.start();
    expect(c.state).toBe("ready");
    expect((await drain(c.submit({ id: "a", prompt: { tokens: [1] }, params }))).length).toBe(1);
    const err = await drain(c.submit({ id: "die", prompt: { tokens: [1] }, params })).catch((e) => e);
    expect(err).toBeInstanceOf(InferFluxError);
    expect((err as InferFluxError).status).toBe(503);
    expect(c.state).toBe("restarting");
    expect(() => c.submit({ id: "b", prompt: { tokens: [1] }, params })).toThrow(/no model is ready/);
    for (let i = 0; i < 100 && c.state !== "ready"; i++) await Bun.sleep(10);
    expect(c.state).toBe("ready");
    expect(c.restarts).toBe(1);
    expect((await drain(c.submit({ id: "c", prompt: { tokens: [1] }, params }))).length).toBe(1);
    await c.close();
  });

  test("the admission queue is bounded: 429 with Retry-After", async () => {
    const c = new WorkerEngineClient({ init, maxQueued: 0, logger: createLogger("test"), workerUrl: new URL("../../fixtures/dying-worker.ts", import.meta.url) });
    await c.start();
    const a = c.submit({ id: "q1", prompt: { tokens: [1] }, params });
    const b = c.submit({ id: "q2", prompt: { tokens: [1] }, params });
    let err: InferFluxError | undefined;
    try {
      c.submit({ id: "q3", prompt: { tokens: [1] }, params });
    } catch (e) {
      err = e as InferFluxError;
    }
    expect(err?.status).toBe(429);
    expect(err?.headers["retry-after"]).toBe("1");
    await drain(a);
    await drain(b);
    await c.close();
  });
});
