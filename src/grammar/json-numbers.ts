/**
 * Integer and number grammars with exact range constraints.
 *
 * Integers: digit-by-digit decomposition of [lo, hi] (BigInt, any sign),
 * canonical spelling (no leading zeros). Numbers with bounds: plain decimals
 * (no exponent) split into integer part and fraction, with lexicographic
 * constraints on the fraction digits next to the bounds; exact for any
 * decimal bound. JSON numbers are parsed as doubles by validators, so next to
 * an *exclusive* non-zero bound the number of fraction digits is capped so a
 * value can never round onto the bound. Unbounded sides are capped at 16
 * integer digits (and 16 fraction digits, exponent ≤ 2 digits) so the model
 * cannot emit digits forever.
 */
import { altExpr, isAtom, seqExpr } from "./gbnf-text";

/** True when parentheses in `e` (outside literals and classes) balance without closing early. */
function balanced(e: string): boolean {
  let depth = 0;
  let mode: "" | "str" | "cls" = "";
  for (let i = 0; i < e.length; i++) {
    const c = e[i];
    if (c === "\\") { i++; continue; }
    if (mode === "str") { if (c === "\"") mode = ""; continue; }
    if (mode === "cls") { if (c === "]") mode = ""; continue; }
    if (c === "\"") mode = "str";
    else if (c === "[") mode = "cls";
    else if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return false;
  }
  return depth === 0;
}
import { type Schema, unsat, unsupported } from "./schema-keywords";

const MAX_DIGITS = 16;
const CAP = 10n ** BigInt(MAX_DIGITS);

export const INTEGER_GBNF = `"-"? ("0" | [1-9] [0-9]{0,${MAX_DIGITS - 1}})`;
export const NUMBER_GBNF = `"-"? ("0" | [1-9] [0-9]{0,${MAX_DIGITS - 1}}) ("." [0-9]{1,${MAX_DIGITS}})? ([eE] [-+]? [0-9]{1,2})?`;

const digitClass = (a: number, b: number) => (a === b ? `"${a}"` : `[${a}-${b}]`);
const opt = (e: string) => (isAtom(e) || /^\(.*\)$/.test(e) && balanced(e.slice(1, -1)) ? `${e}?` : `(${e})?`);
const more = (k: number) => (k === 0 ? "" : k === 1 ? "[0-9]" : `[0-9]{${k}}`);

/** Equal-length decimal strings x ≤ y: all strings of that length in [x, y]. */
function sameLen(x: string, y: string): string {
  if (x === y) return `"${x}"`;
  let i = 0;
  while (x[i] === y[i]) i++;
  const prefix = x.slice(0, i);
  const a = Number(x[i]);
  const b = Number(y[i]);
  const xr = x.slice(i + 1);
  const yr = y.slice(i + 1);
  const k = xr.length;
  const parts: string[] = [];
  if (k === 0) parts.push(digitClass(a, b));
  else {
    const lowFull = /^0*$/.test(xr);
    const highFull = /^9*$/.test(yr);
    const from = lowFull ? a : a + 1;
    const to = highFull ? b : b - 1;
    if (!lowFull) parts.push(seqExpr([`"${a}"`, sameLen(xr, "9".repeat(k))]));
    if (from <= to) parts.push(seqExpr([digitClass(from, to), more(k)]));
    if (!highFull) parts.push(seqExpr([`"${b}"`, sameLen("0".repeat(k), yr)]));
  }
  return seqExpr([prefix ? `"${prefix}"` : "", altExpr(parts)]);
}

/** Canonical decimal integers in [a, b], 0 ≤ a ≤ b. */
export function posRange(a: bigint, b: bigint): string {
  const parts: string[] = [];
  const la = a.toString().length;
  const lb = b.toString().length;
  let d = la;
  while (d <= lb) {
    const lo = d === la ? a : 10n ** BigInt(d - 1);
    const hi = d === lb ? b : 10n ** BigInt(d) - 1n;
    const full = (lo === 10n ** BigInt(d - 1) || (d === 1 && lo <= 1n)) && hi === 10n ** BigInt(d) - 1n;
    if (full && d > 1) {
      let e = d; // merge a run of fully covered lengths
      while (e + 1 < lb || (e + 1 === lb && b === 10n ** BigInt(lb) - 1n)) e++;
      parts.push(e === d ? `[1-9] ${more(d - 1)}` : `[1-9] [0-9]{${d - 1},${e - 1}}`);
      d = e + 1;
      continue;
    }
    parts.push(sameLen(lo.toString(), hi.toString()));
    d++;
  }
  return altExpr(parts);
}

