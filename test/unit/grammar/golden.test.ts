/**
 * Golden tests pinning the compiler's exact output for representative schemas.
 * After an intended change, regenerate with:
 *   UPDATE_GOLDEN=1 ./node_modules/.bin/bun test test/unit/grammar/golden.test.ts
 * and review the diff of test/unit/grammar/golden/*.gbnf.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type CompileOptions, jsonSchemaToGbnf, validateGbnf } from "../../../src/grammar/index";
import corpus from "../../fixtures/schemas/corpus.json";

const GOLDEN_DIR = join(import.meta.dir, "golden");
const schemas = new Map((corpus as Array<{ name: string; schema: unknown }>).map((e) => [e.name, e.schema]));

const cases: Array<[file: string, corpusName: string, options?: CompileOptions]> = [
  ["user-profile", "user-profile"],
  ["postal-address", "postal-address"],
  ["invoice", "invoice"],
  ["payment-method-oneof", "payment-method-oneof"],
  ["shipping-quote-request", "shipping-quote-request"],
  ["person-name-nullable-middle", "person-name-nullable-middle"],
  ["geo-point-tuple", "geo-point-tuple"],
  ["bounded-integers", "bounded-integers"],
  ["bounded-decimals", "bounded-decimals"],
  ["recursive-category-tree", "recursive-category-tree"],
  ["recursive-json-expression", "recursive-json-expression"],
  ["linked-list-root-ref", "linked-list-root-ref"],
  ["json-pointer-escaped-refs", "json-pointer-escaped-refs"],
  ["allof-base-extension", "allof-base-extension"],
  ["anyof-with-sibling-object", "anyof-with-sibling-object"],
  ["const-and-mixed-enum", "const-and-mixed-enum"],
  ["draft7-tuple-additional-items", "draft7-tuple-additional-items"],
  ["min-max-properties-optional", "min-max-properties-optional"],
  ["additional-properties-true-with-known", "additional-properties-true-with-known"],
  ["formats-all", "formats-all"],
  ["string-length-extremes", "string-length-extremes"],
  ["tool-call-weather.flexible", "tool-call-weather", { whitespace: "flexible" }],
  ["empty-schema.flexible", "empty-schema", { whitespace: "flexible" }],
];

describe("golden grammars", () => {
  for (const [file, name, options] of cases) {
    test(file, () => {
      expect(schemas.has(name)).toBe(true);
      const text = jsonSchemaToGbnf(schemas.get(name), options);
      validateGbnf(text);
      const path = join(GOLDEN_DIR, `${file}.gbnf`);
      if (process.env.UPDATE_GOLDEN === "1") {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(path, text);
      }
      expect(existsSync(path)).toBe(true);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }
});
