import { describe, expect, test } from "bun:test";
import { KvRamStore } from "../../../src/cache/kv-ram-store";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("KvRamStore", () => {
  test("bestMatch: the longest common prefix, within the namespace, at least minLength, capped at maxLength", () => {
    const s = new KvRamStore(1 << 20);
    s.put("a", [1, 2, 3, 4, 5, 6], bytes(10, 1));
    s.put("a", [1, 2, 9, 9], bytes(10, 2));
    s.put("b", [1, 2, 3, 4, 5, 6, 7, 8], bytes(10, 3));
    const m = s.bestMatch("a", [1, 2, 3, 4, 7], 2, 100)!;
    expect(m.length).toBe(4);
    expect(m.entry.state[0]).toBe(1);
    expect(s.bestMatch("a", [1, 2, 3, 4, 7], 5, 100)).toBeNull(); // shares only 4
    expect(s.bestMatch("a", [1, 2, 3, 4, 5, 6, 7], 1, 3)!.length).toBe(3);
    expect(s.bestMatch("c", [1, 2], 1, 10)).toBeNull();
    expect(s.bestMatch("a", [7, 7], 0, 10)).toBeNull(); // nothing shared is never a match
  });

  test("a longer snapshot replaces the ones it extends; covers() sees prefixes", () => {
    const s = new KvRamStore(1 << 20);
    s.put("a", seq(0, 10), bytes(100));
    s.put("a", seq(0, 20), bytes(100));
    expect(s.stats().entries).toBe(1);
    expect(s.covers("a", seq(0, 15))).toBe(true);
    expect(s.covers("a", seq(0, 21))).toBe(false);
    expect(s.covers("a", seq(1, 5))).toBe(false);
  });

  test("bounded in bytes, least recently used out first; an entry that can never fit is refused", () => {
    let t = 0;
    const s = new KvRamStore(3 * (100 + 40), () => ++t);
    s.put("a", seq(100, 10), bytes(100));
    s.put("a", seq(200, 10), bytes(100));
    s.put("a", seq(300, 10), bytes(100));
    s.bestMatch("a", seq(100, 10), 1, 10); // touch the first
    s.put("a", seq(400, 10), bytes(100)); // evicts 200.., the least recently used
    expect(s.bestMatch("a", seq(200, 10), 1, 10)).toBeNull();
    expect(s.bestMatch("a", seq(100, 10), 1, 10)).not.toBeNull();
    expect(s.stats()).toMatchObject({ entries: 3, bytes: 3 * 140, evictions: 1 });
    expect(s.put("a", seq(500, 10), bytes(1000))).toBe(false);
    expect(() => s.put("a", [], bytes(1))).toThrow(RangeError);
    expect(() => new KvRamStore(-1)).toThrow(RangeError);
  });
});
