/**
 * JSON Schema → GBNF (llama.cpp grammar) compiler that fails closed: every
 * string the grammar accepts is a JSON document valid against the schema.
 * Keywords that cannot be enforced exactly are refused with an
 * InvalidRequestError(…, "response_format", "unsupported_schema") naming the
 * keyword and the JSON pointer; limits are enforced; output is deterministic.
 *
 * Deliberate narrowings (the grammar accepts a subset of valid documents):
 * - properties appear in a fixed order (propOrder, then declaration order),
 *   additional properties after the declared ones;
 * - strings use the canonical JSON.stringify escaping (one spelling per character);
 * - numbers have at most 16 integer and 16 fraction digits, exponents only when
 *   unbounded, and near an exclusive bound few enough digits not to round onto it;
 * - additionalProperties / items after prefixItems that are *absent* from the
 *   schema are not generated unless `allowAdditionalByDefault` is set — except
 *   for a free-form object (no properties, no required), which takes any members,
 *   and required keys without a property schema, which take any value;
 * - an untyped schema with type-specific keywords (e.g. only `properties`)
 *   generates only the types those keywords are about;
 * - maxLength on a pattern/format that it does not fit exactly is applied by
 *   capping repetitions (every accepted string still fits);
 * - object enum/const values are written with their keys in the order given.
 */
import { InvalidRequestError } from "../shared/errors";
import { GrammarBuilder } from "./gbnf-builder";
import { findLeftRecursion, parseGbnf, productiveRules, GT } from "./gbnf-parser";
import { altExpr, gbnfLiteral, jsonStringLiteral, seqExpr } from "./gbnf-text";
import { arrayExpr } from "./json-arrays";
import { INTEGER_GBNF, NUMBER_GBNF, numberExpr } from "./json-numbers";
import { type Ctx, objectExpr, tryCompile } from "./json-objects";
import { QUOTE, charRule, stringExpr } from "./json-strings";
import { type Env, canon, checkExclusive, normalize } from "./schema-merge";
import {
  type Schema, assertionKeys, checkKeywords, COMPOSITION, invalidSchema, isObj, outputTypes, ptrJoin, resolveRef,
  typeOfValue, UnsatisfiableError, unsat, unsupported, showPtr,
} from "./schema-keywords";
import { miniValidate } from "./schema-merge";

export interface CompileOptions {
  /** Property names to emit first, in this order (others follow in declaration order). */
  propOrder?: string[];
  /** "compact" (default): no whitespace; "flexible": up to 20 of [ \t\n] between tokens. */
  whitespace?: "compact" | "flexible";
  /**
   * When additionalProperties (or items after prefixItems) is absent, allow
   * extra members (any JSON value). Default false: absent means none are generated.
   */
  allowAdditionalByDefault?: boolean;
  /** Largest accepted schema (JSON text, bytes). Default 256 KiB. */
  maxSchemaBytes?: number;
  /** Deepest accepted schema nesting. Default 64. */
  maxDepth?: number;
  /** Most grammar rules emitted. Default 5000. */
  maxRules?: number;
  /** The request field named in errors. Default "response_format". */
  param?: string;
}

const WS_RULE = "[ \\t\\n]{0,20}";

class Compiler implements Ctx {
  readonly b: GrammarBuilder;
  readonly param: string;
  readonly ws: string;
  readonly allowAdditional: boolean;
  readonly propOrder: string[];
  readonly env: Env;
  private readonly refs = new Map<string, string>();
  private readonly prims = new Map<string, string>();

  constructor(readonly root: unknown, readonly opts: Required<CompileOptions>) {
    this.param = opts.param;
    this.b = new GrammarBuilder(opts.maxRules, opts.param);
    this.b.reserve("root");
    this.ws = opts.whitespace === "flexible" ? "ws" : "";
    if (this.ws) this.b.define(this.b.reserve("ws"), WS_RULE);
    this.allowAdditional = opts.allowAdditionalByDefault;
    this.propOrder = opts.propOrder;
    this.env = { root, param: opts.param, allowAdditional: opts.allowAdditionalByDefault, maxAlternatives: 64 };
  }

  private prim(name: string, body: () => string): string {
    const have = this.prims.get(name);
    if (have) return have;
    const rule = this.b.reserve(name);
    this.b.remember(this.prims, name, rule);
    this.b.define(rule, body());
    return rule;
  }

  anyString(): string {
    return this.prim("string", () => seqExpr([QUOTE, `${charRule(this.b)}*`, QUOTE]));
  }

  anyValue(): string {
    const have = this.prims.get("value");
    if (have) return have;
    const value = this.b.reserve("value");
    this.b.remember(this.prims, "value", value);
    const ws = this.ws;
    const str = this.anyString();
    const member = seqExpr([str, ws, `":"`, ws, value, ws]);
    const object = this.prim("object", () => seqExpr([`"{"`, ws, `(${seqExpr([member, `(${seqExpr([`","`, ws, member])})*`])})?`, `"}"`]));
    const element = seqExpr([value, ws]);
    const array = this.prim("array", () => seqExpr([`"["`, ws, `(${seqExpr([element, `(${seqExpr([`","`, ws, element])})*`])})?`, `"]"`]));
    const number = this.prim("number", () => NUMBER_GBNF);
    this.b.define(value, `${object} | ${array} | ${str} | ${number} | "true" | "false" | "null"`);
    return value;
  }

