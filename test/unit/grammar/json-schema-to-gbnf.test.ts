import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../../src/shared/errors";
import { JSON_ANY_OBJECT_GBNF, jsonSchemaToGbnf, jsonValueGbnf, matchesGbnf, validateGbnf } from "../../../src/grammar/index";
import Ajv2020 from "ajv/dist/2020";
import unsupportedCorpus from "../../fixtures/schemas/unsupported.json";
import { sampleGbnf } from "../../../src/grammar/gbnf-sampler";

const compile = (schema: unknown, options = {}) => validateGbnf(jsonSchemaToGbnf(schema, options));
const accepts = (schema: unknown, value: unknown, options = {}) => matchesGbnf(compile(schema, options), JSON.stringify(value));

function failure(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRequestError);
    return e as InvalidRequestError;
  }
  throw new Error("expected an InvalidRequestError");
}

describe("unsupported keywords fail closed", () => {
  for (const entry of unsupportedCorpus as Array<{ name: string; keyword: string; pointer: string; schema: unknown }>) {
    test(entry.name, () => {
      const err = failure(() => jsonSchemaToGbnf(entry.schema));
      expect(err.code).toBe("unsupported_schema");
      expect(err.param).toBe("response_format");
      expect(err.status).toBe(400);
      expect(err.message).toContain(`"${entry.keyword}"`);
      expect(err.message).toContain(` at ${entry.pointer}`);
    });
  }

  test("the param can be renamed for other callers", () => {
    expect(failure(() => jsonSchemaToGbnf({ not: {} }, { param: "tools" })).param).toBe("tools");
  });

  test("malformed schemas are invalid_schema", () => {
    for (const bad of [5, "x", null, { type: "strin" }, { minLength: -1 }, { enum: "a" }, { $ref: "#/$defs/missing" }, { required: "a" }]) {
      const err = failure(() => jsonSchemaToGbnf(bad));
      expect(err.code).toBe("invalid_schema");
    }
    const cyclic: Record<string, unknown> = { type: "object" };
    cyclic.properties = { self: cyclic };
    expect(failure(() => jsonSchemaToGbnf(cyclic)).code).toBe("invalid_schema");
  });

  test("unsatisfiable schemas are refused instead of producing a grammar that cannot finish", () => {
    for (const s of [
      false,
      { type: "string", minLength: 5, maxLength: 2 },
      { type: "array", minItems: 3, maxItems: 1 },
      { type: "object", properties: { a: false }, required: ["a"] },
      { type: "object", required: ["b"], additionalProperties: false },
      { enum: ["a"], type: "integer" },
      { allOf: [{ type: "string" }, { type: "integer" }] },
      { $defs: { n: { type: "object", properties: { next: { $ref: "#/$defs/n" } }, required: ["next"] } }, $ref: "#/$defs/n" },
    ]) {
      expect(failure(() => jsonSchemaToGbnf(s)).message).toMatch(/unsatisfiable/);
    }
  });
});

describe("limits", () => {
  test("maxSchemaBytes", () => {
    const big = { type: "object", description: "x".repeat(300 * 1024) };
    expect(failure(() => jsonSchemaToGbnf(big)).message).toMatch(/maxSchemaBytes=262144/);
    expect(() => jsonSchemaToGbnf({ type: "string" }, { maxSchemaBytes: 10 })).toThrow(/maxSchemaBytes=10/);
  });
  test("maxDepth", () => {
    let s: unknown = { type: "string" };
    for (let i = 0; i < 70; i++) s = { type: "array", items: s };
    expect(failure(() => jsonSchemaToGbnf(s)).message).toMatch(/maxDepth=64/);
    expect(() => jsonSchemaToGbnf(s, { maxDepth: 200 })).not.toThrow();
  });
  test("maxRules", () => {
    const props = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, { type: "object", properties: { [`q${i}`]: { type: "integer", minimum: i } }, required: [`q${i}`] }]));
    expect(failure(() => jsonSchemaToGbnf({ type: "object", properties: props }, { maxRules: 50 })).message).toMatch(/maxRules=50/);
    expect(() => jsonSchemaToGbnf({ type: "object", properties: props })).not.toThrow();
  });
  test("huge maxLength stays small and exact (llama.cpp would silently drop a bound above 2000)", () => {
    const text = jsonSchemaToGbnf({ type: "string", maxLength: 100000 });
    expect(text.length).toBeLessThan(1000);
    expect(text).not.toMatch(/\{\d*,?\d{5,}\}/);
    const g = compile({ type: "string", minLength: 2100, maxLength: 2500 });
    for (const n of [2099, 2100, 2500, 2501]) expect(matchesGbnf(g, JSON.stringify("a".repeat(n)))).toBe(n >= 2100 && n <= 2500);
  });
});

