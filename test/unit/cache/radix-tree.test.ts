import { describe, expect, test } from "bun:test";
import { RadixTree, type EvictedNode, type HolderFor } from "../../../src/cache";

const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
/** A holderFor that hands out fixed holders and records the calls. */
function holders(...ids: (number | null)[]): HolderFor & { calls: [number, number, number | null][] } {
  const calls: [number, number, number | null][] = [];
  const f = ((start: number, end: number, parent: number | null) => {
    calls.push([start, end, parent]);
    return ids.length > 0 ? ids.shift()! : 0;
  }) as HolderFor & { calls: typeof calls };
  f.calls = calls;
  return f;
}

describe("RadixTree insert / match", () => {
  test("empty tree matches nothing and counts the query", () => {
    const t = new RadixTree();
    expect(t.match("m", [1, 2, 3])).toEqual({ length: 0, path: [] });
    expect(t.queries).toBe(1);
    expect(t.hits).toBe(0);
    expect(t.numNamespaces).toBe(0);
    t.checkInvariants();
  });

  test("insert then match the whole sequence and a prefix", () => {
    const t = new RadixTree();
    const h = holders(7);
    const r = t.insert("m", [5, 6, 7, 8], h);
    expect(r.reusedLength).toBe(0);
    expect(r.inserted).toMatchObject({ holder: 7, start: 0, end: 4 });
    expect(h.calls).toEqual([[0, 4, null]]);
    expect(t.totalTokens).toBe(4);
    expect(t.numNodes).toBe(1);
    const full = t.match("m", [5, 6, 7, 8, 9]);
    expect(full.length).toBe(4);
    expect(full.path).toEqual([{ nodeId: r.inserted!.nodeId, holder: 7, start: 0, end: 4 }]);
    expect(t.matchLength("m", [5, 6, 9])).toBe(2);
    expect(t.numNodes).toBe(1); // matchLength has no side effects
    expect(t.hits).toBe(1);
    expect(t.hitTokens).toBe(4);
    t.checkInvariants();
  });

  test("a match ending mid-node splits it; both halves keep the holder; lower half keeps its id", () => {
    const t = new RadixTree();
    const id = t.insert("m", seq(10), holders(3)).inserted!.nodeId;
    const m = t.match("m", [0, 1, 2, 3, 99]);
    expect(m.length).toBe(4);
    expect(m.path).toHaveLength(1);
    expect(m.path[0]).toMatchObject({ holder: 3, start: 0, end: 4 });
    expect(m.path[0].nodeId).not.toBe(id);
    expect(t.numNodes).toBe(2);
    expect(t.totalTokens).toBe(10);
    const all = t.match("m", seq(10));
    expect(all.path).toEqual([
      { nodeId: m.path[0].nodeId, holder: 3, start: 0, end: 4 },
      { nodeId: id, holder: 3, start: 4, end: 10 },
    ]);
    t.checkInvariants();
  });

  test("maxLength bounds the match (keep the last token for a decode)", () => {
    const t = new RadixTree();
    t.insert("m", seq(6), holders(0));
    expect(t.match("m", seq(6), 5).length).toBe(5);
    expect(t.matchLength("m", seq(6), 0)).toBe(0);
    t.checkInvariants();
  });

  test("insert reuses the cached prefix, splits at the divergence and asks only for the new part", () => {
    const t = new RadixTree();
    const a = t.insert("m", [1, 2, 3, 4, 5], holders(0));
    const h = holders(1);
    const b = t.insert("m", [1, 2, 3, 9, 9, 9], h);
    expect(b.reusedLength).toBe(3);
    expect(h.calls).toEqual([[3, 6, 0]]);
    expect(b.inserted).toMatchObject({ holder: 1, start: 3, end: 6 });
    expect(t.totalTokens).toBe(8);
    expect(t.numNodes).toBe(3);
    const m = t.match("m", [1, 2, 3, 9, 9, 9]);
    expect(m.path.map((p) => [p.holder, p.start, p.end])).toEqual([[0, 0, 3], [1, 3, 6]]);
    expect(t.match("m", [1, 2, 3, 4, 5]).path.at(-1)).toEqual({ nodeId: a.inserted!.nodeId, holder: 0, start: 3, end: 5 });
    // Already cached: nothing inserted, holderFor not called.
    const h2 = holders();
    expect(t.insert("m", [1, 2, 3, 4], h2)).toEqual({ inserted: null, reusedLength: 4 });
    expect(h2.calls).toEqual([]);
    // Extending a leaf hangs a child under it.
    const c = t.insert("m", [1, 2, 3, 4, 5, 6, 7], holders(0));
    expect(c.inserted).toMatchObject({ start: 5, end: 7 });
    expect(t.insert("m", [], holders())).toEqual({ inserted: null, reusedLength: 0 });
    t.checkInvariants();
  });

  test("holderFor returning null inserts nothing", () => {
    const t = new RadixTree();
    expect(t.insert("m", [1, 2], holders(null))).toEqual({ inserted: null, reusedLength: 0 });
    expect(t.totalTokens).toBe(0);
    expect(t.numNamespaces).toBe(0);
    t.checkInvariants();
  });

  test("namespaces never share entries", () => {
    const t = new RadixTree();
    t.insert("base", [1, 2, 3], holders(0));
    expect(t.matchLength("lora:a", [1, 2, 3])).toBe(0);
    const h = holders(1);
    expect(t.insert("lora:a", [1, 2, 3], h).reusedLength).toBe(0);
    expect(h.calls).toEqual([[0, 3, null]]);
    expect(t.match("lora:a", [1, 2, 3]).path[0].holder).toBe(1);
    expect(t.match("base", [1, 2, 3]).path[0].holder).toBe(0);
    expect(t.numNamespaces).toBe(2);
    t.checkInvariants();
  });
});

