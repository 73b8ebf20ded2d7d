/**
 * Which token positions each cache-holder sequence stores. A holder may store
 * ranges of many branches, but never two at one position: the KV cell of one
 * sequence id at one position is unique. Pure bookkeeping; the engine does the
 * `seq_cp` / `seq_rm` that go with `allocate` / `release`.
 */
import { assert } from "../shared/errors";

export interface HolderAllocatorOptions {
  /** Positions stay below this (e.g. the context length); default unlimited. */
  maxPosition?: number;
}

/** Sorted, disjoint, non-adjacent [start, end) ranges of one holder. */
class RangeSet {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  used = 0;

  /** Index of the first range whose end is > pos. */
  private firstEndingAfter(pos: number): number {
    let lo = 0, hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid] > pos) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  isFree(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i === this.starts.length || this.starts[i] >= end;
  }

  endsAt(pos: number): boolean {
    const i = this.firstEndingAfter(pos - 1);
    return i < this.ends.length && this.ends[i] === pos;
  }

  covers(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.starts.length && this.starts[i] <= start && this.ends[i] >= end;
  }

  add(start: number, end: number): void {
    let i = this.firstEndingAfter(start - 1); // first range that ends at or after start
    const joinLeft = i < this.ends.length && this.ends[i] === start;
    const joinRight = (joinLeft ? i + 1 : i) < this.starts.length && this.starts[joinLeft ? i + 1 : i] === end;
    if (joinLeft && joinRight) {
      this.ends[i] = this.ends[i + 1];
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinLeft) this.ends[i] = end;
    else if (joinRight) this.starts[i] = start;
    else {
      this.starts.splice(i, 0, start);
      this.ends.splice(i, 0, end);
    }
    this.used += end - start;
  }

  remove(start: number, end: number): void {
    const i = this.firstEndingAfter(start);
    const s = this.starts[i], e = this.ends[i];
    if (s === start && e === end) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (s === start) this.starts[i] = end;
    else if (e === end) this.ends[i] = start;
    else {
      this.ends[i] = start;
      this.starts.splice(i + 1, 0, end);
      this.ends.splice(i + 1, 0, e);
    }
    this.used -= end - start;
  }
}

export class HolderAllocator {
  readonly holders: readonly number[];
  private readonly sets = new Map<number, RangeSet>();
  private readonly maxPosition: number;
  private _usedTokens = 0;

  /** `holders`: the holder sequence ids, or a count for ids 0..count-1. */
  constructor(holders: readonly number[] | number, options: HolderAllocatorOptions = {}) {
    const ids = typeof holders === "number" ? Array.from({ length: holders }, (_, i) => i) : [...holders];
    for (const id of ids) {
      assert(Number.isInteger(id) && id >= 0, `holder allocator: bad seq id ${id}`);
      assert(!this.sets.has(id), `holder allocator: seq id ${id} given twice`);
      this.sets.set(id, new RangeSet());
    }
    this.holders = Object.freeze(ids);
    this.maxPosition = options.maxPosition ?? Number.POSITIVE_INFINITY;
  }

  /** Positions stored over all holders. */
  get usedTokens(): number {
    return this._usedTokens;
  }

  /**
   * Reserves positions [start, end) on a holder with none of them in use and
   * returns it, or null if none can. Preference: `prefer` (e.g. the parent
   * node's holder), then a holder whose stored range ends at `start`, then the
   * least used holder (lowest id on ties).
   */
  allocate(start: number, end: number, prefer: number | null = null): number | null {
    assert(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start, `holder allocate: bad range [${start}, ${end})`);
    if (end > this.maxPosition) return null;
    let pick: number | null = null;
    if (prefer !== null && this.sets.get(prefer)?.isFree(start, end)) pick = prefer;
    if (pick === null) {
      let best: number | null = null, bestUsed = Number.POSITIVE_INFINITY;
      for (const [id, set] of this.sets) {
        if (!set.isFree(start, end)) continue;
        if (start > 0 && set.endsAt(start)) {
          pick = id;
          break;
        }
        if (set.used < bestUsed) {
          best = id;
          bestUsed = set.used;
        }
      }
      pick ??= best;
    }
    if (pick !== null) {
      this.sets.get(pick)!.add(start, end);
      this._usedTokens += end - start;
    }
    return pick;
  }

  /** Frees positions [start, end) of `holder`; any stored sub-range may be freed. */
  release(holder: number, start: number, end: number): void {
    const set = this.sets.get(holder);
    assert(set !== undefined, `holder release: unknown holder ${holder}`);
    assert(start < end && set.covers(start, end), `holder release: holder ${holder} does not store [${start}, ${end})`);
    set.remove(start, end);
    this._usedTokens -= end - start;
  }

  /** Whether `holder` stores none of [start, end). */
  isFree(holder: number, start: number, end: number): boolean {
    const set = this.sets.get(holder);
    return set !== undefined && set.isFree(start, end);
  }

  /** Positions stored by one holder. */
  used(holder: number): number {
    return this.sets.get(holder)?.used ?? 0;
  }

  /** Stored ranges of one holder, sorted (adjacent ranges merged). */
  ranges(holder: number): [number, number][] {
    const set = this.sets.get(holder);
    return set ? set.starts.map((s, i) => [s, set.ends[i]]) : [];
  }

  isEmpty(): boolean {
    return this._usedTokens === 0;
  }

  /** Forgets every range (the KV cache was wiped). */
  clear(): void {
    for (const id of this.holders) this.sets.set(id, new RangeSet());
    this._usedTokens = 0;
  }
}
