import { describe, expect, test } from "bun:test";
import { HolderAllocator } from "../../../src/cache";

describe("HolderAllocator", () => {
  test("overlapping ranges go to different holders; touching ranges may share one", () => {
    const a = new HolderAllocator([8, 9]);
    expect(a.holders).toEqual([8, 9]);
    expect(a.allocate(0, 10)).toBe(8);
    expect(a.allocate(5, 15)).toBe(9); // overlaps 8's [0,10)
    expect(a.allocate(5, 6)).toBeNull(); // both hold position 5
    expect(a.allocate(0, 2)).toBe(9); // 9 is free below 5
    expect(a.allocate(10, 12)).toBe(8); // end-adjacent to 8's [0,10): preferred, merged
    expect(a.ranges(8)).toEqual([[0, 12]]);
    expect(a.ranges(9)).toEqual([[0, 2], [5, 15]]);
    expect(a.isFree(9, 2, 5)).toBe(true);
    expect(a.isFree(9, 0, 6)).toBe(false);
    expect(a.isFree(9, 15, 20)).toBe(true);
    expect(a.isFree(42, 0, 1)).toBe(false);
    expect(a.usedTokens).toBe(24);
  });

  test("preference: given holder, then end-adjacent, then least used", () => {
    const a = new HolderAllocator(3);
    expect(a.allocate(0, 4)).toBe(0);
    expect(a.allocate(0, 2)).toBe(1);
    expect(a.allocate(0, 1)).toBe(2);
    expect(a.allocate(2, 3)).toBe(1); // ends at 2 on holder 1
    expect(a.allocate(20, 30)).toBe(2); // least used (1 position)
    expect(a.allocate(40, 50, 0)).toBe(0); // preferred and free
    expect(a.allocate(0, 1, 0)).toBeNull(); // all hold position 0
    expect(a.allocate(5, 6, 0)).toBe(0); // preferred holder wins over the rest
  });

  test("release frees exact ranges or sub-ranges (a split node's halves) and rejects the rest", () => {
    const a = new HolderAllocator([0]);
    expect(a.allocate(0, 10)).toBe(0);
    expect(a.allocate(10, 20)).toBe(0);
    expect(a.ranges(0)).toEqual([[0, 20]]);
    a.release(0, 4, 10); // middle
    expect(a.ranges(0)).toEqual([[0, 4], [10, 20]]);
    a.release(0, 15, 20); // tail
    a.release(0, 0, 2); // head
    expect(a.ranges(0)).toEqual([[2, 4], [10, 15]]);
    expect(() => a.release(0, 3, 11)).toThrow(/does not store/);
    expect(() => a.release(0, 4, 5)).toThrow(/does not store/);
    expect(() => a.release(1, 0, 1)).toThrow(/unknown holder/);
    expect(a.allocate(4, 10)).toBe(0); // fills the gap, merges both sides
    expect(a.ranges(0)).toEqual([[2, 15]]);
    a.release(0, 2, 15);
    expect(a.isEmpty()).toBe(true);
    expect(a.used(0)).toBe(0);
  });

  test("maxPosition caps the positions a holder may take", () => {
    const a = new HolderAllocator(1, { maxPosition: 16 });
    expect(a.allocate(10, 17)).toBeNull();
    expect(a.allocate(10, 16)).toBe(0);
    a.clear();
    expect(a.isEmpty()).toBe(true);
    expect(a.ranges(0)).toEqual([]);
  });

  test("bad input is a bug", () => {
    expect(() => new HolderAllocator([1, 1])).toThrow(/twice/);
    expect(() => new HolderAllocator([-1])).toThrow(/bad seq id/);
    const a = new HolderAllocator(1);
    expect(() => a.allocate(3, 3)).toThrow(/bad range/);
    expect(() => a.allocate(-1, 2)).toThrow(/bad range/);
  });

  test("random allocate/release never lets ranges of one holder overlap", () => {
    let s = 12345;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const a = new HolderAllocator([3, 5, 7], { maxPosition: 64 });
    const owned = new Map<number, Uint8Array>([[3, new Uint8Array(64)], [5, new Uint8Array(64)], [7, new Uint8Array(64)]]);
    const live: [number, number, number][] = [];
    for (let i = 0; i < 3000; i++) {
      if (live.length > 0 && rnd(3) === 0) {
        const [h, st, en] = live.splice(rnd(live.length), 1)[0];
        // Free either the whole range or it in two halves, like a split node.
        const cut = st + rnd(en - st);
        if (cut > st) a.release(h, st, cut);
        a.release(h, cut, en);
        owned.get(h)!.fill(0, st, en);
      } else {
        const st = rnd(60);
        const en = st + 1 + rnd(8);
        const h = a.allocate(st, en, rnd(2) ? [3, 5, 7][rnd(3)] : null);
        const anyFree = [...owned.values()].some((o) => en <= 64 && o.subarray(st, en).every((x) => x === 0));
        expect(h !== null).toBe(anyFree);
        if (h !== null) {
          const o = owned.get(h)!;
          expect(o.subarray(st, en).every((x) => x === 0)).toBe(true);
          o.fill(1, st, en);
          live.push([h, st, en]);
        }
      }
      const used = [...owned.values()].reduce((sum, o) => sum + o.reduce((x, y) => x + y, 0), 0);
      expect(a.usedTokens).toBe(used);
    }
    for (const [h, st, en] of live) a.release(h, st, en);
    expect(a.isEmpty()).toBe(true);
  });
});
