/**
 * Flattening of composition: allOf is merged exactly (as a conjunction of
 * keywords), anyOf / oneOf distribute into alternatives, $ref with siblings is
 * treated as allOf. oneOf is accepted only when its branches are provably
 * mutually exclusive (then it equals anyOf); otherwise it is refused.
 */
import {
  ANNOTATIONS, COMPOSITION, type Schema, UnsatisfiableError, canonicalJson, checkKeywords, invalidSchema, isObj, outputTypes,
  ptrJoin, resolveRef, semanticTypes, typeOfValue, unsat, unsupported, showPtr,
} from "./schema-keywords";
import { InvalidRequestError } from "../shared/errors";

export interface Env {
  root: unknown;
  param: string;
  allowAdditional: boolean;
  maxAlternatives: number;
}

export interface Flat {
  s: Schema;
  ptr: string;
}

/** Normalise keyword spellings: nullable, const, draft-4 exclusive bounds, draft-7 tuple items. */
export function canon(schema: Schema, ptr: string, param: string): Schema {
  const s: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$ref" || COMPOSITION.includes(k) || ANNOTATIONS.has(k) || k.startsWith("x-")) continue;
    if (k === "patternProperties" || k === "dependentRequired" || k === "dependentSchemas" || k === "dependencies") continue;
    s[k] = v;
  }
  if (s.type !== undefined) {
    const t = Array.isArray(s.type) ? [...s.type] : [s.type];
    if (s.nullable === true && !t.includes("null")) t.push("null");
    s.type = t;
  }
  delete s.nullable;
  if ("const" in s) {
    const c = s.const;
    delete s.const;
    const en = s.enum === undefined ? [c] : (s.enum as unknown[]);
    if (!Array.isArray(en)) invalidSchema(ptr, param, "enum must be an array");
    s.enum = en.filter((v) => canonicalJson(v) === canonicalJson(c));
  }
  if (s.enum !== undefined && !Array.isArray(s.enum)) invalidSchema(ptr, param, "enum must be an array");
  for (const [ex, base] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]] as const) {
    if (typeof s[ex] === "boolean") {
      if (s[ex] === true && typeof s[base] === "number") s[ex] = s[base];
      else delete s[ex];
      if (s[ex] !== undefined) delete s[base];
    }
    for (const k of [ex, base]) if (s[k] !== undefined && (typeof s[k] !== "number" || !Number.isFinite(s[k]))) invalidSchema(ptr, param, `${k} must be a number`);
  }
  if (Array.isArray(s.items)) {
    if (s.prefixItems !== undefined) invalidSchema(ptr, param, "items must be a schema when prefixItems is present");
    s.prefixItems = s.items;
    if (s.additionalItems !== undefined) s.items = s.additionalItems;
    else delete s.items;
  }
  delete s.additionalItems;
  if (s.prefixItems !== undefined && !Array.isArray(s.prefixItems)) invalidSchema(ptr, param, "prefixItems must be an array");
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || s.required.some((r) => typeof r !== "string")) invalidSchema(ptr, param, "required must be an array of strings");
    s.required = [...new Set(s.required as string[])];
  }
  if (s.properties !== undefined && !isObj(s.properties)) invalidSchema(ptr, param, "properties must be an object");
  if (s.uniqueItems === false) delete s.uniqueItems;
  return s;
}

const both = (a: unknown, b: unknown): unknown =>
  a === undefined ? b : b === undefined ? a : canonicalJson(a) === canonicalJson(b) ? a : a === true ? b : b === true ? a : { allOf: [a, b] };

