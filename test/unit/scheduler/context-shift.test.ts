import { describe, expect, test } from "bun:test";
import { planContextShift, type ContextShiftInput } from "../../../src/scheduler/context-shift";

const base: ContextShiftInput = { nPast: 100, nPrompt: 20, nKeep: 0, bos: true };

describe("planContextShift", () => {
  test("keeps BOS and drops half of the rest", () => {
    expect(planContextShift(base)).toEqual({ keep: 1, discard: 49 });
  });

  test("nKeep counts prompt tokens besides BOS; -1 keeps the whole prompt", () => {
    expect(planContextShift({ ...base, nKeep: 9 })).toEqual({ keep: 10, discard: 45 });
    expect(planContextShift({ ...base, nKeep: -1 })).toEqual({ keep: 20, discard: 40 });
    expect(planContextShift({ ...base, nKeep: 5, bos: false })).toEqual({ keep: 5, discard: 47 });
  });

  test("never keeps more than the prompt", () => {
    expect(planContextShift({ ...base, nKeep: 1000 })?.keep).toBe(20);
  });

  test("nothing to drop when the kept opening fills the context", () => {
    expect(planContextShift({ ...base, nPast: 20, nKeep: -1 })).toBeUndefined();
    expect(planContextShift({ ...base, nPast: 21, nKeep: -1 })).toBeUndefined();
    expect(planContextShift({ ...base, nPast: 22, nKeep: -1 })).toEqual({ keep: 20, discard: 1 });
  });
});
