/**
 * ECMAScript regex subset → GBNF for the *content* of a JSON string (the
 * characters between the quotes, in canonical JSON encoding).
 *
 * JSON Schema patterns are unanchored: `abc` means "contains abc", so a
 * branch without ^ gets any characters before it and one without $ any after.
 * Anchors are honoured at the start / end of top-level alternatives (also
 * through a group that makes up the whole branch); elsewhere they are refused.
 */
import { InvalidRequestError } from "../shared/errors";
import { GrammarBuilder, paren } from "./gbnf-builder";
import { MAX_CP, altExpr, jsonCharExpr, jsonEscapeCp, gbnfLiteral, seqExpr } from "./gbnf-text";
import { ANY, type RNode, RegexError, parseRegex } from "./regex-parse";

export type { RNode } from "./regex-parse";
export { parseRegex } from "./regex-parse";

const ANY_STAR: RNode = { k: "rep", item: { k: "set", set: ANY }, min: 0, max: Infinity };

function hasAnchor(n: RNode): boolean {
  switch (n.k) {
    case "bol": case "eol": return true;
    case "set": return false;
    case "seq": return n.items.some(hasAnchor);
    case "alt": return n.alts.some(hasAnchor);
    case "rep": return hasAnchor(n.item);
  }
}

/**
 * The anchor-free AST of the language "strings in which `pattern` finds a
 * match" (ECMAScript search semantics, no flags).
 */
export function patternLanguage(pattern: string, param = "response_format"): RNode {
  const key = `${param}\u0000${pattern}`;
  const cached = languageCache.get(key);
  if (cached) return cached;
  const result = buildLanguage(pattern, param);
  if (languageCache.size >= 256) languageCache.clear();
  languageCache.set(key, result);
  return result;
}

/** ASTs are never mutated, so parsed languages can be shared. */
const languageCache = new Map<string, RNode>();

function buildLanguage(pattern: string, param: string): RNode {
  const ast = parseRegex(pattern, param);
  const branches = (node: RNode, anchoredStart: boolean, anchoredEnd: boolean): RNode[] => {
    if (node.k === "alt") return node.alts.flatMap((a) => branches(a, anchoredStart, anchoredEnd));
    let items = node.k === "seq" ? [...node.items] : [node];
    let start = anchoredStart;
    let end = anchoredEnd;
    while (items.length && items[0].k === "bol") {
      start = true;
      items = items.slice(1);
    }
    while (items.length && items[items.length - 1].k === "eol") {
      end = true;
      items = items.slice(0, -1);
    }
    if (items.length === 1 && items[0].k === "alt" && hasAnchor(items[0])) return branches(items[0], start, end);
    if (items.some(hasAnchor)) throw new RegexError(pattern, "anchors ^ and $ are only supported at the start and end of the pattern or of a top-level alternative", param);
    return [{ k: "seq", items: [...(start ? [] : [ANY_STAR]), ...items, ...(end ? [] : [ANY_STAR])] }];
  };
  const alts = branches(ast, false, false);
  return alts.length === 1 ? alts[0] : { k: "alt", alts };
}

/** [min, max] length in code points (max may be Infinity). */
export function lengthRange(n: RNode): [number, number] {
  switch (n.k) {
    case "bol": case "eol": return [0, 0];
    case "set": return [1, 1];
    case "seq": return n.items.map(lengthRange).reduce(([a, b], [c, d]) => [a + c, b + d], [0, 0]);
    case "alt": {
      const rs = n.alts.map(lengthRange);
      return [Math.min(...rs.map((r) => r[0])), Math.max(...rs.map((r) => r[1]))];
    }
    case "rep": {
      const [a, b] = lengthRange(n.item);
      return [a * n.min, n.max === 0 || b === 0 ? 0 : b * n.max];
    }
  }
}

/** Keep only strings whose length is ≤ budget (sound under-approximation; budget ≥ min length). */
function cap(n: RNode, budget: number): RNode {
  const [lo, hi] = lengthRange(n);
  if (hi <= budget) return n;
  switch (n.k) {
    case "alt":
      return { k: "alt", alts: n.alts.filter((a) => lengthRange(a)[0] <= budget).map((a) => cap(a, budget)) };
    case "seq": {
      let slack = budget - lo;
      const give = new Map<number, number>();
      const variable = n.items
        .map((it, i) => ({ i, extra: lengthRange(it)[1] - lengthRange(it)[0] }))
        .filter((v) => v.extra > 0)
        .sort((x, y) => x.extra - y.extra || x.i - y.i);
      variable.forEach((v, idx) => {
        const share = Math.floor(slack / (variable.length - idx));
        const g = Math.min(v.extra, share);
        give.set(v.i, g);
        slack -= g;
      });
      return { k: "seq", items: n.items.map((it, i) => (give.has(i) ? cap(it, lengthRange(it)[0] + give.get(i)!) : it)) };
    }
    case "rep": {
      const [il, ih] = lengthRange(n.item);
      if (il === ih) return { ...n, max: Math.min(n.max, Math.floor(budget / il)) };
      // Small items: as many whole items as fit.
      if (ih < Infinity && Math.floor(budget / ih) >= Math.max(n.min, 1)) return { ...n, max: Math.min(n.max, Math.floor(budget / ih)) };
      // Variable-width items: a few shapes (1 long item, 2 medium, 4 or 8 short ones), each within budget.
      const shapes = [...new Set([1, 2, 4, 8].map((c) => Math.max(c, n.min)))]
        .filter((c) => c <= Math.max(n.max, n.min) && Math.floor(budget / Math.max(c, 1)) >= il && (c > 0 || n.min === 0));
      const alts: RNode[] = shapes.map((c) => ({ k: "rep", item: cap(n.item, Math.floor(budget / c)), min: n.min, max: Math.min(c, n.max) }));
      if (alts.length === 0) return { k: "rep", item: n.item, min: n.min, max: n.min };
      return alts.length === 1 ? alts[0] : { k: "alt", alts };
    }
    default:
      return n;
  }
}

