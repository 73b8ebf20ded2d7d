/**
 * Low-level GBNF text helpers shared by the schema and regex compilers:
 * escaping of literals and character classes in llama.cpp's dialect, sets of
 * code points, and the canonical JSON encoding of string characters.
 *
 * Every JSON string the generated grammars accept uses the canonical encoding
 * of JSON.stringify: `"` and `\` and control characters are escaped (\b \f \n
 * \r \t, else \u00xx lowercase), everything else is written raw. Each decoded
 * character therefore has exactly one spelling, which keeps lengths, patterns
 * and key exclusion exact.
 */

/** Inclusive code point ranges, sorted and non-overlapping after `normSet`. */
export type CpSet = Array<[number, number]>;

export const MAX_CP = 0x10ffff;

export function normSet(set: CpSet): CpSet {
  const s = set.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: CpSet = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export function unionSet(...sets: CpSet[]): CpSet {
  return normSet(sets.flatMap((s) => s.map(([a, b]) => [a, b] as [number, number])));
}

export function complementSet(set: CpSet): CpSet {
  const out: CpSet = [];
  let next = 0;
  for (const [a, b] of normSet(set)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

export function intersectSet(x: CpSet, y: CpSet): CpSet {
  return complementSet(unionSet(complementSet(x), complementSet(y)));
}

export function setHas(set: CpSet, cp: number): boolean {
  return set.some(([a, b]) => a <= cp && cp <= b);
}

export function setSize(set: CpSet): number {
  return set.reduce((n, [a, b]) => n + b - a + 1, 0);
}

/** One code point as it may appear inside a GBNF "literal" or [class]. */
function escCp(cp: number, inClass: boolean): string {
  switch (cp) {
    case 0x5c: return "\\\\";
    case 0x22: return "\\\"";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
  }
  if (inClass && (cp === 0x5d || cp === 0x5b || cp === 0x2d)) return "\\" + String.fromCharCode(cp);
  if (inClass && cp === 0x5e) return "\\x5E";
  if (cp >= 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  const hex = cp.toString(16).toUpperCase();
  if (cp < 0x80) return "\\x" + hex.padStart(2, "0");
  if (cp <= 0xffff) return "\\u" + hex.padStart(4, "0");
  return "\\U" + hex.padStart(8, "0");
}

/** A GBNF string literal matching exactly `text` (empty text gives `""`). */
export function gbnfLiteral(text: string): string {
  let out = "\"";
  for (const ch of text) out += escCp(ch.codePointAt(0)!, false);
  return out + "\"";
}

/** A GBNF character class matching exactly the code points of `set` (non-empty). */
export function gbnfClass(set: CpSet): string {
  const s = normSet(set);
  if (s.length === 0) throw new Error("assertion failed: empty character class");
  const comp = complementSet(s);
  const body = (r: CpSet) =>
    r.map(([a, b]) => (a === b ? escCp(a, true) : b === a + 1 ? escCp(a, true) + escCp(b, true) : `${escCp(a, true)}-${escCp(b, true)}`)).join("");
  if (comp.length > 0 && comp.length < s.length) return `[^${body(comp)}]`;
  if (s.length === 1 && s[0][0] === s[0][1]) return gbnfLiteral(String.fromCodePoint(s[0][0]));
  return `[${body(s)}]`;
}

/** Code points that JSON must escape. */
export const JSON_ESCAPED: CpSet = [[0x00, 0x1f], [0x22, 0x22], [0x5c, 0x5c]];
/** Code points written raw in canonical JSON. */
export const JSON_RAW: CpSet = complementSet(JSON_ESCAPED);

const SHORT_ESCAPES: Record<number, string> = { 0x22: "\"", 0x5c: "\\", 0x08: "b", 0x0c: "f", 0x0a: "n", 0x0d: "r", 0x09: "t" };

/** The canonical JSON spelling of one code point inside a string (no quotes). */
export function jsonEscapeCp(cp: number): string {
  const short = SHORT_ESCAPES[cp];
  if (short !== undefined) return "\\" + short;
  if (cp < 0x20) return "\\u" + cp.toString(16).padStart(4, "0");
  return String.fromCodePoint(cp);
}

/** A GBNF literal for the canonical JSON encoding of `text` including quotes. */
export function jsonStringLiteral(text: string): string {
  let out = "\"";
  for (const ch of text) out += jsonEscapeCp(ch.codePointAt(0)!);
  return gbnfLiteral(out + "\"");
}

/**
 * GBNF expression matching the canonical JSON encoding of exactly one code
 * point from `set`. Returns an atom (class, literal or parenthesised group).
 */
export function jsonCharExpr(set: CpSet): string {
  const s = normSet(set);
  if (s.length === 0) throw new Error("assertion failed: empty JSON character set");
  const raw = intersectSet(s, JSON_RAW);
  const esc = intersectSet(s, JSON_ESCAPED);
  const alts: string[] = [];
  if (raw.length) alts.push(gbnfClass(raw));
  if (esc.length) {
    const shorts: number[] = [];
    const lo: number[] = []; // \u000x
    const hi: number[] = []; // \u001x
    for (const [a, b] of esc) {
      for (let c = a; c <= b; c++) {
        if (SHORT_ESCAPES[c] !== undefined) shorts.push(SHORT_ESCAPES[c].codePointAt(0)!);
        else if (c < 0x10) lo.push(c);
        else hi.push(c - 0x10);
      }
    }
    const hexSet = (ds: number[]): CpSet => ds.map((d) => {
      const ch = d.toString(16).codePointAt(0)!;
      return [ch, ch] as [number, number];
    });
    const inner: string[] = [];
    if (shorts.length) inner.push(gbnfClass(shorts.map((c) => [c, c] as [number, number])));
    const u: string[] = [];
    if (lo.length) u.push(`"0" ${gbnfClass(hexSet(lo))}`);
    if (hi.length) u.push(`"1" ${gbnfClass(hexSet(hi))}`);
    if (u.length) inner.push(`"u00" ${u.length > 1 ? `(${u.join(" | ")})` : u[0]}`);
    const tail = inner.length > 1 || inner[0].includes(" ") ? `(${inner.join(" | ")})` : inner[0];
    alts.push(`"\\\\" ${tail}`);
  }
  return alts.length === 1 && !alts[0].includes(" ") ? alts[0] : `(${alts.join(" | ")})`;
}

/** Rule names llama.cpp accepts: [a-zA-Z0-9-]+ (underscores are reserved for its own). */
export function sanitizeRuleName(hint: string, maxLen = 48): string {
  let s = hint.replace(/[^a-zA-Z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "");
  if (s.length > maxLen) s = s.slice(0, maxLen).replace(/-$/, "");
  return s || "r";
}

/** True when `expr` is a single GBNF atom that can take a repetition suffix directly. */
export function isAtom(expr: string): boolean {
  if (/^[a-zA-Z0-9-]+$/.test(expr)) return true;
  if (/^"(?:[^"\\]|\\.)*"$/.test(expr)) return true;
  if (/^\[(?:[^\]\\]|\\.)*\]$/.test(expr)) return true;
  return false;
}

/** True when `expr` needs parentheses before being placed inside a sequence. */
export function needsParens(expr: string): boolean {
  let depth = 0;
  let inStr = false;
  let inCls = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "\\") { i++; continue; }
    if (inStr) { if (c === "\"") inStr = false; continue; }
    if (inCls) { if (c === "]") inCls = false; continue; }
    if (c === "\"") inStr = true;
    else if (c === "[") inCls = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return true;
  }
  return false;
}

/** Join alternatives into one expression safe to embed in a sequence. */
export function altExpr(alts: string[]): string {
  const uniq = [...new Set(alts)];
  if (uniq.length === 1) return needsParens(uniq[0]) ? `(${uniq[0]})` : uniq[0];
  return `(${uniq.join(" | ")})`;
}

/** Join sequence parts (dropping empty ones), parenthesising alternations. */
export function seqExpr(parts: string[]): string {
  const ps: string[] = [];
  for (const p of parts) {
    if (p === "" || p === "\"\"") continue;
    const q = needsParens(p) ? `(${p})` : p;
    const last = ps[ps.length - 1];
    const tail = last === undefined ? null : TAIL_LITERAL.exec(last);
    const head = HEAD_LITERAL.exec(q);
    if (tail && head) ps[ps.length - 1] = last!.slice(0, last!.length - 1) + q.slice(1);
    else ps.push(q);
  }
  return ps.length ? ps.join(" ") : "\"\"";
}

/** A literal ending a sequence (not followed by a repetition suffix). */
const TAIL_LITERAL = /(?:^| )"(?:[^"\\]|\\.)*"$/;
/** A literal starting a sequence (not followed by a repetition suffix). */
const HEAD_LITERAL = /^"(?:[^"\\]|\\.)*"(?= |$)/;

/** Rewrite every rule-name token in a GBNF body (literals and classes untouched). */
export function mapNames(body: string, fn: (name: string) => string): string {
  let out = "";
  for (let i = 0; i < body.length; ) {
    const c = body[i];
    if (c === "\"" || c === "[") {
      const close = c === "\"" ? "\"" : "]";
      let j = i + 1;
      while (j < body.length && body[j] !== close) j += body[j] === "\\" ? 2 : 1;
      out += body.slice(i, j + 1);
      i = j + 1;
    } else if (/[a-zA-Z0-9-]/.test(c)) {
      let j = i;
      while (j < body.length && /[a-zA-Z0-9-]/.test(body[j])) j++;
      const tok = body.slice(i, j);
      // digits after "{" or "," are repetition counts, not names
      out += /^[0-9]+$/.test(tok) ? tok : fn(tok);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