  compile(schema: unknown, ptr: string, hint: string, depth: number): string {
    if (depth > this.opts.maxDepth) {
      throw new InvalidRequestError(`JSON Schema nesting exceeds maxDepth=${this.opts.maxDepth} at ${showPtr(ptr)}`, this.param, "unsupported_schema");
    }
    if (schema === true) return this.anyValue();
    if (schema === false) unsat(ptr, this.param, "the schema is false");
    if (!isObj(schema)) invalidSchema(ptr, this.param, "a schema must be an object or a boolean");
    checkKeywords(schema, ptr, this.param, ptr === "");
    const assertive = assertionKeys(schema);
    const composite = COMPOSITION.filter((k) => schema[k] !== undefined);
    if (schema.$ref !== undefined && composite.length === 0 && assertive.length === 0) return this.refRule(schema.$ref, ptr, depth);
    if (schema.$ref === undefined && composite.length === 0 && assertive.length === 0) return this.anyValue();
    if (schema.$ref === undefined && assertive.length === 0 && composite.length === 1 && composite[0] !== "allOf") {
      // anyOf / oneOf of independent branches: compile each as is (keeps recursive $refs as rule references).
      const key = composite[0];
      const branches = schema[key];
      if (!Array.isArray(branches) || branches.length === 0) invalidSchema(ptr, this.param, `${key} must be a non-empty array`);
      if (key === "oneOf") {
        checkExclusive(branches.map((br, i) => normalize(br, ptrJoin(ptr, key, i), this.env)), ptr, this.env);
      }
      const alts = branches.map((br, i) => tryCompile(this, br, ptrJoin(ptr, key, i), `${hint}-${i}`, depth + 1)).filter((x): x is string => x !== null);
      if (alts.length === 0) unsat(ptr, this.param, `no ${key} branch is satisfiable`);
      return altExpr(alts);
    }
    if (schema.$ref !== undefined || composite.length > 0) {
      const flats = normalize(schema, ptr, this.env);
      const alts = flats.map((f, i) => tryCompile(this, f.s, f.ptr, flats.length > 1 ? `${hint}-${i}` : hint, depth + 1));
      const ok = alts.filter((x): x is string => x !== null);
      if (ok.length === 0) unsat(ptr, this.param, "no combination of allOf/anyOf/oneOf branches is satisfiable");
      return altExpr(ok);
    }
    return this.flat(canon(schema, ptr, this.param), ptr, hint, depth);
  }

  private refRule(ref: unknown, ptr: string, depth: number): string {
    const key = String(ref);
    const have = this.refs.get(key);
    if (have) return have;
    const target = resolveRef(this.root, ref, ptr, this.param);
    const segs = target.ptr.split("/").filter(Boolean).map((x) => x.replace(/~1/g, "/").replace(/~0/g, "~"));
    const hint = segs.length ? `ref-${segs[segs.length - 1]}` : "ref-root";
    const name = this.b.reserve(hint);
    this.b.remember(this.refs, key, name);
    this.b.define(name, this.compile(target.schema, target.ptr, hint, depth + 1));
    return name;
  }

  private flat(s: Schema, ptr: string, hint: string, depth: number): string {
    if (Array.isArray(s.enum)) return this.enumExpr(s, ptr);
    const types = outputTypes(s, ptr, this.param);
    if (types.has("number")) types.delete("integer");
    const alts: string[] = [];
    for (const t of ["object", "array", "string", "number", "integer", "boolean", "null"] as const) {
      if (!types.has(t)) continue;
      const mark = this.b.mark();
      try {
        alts.push(this.typed(t, s, ptr, hint, depth));
      } catch (e) {
        if (!(e instanceof UnsatisfiableError)) throw e;
        this.b.rollback(mark);
      }
    }
    if (alts.length === 0) unsat(ptr, this.param, "no type admits a value");
    return altExpr(alts);
  }

  private typed(t: string, s: Schema, ptr: string, hint: string, depth: number): string {
    switch (t) {
      case "object": return objectExpr(this, s, ptr, hint, depth);
      case "array": return arrayExpr(this, s, ptr, hint, depth);
      case "string": {
        const e = stringExpr(s, this.b, ptr, hint);
        return e === seqExpr([QUOTE, `${charRule(this.b)}*`, QUOTE]) ? this.anyString() : e;
      }
      case "number": case "integer": {
        const e = numberExpr(s, t === "integer", ptr, this.param);
        if (e === INTEGER_GBNF) return this.prim("integer", () => INTEGER_GBNF);
        if (e === NUMBER_GBNF) return this.prim("number", () => NUMBER_GBNF);
        return this.b.add(`${hint}-${t}`, e);
      }
      case "boolean": return this.prim("boolean", () => `"true" | "false"`);
      default: return this.prim("null", () => `"null"`);
    }
  }

