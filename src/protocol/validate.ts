/**
 * Validates a parsed JSON body against a typebox schema and reports the
 * first problem as a 400 naming the field (OpenAI's `param`), e.g. "messages[0].role".
 */
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { TSchema, Static } from "@sinclair/typebox";
import { InvalidRequestError } from "../shared/errors";

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** "/messages/0/role" -> "messages[0].role" */
export function pointerToParam(pointer: string): string {
  let out = "";
  for (const part of pointer.split("/").filter(Boolean)) out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

export function validateBody<S extends TSchema>(schema: S, body: unknown): Static<S> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidRequestError("the request body must be a JSON object", null, "invalid_body");
  }
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(body)) return body as Static<S>;
  // Report the deepest, most specific error: unions report at their own path.
  const errors = [...check.Errors(body)];
  const best = errors.reduce((a, b) => (b.path.length > a.path.length ? b : a), errors[0]);
  const param = pointerToParam(best.path);
  const got = best.value === undefined ? "missing" : JSON.stringify(best.value)?.slice(0, 60);
  throw new InvalidRequestError(`invalid value for '${param || "body"}': ${best.message} (got ${got})`, param || null, "invalid_value");
}
