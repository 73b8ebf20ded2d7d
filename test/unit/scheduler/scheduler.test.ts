import { describe, expect, test } from "bun:test";
import { MAX_DEFERRED_DECODES, Scheduler } from "../../../src/scheduler/scheduler";
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

  test("counts the cells a running sequence has still to prefill: no admission into them", () => {
    const s = new Scheduler({ ...opts, kvCells: 40 });
    const a = seq("a", 30);
    s.add(a);
    s.commit(s.schedule()); // 8 of 30 in KV: 22 still to come
    s.add(seq("b", 12));
    s.schedule();
    expect(s.numWaiting).toBe(1);
  });

  test("a context shift drops tokens after the kept opening and prefills the rest again", () => {
    const s = new Scheduler({ ...opts, kvCells: 40 });
    const a = seq("a", 5);
    s.add(a);
    s.commit(s.schedule());
    for (let t = 0; t < 3; t++) s.appendToken(a, 100 + t);
    a.nPast = 7; // the last appended token is still to decode
    s.shiftContext(a, { keep: 1, discard: 3 }, 1);
    expect(a.tokens).toEqual([1, 5, 100, 101, 102]);
    expect(a.nPast).toBe(1);
    expect(a.nGenerated).toBe(3);
    expect(s.schedule()[0]).toMatchObject({ seq: a, from: 1, count: 4, sample: true });
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

describe("Scheduler priorities and fairness", () => {
  const mk = (id: string, prio: number, tenant: string, at: number) => new Sequence(id, [1, 2], 4, prio, tenant, at);

  test("waiting requests age so a low priority one is not starved", () => {
    let now = 0;
    const s = new Scheduler({ ...opts, maxRunning: 1, agingPerSecond: 1, now: () => now });
    s.add(mk("old-low", 0, "t", 0));
    now = 5_000; // waited 5 s: effective priority 5
    s.add(mk("new-mid", 3, "t", now));
    s.schedule();
    expect(s.runningSequences()[0].id).toBe("old-low");
  });

  test("strict priority without aging", () => {
    const s = new Scheduler({ ...opts, maxRunning: 1, agingPerSecond: 0, now: () => 1e6 });
    s.add(mk("low", 0, "t", 0));
    s.add(mk("high", 3, "t", 10));
    s.schedule();
    expect(s.runningSequences()[0].id).toBe("high");
  });

  test("a flooding tenant does not take every slot from another tenant", () => {
    const s = new Scheduler({ ...opts, maxRunning: 4, agingPerSecond: 0, now: () => 0 });
    for (let i = 0; i < 10; i++) s.add(mk(`flood-${i}`, 0, "flood", i));
    s.add(mk("interactive", 0, "alice", 100));
    s.schedule();
    const ids = s.runningSequences().map((q) => q.id);
    expect(ids).toContain("interactive");
    expect(ids.filter((id) => id.startsWith("flood")).length).toBe(3);
  });

  test("tenant weights shift the share", () => {
    const s = new Scheduler({ ...opts, maxRunning: 4, agingPerSecond: 0, now: () => 0, tenantWeights: { big: 3 } });
    for (let i = 0; i < 6; i++) s.add(mk(`big-${i}`, 0, "big", i));
    for (let i = 0; i < 6; i++) s.add(mk(`small-${i}`, 0, "small", i));
    s.schedule();
    const big = s.runningSequences().filter((q) => q.tenant === "big").length;
    expect(big).toBeGreaterThanOrEqual(3);
  });

  test("a much higher priority request preempts the lowest running one, which resumes later", () => {
    const preempted: string[] = [];
    const s = new Scheduler(
      { ...opts, maxRunning: 1, agingPerSecond: 0, preemptPriorityGap: 10, now: () => 0 },
      { cacheCells: () => 0, cachedPrefix: () => 0, reclaim: () => 0, onAdmit: () => {}, onPreempt: (q) => preempted.push(q.id) },
    );
    const low = mk("low", 0, "a", 0);
    s.add(low);
    s.commit(s.schedule());
    s.appendToken(low, 9);
    s.add(mk("urgent", 20, "b", 1));
    s.schedule();
    expect(preempted).toEqual(["low"]);
    expect(s.runningSequences()[0].id).toBe("urgent");
    expect(low.state).toBe("waiting");
    expect(low.tokens).toEqual([1, 2, 9]); // resumes with its generated token, recomputed
    s.add(mk("small-gap", 5, "c", 2));
    s.schedule();
    expect(preempted).toEqual(["low"]); // gap below 10: no preemption
  });
});

test("a sequence preempted for priority gets no item in that step", () => {
  const s = new Scheduler({ ...opts, maxRunning: 1, agingPerSecond: 0, preemptPriorityGap: 10, now: () => 0 });
  const low = new Sequence("low", [1, 2], 8, 0, "a", 0);
  s.add(low);
  s.commit(s.schedule());
  s.appendToken(low, 5);
  s.add(new Sequence("urgent", [3, 4], 8, 50, "b", 1));
  const plan = s.schedule();
  expect(plan.map((i) => i.seq.id)).toEqual(["urgent"]);
});

test("prefill budget goes to the highest priority first", () => {
  const s = new Scheduler({ maxRunning: 2, kvCells: 1000, stepTokenBudget: 10, prefillChunk: 10, agingPerSecond: 0, now: () => 0 });
  s.add(new Sequence("old-low", Array(20).fill(1), 4, 0, "a", 0));
  s.add(new Sequence("new-high", Array(20).fill(1), 4, 9, "b", 1));
  const plan = s.schedule();
  expect(plan.map((i) => i.seq.id)).toEqual(["new-high"]);
});

test("a step that prefills a higher-priority prompt carries no lower-priority prefill; equal priorities share the step", () => {
  const s = new Scheduler({ maxRunning: 3, kvCells: 1000, stepTokenBudget: 100, prefillChunk: 100, agingPerSecond: 0, now: () => 0 });
  s.add(new Sequence("low", Array(30).fill(1), 4, 0, "a", 0));
  s.add(new Sequence("high", Array(10).fill(1), 4, 9, "b", 1));
  s.add(new Sequence("high2", Array(10).fill(1), 4, 9, "c", 2));
  let plan = s.schedule();
  expect(plan.map((i) => i.seq.id)).toEqual(["high", "high2"]);
  s.commit(plan);
  plan = s.schedule(); // the high ones now wait for their first token's sample; low prefills
  expect(plan.map((i) => i.seq.id)).toContain("low");

});

test("a prefill far above decoding sequences runs without their decodes, at most MAX_DEFERRED_DECODES steps in a row", () => {
  const s = new Scheduler({ maxRunning: 3, kvCells: 1000, stepTokenBudget: 100, prefillChunk: 4, agingPerSecond: 0, preemptPriorityGap: 10, now: () => 0 });
  const low = new Sequence("low", [1, 2], 50, 5, "a", 0);
  const mid = new Sequence("mid", [1, 2], 50, 5, "b", 0);
  s.add(low);
  s.add(mid);
  s.commit(s.schedule());
  s.appendToken(low, 7);
  s.appendToken(mid, 7);
  s.add(new Sequence("urgent", Array(100).fill(3), 4, 15, "c", 1));
  const ids = (p: { seq: Sequence }[]) => p.map((i) => i.seq.id);
  const steps: string[][] = [];
  for (let k = 0; k < MAX_DEFERRED_DECODES + 1; k++) {
    const plan = s.schedule();
    steps.push(ids(plan));
    s.commit(plan);
    for (const it of plan) if (it.sample) s.appendToken(it.seq, 7);
  }
  // Exactly the gap below urgent counts as outranked; both resume after MAX_DEFERRED_DECODES steps.
  expect(steps.slice(0, MAX_DEFERRED_DECODES)).toEqual(Array(MAX_DEFERRED_DECODES).fill(["urgent"]));
  expect(steps[MAX_DEFERRED_DECODES]).toEqual(["low", "mid", "urgent"]);
  expect(low.deferredDecodes).toBe(0);
});

test("without a priority gap, decodes always share the step with a higher-priority prefill", () => {
  const s = new Scheduler({ maxRunning: 2, kvCells: 1000, stepTokenBudget: 100, prefillChunk: 100, agingPerSecond: 0, preemptPriorityGap: 0, now: () => 0 });
  const low = new Sequence("low", [1, 2], 50, 0, "a", 0);
  s.add(low);
  s.commit(s.schedule());
  s.appendToken(low, 7);
  s.add(new Sequence("urgent", [3, 3, 3], 4, 90, "c", 1));
  expect(s.schedule().map((i) => i.seq.id)).toEqual(["low", "urgent"]);
});

test("a sequence admitted with all but its last prompt token cached is fed that token in the same step", () => {
  const hooks = {
    cacheCells: () => 0, cachedPrefix: (q: Sequence) => q.tokens.length - 1, reclaim: () => 0,
    onAdmit: (q: Sequence) => { q.nPast = q.tokens.length - 1; q.cachedTokens = q.nPast; }, onPreempt: () => {},
  };
  const s = new Scheduler(opts, hooks);
  const a = seq("a", 6);
  s.add(a);
  const items = s.schedule();
  expect(items).toEqual([{ seq: a, from: 5, count: 1, sample: true }]);
});
