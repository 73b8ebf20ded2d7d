/**
 * Random sentences from a GBNF grammar, walking llama.cpp's own recognizer
 * one code point at a time. Used by tests to check that everything a
 * generated grammar lets a model write is valid (fail-closed property).
 */
import { GbnfRecognizer } from "./gbnf-matcher";
import type { ParsedGrammar } from "./gbnf-parser";
import { type CpSet, setHas, setSize } from "./gbnf-text";

export interface SampleOptions {
  seed: number;
  /** Give up (return null) past this many code points. Default 2000. */
  maxLength?: number;
  /** Past this length prefer closing characters. Default 120. */
  softLength?: number;
  /** Probability of stopping whenever the text so far is complete. Default 0.3. */
  stopProbability?: number;
}

export { prng } from "../shared/prng";
import { prng } from "../shared/prng";

const PREFERRED = [..."aZ09 -_.:/@,{}[]\"\\ntu0eE+x\u00e9\u4e2d\u{1F600}"].map((c) => c.codePointAt(0)!);
const CLOSERS = [..."\"]}"].map((c) => c.codePointAt(0)!);

function pick(set: CpSet, rnd: () => number, preferClose: boolean): number {
  if (preferClose) {
    const closers = CLOSERS.filter((c) => setHas(set, c));
    if (closers.length && rnd() < 0.8) return closers[Math.floor(rnd() * closers.length)];
  }
  const preferred = PREFERRED.filter((c) => setHas(set, c));
  if (preferred.length && rnd() < 0.6) return preferred[Math.floor(rnd() * preferred.length)];
  // Otherwise uniform over the set, but with ranges capped so huge classes do not dominate.
  const capped = set.map(([a, b]) => [a, Math.min(b, a + 200)] as [number, number]).filter(([a]) => a < 0xd800 || a > 0xdfff);
  const total = setSize(capped);
  if (total === 0) return set[0][0];
  let k = Math.floor(rnd() * total);
  for (const [a, b] of capped) {
    if (k <= b - a) {
      const cp = a + k;
      return cp >= 0xd800 && cp <= 0xdfff ? a : cp;
    }
    k -= b - a + 1;
  }
  return capped[0][0];
}

/** One random sentence of the grammar, or null when the walk ran too long or got stuck. */
export function sampleGbnf(grammar: ParsedGrammar, options: SampleOptions, rootName = "root"): string | null {
  const rec = new GbnfRecognizer(grammar, rootName);
  const rnd = prng(options.seed);
  const maxLength = options.maxLength ?? 2000;
  const soft = options.softLength ?? 120;
  const stop = options.stopProbability ?? 0.3;
  let state = rec.initial();
  let text = "";
  let length = 0;
  for (;;) {
    const done = rec.accepts(state);
    const next = rec.nextChars(state);
    if (next.length === 0) return done ? text : null;
    if (done && (rnd() < stop || length > soft)) return text;
    if (length >= maxLength) return null;
    const cp = pick(next, rnd, length > soft);
    state = rec.advance(state, cp);
    if (state.size === 0) return null;
    text += String.fromCodePoint(cp);
    length++;
  }
}
