import { describe, expect, test } from "bun:test";
import { biasMap, greedyArgmax } from "../../../src/worker/greedy";

/** The reference: argmax of logits[i] + bias[i], first index on ties, -1 when all are -inf. */
function reference(logits: Float32Array, bias: Map<number, number>): number {
  let best = -1;
  let v = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const l = logits[i] + (bias.get(i) ?? 0);
    if (l > v) {
      v = l;
      best = i;
    }
  }
  return best;
}

describe("greedyArgmax", () => {
  test("no bias: first index of the maximum", () => {
    expect(greedyArgmax(new Float32Array([1, 3, 2, 3]), new Map())).toBe(1);
  });

  test("a banned maximum falls to the next best; a raised token can win; ties keep the first index", () => {
    const logits = new Float32Array([0.5, 2, 1.5, 1.5]);
    expect(greedyArgmax(logits, biasMap([[1, -Infinity]]))).toBe(2);
    expect(greedyArgmax(logits, biasMap([[0, 10]]))).toBe(0);
    expect(greedyArgmax(logits, biasMap([[3, 0.5]]))).toBe(1); // 2 == 2: index 1 comes first
    expect(greedyArgmax(logits, biasMap([[0, 1.5]]))).toBe(0); // 2 == 2: index 0 comes first
  });

  test("biases for the same token add up, as in llama.cpp's logit-bias sampler", () => {
    expect(greedyArgmax(new Float32Array([1, 2]), biasMap([[0, 0.75], [0, 0.75]]))).toBe(0);
  });

  test("everything banned gives -1", () => {
    expect(greedyArgmax(new Float32Array([1, 2]), biasMap([[0, -Infinity], [1, -Infinity]]))).toBe(-1);
    expect(greedyArgmax(new Float32Array([-Infinity, -Infinity]), new Map())).toBe(-1);
  });

  test("matches the reference on random logits and biases", () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 2000; round++) {
      const n = 1 + Math.floor(rnd() * 40);
      // Few distinct values so ties are common.
      const logits = Float32Array.from({ length: n }, () => Math.floor(rnd() * 6) - 3);
      const pairs: [number, number][] = Array.from({ length: Math.floor(rnd() * 5) }, () => [
        Math.floor(rnd() * n),
        [-Infinity, -2, -1, 0, 1, 2, 5][Math.floor(rnd() * 7)],
      ]);
      const bias = biasMap(pairs);
      expect(greedyArgmax(logits, bias)).toBe(reference(logits, bias));
    }
  });
});