/** The conjunction of two flat canonical schemas (throws UnsatisfiableError on contradiction). */
export function mergeFlat(a: Schema, b: Schema, ptr: string, param: string): Schema {
  const out: Schema = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (cur === undefined) {
      out[k] = v;
      continue;
    }
    switch (k) {
      case "type": {
        const tb = v as string[];
        const t = (cur as string[]).flatMap((x) =>
          tb.includes(x) ? [x] : x === "number" && tb.includes("integer") ? ["integer"] : x === "integer" && tb.includes("number") ? ["integer"] : []);
        if (t.length === 0) unsat(ptr, param, "allOf requires disjoint types");
        out.type = [...new Set(t)];
        break;
      }
      case "enum": {
        const keys = new Set((v as unknown[]).map(canonicalJson));
        out.enum = (cur as unknown[]).filter((x) => keys.has(canonicalJson(x)));
        break;
      }
      case "minLength": case "minItems": case "minProperties": case "minimum": case "exclusiveMinimum":
        out[k] = Math.max(cur as number, v as number);
        break;
      case "maxLength": case "maxItems": case "maxProperties": case "maximum": case "exclusiveMaximum":
        out[k] = Math.min(cur as number, v as number);
        break;
      case "required":
        out.required = [...new Set([...(cur as string[]), ...(v as string[])])];
        break;
      case "uniqueItems":
        out.uniqueItems = cur === true || v === true;
        break;
      case "items":
        out.items = both(cur, v);
        break;
      case "properties": case "additionalProperties": case "prefixItems":
        break; // handled below
      default:
        if (canonicalJson(cur) !== canonicalJson(v)) unsupported(k, ptr, param, "conflicting values in allOf cannot be combined");
    }
  }
  if (a.properties !== undefined || b.properties !== undefined || a.additionalProperties !== undefined || b.additionalProperties !== undefined) {
    const pa = (a.properties ?? {}) as Schema;
    const pb = (b.properties ?? {}) as Schema;
    const props: Schema = {};
    const extra = (x: Schema, ap: unknown, k: string): unknown => (k in x ? true : ap === undefined ? true : ap);
    for (const k of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
      const sa = k in pa ? pa[k] : extra(pa, a.additionalProperties, k);
      const sb = k in pb ? pb[k] : extra(pb, b.additionalProperties, k);
      props[k] = sa === false || sb === false ? false : both(sa, sb);
    }
    out.properties = props;
    const aa = a.additionalProperties;
    const ab = b.additionalProperties;
    if (aa === undefined && ab === undefined) delete out.additionalProperties;
    else out.additionalProperties = aa === false || ab === false ? false : both(aa ?? true, ab ?? true);
  }
  if (a.prefixItems !== undefined || b.prefixItems !== undefined) {
    const xa = (a.prefixItems ?? []) as unknown[];
    const xb = (b.prefixItems ?? []) as unknown[];
    const at = (x: unknown[], rest: unknown, i: number) => (i < x.length ? x[i] : rest === undefined ? true : rest);
    out.prefixItems = Array.from({ length: Math.max(xa.length, xb.length) }, (_, i) => both(at(xa, a.items, i), at(xb, b.items, i)));
  }
  if (Array.isArray(out.enum) && out.enum.length === 0) unsat(ptr, param, "allOf has no common enum value");
  return out;
}

