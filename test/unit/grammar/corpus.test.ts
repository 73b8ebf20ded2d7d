/**
 * Property-style tests over the schema corpus with ajv as the oracle:
 * - every schema compiles to a grammar llama.cpp accepts (deterministically);
 * - valid examples (compact, and pretty-printed in flexible mode) are matched;
 * - invalid examples are rejected, and any mutation of a valid example that
 *   the grammar still accepts must be valid (fail closed);
 * - random sentences sampled from the grammar are valid instances.
 */
import { describe, expect, test } from "bun:test";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { jsonSchemaToGbnf, matchesGbnf, validateGbnf } from "../../../src/grammar/index";
import { sampleGbnf } from "../../../src/grammar/gbnf-sampler";
import corpus from "../../fixtures/schemas/corpus.json";

interface Entry {
  name: string;
  schema: unknown;
  valid: unknown[];
  invalid: unknown[];
}

const ajv2020 = new Ajv2020({ strict: false, validateFormats: true });
addFormats(ajv2020);
const ajv7 = new Ajv({ strict: false, validateFormats: true });
addFormats(ajv7);
const validatorFor = (schema: unknown) =>
  (typeof schema === "object" && schema !== null && String((schema as { $schema?: string }).$schema).includes("draft-07") ? ajv7 : ajv2020).compile(schema as object);

const entries = corpus as Entry[];

function depth(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (v && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

/** Small perturbations of a valid instance (deterministic, capped). */
function mutations(v: unknown, budget = 40): unknown[] {
  const out: unknown[] = [];
  const push = (x: unknown) => out.length < budget && out.push(x);
  if (Array.isArray(v)) {
    push(v.slice(0, -1));
    push([...v, v[0] ?? null]);
    push([...v, "~"]);
    v.forEach((el, i) => mutations(el, 4).forEach((m) => push(v.map((x, k) => (k === i ? m : x)))));
  } else if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    push({ ...o, zzExtra: 1 });
    for (const k of Object.keys(o)) {
      const { [k]: _, ...rest } = o;
      push(rest);
      for (const m of [null, "~x~", 123456, -1, 1.5, true, [], {}, ...mutations(o[k], 4)]) push({ ...o, [k]: m });
    }
  } else if (typeof v === "string") {
    for (const m of ["", v + "~", v.slice(1), v.toUpperCase(), v + v, 7]) push(m);
  } else if (typeof v === "number") {
    for (const m of [v + 1, v - 1, -v, v * 1000 + 0.5, v + 0.5, "1"]) push(m);
  } else {
    for (const m of [!v, 0, null, "x"]) push(m);
  }
  return out;
}

test("the corpus has at least 200 uniquely named schemas", () => {
  expect(entries.length).toBeGreaterThanOrEqual(200);
  expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
});

describe("corpus", () => {
  for (const [i, entry] of entries.entries()) {
    test(entry.name, () => {
      const text = jsonSchemaToGbnf(entry.schema);
      expect(jsonSchemaToGbnf(structuredClone(entry.schema))).toBe(text);
      const g = validateGbnf(text);
      const validate = validatorFor(entry.schema);
      const isBase = !entry.name.includes("/");

      for (const x of entry.valid) {
        expect({ fixtureValid: validate(x), x }).toEqual({ fixtureValid: true, x });
        expect({ accepted: matchesGbnf(g, JSON.stringify(x)), x }).toEqual({ accepted: true, x });
      }
      for (const x of entry.invalid) {
        expect({ fixtureInvalid: !validate(x), x }).toEqual({ fixtureInvalid: true, x });
        expect({ rejected: !matchesGbnf(g, JSON.stringify(x)), x }).toEqual({ rejected: true, x });
      }
      if (isBase) {
        for (const x of entry.valid) {
          for (const m of mutations(x)) {
            if (matchesGbnf(g, JSON.stringify(m))) expect({ mutationValid: validate(m), m }).toEqual({ mutationValid: true, m });
          }
        }
      }
      for (let k = 0; k < (isBase ? 6 : 2); k++) {
        const s = sampleGbnf(g, { seed: i * 101 + k });
        if (s === null) continue;
        const parsed = JSON.parse(s);
        expect({ sampleValid: validate(parsed), s }).toEqual({ sampleValid: true, s });
      }

      if (isBase) {
        const flexible = validateGbnf(jsonSchemaToGbnf(entry.schema, { whitespace: "flexible" }));
        for (const x of entry.valid) {
          if (depth(x) <= 8) expect({ pretty: matchesGbnf(flexible, JSON.stringify(x, null, 2)), x }).toEqual({ pretty: true, x });
        }
        const s = sampleGbnf(flexible, { seed: i + 5 });
        if (s !== null) expect({ sampleValid: validate(JSON.parse(s)), s }).toEqual({ sampleValid: true, s });
      }
    });
  }
});
