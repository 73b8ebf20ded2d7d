/**
 * A recognizer over a ParsedGrammar that runs llama.cpp's own algorithm
 * (llama_grammar_advance_stack / llama_grammar_accept): a set of pushdown
 * stacks of element positions, advanced one code point at a time. Correct
 * rather than fast; used by tests to prove what a grammar accepts.
 */
import { GT, type ParsedGrammar } from "./gbnf-parser";
import { type CpSet, complementSet, normSet } from "./gbnf-text";

interface Flat {
  type: Int32Array;
  value: Int32Array;
  start: Int32Array; // rule id → offset of its first element
}

const flatCache = new WeakMap<ParsedGrammar, Flat>();

function flatten(g: ParsedGrammar): Flat {
  let flat = flatCache.get(g);
  if (flat) return flat;
  const total = g.rules.reduce((n, r) => n + (r ? r.length : 0), 0);
  flat = { type: new Int32Array(total), value: new Int32Array(total), start: new Int32Array(g.rules.length) };
  let k = 0;
  g.rules.forEach((rule, id) => {
    flat!.start[id] = k;
    for (const el of rule ?? []) {
      flat!.type[k] = el.type;
      flat!.value[k] = el.value;
      k++;
    }
  });
  flatCache.set(g, flat);
  return flat;
}

type Stack = number[];
/** A recognizer state: the live parse stacks, keyed by their contents. */
export type Stacks = Map<string, Stack>;

const isEnd = (f: Flat, pos: number) => f.type[pos] === GT.END || f.type[pos] === GT.ALT;

function advance(f: Flat, stack: Stack, out: Stacks): void {
  const todo: Stack[] = [stack];
  const seen = new Set<string>();
  while (todo.length) {
    const cur = todo.pop()!;
    const key = cur.join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    if (cur.length === 0) {
      out.set(key, cur);
      continue;
    }
    const pos = cur[cur.length - 1];
    const type = f.type[pos];
    if (type === GT.RULE_REF) {
      let sub = f.start[f.value[pos]];
      for (;;) {
        const next = cur.slice(0, -1);
        if (!isEnd(f, pos + 1)) next.push(pos + 1);
        if (!isEnd(f, sub)) next.push(sub);
        todo.push(next);
        while (!isEnd(f, sub)) sub++;
        if (f.type[sub] === GT.ALT) sub++;
        else break;
      }
    } else if (type === GT.CHAR || type === GT.CHAR_NOT || type === GT.CHAR_ANY) {
      out.set(key, cur);
    } else {
      throw new Error("assertion failed: stack left on a non-terminal element");
    }
  }
}

/** [matched, position after the char element group]. */
function matchChar(f: Flat, pos: number, chr: number): [boolean, number] {
  let found = false;
  const positive = f.type[pos] === GT.CHAR || f.type[pos] === GT.CHAR_ANY;
  do {
    if (f.type[pos + 1] === GT.CHAR_RNG_UPPER) {
      found ||= f.value[pos] <= chr && chr <= f.value[pos + 1];
      pos += 2;
    } else if (f.type[pos] === GT.CHAR_ANY) {
      found = true;
      pos += 1;
    } else {
      found ||= f.value[pos] === chr;
      pos += 1;
    }
  } while (f.type[pos] === GT.CHAR_ALT);
  return [found === positive, pos];
}

function initialStacks(g: ParsedGrammar, f: Flat, rootName: string): Stacks {
  const rootId = g.symbolIds.get(rootName);
  if (rootId === undefined || !g.rules[rootId]) throw new Error(`grammar has no rule '${rootName}'`);
  const stacks: Stacks = new Map();
  let pos = f.start[rootId];
  for (;;) {
    advance(f, isEnd(f, pos) ? [] : [pos], stacks);
    while (!isEnd(f, pos)) pos++;
    if (f.type[pos] === GT.ALT) pos++;
    else break;
  }
  return stacks;
}

function accept(f: Flat, stacks: Stacks, chr: number): Stacks {
  const out: Stacks = new Map();
  for (const stack of stacks.values()) {
    if (stack.length === 0) continue;
    const [ok, after] = matchChar(f, stack[stack.length - 1], chr);
    if (!ok) continue;
    const next = stack.slice(0, -1);
    if (!isEnd(f, after)) next.push(after);
    advance(f, next, out);
  }
  return out;
}

function run(g: ParsedGrammar, text: string, rootName: string, maxStacks: number): Stacks {
  const f = flatten(g);
  let stacks = initialStacks(g, f, rootName);
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0) return new Map(); // llama.cpp uses 0 as its terminator: never matches
    stacks = accept(f, stacks, cp);
    if (stacks.size === 0) break;
    if (stacks.size > maxStacks) throw new Error(`grammar is too ambiguous: ${stacks.size} parse stacks`);
  }
  return stacks;
}

/** True when the whole `text` is in the language of `grammar` (start rule `rootName`). */
export function matchesGbnf(grammar: ParsedGrammar, text: string, rootName = "root", maxStacks = 100_000): boolean {
  for (const s of run(grammar, text, rootName, maxStacks).values()) if (s.length === 0) return true;
  return false;
}

/** True when `text` can be extended into a string the grammar accepts (or is one). */
export function isViablePrefix(grammar: ParsedGrammar, text: string, rootName = "root", maxStacks = 100_000): boolean {
  return run(grammar, text, rootName, maxStacks).size > 0;
}

/** The number of live parse stacks after `text` — an ambiguity gauge for tests. */
export function stackCount(grammar: ParsedGrammar, text: string, rootName = "root"): number {
  return run(grammar, text, rootName, Infinity).size;
}

/** The code points a char element group (at `pos`) accepts. */
function charSet(f: Flat, pos: number): CpSet {
  const positive = f.type[pos] === GT.CHAR || f.type[pos] === GT.CHAR_ANY;
  const ranges: CpSet = [];
  do {
    if (f.type[pos + 1] === GT.CHAR_RNG_UPPER) {
      ranges.push([f.value[pos], f.value[pos + 1]]);
      pos += 2;
    } else if (f.type[pos] === GT.CHAR_ANY) {
      ranges.push([0, 0x10ffff]);
      pos += 1;
    } else {
      ranges.push([f.value[pos], f.value[pos]]);
      pos += 1;
    }
  } while (f.type[pos] === GT.CHAR_ALT);
  return positive ? normSet(ranges) : complementSet(ranges);
}

/** Step-by-step access to the recognizer (for samplers and incremental checks). */
export class GbnfRecognizer {
  private readonly f: Flat;
  constructor(readonly grammar: ParsedGrammar, readonly rootName = "root") {
    this.f = flatten(grammar);
  }
  initial(): Stacks {
    return initialStacks(this.grammar, this.f, this.rootName);
  }
  advance(state: Stacks, cp: number): Stacks {
    return cp === 0 ? new Map() : accept(this.f, state, cp);
  }
  /** True when the input so far is a complete sentence. */
  accepts(state: Stacks): boolean {
    for (const s of state.values()) if (s.length === 0) return true;
    return false;
  }
  /** Every code point some live stack accepts next. */
  nextChars(state: Stacks): CpSet {
    const sets: CpSet = [];
    for (const s of state.values()) if (s.length) sets.push(...charSet(this.f, s[s.length - 1]));
    return normSet(sets);
  }
}