describe("options", () => {
  const schema = { type: "object", properties: { b: { type: "integer" }, a: { type: "string" } }, required: ["a", "b"] };
  test("propOrder", () => {
    expect(accepts(schema, { b: 1, a: "x" })).toBe(true);
    expect(accepts(schema, { a: "x", b: 1 })).toBe(false);
    expect(accepts(schema, { a: "x", b: 1 }, { propOrder: ["a"] })).toBe(true);
  });
  test("flexible whitespace is bounded", () => {
    const g = compile(schema, { whitespace: "flexible" });
    expect(matchesGbnf(g, JSON.stringify({ b: 1, a: "x" }, null, 2))).toBe(true);
    expect(matchesGbnf(g, `{ "b" :\t1 ,\n"a": "x" }`)).toBe(true);
    expect(matchesGbnf(g, `{${" ".repeat(21)}"b":1,"a":"x"}`)).toBe(false);
    expect(matchesGbnf(g, ` {"b":1,"a":"x"}`)).toBe(false);
    expect(matchesGbnf(compile(schema), `{ "b":1,"a":"x"}`)).toBe(false);
  });
  test("allowAdditionalByDefault", () => {
    const value = { b: 1, a: "x", extra: [true] };
    expect(accepts(schema, value)).toBe(false);
    expect(accepts(schema, value, { allowAdditionalByDefault: true })).toBe(true);
    expect(accepts({ ...schema, additionalProperties: false }, value, { allowAdditionalByDefault: true })).toBe(false);
    const tuple = { type: "array", prefixItems: [{ type: "integer" }] };
    expect(accepts(tuple, [1, "more"])).toBe(false);
    expect(accepts(tuple, [1, "more"], { allowAdditionalByDefault: true })).toBe(true);
  });
});

