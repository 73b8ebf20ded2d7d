import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { OutputHandoff } from "../../../src/engine/output-handoff";

describe("OutputHandoff", () => {
  test("a delivery before the wait returns at once", () => {
    const h = new OutputHandoff();
    const marked = h.mark();
    h.deliveredOne();
    const t = performance.now();
    expect(h.awaitDelivery(marked, 1000)).toBe(true);
    expect(performance.now() - t).toBeLessThan(100);
  });

  test("without a delivery the wait gives up after maxWaitMs", () => {
    const h = new OutputHandoff();
    const t = performance.now();
    expect(h.awaitDelivery(h.mark(), 20)).toBe(false);
    expect(performance.now() - t).toBeGreaterThanOrEqual(15);
  });

  test("another thread's delivery wakes the waiting one, through the shared buffer", async () => {
    const h = new OutputHandoff();
    const other = new OutputHandoff(h.buffer);
    expect(other.buffer).toBe(h.buffer);
    const w = new Worker(resolve(import.meta.dir, "../../fixtures/handoff-deliverer.ts"));
    try {
      const marked = h.mark();
      w.postMessage({ buffer: h.buffer, afterMs: 50 });
      const t = performance.now();
      expect(h.awaitDelivery(marked, 10_000)).toBe(true);
      const waited = performance.now() - t;
      expect(waited).toBeGreaterThanOrEqual(30);
      expect(waited).toBeLessThan(5_000);
    } finally {
      w.terminate();
    }
  });
});
