/**
 * Random operations on RadixTree + HolderAllocator against a naive model: per
 * namespace, the list of cached sequences (the tree holds all their prefixes).
 */
import { describe, expect, test } from "bun:test";
import { HolderAllocator, RadixTree, type Lock, type NodeInfo } from "../../../src/cache";

function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0; // mulberry32
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

function lcp(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Distinct non-empty prefixes of a set of sequences = tokens a radix tree over them holds. */
function prefixCount(seqs: readonly number[][]): number {
  const root = new Map<number, Map<number, unknown>>();
  let count = 0;
  for (const s of seqs) {
    let node = root as Map<number, unknown>;
    for (const t of s) {
      let next = node.get(t) as Map<number, unknown> | undefined;
      if (!next) {
        next = new Map();
        node.set(t, next);
        count++;
      }
      node = next;
    }
  }
  return count;
}

const NAMESPACES = ["base", "lora:x"];
const MAX_POS = 20;

function run(seed: number, steps: number): void {
  const rnd = prng(seed);
  const tree = new RadixTree();
  const alloc = new HolderAllocator([4, 5], { maxPosition: MAX_POS });
  const naive = new Map<string, number[][]>(NAMESPACES.map((ns) => [ns, []]));
  const locks: { lock: Lock; ns: string; tokens: number[] }[] = [];
  const released: Lock[] = [];

  const randomSeq = (ns: string): number[] => {
    const seqs = naive.get(ns)!;
    const base = seqs.length > 0 && rnd(3) > 0 ? seqs[rnd(seqs.length)].slice(0, rnd(seqs[0].length + 3)) : [];
    const extra = rnd(10);
    for (let i = 0; i < extra; i++) base.push(rnd(3));
    return base.slice(0, 1 + rnd(24));
  };
  const naiveMatch = (ns: string, q: readonly number[]): number =>
    naive.get(ns)!.reduce((m, s) => Math.max(m, lcp(s, q)), 0);

  const check = (step: number): void => {
    tree.checkInvariants();
    const total = NAMESPACES.reduce((sum, ns) => sum + prefixCount(naive.get(ns)!), 0);
    expect(tree.totalTokens).toBe(total);
    expect(alloc.usedTokens).toBe(tree.totalTokens);
    if (step % 16 === 0) {
      const perHolder = new Map<number, number>();
      for (const n of tree.debugNodes()) perHolder.set(n.holder, (perHolder.get(n.holder) ?? 0) + n.end - n.start);
      for (const h of alloc.holders) expect(alloc.used(h)).toBe(perHolder.get(h) ?? 0);
    }
  };

  for (let step = 0; step < steps; step++) {
    const ns = NAMESPACES[rnd(NAMESPACES.length)];
    const op = rnd(10);
    if (op < 4) {
      const tokens = randomSeq(ns);
      const before = naiveMatch(ns, tokens);
      let asked: [number, number] | null = null;
      const r = tree.insert(ns, tokens, (start, end, parent) => {
        asked = [start, end];
        return alloc.allocate(start, end, parent);
      });
      expect(r.reusedLength).toBe(before);
      if (before < tokens.length) expect(asked!).toEqual([before, tokens.length]);
      else expect(asked).toBeNull();
      if (r.inserted) {
        expect(r.inserted).toMatchObject({ start: before, end: tokens.length });
        naive.get(ns)!.push(tokens);
      } else if (before < tokens.length) {
        expect(tokens.length > MAX_POS || alloc.holders.every((h) => !alloc.isFree(h, before, tokens.length))).toBe(true);
      }
    } else if (op < 7) {
      const tokens = rnd(2) ? randomSeq(ns) : randomSeq(NAMESPACES[rnd(NAMESPACES.length)]);
      const want = naiveMatch(ns, tokens);
      expect(tree.matchLength(ns, tokens)).toBe(want);
      const m = tree.match(ns, tokens);
      expect(m.length).toBe(want);
      let pos = 0;
      for (const p of m.path) {
        expect(p.start).toBe(pos);
        expect(p.end).toBeGreaterThan(p.start);
        pos = p.end;
      }
      expect(pos).toBe(want);
      if (rnd(2)) locks.push({ lock: tree.lock(m), ns, tokens: tokens.slice(0, want) });
    } else if (op < 9) {
      if (locks.length > 0 && rnd(3) > 0) {
        const { lock } = locks.splice(rnd(locks.length), 1)[0];
        tree.unlock(lock);
        released.push(lock);
      } else if (released.length > 0) {
        tree.unlock(released[rnd(released.length)]); // double unlock: no-op
      }
    } else {
      const snapshot = new Map<number, NodeInfo>(tree.debugNodes().map((n) => [n.nodeId, n]));
      const evictable = tree.evictableTokens;
      const want = 1 + rnd(12);
      let seen = 0;
      const freed = tree.evict(want, (e) => {
        const info = snapshot.get(e.nodeId)!;
        expect(info).toBeDefined();
        expect(info.lockRef).toBe(0);
        expect([e.holder, e.start, e.end, e.namespace]).toEqual([info.holder, info.start, info.end, info.namespace]);
        seen += e.end - e.start;
        alloc.release(e.holder, e.start, e.end);
        const seqs = naive.get(e.namespace)!;
        for (let i = seqs.length - 1; i >= 0; i--) {
          if (lcp(seqs[i], info.key) > e.start) {
            expect(seqs[i].length).toBeLessThanOrEqual(e.end); // it was a leaf
            seqs[i] = seqs[i].slice(0, e.start);
          }
          if (seqs[i].length === 0) seqs.splice(i, 1);
        }
      });
      expect(freed).toBe(seen);
      expect(freed).toBeLessThanOrEqual(evictable);
      if (freed < want) expect(tree.evictableTokens).toBe(0);
      for (const l of locks) expect(tree.matchLength(l.ns, l.tokens)).toBe(l.tokens.length);
    }
    check(step);
  }

  for (const { lock } of locks) tree.unlock(lock);
  for (const l of released) tree.unlock(l);
  expect(tree.numLocks).toBe(0);
  expect(tree.lockedTokens).toBe(0);
  tree.checkInvariants();
  const freed = tree.evict(Number.POSITIVE_INFINITY, (e) => alloc.release(e.holder, e.start, e.end));
  expect(freed).toBeGreaterThanOrEqual(0);
  tree.checkInvariants();
  expect(tree.totalTokens).toBe(0);
  expect(tree.numNodes).toBe(0);
  expect(tree.numNamespaces).toBe(0);
  expect(tree.evictableTokens).toBe(0);
  expect(alloc.isEmpty()).toBe(true);
  for (const h of alloc.holders) expect(alloc.ranges(h)).toEqual([]);
}

describe("RadixTree random operations vs a naive model", () => {
  for (const seed of [1, 2, 3, 42, 1234, 99991]) {
    test(`seed ${seed}`, () => run(seed, 700));
  }
});
