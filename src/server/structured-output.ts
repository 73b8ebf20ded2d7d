/**
 * Turns `response_format` and a raw `grammar` into the one GBNF grammar the
 * engine enforces. Fails closed: a schema the compiler cannot enforce or a
 * grammar that does not parse is a 400 before anything reaches the engine.
 * Compiled grammars are cached by the schema's canonical JSON.
 */
import { createHash } from "node:crypto";
import { jsonSchemaToGbnf, JSON_ANY_OBJECT_GBNF, validateGbnf } from "../grammar";
import { InvalidRequestError } from "../shared/errors";

const MAX_CACHED = 256;
const cache = new Map<string, string>();

function cached(key: string, build: () => string): string {
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key); // refresh LRU position
    cache.set(key, hit);
    return hit;
  }
  const value = build();
  cache.set(key, value);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  return value;
}

/** The cache key keeps key order: property order decides the order the grammar enforces. */
const canonical = (v: unknown): string => JSON.stringify(v) ?? "undefined";

export function schemaGrammar(schema: unknown, param = "response_format"): string {
  const key = createHash("sha256").update(canonical(schema)).digest("hex");
  return cached(key, () => jsonSchemaToGbnf(schema, { param }));
}

export interface StructuredInput {
  response_format?: unknown;
  grammar?: string;
  grammar_lazy?: boolean;
  grammar_triggers?: (string | { type: "word"; value: string })[];
}

/** The trigger words of a lazy raw grammar, or undefined when the grammar (if any) applies from the start. */
export function lazyTriggers(req: StructuredInput): string[] | undefined {
  if (!req.grammar_lazy) {
    if (req.grammar_triggers !== undefined) throw new InvalidRequestError("grammar_triggers needs grammar_lazy: true", "grammar_triggers");
    return undefined;
  }
  if (req.grammar === undefined) throw new InvalidRequestError("grammar_lazy needs a grammar", "grammar_lazy");
  if (!req.grammar_triggers?.length) throw new InvalidRequestError("grammar_lazy needs grammar_triggers (the words from which the grammar applies)", "grammar_triggers");
  return req.grammar_triggers.map((t) => (typeof t === "string" ? t : t.value));
}

/** The grammar for a request, or undefined for free text. */
export function grammarFor(req: StructuredInput): string | undefined {
  const rf = req.response_format as { type?: unknown; json_schema?: { schema?: unknown; name?: unknown; strict?: unknown } } | null | undefined;
  const type = rf == null ? "text" : rf.type;
  if (rf != null && (typeof rf !== "object" || Array.isArray(rf))) throw new InvalidRequestError("response_format must be an object", "response_format");
  if (req.grammar !== undefined && type !== "text") throw new InvalidRequestError("give either grammar or response_format, not both", "grammar");
  if (req.grammar !== undefined) {
    if (req.grammar.trim() === "") throw new InvalidRequestError("grammar is empty", "grammar");
    const g = req.grammar;
    cached(`gbnf:${createHash("sha256").update(g).digest("hex")}`, () => (validateGbnf(g), g));
    return g;
  }
  switch (type) {
    case "text":
      return undefined;
    case "json_object":
      return JSON_ANY_OBJECT_GBNF;
    case "json_schema": {
      const js = rf!.json_schema;
      if (!js || typeof js !== "object") throw new InvalidRequestError("response_format.json_schema is required for type json_schema", "response_format.json_schema");
      if (js.schema === undefined) throw new InvalidRequestError("response_format.json_schema.schema is required", "response_format.json_schema.schema");
      if (js.strict !== undefined && typeof js.strict !== "boolean") throw new InvalidRequestError("response_format.json_schema.strict must be a boolean", "response_format.json_schema.strict");
      // strict or not, the output is always constrained: InferFlux never falls back to free text.
      return schemaGrammar(js.schema);
    }
    default:
      throw new InvalidRequestError(`response_format.type must be text, json_object or json_schema (got ${JSON.stringify(type)})`, "response_format.type");
  }
}
