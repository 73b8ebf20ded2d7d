import { describe, expect, test } from "bun:test";
import { topLogprobs } from "../../../src/worker/logprobs";

describe("topLogprobs", () => {
  test("log-softmax of the chosen token and the top N in order", () => {
    const logits = new Float32Array([1, 3, 2, 0]);
    const { chosen, top } = topLogprobs(logits, 2, 3);
    const z = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0));
    expect(chosen).toBeCloseTo(2 - z, 5);
    expect(top.map(([t]) => t)).toEqual([1, 2, 0]);
    expect(top[0][1]).toBeCloseTo(3 - z, 5);
    const total = [...logits].reduce((s, v) => s + Math.exp(v - z), 0);
    expect(total).toBeCloseTo(1, 5);
  });
  test("nTop 0 gives no alternatives", () => expect(topLogprobs(new Float32Array([0, 1]), 0, 0).top).toEqual([]));
});