/** Canonical integers in [lo, hi] (null = unbounded, capped at 16 digits). */
export function intRange(lo: bigint | null, hi: bigint | null): string {
  const l = lo ?? -(CAP - 1n);
  const h = hi ?? CAP - 1n;
  const parts: string[] = [];
  if (l < 0n) parts.push(seqExpr([`"-"`, posRange(h < 0n ? -h : 1n, -l)]));
  if (h >= 0n) parts.push(posRange(l > 0n ? l : 0n, h));
  return altExpr(parts);
}

interface Dec {
  neg: boolean;
  int: bigint;
  frac: string; // fraction digits without trailing zeros
}

/** Exact decimal value of the shortest representation of a double. */
export function toDec(x: number): Dec {
  const neg = x < 0 || Object.is(x, -0);
  const [mant, expStr] = Math.abs(x).toString().split("e");
  const exp = expStr ? Number(expStr) : 0;
  const [ip, fp = ""] = mant.split(".");
  let digits = ip + fp;
  let point = ip.length + exp;
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits + "0".repeat(point - digits.length);
  const int = BigInt(digits.slice(0, point) || "0");
  const frac = digits.slice(point).replace(/0+$/, "");
  return { neg: neg && (int !== 0n || frac !== ""), int, frac };
}

interface Bound {
  int: bigint;
  frac: string;
  excl: boolean;
}

const cmpMag = (a: Bound, b: Bound) => (a.int !== b.int ? (a.int < b.int ? -1 : 1) : a.frac.padEnd(20, "0") < b.frac.padEnd(20, "0") ? -1 : a.frac === b.frac ? 0 : a.frac.padEnd(20, "0") > b.frac.padEnd(20, "0") ? 1 : 0);

/** Optional fraction part ("." digits) whose digits d satisfy lo (<|≤) d (<|≤) hi lexicographically. */
function fraction(lo: string | null, loEx: boolean, hi: string | null, hiEx: boolean, cap: number): string | null {
  const dig = (s: string, i: number) => (i < s.length ? Number(s[i]) : 0);
  const rec = (i: number, tl: boolean, th: boolean): { end: boolean; alts: string[] } => {
    const end = (!tl || (!loEx && /^0*$/.test(lo!.slice(i)))) && (!th || !hiEx || !/^0*$/.test(hi!.slice(i)));
    const alts: string[] = [];
    if (i >= cap) return { end, alts };
    const r = cap - i;
    // Past the last digit of a bound: only zeros keep ≤ hi; anything keeps ≥ lo.
    if (th && !tl && i >= hi!.length) return hiEx ? { end: false, alts } : { end, alts: [r === 1 ? `"0"` : `"0"{1,${r}}`] };
    if (tl && !th && i >= lo!.length) {
      // ≥: any digits; >: some non-zero digit (written without trailing zeros).
      if (!loEx) return { end, alts: [r === 1 ? "[0-9]" : `[0-9]{1,${r}}`] };
      return { end, alts: [r === 1 ? "[1-9]" : `[0-9]{0,${r - 1}} [1-9]`] };
    }
    const dlo = tl ? dig(lo!, i) : 0;
    const dhi = th ? dig(hi!, i) : 9;
    let free: [number, number] | null = null;
    const flushFree = () => {
      if (free) alts.push(seqExpr([digitClass(free[0], free[1]), cap - i - 1 > 0 ? `[0-9]{0,${cap - i - 1}}` : ""]));
      free = null;
    };
    for (let d = dlo; d <= dhi; d++) {
      const ntl = tl && d === dlo;
      const nth = th && d === dhi;
      if (!ntl && !nth) {
        free = free ? [free[0], d] : [d, d];
        continue;
      }
      flushFree();
      const sub = rec(i + 1, ntl, nth);
      if (sub.alts.length) alts.push(seqExpr([`"${d}"`, sub.end ? opt(altExpr(sub.alts)) : altExpr(sub.alts)]));
      else if (sub.end) alts.push(`"${d}"`);
    }
    flushFree();
    return { end, alts };
  };
  const top = rec(0, lo !== null, hi !== null);
  if (!top.end && top.alts.length === 0) return null;
  if (top.alts.length === 0) return "";
  const body = seqExpr([`"."`, altExpr(top.alts)]);
  return top.end ? `(${body})?` : body;
}

