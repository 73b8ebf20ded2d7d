/**
 * JSON Schema vocabulary for the GBNF compiler: which keywords are
 * annotations, which are enforced, which are refused; JSON pointers and local
 * $ref resolution; error helpers; type inference.
 */
import { InvalidRequestError } from "../shared/errors";

export type Schema = Record<string, unknown>;
export type JsonType = "null" | "boolean" | "object" | "array" | "string" | "number" | "integer";
export const ALL_TYPES: JsonType[] = ["null", "boolean", "object", "array", "string", "number", "integer"];

/** Thrown when a (sub)schema admits no instance; callers may drop the branch. */
export class UnsatisfiableError extends InvalidRequestError {
  constructor(message: string, param: string) {
    super(message, param, "unsupported_schema");
  }
}

export const showPtr = (ptr: string) => ptr || "/";
export const ptrJoin = (ptr: string, ...segs: Array<string | number>) =>
  ptr + segs.map((s) => "/" + String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("");

export function unsupported(keyword: string, ptr: string, param: string, detail = ""): never {
  throw new InvalidRequestError(
    `unsupported JSON Schema keyword "${keyword}" at ${showPtr(ptr)}${detail ? ` (${detail})` : ""}`,
    param,
    "unsupported_schema",
  );
}

export function invalidSchema(ptr: string, param: string, message: string): never {
  throw new InvalidRequestError(`invalid JSON Schema at ${showPtr(ptr)}: ${message}`, param, "invalid_schema");
}

export function unsat(ptr: string, param: string, why: string): never {
  throw new UnsatisfiableError(`schema is unsatisfiable at ${showPtr(ptr)}: ${why}`, param);
}

export const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** Pure annotations and containers: no effect on validation. */
export const ANNOTATIONS = new Set([
  "title", "description", "examples", "example", "default", "$schema", "$id", "id", "$comment",
  "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema",
  "$defs", "definitions", "$anchor", "$dynamicAnchor", "$vocabulary", "discriminator", "xml", "externalDocs",
]);

/** Keywords the compiler enforces (some only for certain values, checked where used). */
export const SUPPORTED = new Set([
  "type", "enum", "const", "nullable", "$ref", "allOf", "anyOf", "oneOf",
  "properties", "required", "additionalProperties", "minProperties", "maxProperties",
  "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
  "minLength", "maxLength", "pattern", "format",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "patternProperties", "dependentRequired", "dependentSchemas", "dependencies",
]);

export const COMPOSITION = ["allOf", "anyOf", "oneOf"];

export const STRING_FORMATS = new Set(["date", "time", "date-time", "uuid", "email", "uri", "ipv4", "ipv6", "hostname", "password", "binary"]);
export const NUMBER_FORMATS = new Set(["int32", "int64", "float", "double"]);

const FAMILY: Record<string, JsonType | undefined> = {
  minLength: "string", maxLength: "string", pattern: "string",
  minimum: "number", maximum: "number", exclusiveMinimum: "number", exclusiveMaximum: "number", multipleOf: "number",
  properties: "object", required: "object", additionalProperties: "object", minProperties: "object", maxProperties: "object",
  items: "array", prefixItems: "array", additionalItems: "array", minItems: "array", maxItems: "array", uniqueItems: "array",
};

/** Refuse unknown and unenforceable keywords at this node (not its children). */
export function checkKeywords(s: Schema, ptr: string, param: string, isRoot: boolean): void {
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-")) continue;
    if (k === "$id" && !isRoot) unsupported("$id", ptr, param, "nested $id changes $ref resolution");
    if (ANNOTATIONS.has(k)) continue;
    if (!SUPPORTED.has(k)) unsupported(k, ptr, param);
    if ((k === "patternProperties" || k === "dependentRequired" || k === "dependentSchemas" || k === "dependencies") &&
        !(isObj(v) && Object.keys(v).length === 0)) unsupported(k, ptr, param);
    if (k === "uniqueItems" && v !== false && v !== true) invalidSchema(ptr, param, "uniqueItems must be a boolean");
    if (k === "multipleOf" && (typeof v !== "number" || !(v > 0))) invalidSchema(ptr, param, "multipleOf must be a positive number");
    if (k === "format" && typeof v !== "string") invalidSchema(ptr, param, "format must be a string");
  }
}

/** Keywords of `s` that assert something (beyond annotations, $ref and composition). */
export function assertionKeys(s: Schema): string[] {
  return Object.keys(s).filter((k) => !k.startsWith("x-") && !ANNOTATIONS.has(k) && k !== "$ref" && !COMPOSITION.includes(k));
}

/** Declared types (with OpenAPI nullable), or null when undeclared. */
export function declaredTypes(s: Schema, ptr: string, param: string): Set<JsonType> | null {
  if (s.type === undefined) return null;
  const list = Array.isArray(s.type) ? s.type : [s.type];
  const out = new Set<JsonType>();
  for (const t of list) {
    if (typeof t !== "string" || !ALL_TYPES.includes(t as JsonType)) invalidSchema(ptr, param, `unknown type ${JSON.stringify(t)}`);
    out.add(t as JsonType);
  }
  if (s.nullable === true) out.add("null");
  return out;
}

/**
 * Types the compiler generates for a flat schema: the declared ones, or when
 * undeclared those implied by type-specific keywords (a sound narrowing), or all.
 */
export function outputTypes(s: Schema, ptr: string, param: string): Set<JsonType> {
  const declared = declaredTypes(s, ptr, param);
  if (declared) return declared;
  const fams = new Set<JsonType>();
  for (const k of Object.keys(s)) if (FAMILY[k]) fams.add(FAMILY[k]!);
  if (typeof s.format === "string") fams.add(NUMBER_FORMATS.has(s.format) ? "number" : "string");
  if (fams.size === 0) return new Set(ALL_TYPES);
  if (fams.has("number")) fams.add("integer");
  return fams;
}

/** Types a schema semantically admits (undeclared = all). */
export function semanticTypes(s: Schema, ptr: string, param: string): Set<JsonType> {
  const d = declaredTypes(s, ptr, param);
  if (d) {
    if (d.has("number")) d.add("integer");
    return d;
  }
  return new Set(ALL_TYPES);
}

export function typeOfValue(v: unknown): JsonType {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v as JsonType;
}

/** Canonical JSON text (sorted keys) for deep equality. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

/** Resolve a local $ref (`#`, `#/a/b~1c`) against the root document. */
export function resolveRef(root: unknown, ref: unknown, ptr: string, param: string): { schema: unknown; ptr: string } {
  if (typeof ref !== "string") invalidSchema(ptr, param, "$ref must be a string");
  if (!ref.startsWith("#")) unsupported("$ref", ptr, param, `remote reference ${JSON.stringify(ref)}`);
  let frag: string;
  try {
    frag = decodeURIComponent(ref.slice(1));
  } catch {
    invalidSchema(ptr, param, `malformed $ref ${JSON.stringify(ref)}`);
  }
  if (frag === "") return { schema: root, ptr: "" };
  if (!frag.startsWith("/")) unsupported("$ref", ptr, param, `anchor reference ${JSON.stringify(ref)}`);
  let cur: unknown = root;
  for (const raw of frag.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (isObj(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) cur = cur[seg];
    else invalidSchema(ptr, param, `unresolvable $ref ${JSON.stringify(ref)}`);
  }
  return { schema: cur, ptr: frag };
}

export function nonNegInt(s: Schema, key: string, ptr: string, param: string): number | undefined {
  const v = s[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) invalidSchema(ptr, param, `${key} must be a non-negative integer`);
  return v;
}
