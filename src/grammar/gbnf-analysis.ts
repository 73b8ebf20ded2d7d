/**
 * Fixpoint analyses over a parsed grammar: nullable rules, productive rules
 * (derive a finite string) and left recursion, which llama.cpp cannot run.
 */
import { GT, type ParsedGrammar } from "./gbnf-types";

/** Rules that can derive the empty string (least fixpoint). */
export function nullableRules(g: ParsedGrammar): boolean[] {
  const nullable = g.rules.map(() => false);
  for (let changed = true; changed; ) {
    changed = false;
    g.rules.forEach((rule, id) => {
      if (nullable[id]) return;
      let ok = true; // current alternative is nullable so far
      for (const el of rule) {
        if (el.type === GT.ALT || el.type === GT.END) {
          if (ok) { nullable[id] = true; changed = true; return; }
          ok = true;
        } else if (el.type === GT.RULE_REF) ok &&= nullable[el.value];
        else if (el.type !== GT.CHAR_ALT && el.type !== GT.CHAR_RNG_UPPER) ok = false;
      }
    });
  }
  return nullable;
}

/** Rules that derive at least one finite string (least fixpoint). */
export function productiveRules(g: ParsedGrammar): boolean[] {
  const prod = g.rules.map(() => false);
  for (let changed = true; changed; ) {
    changed = false;
    g.rules.forEach((rule, id) => {
      if (prod[id]) return;
      let ok = true;
      for (const el of rule) {
        if (el.type === GT.ALT || el.type === GT.END) {
          if (ok) { prod[id] = true; changed = true; return; }
          ok = true;
        } else if (el.type === GT.RULE_REF) ok &&= prod[el.value];
      }
    });
  }
  return prod;
}

/** The first left-recursive rule id found, or -1. Uses exact nullability (stricter than llama.cpp). */
export function findLeftRecursion(g: ParsedGrammar): number {
  const nullable = nullableRules(g);
  const n = g.rules.length;
  const edges: number[][] = g.rules.map((rule) => {
    const out: number[] = [];
    let leading = true;
    for (const el of rule) {
      if (el.type === GT.ALT || el.type === GT.END) leading = true;
      else if (!leading) continue;
      else if (el.type === GT.RULE_REF) {
        out.push(el.value);
        if (!nullable[el.value]) leading = false;
      } else if (el.type !== GT.CHAR_ALT && el.type !== GT.CHAR_RNG_UPPER) leading = false;
    }
    return out;
  });
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  for (let s = 0; s < n; s++) {
    if (state[s]) continue;
    const stack: Array<[number, number]> = [[s, 0]];
    state[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < edges[v].length) {
        top[1]++;
        const w = edges[v][i];
        if (state[w] === 1) return w;
        if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  return -1;
}