/**
 * Restrict `n` to lengths in [min, max]: exactly when at most one part of the
 * sequence varies in length by whole fixed-width steps or the bounds are
 * implied, as a sound under-approximation when only max binds; otherwise an
 * "unsupported" error naming `what`.
 */
export function applyLength(n: RNode, min: number, max: number, what: string, where: string, param = "response_format"): RNode {
  const [lo, hi] = lengthRange(n);
  const unsat = () => new InvalidRequestError(`schema is unsatisfiable at ${where}: no string matching ${what} has a length in [${min}, ${max}]`, param, "unsupported_schema");
  if (lo >= min && hi <= max) return n;
  if (lo > max || hi < min) throw unsat();
  const items = n.k === "seq" ? n.items : [n];
  const varying = items.map((it, i) => ({ it, i, r: lengthRange(it) })).filter((v) => v.r[0] !== v.r[1]);
  if (varying.length === 1 && varying[0].it.k === "rep") {
    const rep = varying[0].it as Extract<RNode, { k: "rep" }>;
    const [wl, wh] = lengthRange(rep.item);
    if (wl === wh && wl > 0) {
      const fixed = lo - rep.min * wl;
      const kMin = Math.max(rep.min, Math.ceil((min - fixed) / wl));
      const kMax = Math.min(rep.max, Math.floor((max - fixed) / wl));
      if (kMin > kMax) throw unsat();
      const copy = [...items];
      copy[varying[0].i] = { k: "rep", item: rep.item, min: kMin, max: kMax };
      return copy.length === 1 ? copy[0] : { k: "seq", items: copy };
    }
  }
  if (min <= lo) return cap(n, max);
  throw new InvalidRequestError(`unsupported JSON Schema keyword "minLength" combined with ${what} at ${where}`, param, "unsupported_schema");
}

/** Emit GBNF for the JSON-encoded characters of the strings `n` matches. */
export function emitRegex(n: RNode, b: GrammarBuilder, hint: string): string {
  switch (n.k) {
    case "bol": case "eol": throw new Error("assertion failed: anchors must be removed before emission");
    case "set":
      if (n.set.length === 0) throw new InvalidRequestError("unsupported pattern: an empty character class never matches", b.param, "unsupported_schema");
      if (n.set.length === 1 && n.set[0][0] === 0 && n.set[0][1] === MAX_CP) return b.add("char", jsonCharExpr(ANY));
      return jsonCharExpr(n.set);
    case "seq": {
      const parts: string[] = [];
      let lit = "";
      const flush = () => {
        if (lit) parts.push(gbnfLiteral(lit));
        lit = "";
      };
      for (const it of n.items) {
        if (it.k === "set" && it.set.length === 1 && it.set[0][0] === it.set[0][1]) lit += jsonEscapeCp(it.set[0][0]);
        else {
          flush();
          parts.push(emitRegex(it, b, hint));
        }
      }
      flush();
      return seqExpr(parts);
    }
    case "alt":
      return altExpr(n.alts.map((a) => emitRegex(a, b, hint)));
    case "rep": {
      if (n.max === 0) return "\"\"";
      const r = b.repeat(`${hint}-rep`, paren(emitRegex(n.item, b, hint)), n.min, n.max);
      return r === "" ? "\"\"" : r;
    }
  }
}

export interface RegexGbnfOptions {
  minLength?: number;
  maxLength?: number;
  maxRules?: number;
}

/**
 * A standalone grammar whose `root` is a JSON string (with quotes) matching
 * `pattern` with JSON Schema semantics (unanchored unless ^ / $).
 */
export function regexToGbnf(pattern: string, options: RegexGbnfOptions = {}): string {
  const b = new GrammarBuilder(options.maxRules ?? 5000);
  b.reserve("root");
  let ast = patternLanguage(pattern);
  if (options.minLength !== undefined || options.maxLength !== undefined) {
    ast = applyLength(ast, options.minLength ?? 0, options.maxLength ?? Infinity, `"pattern"`, "/");
  }
  b.define("root", seqExpr(["\"\\\"\"", emitRegex(ast, b, "pattern"), "\"\\\"\""]));
  return b.render();
}

