/**
 * Object grammars. Properties are emitted in a fixed order (propOrder first,
 * then declaration order); required ones always, optional ones optionally.
 * Additional properties (when allowed) come after the known ones and their
 * keys are guaranteed to differ from every known key. minProperties /
 * maxProperties are enforced by counting optional members.
 */
import { GrammarBuilder } from "./gbnf-builder";
import { type CpSet, complementSet, jsonCharExpr, jsonEscapeCp, gbnfLiteral, jsonStringLiteral, seqExpr } from "./gbnf-text";
import { QUOTE, charRule } from "./json-strings";
import { type Schema, UnsatisfiableError, isObj, nonNegInt, ptrJoin, unsat, unsupported } from "./schema-keywords";

export interface Ctx {
  b: GrammarBuilder;
  param: string;
  /** The whitespace rule name, or "" in compact mode. */
  ws: string;
  allowAdditional: boolean;
  propOrder: string[];
  compile(schema: unknown, ptr: string, hint: string, depth: number): string;
  anyValue(): string;
  anyString(): string;
}

/** Compile, or null when the subschema is unsatisfiable (its rules rolled back). */
export function tryCompile(ctx: Ctx, schema: unknown, ptr: string, hint: string, depth: number): string | null {
  const mark = ctx.b.mark();
  try {
    return ctx.compile(schema, ptr, hint, depth);
  } catch (e) {
    if (!(e instanceof UnsatisfiableError)) throw e;
    ctx.b.rollback(mark);
    return null;
  }
}

/** Content of a JSON string (with quotes) that is none of `keys`. */
function keyNotIn(ctx: Ctx, keys: string[], hint: string): string {
  if (keys.length === 0) return ctx.anyString();
  interface Node { children: Map<number, Node>; terminal: boolean }
  const root: Node = { children: new Map(), terminal: false };
  for (const k of keys) {
    let n = root;
    for (const ch of k) {
      const cp = ch.codePointAt(0)!;
      if (!n.children.has(cp)) n.children.set(cp, { children: new Map(), terminal: false });
      n = n.children.get(cp)!;
    }
    n.terminal = true;
  }
  const char = charRule(ctx.b);
  // A terminal node must not end there: its rule has no empty alternative; a
  // non-terminal node may end (the key is a proper prefix or another string).
  const emitNode = (n: Node): string => {
    const alts: string[] = [];
    for (const cp of [...n.children.keys()].sort((a, b) => a - b)) alts.push(seqExpr([gbnfLiteral(jsonEscapeCp(cp)), emitNode(n.children.get(cp)!)]));
    const others: CpSet = complementSet([...n.children.keys()].map((c) => [c, c] as [number, number]));
    alts.push(`${jsonCharExpr(others)} ${char}*`);
    const name = ctx.b.add(`${hint}-key`, alts.join(" | "));
    return n.terminal ? name : `${name}?`;
  };
  return seqExpr([QUOTE, emitNode(root), QUOTE]);
}

interface Member {
  kv: string; // rule for `"key" ws ":" ws value`
  required: boolean;
}

