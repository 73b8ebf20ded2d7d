import { describe, expect, test } from "bun:test";
import { MinHeap } from "../../../src/cache/min-heap";

describe("MinHeap", () => {
  test("pops in order, from a heapified start and after pushes", () => {
    let s = 7;
    const rnd = () => (s = (Math.imul(s, 48271) >>> 0) % 2147483647) % 1000;
    const start = Array.from({ length: 200 }, rnd);
    const h = new MinHeap<number>((a, b) => a < b, start);
    const more = Array.from({ length: 100 }, rnd);
    for (const x of more) h.push(x);
    expect(h.size).toBe(300);
    expect(h.peek()).toBe(Math.min(...start, ...more));
    const out: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
    expect(out).toEqual([...start, ...more].sort((a, b) => a - b));
    expect(h.size).toBe(0);
    expect(h.peek()).toBeUndefined();
  });
});