  private enumExpr(s: Schema, ptr: string): string {
    const declared = s.type === undefined ? null : (s.type as string[]);
    const others = Object.keys(s).filter((k) => k !== "enum" && k !== "type");
    const values = (s.enum as unknown[]).filter((v) => {
      const t = typeOfValue(v);
      if (declared && !declared.includes(t) && !(t === "integer" && declared.includes("number"))) return false;
      if (others.length === 0) return true;
      const ok = miniValidate(v, s);
      if (ok === undefined) unsupported(others[0], ptr, this.param, `cannot be checked against the enum values`);
      return ok;
    });
    if (values.length === 0) unsat(ptr, this.param, "no enum value satisfies the schema");
    return altExpr([...new Set(values.map((v) => JSON.stringify(v)))].map((j) => this.literal(JSON.parse(j))));
  }

  /** Exactly this JSON value (with optional whitespace between tokens in flexible mode). */
  private literal(v: unknown): string {
    const ws = this.ws;
    if (Array.isArray(v)) {
      if (v.length === 0) return seqExpr([`"["`, ws, `"]"`]);
      return seqExpr([`"["`, ws, ...v.flatMap((el, i) => [i ? `","` : "", i ? ws : "", this.literal(el), ws]), `"]"`]);
    }
    if (isObj(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0) return seqExpr([`"{"`, ws, `"}"`]);
      return seqExpr([`"{"`, ws, ...keys.flatMap((k, i) => [i ? `","` : "", i ? ws : "", jsonStringLiteral(k), ws, `":"`, ws, this.literal(v[k]), ws]), `"}"`]);
    }
    return gbnfLiteral(JSON.stringify(v));
  }
}

function checkSize(schema: unknown, maxBytes: number, param: string): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(schema);
  } catch {
    throw new InvalidRequestError("JSON Schema is not serialisable JSON (cyclic or too deep)", param, "invalid_schema");
  }
  if (text === undefined) throw new InvalidRequestError("JSON Schema must be an object or a boolean", param, "invalid_schema");
  if (new TextEncoder().encode(text).length > maxBytes) {
    throw new InvalidRequestError(`JSON Schema exceeds maxSchemaBytes=${maxBytes}`, param, "unsupported_schema");
  }
}

/** Refuse grammars with a reachable rule that cannot finish (e.g. infinitely recursive required refs). */
function checkFinite(text: string, param: string): void {
  const g = parseGbnf(text);
  const rec = findLeftRecursion(g);
  if (rec >= 0) {
    throw new InvalidRequestError(
      `unsupported JSON Schema: $ref recursion that does not pass through an object or array (rule "${g.names[g.owner[rec] ?? rec]}")`,
      param,
      "unsupported_schema",
    );
  }
  const prod = productiveRules(g);
  const root = g.symbolIds.get("root")!;
  const seen = new Set<number>([root]);
  const todo = [root];
  while (todo.length) {
    const id = todo.pop()!;
    if (!prod[id]) {
      const owner = g.names[g.owner[id] ?? id];
      throw new InvalidRequestError(`schema is unsatisfiable: rule "${owner}" admits no finite JSON document (unbounded required recursion)`, param, "unsupported_schema");
    }
    for (const el of g.rules[id]) {
      if (el.type === GT.RULE_REF && !seen.has(el.value)) {
        seen.add(el.value);
        todo.push(el.value);
      }
    }
  }
}

/** Compile a JSON Schema into a GBNF grammar whose start rule is `root`. */
export function jsonSchemaToGbnf(schema: unknown, options: CompileOptions = {}): string {
  const opts: Required<CompileOptions> = {
    propOrder: options.propOrder ?? [],
    whitespace: options.whitespace ?? "compact",
    allowAdditionalByDefault: options.allowAdditionalByDefault ?? false,
    maxSchemaBytes: options.maxSchemaBytes ?? 256 * 1024,
    maxDepth: options.maxDepth ?? 64,
    maxRules: options.maxRules ?? 5000,
    param: options.param ?? "response_format",
  };
  checkSize(schema, opts.maxSchemaBytes, opts.param);
  const c = new Compiler(schema, opts);
  const body = c.compile(schema, "", "root", 0);
  c.b.define("root", body);
  const text = c.b.render();
  checkFinite(text, opts.param);
  return text;
}

/** GBNF for any JSON value (start rule `root`). */
export function jsonValueGbnf(options: Pick<CompileOptions, "whitespace"> = {}): string {
  return jsonSchemaToGbnf(true, { whitespace: options.whitespace ?? "flexible" });
}

/** GBNF for any JSON object, for response_format {type: "json_object"} (flexible whitespace). */
export const JSON_ANY_OBJECT_GBNF: string = jsonSchemaToGbnf({ type: "object", additionalProperties: true }, { whitespace: "flexible" });