describe("RadixTree locks", () => {
  test("lock pins the path and its ancestors; unlock is idempotent and counters return to 0", () => {
    const t = new RadixTree();
    t.insert("m", [1, 2, 3, 4], holders(0));
    t.insert("m", [1, 2, 7, 7], holders(1));
    const m = t.match("m", [1, 2, 3, 4]);
    const lock = t.lock(m);
    expect(lock.length).toBe(4);
    expect(t.numLocks).toBe(1);
    expect(t.lockedTokens).toBe(4);
    expect(t.evictableTokens).toBe(2);
    t.checkInvariants();
    const evicted: EvictedNode[] = [];
    expect(t.evict(100, (n) => evicted.push(n))).toBe(2);
    expect(evicted).toMatchObject([{ holder: 1, start: 2, end: 4, namespace: "m" }]);
    expect(t.matchLength("m", [1, 2, 3, 4])).toBe(4);
    t.unlock(lock);
    t.unlock(lock);
    expect(lock.released).toBe(true);
    expect(t.numLocks).toBe(0);
    expect(t.lockedTokens).toBe(0);
    t.checkInvariants();
    expect(t.evict(100)).toBe(4);
    expect(t.totalTokens).toBe(0);
    expect(t.numNamespaces).toBe(0);
    t.checkInvariants();
  });

  test("evictableLeaves lists unlocked leaves, least recently used first, without changing the tree", () => {
    const t = new RadixTree();
    t.insert("m", [1, 2, 3, 4], holders(0));
    t.insert("m", [1, 2, 7, 7], holders(1));
    t.insert("m", [5, 6], holders(2));
    t.match("m", [1, 2, 3, 4]); // touches [1,2,3,4]: most recently used
    const lock = t.lock(t.match("m", [5, 6]));
    const leaves = t.evictableLeaves();
    expect(leaves.map((l) => l.prefix().tokens)).toEqual([[1, 2, 7, 7], [1, 2, 3, 4]]);
    expect(leaves[0]).toMatchObject({ holder: 1, start: 2, end: 4, namespace: "m" });
    expect(t.totalTokens).toBe(8);
    t.checkInvariants();
    t.unlock(lock);
    expect(t.evictableLeaves().length).toBe(3);
  });

  test("a lock survives a later split of its nodes", () => {
    const t = new RadixTree();
    t.insert("m", seq(8), holders(0));
    const lock = t.lock(t.match("m", seq(8)));
    t.insert("m", [0, 1, 2, 50], holders(1)); // splits the locked node at 3
    t.match("m", [0, 9]); // splits again at 1
    expect(t.numNodes).toBe(4);
    expect(t.lockedTokens).toBe(8);
    t.checkInvariants();
    expect(t.evict(1000)).toBe(1); // only the unlocked [3,4) leaf
    t.unlock(lock);
    t.checkInvariants();
    expect(t.evict(1000)).toBe(8);
    expect(t.numNodes).toBe(0);
    t.checkInvariants();
  });

  test("empty path locks are harmless; stale locks after clear are no-ops", () => {
    const t = new RadixTree();
    const empty = t.lock(t.match("m", [1]));
    expect(empty.length).toBe(0);
    t.insert("m", [1, 2], holders(0));
    const l = t.lock(t.match("m", [1, 2]));
    t.clear();
    expect(l.released).toBe(true);
    expect(t.numLocks).toBe(0);
    t.unlock(l);
    t.unlock(empty);
    t.checkInvariants();
    expect(t.totalTokens).toBe(0);
  });

  test("locking a path whose node was evicted is a caller bug", () => {
    const t = new RadixTree();
    t.insert("m", [1, 2], holders(0));
    const m = t.match("m", [1, 2]);
    t.evict(10);
    expect(() => t.lock(m)).toThrow(/not in the tree/);
  });
});