/** Flatten `schema` into alternatives without composition or $ref at the top. */
export function normalize(schema: unknown, ptr: string, env: Env, refStack: string[] = []): Flat[] {
  if (schema === true) return [{ s: {}, ptr }];
  if (schema === false) return [];
  if (!isObj(schema)) invalidSchema(ptr, env.param, "a schema must be an object or a boolean");
  checkKeywords(schema, ptr, env.param, ptr === "");
  let alts: Flat[] = [{ s: canon(schema, ptr, env.param), ptr }];
  const cross = (xs: Flat[], ys: Flat[]): Flat[] => {
    const out: Flat[] = [];
    for (const x of xs) {
      for (const y of ys) {
        try {
          out.push({ s: mergeFlat(x.s, y.s, y.ptr, env.param), ptr: x.ptr });
        } catch (e) {
          if (!(e instanceof UnsatisfiableError)) throw e;
        }
      }
    }
    if (out.length > env.maxAlternatives) {
      throw new InvalidRequestError(`JSON Schema too complex at ${showPtr(ptr)}: combining allOf/anyOf/oneOf gives more than ${env.maxAlternatives} alternatives`, env.param, "unsupported_schema");
    }
    return out;
  };
  const list = (k: string): unknown[] => {
    const v = schema[k];
    if (!Array.isArray(v) || v.length === 0) invalidSchema(ptr, env.param, `${k} must be a non-empty array`);
    return v;
  };
  if (schema.$ref !== undefined) {
    const ref = String(schema.$ref);
    if (refStack.includes(ref)) unsupported("$ref", ptr, env.param, "a recursive reference cannot be merged with sibling keywords or allOf");
    const t = resolveRef(env.root, schema.$ref, ptr, env.param);
    alts = cross(alts, normalize(t.schema, t.ptr, env, [...refStack, ref]));
  }
  if (schema.allOf !== undefined) list("allOf").forEach((m, i) => (alts = cross(alts, normalize(m, ptrJoin(ptr, "allOf", i), env, refStack))));
  if (schema.anyOf !== undefined) alts = cross(alts, list("anyOf").flatMap((m, i) => normalize(m, ptrJoin(ptr, "anyOf", i), env, refStack)));
  if (schema.oneOf !== undefined) {
    const groups = list("oneOf").map((m, i) => cross(alts, normalize(m, ptrJoin(ptr, "oneOf", i), env, refStack)));
    checkExclusive(groups, ptr, env);
    alts = groups.flat();
  }
  return alts;
}

/** Throws unless every alternative of each group excludes every alternative of the others. */
export function checkExclusive(groups: Flat[][], ptr: string, env: Env): void {
  for (let i = 0; i < groups.length; i++) {
    for (let j = 0; j < groups.length; j++) {
      if (i === j) continue;
      for (const x of groups[i]) {
        for (const y of groups[j]) {
          if (!excludes(x.s, y.s, env, 0)) {
            unsupported("oneOf", ptr, env.param, `branches ${i} and ${j} are not provably mutually exclusive; use anyOf or add a discriminating const property`);
          }
        }
      }
    }
  }
}

function inspect(schema: unknown, env: Env): Schema[] | null {
  try {
    return normalize(schema, "", env).map((f) => f.s);
  } catch {
    return null;
  }
}

function valueTypes(s: Schema, out: boolean, env: Env): Set<string> {
  if (Array.isArray(s.enum)) return new Set(s.enum.map(typeOfValue).flatMap((t) => (t === "integer" ? ["integer", "number"] : [t])));
  const t = out ? outputTypes(s, "", env.param) : semanticTypes(s, "", env.param);
  if (t.has("integer") || t.has("number")) t.add("integer");
  return t;
}

/** True when no instance the compiler generates for `x` is valid against `y`. */
export function excludes(x: Schema, y: Schema, env: Env, depth: number): boolean {
  if (depth > 4) return false;
  const tx = valueTypes(x, true, env);
  const ty = valueTypes(y, false, env);
  const overlap = [...tx].filter((t) => ty.has(t) || (t === "integer" && ty.has("number")));
  if (overlap.length === 0) return true;
  if (Array.isArray(x.enum)) return x.enum.every((v) => miniValidate(v, y) === false);
  // y admits only its enum values: none of them valid against x means no overlap.
  if (Array.isArray(y.enum) && y.enum.every((v) => miniValidate(v, x) === false)) return true;
  if (overlap.every((t) => t === "object")) {
    const px = (x.properties ?? {}) as Schema;
    const py = (y.properties ?? {}) as Schema;
    for (const k of (x.required ?? []) as string[]) {
      if (py[k] === false) return true;
      if (y.additionalProperties === false && !(k in py)) return true;
      if (k in px && k in py) {
        const xs = inspect(px[k], env);
        const ys = inspect(py[k], env);
        if (xs && ys && xs.every((a) => ys.every((b) => excludes(a, b, env, depth + 1)))) return true;
      }
    }
    // Keys x may write beyond its declared properties: additional ones, and required ones without a schema.
    const freeForm = x.properties === undefined && x.required === undefined;
    const xAdds = x.additionalProperties === true || isObj(x.additionalProperties) ||
      (x.additionalProperties === undefined && (env.allowAdditional || freeForm));
    const xRequired = new Set((x.required ?? []) as string[]);
    for (const j of (y.required ?? []) as string[]) {
      if ((!(j in px) || px[j] === false) && !xRequired.has(j) && !xAdds) return true;
    }
  }
  return false;
}