/** Magnitudes (no sign) in the interval [L, H] as plain decimals. */
function magnitude(L: Bound, H: Bound, cap: number): string | null {
  const c = cmpMag(L, H);
  if (c > 0 || (c === 0 && (L.excl || H.excl))) return null;
  const lit = (n: bigint) => `"${n}"`;
  if (L.int === H.int) {
    const f = fraction(L.frac, L.excl, H.frac, H.excl, cap);
    return f === null ? null : seqExpr([lit(L.int), f]);
  }
  const parts: string[] = [];
  const fa = fraction(L.frac, L.excl, null, false, cap);
  if (fa !== null) parts.push(seqExpr([lit(L.int), fa]));
  if (H.int - L.int >= 2n) parts.push(seqExpr([posRange(L.int + 1n, H.int - 1n), `("." [0-9]{1,${cap}})?`]));
  const fc = fraction(null, false, H.frac, H.excl, cap);
  if (fc !== null) parts.push(seqExpr([lit(H.int), fc]));
  return parts.length ? altExpr(parts) : null;
}

/** Fraction digits that keep a value strictly away from an exclusive bound after rounding to double. */
function safeFractionDigits(v: Dec): number {
  const mag = Number(v.int) + Number(`0.${v.frac || "0"}`);
  if (mag === 0) return MAX_DIGITS;
  return Math.max(0, Math.min(MAX_DIGITS, Math.floor(Math.log10(2 ** 53 / (4 * mag)))));
}

/** GBNF for an integer or number schema with minimum / maximum / exclusive bounds. */
export function numberExpr(s: Schema, integer: boolean, ptr: string, param: string): string {
  if (s.format === "int32" || s.format === "int64") integer = true;
  if (s.multipleOf !== undefined) {
    if (s.multipleOf === 1) integer = true;
    else unsupported("multipleOf", ptr, param, "only multipleOf 1 can be enforced");
  }
  const pick = (inc: unknown, exc: unknown, lower: boolean): { v: number; excl: boolean } | null => {
    const i = typeof inc === "number" ? inc : null;
    const e = typeof exc === "number" ? exc : null;
    if (i === null && e === null) return null;
    if (e === null) return { v: i!, excl: false };
    if (i === null) return { v: e, excl: true };
    return lower ? (e >= i ? { v: e, excl: true } : { v: i, excl: false }) : e <= i ? { v: e, excl: true } : { v: i, excl: false };
  };
  let lo = pick(s.minimum, s.exclusiveMinimum, true);
  let hi = pick(s.maximum, s.exclusiveMaximum, false);
  if (s.format === "int32") {
    if (!lo || lo.v < -(2 ** 31)) lo = { v: -(2 ** 31), excl: false };
    if (!hi || hi.v > 2 ** 31 - 1) hi = { v: 2 ** 31 - 1, excl: false };
  }
  for (const [b, k] of [[lo, "minimum"], [hi, "maximum"]] as const) {
    if (b && Math.abs(b.v) > Number.MAX_SAFE_INTEGER) unsupported(k, ptr, param, "bounds beyond ±2^53 cannot be enforced exactly");
  }
  if (integer) {
    if (!lo && !hi) return INTEGER_GBNF;
    const l = lo ? BigInt(lo.excl ? Math.floor(lo.v) + 1 : Math.ceil(lo.v)) : null;
    const h = hi ? BigInt(hi.excl ? Math.ceil(hi.v) - 1 : Math.floor(hi.v)) : null;
    if (l !== null && h !== null && l > h) unsat(ptr, param, "no integer lies between minimum and maximum");
    return intRange(l, h);
  }
  if (!lo && !hi) return NUMBER_GBNF;
  const L = lo ? { ...toDec(lo.v), excl: lo.excl } : null;
  const H = hi ? { ...toDec(hi.v), excl: hi.excl } : null;
  let cap = MAX_DIGITS;
  for (const b of [L, H]) if (b?.excl) cap = Math.min(cap, safeFractionDigits(b));
  const implicit: Bound = { int: CAP, frac: "", excl: true };
  const parts: string[] = [];
  // x ≥ 0
  if (!H || !H.neg) {
    const lowPos: Bound = L && !L.neg ? L : { int: 0n, frac: "", excl: false };
    const m = magnitude(lowPos, H ?? implicit, cap);
    if (m !== null) parts.push(m);
  }
  // x < 0, as "-" magnitude
  if (!L || L.neg) {
    const lowMag: Bound = H && H.neg ? { int: H.int, frac: H.frac, excl: H.excl } : { int: 0n, frac: "", excl: true };
    const highMag: Bound = L ? { int: L.int, frac: L.frac, excl: L.excl } : implicit;
    const m = magnitude(lowMag, highMag, cap);
    if (m !== null) parts.unshift(seqExpr([`"-"`, m]));
  }
  if (parts.length === 0) unsat(ptr, param, "no number lies between minimum and maximum");
  return altExpr(parts);
}