describe("RadixTree eviction", () => {
  test("least recently used leaves go first; matches refresh recency", () => {
    const t = new RadixTree();
    t.insert("m", [1, 1], holders(0));
    t.insert("m", [2, 2], holders(0));
    t.insert("m", [3, 3], holders(0));
    t.match("m", [1, 1]); // 1 is now the most recent; 2 the oldest
    const evicted: EvictedNode[] = [];
    expect(t.evict(2, (n) => evicted.push(n))).toBe(2);
    expect(t.matchLength("m", [2, 2])).toBe(0);
    expect(t.evict(1, (n) => evicted.push(n))).toBe(2); // whole nodes: frees 2 to get 1
    expect(t.matchLength("m", [3, 3])).toBe(0);
    expect(t.matchLength("m", [1, 1])).toBe(2);
    expect(evicted).toHaveLength(2);
    expect(t.evict(0)).toBe(0);
    t.checkInvariants();
  });

  test("a parent that becomes a leaf becomes evictable, after its children", () => {
    const t = new RadixTree();
    t.insert("m", [1, 2, 3, 4], holders(0));
    t.insert("m", [1, 2, 5, 6], holders(1)); // [1,2] parent, two leaves
    t.insert("m", [9], holders(2)); // separate, older than nothing below
    t.match("m", [9]); // most recent
    const evicted: EvictedNode[] = [];
    t.evict(5, (n) => evicted.push(n));
    expect(evicted.map((n) => [n.holder, n.start, n.end])).toEqual([[0, 2, 4], [1, 2, 4], [0, 0, 2]]);
    expect(t.matchLength("m", [9])).toBe(1);
    expect(t.totalTokens).toBe(1);
    t.checkInvariants();
  });

  test("eviction order is global across namespaces", () => {
    const t = new RadixTree();
    t.insert("a", [1], holders(0));
    t.insert("b", [1], holders(1));
    t.match("a", [1]);
    const evicted: EvictedNode[] = [];
    t.evict(1, (n) => evicted.push(n));
    expect(evicted[0].namespace).toBe("b");
    expect(t.numNamespaces).toBe(1);
    t.checkInvariants();
  });

  test("long keys: thousands of tokens", () => {
    const t = new RadixTree();
    const long = seq(5000);
    t.insert("m", long, holders(0));
    const other = [...long.slice(0, 4000), 1, 2, 3];
    expect(t.insert("m", other, holders(1)).reusedLength).toBe(4000);
    expect(t.match("m", long).path.map((p) => p.end)).toEqual([4000, 5000]);
    expect(t.totalTokens).toBe(5003);
    t.checkInvariants();
  });

  test("stats snapshot", () => {
    const t = new RadixTree();
    t.insert("m", [1, 2, 3], holders(0));
    t.match("m", [1, 2, 9]);
    t.match("m", [4]);
    t.evict(10);
    expect(t.stats()).toMatchObject({
      namespaces: 0, numNodes: 0, totalTokens: 0, queries: 2, hits: 1, queryTokens: 4, hitTokens: 2,
      insertedTokens: 3, evictedTokens: 3, numLocks: 0, lockedTokens: 0, evictableTokens: 0,
    });
  });
});

test("an evicted node reports its whole prefix from the root, read inside the callback", () => {
  const t = new RadixTree();
  t.insert("m", seq(10), holders(1));
  t.insert("m", [...seq(10), ...seq(5, 100)], holders(2));
  const seen: { tokens: number[]; segments: { holder: number; start: number; end: number }[] }[] = [];
  t.evict(15, (n) => {
    const p = n.prefix();
    seen.push({ tokens: p.tokens, segments: p.segments.map(({ holder, start, end }) => ({ holder, start, end })) });
  });
  expect(seen).toEqual([
    { tokens: [...seq(10), ...seq(5, 100)], segments: [{ holder: 1, start: 0, end: 10 }, { holder: 2, start: 10, end: 15 }] },
    { tokens: seq(10), segments: [{ holder: 1, start: 0, end: 10 }] },
  ]);
});