const codePoints = (s: string) => [...s].length;

/** Validate a concrete value against a flat schema: true, false, or undefined when unsure. */
export function miniValidate(v: unknown, s: unknown): boolean | undefined {
  if (s === true) return true;
  if (s === false) return false;
  if (!isObj(s)) return undefined;
  let result = true as boolean | undefined;
  const note = (r: boolean | undefined) => {
    if (r === false) result = false;
    else if (r === undefined && result === true) result = undefined;
  };
  const t = typeOfValue(v);
  for (const [k, kv] of Object.entries(s)) {
    if (result === false) break;
    if (k.startsWith("x-") || ["title", "description", "examples", "default", "$comment", "deprecated", "readOnly", "writeOnly"].includes(k)) continue;
    switch (k) {
      case "type": {
        const ts = Array.isArray(kv) ? kv : [kv];
        note(ts.includes(t) || (t === "integer" && ts.includes("number")) || (v === null && s.nullable === true));
        break;
      }
      case "nullable": break;
      case "enum": note(Array.isArray(kv) && kv.some((e) => canonicalJson(e) === canonicalJson(v))); break;
      case "const": note(canonicalJson(kv) === canonicalJson(v)); break;
      case "minLength": if (typeof v === "string") note(codePoints(v) >= (kv as number)); break;
      case "maxLength": if (typeof v === "string") note(codePoints(v) <= (kv as number)); break;
      case "pattern":
        if (typeof v === "string") {
          try { note(new RegExp(String(kv), "u").test(v)); } catch { note(undefined); }
        }
        break;
      case "minimum": if (typeof v === "number") note(v >= (kv as number)); break;
      case "maximum": if (typeof v === "number") note(v <= (kv as number)); break;
      case "exclusiveMinimum":
        if (typeof v === "number") note(typeof kv === "number" ? v > kv : kv === true ? v > (s.minimum as number) : true);
        break;
      case "exclusiveMaximum":
        if (typeof v === "number") note(typeof kv === "number" ? v < kv : kv === true ? v < (s.maximum as number) : true);
        break;
      case "multipleOf": if (typeof v === "number") note(kv === 1 ? Number.isInteger(v) : undefined); break;
      case "minItems": if (Array.isArray(v)) note(v.length >= (kv as number)); break;
      case "maxItems": if (Array.isArray(v)) note(v.length <= (kv as number)); break;
      case "items": if (Array.isArray(v) && !Array.isArray(kv)) v.forEach((e) => note(miniValidate(e, kv))); else if (Array.isArray(v)) note(undefined); break;
      case "required": if (isObj(v)) note((kv as string[]).every((r) => r in v)); break;
      case "minProperties": if (isObj(v)) note(Object.keys(v).length >= (kv as number)); break;
      case "maxProperties": if (isObj(v)) note(Object.keys(v).length <= (kv as number)); break;
      case "properties":
        if (isObj(v)) for (const [pk, ps] of Object.entries(kv as Schema)) if (pk in v) note(miniValidate(v[pk], ps));
        break;
      case "additionalProperties":
        if (isObj(v)) {
          const props = (s.properties ?? {}) as Schema;
          for (const pk of Object.keys(v)) if (!(pk in props)) note(miniValidate(v[pk], kv));
        }
        break;
      case "format":
        if (typeof v === "string" || (typeof v === "number" && ["int32", "int64", "float", "double"].includes(String(kv)))) note(undefined);
        break;
      default:
        note(undefined);
    }
  }
  return result;
}