export function objectExpr(ctx: Ctx, s: Schema, ptr: string, hint: string, depth: number): string {
  const { b, param, ws } = ctx;
  const props = (s.properties ?? {}) as Schema;
  const required = new Set((s.required ?? []) as string[]);
  const ap = s.additionalProperties;
  if (ap !== undefined && typeof ap !== "boolean" && !isObj(ap)) unsupported("additionalProperties", ptr, param, "must be a boolean or a schema");
  // Absent additionalProperties: none generated unless allowAdditionalByDefault, except
  // for a free-form object (no properties, no required), which takes any members.
  const freeForm = s.properties === undefined && s.required === undefined;
  let addSchema: unknown = ap === undefined ? ctx.allowAdditional || freeForm : ap;
  const minP = nonNegInt(s, "minProperties", ptr, param) ?? 0;
  const maxP = nonNegInt(s, "maxProperties", ptr, param) ?? Infinity;
  if (minP > maxP) unsat(ptr, param, "minProperties is greater than maxProperties");

  const colon = seqExpr([ws, `":"`, ws]);
  const kvRule = (key: string, value: string) => b.add(`${hint}-${key}-kv`, seqExpr([jsonStringLiteral(key), colon, value]));

  const order = [...ctx.propOrder.filter((k) => k in props), ...Object.keys(props).filter((k) => !ctx.propOrder.includes(k))];
  const members: Member[] = [];
  const known: string[] = [];
  for (const key of order) {
    known.push(key);
    const value = tryCompile(ctx, props[key], ptrJoin(ptr, "properties", key), `${hint}-${key}`, depth + 1);
    if (value === null) {
      if (required.has(key)) unsat(ptr, param, `required property "${key}" admits no value`);
      continue;
    }
    members.push({ kv: kvRule(key, value), required: required.has(key) });
  }
  let addValue: string | null = null;
  if (addSchema !== false) {
    addValue = tryCompile(ctx, addSchema, ptrJoin(ptr, "additionalProperties"), `${hint}-additional`, depth + 1);
    if (addValue === null) addSchema = false;
  }
  for (const key of required) {
    if (key in props) continue;
    // A required key without a property schema: its value follows additionalProperties
    // (absent: any value — the no-extras policy only concerns unnamed members).
    let value = addValue;
    if (value === null && ap === undefined) value = ctx.anyValue();
    if (value === null) unsat(ptr, param, `required property "${key}" is not allowed`);
    known.push(key);
    members.push({ kv: kvRule(key, value), required: true });
  }
  const addKv = addValue === null ? null : b.add(`${hint}-additional-kv`, seqExpr([keyNotIn(ctx, known, `${hint}-additional`), colon, addValue]));

  const r = members.filter((m) => m.required).length;
  const o = members.length - r;
  if (addKv !== null && minP > r + o) unsupported("minProperties", ptr, param, "would require additional properties, whose keys cannot be kept distinct");
  const kMin = Math.max(0, minP - r);
  const kMax = Math.min(o, maxP - r);
  if (kMax < kMin || (addKv === null && r + kMin > maxP)) unsat(ptr, param, "minProperties/maxProperties cannot be met");
  const counting = kMin > 0 || kMax < o || (addKv !== null && maxP < Infinity);
  if (counting && members.length * (o + 1) > 4000) unsupported("maxProperties", ptr, param, "too many optional properties to count");

  const sep = seqExpr([`","`, ws]);
  const item = (m: Member) => seqExpr([m.kv, ws]);
  const memo = new Map<string, string | null>();
  const ruleize = (expr: string, key: string) => (expr.length > 120 ? b.add(`${hint}-${key}`, expr) : expr);
  const gen = (i: number, k: number, started: boolean): string | null => {
    const key = `${i},${counting ? k : 0},${started}`;
    if (memo.has(key)) return memo.get(key)!;
    let out: string | null;
    if (i === members.length) {
      if (counting && k < kMin) out = null;
      else if (addKv === null) out = "";
      else {
        const room = counting ? maxP - r - k : Infinity;
        const unit = seqExpr([addKv, ws]);
        if (room <= 0) out = "";
        else if (started) out = b.repeat(`${hint}-more`, seqExpr([sep, unit]), 0, room);
        else out = `(${seqExpr([unit, b.repeat(`${hint}-more`, seqExpr([sep, unit]), 0, room - 1)])})?`;
      }
    } else {
      const m = members[i];
      const pre = started ? sep : "";
      if (m.required) {
        const next = gen(i + 1, k, true);
        out = next === null ? null : seqExpr([pre, item(m), next]);
      } else {
        const take = !counting || k < kMax ? gen(i + 1, k + 1, true) : null;
        const skip = gen(i + 1, k, started);
        if (take !== null && skip !== null && started && !counting && take === skip) {
          out = seqExpr([`(${seqExpr([pre, item(m)])})?`, take]);
        } else {
          const alts = [take === null ? null : seqExpr([pre, item(m), take]), skip].filter((x): x is string => x !== null);
          const nonEmpty = alts.filter((a) => a !== "");
          if (alts.length === 0) out = null;
          else if (nonEmpty.length === 0) out = "";
          else {
            const body = nonEmpty.length === 1 ? nonEmpty[0] : `(${nonEmpty.join(" | ")})`;
            out = nonEmpty.length < alts.length ? `(${body})?` : body;
          }
        }
      }
      if (out !== null && out !== "") out = ruleize(out, `rest${i}`);
    }
    memo.set(key, out);
    return out;
  };
  const body = gen(0, 0, false);
  if (body === null) unsat(ptr, param, "minProperties/maxProperties cannot be met");
  return b.add(hint, seqExpr([`"{"`, ws, body, `"}"`]));
}

