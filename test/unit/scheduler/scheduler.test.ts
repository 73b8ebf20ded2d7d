import { describe, expect, test } from "bun:test";
import { Scheduler } from "../../../src/scheduler/scheduler";
import { Sequence } from "../../../src/scheduler/sequence";

const seq = (id: string, n: number, prio = 0, at = 0, max = 10) => new Sequence(id, Array.from({ length: n }, (_, i) => i + 1), max, prio, "", at);
const opts = { maxRunning: 2, kvCells: 100, stepTokenBudget: 16, prefillChunk: 8 };

describe("Scheduler", () => {
  test("admits into free slots and chunks prefill under the budget", () => {
    const s = new Scheduler(opts);
    const a = seq("a", 20);
    s.add(a);
    const plan = s.schedule();
    expect(plan).toEqual([{ seq: a, from: 0, count: 8, sample: false }]);
    s.commit(plan);
    expect(a.nPast).toBe(8);
    const p2 = s.schedule();
    expect(p2[0]).toMatchObject({ from: 8, count: 8, sample: false });
    s.commit(p2);
    const p3 = s.schedule();
    expect(p3[0]).toMatchObject({ from: 16, count: 4, sample: true });
  });

  test("a decoding sequence gets exactly one token per step, mixed with another's prefill", () => {
    const s = new Scheduler(opts);
    const a = seq("a", 3);
    s.add(a);
    s.commit(s.schedule());
    s.appendToken(a, 42);
    const b = seq("b", 30);
    s.add(b);
    const plan = s.schedule();
    expect(plan[0]).toMatchObject({ seq: a, from: 3, count: 1, sample: true });
    expect(plan[1]).toMatchObject({ seq: b, from: 0, count: 8 });
    expect(plan.reduce((n, i) => n + i.count, 0)).toBeLessThanOrEqual(opts.stepTokenBudget);
  });

  test("never runs more sequences than slots; higher priority waits first", () => {
    const s = new Scheduler(opts);
    s.add(seq("low", 2, 0, 1));
    s.add(seq("x", 2, 0, 2));
    s.add(seq("high", 2, 5, 3));
    s.schedule();
    expect(s.runningSequences().map((q) => q.id)).toEqual(["high", "low"]);
    expect(s.waitingSequences().map((q) => q.id)).toEqual(["x"]);
  });

  test("finish frees the slot and its id is reused", () => {
    const s = new Scheduler(opts);
    const a = seq("a", 2);
    const b = seq("b", 2);
    s.add(a);
    s.add(b);
    s.schedule();
    const id = a.seqId;
    expect(s.finish(a)).toBe(id);
    expect(s.numFreeSlots).toBe(1);
    const c = seq("c", 2);
    s.add(c);
    s.schedule();
    expect(c.seqId).toBe(id);
    expect(s.finish(seq("never-added", 1))).toBe(-1);
  });

  test("does not admit a prompt that does not fit the free KV while others run", () => {
    const s = new Scheduler({ ...opts, kvCells: 40 });
    const a = seq("a", 30);
    s.add(a);
    s.commit(s.schedule());
    s.commit(s.schedule());
    s.commit(s.schedule());
    expect(a.nPast).toBe(24);
    s.add(seq("b", 20));
    s.schedule();
    expect(s.numWaiting).toBe(1);
  });

  test("preemption picks the lowest priority, newest sequence and requeues it to recompute", () => {
    const s = new Scheduler(opts);
    const a = seq("a", 4, 1, 1);
    const b = seq("b", 4, 0, 2);
    s.add(a);
    s.add(b);
    s.commit(s.schedule());
    s.appendToken(b, 7);
    const v = s.preemptOne()!;
    expect(v.seq).toBe(b);
    expect(b.state).toBe("waiting");
    expect(b.nPast).toBe(0);
    expect(b.tokens).toEqual([1, 2, 3, 4, 7]);
    expect(s.waitingSequences()[0]).toBe(b);
    expect(s.preemptOne()).toBeUndefined(); // only one left running
  });

  test("rejects impossible options", () => {
    expect(() => new Scheduler({ ...opts, maxRunning: 0 })).toThrow();
    expect(() => new Scheduler({ ...opts, stepTokenBudget: 1 })).toThrow();
  });
});