describe("semantics", () => {
  test("draft-4 boolean exclusive bounds", () => {
    const s = { type: "integer", minimum: 5, exclusiveMinimum: true, maximum: 8, exclusiveMaximum: false };
    expect([4, 5, 6, 8, 9].map((x) => accepts(s, x))).toEqual([false, false, true, true, false]);
  });
  test("additional keys never repeat a declared key", () => {
    const s = { type: "object", properties: { id: { type: "string" } }, additionalProperties: true };
    const g = compile(s);
    expect(matchesGbnf(g, `{"id":"x","idx":1}`)).toBe(true);
    expect(matchesGbnf(g, `{"id":"x","id":2}`)).toBe(false);
    expect(matchesGbnf(g, `{"id":2}`)).toBe(false);
  });
  test("oneOf is accepted only when branches exclude each other", () => {
    expect(() => jsonSchemaToGbnf({ oneOf: [{ type: "string" }, { type: "number" }] })).not.toThrow();
    expect(() => jsonSchemaToGbnf({ oneOf: [{ type: "integer" }, { type: "number" }] })).toThrow(/"oneOf"/);
    expect(() => jsonSchemaToGbnf({ oneOf: [{ enum: ["a", "b"] }, { type: "string", maxLength: 0 }] })).not.toThrow();
    expect(() => jsonSchemaToGbnf({ oneOf: [{ enum: ["a", ""] }, { type: "string", maxLength: 0 }] })).toThrow(/"oneOf"/);
    expect(() => jsonSchemaToGbnf({ oneOf: [{ type: "string" }, { properties: { a: { type: "string" } } }] })).toThrow(/"oneOf"/);
  });
  test("recursion that consumes no input is refused", () => {
    expect(failure(() => jsonSchemaToGbnf({ $defs: { a: { anyOf: [{ $ref: "#/$defs/a" }, { type: "string" }] } }, $ref: "#/$defs/a" })).message).toMatch(/recursion/);
    expect(failure(() => jsonSchemaToGbnf({ $ref: "#" })).code).toBe("unsupported_schema");
  });
  test("accepted oneOf grammars only produce instances valid for exactly one branch", () => {
    const ajv = new Ajv2020({ strict: false });
    for (const s of [
      { oneOf: [{ type: "object", required: ["a"] }, { type: "object", properties: { b: {} }, required: ["b"] }] },
      { oneOf: [{ enum: ["a", "b"] }, { type: "string", maxLength: 0 }, { type: "integer" }] },
      { type: "object", properties: { k: { enum: ["x", "y"] } }, required: ["k"], oneOf: [{ properties: { k: { const: "x" }, v: { type: "string" } } }, { properties: { k: { const: "y" }, v: { type: "integer" } } }] },
    ]) {
      const g = compile(s);
      const validate = ajv.compile(s);
      for (let seed = 1; seed <= 40; seed++) {
        const text = sampleGbnf(g, { seed });
        if (text !== null) expect({ text, valid: validate(JSON.parse(text)) }).toEqual({ text, valid: true });
      }
    }
  });
  test("untyped schemas generate the types their keywords are about", () => {
    expect(accepts({ properties: { a: { type: "integer" } }, required: ["a"] }, { a: 1 })).toBe(true);
    expect(accepts({ properties: { a: { type: "integer" } } }, "x")).toBe(false);
    expect(accepts({ minimum: 3 }, 3.5)).toBe(true);
    expect(accepts({}, [1, { a: null }])).toBe(true);
  });
  test("required keys without a property schema take any value unless additionalProperties forbids them", () => {
    expect(accepts({ type: "object", required: ["k"] }, { k: [1] })).toBe(true);
    expect(accepts({ type: "object", properties: { a: { type: "integer" } }, required: ["k"] }, { k: "v" })).toBe(true);
  });
  test("enum values are emitted as exact JSON", () => {
    const s = { enum: [1.5, "é\"\\", { b: [null], a: true }, -0] };
    for (const v of s.enum) expect(accepts(s, v)).toBe(true);
    expect(accepts(s, 1.50)).toBe(true);
    expect(matchesGbnf(compile(s), "1.50")).toBe(false);
  });
  test("nested $id is refused, root $id is an annotation", () => {
    expect(() => jsonSchemaToGbnf({ $id: "https://x/y.json", type: "string" })).not.toThrow();
    expect(failure(() => jsonSchemaToGbnf({ type: "object", properties: { a: { $id: "a.json", type: "string" } } })).message).toMatch(/"\$id" at \/properties\/a/);
  });
});

describe("output", () => {
  test("deterministic and llama.cpp-safe rule names", () => {
    const s = { $defs: { "my_type": { type: "string", enum: ["a"] } }, type: "object", properties: { "snake_case key": { $ref: "#/$defs/my_type" }, "ü": { type: "array", items: { type: "integer", minimum: -5 } } } };
    const a = jsonSchemaToGbnf(s);
    expect(jsonSchemaToGbnf(JSON.parse(JSON.stringify(s)))).toBe(a);
    for (const line of a.trim().split("\n")) expect(line).toMatch(/^[a-zA-Z0-9-]+ ::= /);
    expect(a).toStartWith("root ::= ");
  });
  test("JSON_ANY_OBJECT_GBNF and jsonValueGbnf", () => {
    const obj = validateGbnf(JSON_ANY_OBJECT_GBNF);
    expect(matchesGbnf(obj, JSON.stringify({ a: [1, { b: "c" }], d: null }, null, 2))).toBe(true);
    expect(matchesGbnf(obj, "{}")).toBe(true);
    expect(matchesGbnf(obj, "[]")).toBe(false);
    expect(matchesGbnf(obj, `"x"`)).toBe(false);
    const any = validateGbnf(jsonValueGbnf());
    for (const v of [null, true, 0, -1.5, "s", [], {}, [[{}]]]) expect(matchesGbnf(any, JSON.stringify(v))).toBe(true);
    expect(matchesGbnf(any, "{,}")).toBe(false);
  });
});
