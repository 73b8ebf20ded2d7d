import { describe, expect, test } from "bun:test";
import { validateGbnf } from "../../../src/grammar/gbnf-parser";
import { matchesGbnf } from "../../../src/grammar/gbnf-matcher";
import { prng } from "../../../src/grammar/gbnf-sampler";
import { intRange, numberExpr, toDec } from "../../../src/grammar/json-numbers";
import { jsonSchemaToGbnf } from "../../../src/grammar/json-schema-to-gbnf";

const grammarOf = (expr: string) => validateGbnf(`root ::= ${expr}\n`);

describe("integer ranges (digit-by-digit decomposition)", () => {
  test("random two-sided ranges match exactly, canonical spelling only", () => {
    const rnd = prng(42);
    const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
    for (let t = 0; t < 60; t++) {
      const span = [9, 99, 1000, 123456][t % 4];
      const lo = int(-span, span);
      const hi = lo + int(0, span);
      const g = grammarOf(intRange(BigInt(lo), BigInt(hi)));
      const probes = new Set([lo, hi, lo - 1, hi + 1, 0, -1, 1, 10, -10, 99, 100, -100]);
      for (let k = 0; k < 25; k++) probes.add(int(lo - 20, hi + 20));
      for (const x of probes) expect({ lo, hi, x, m: matchesGbnf(g, String(x)) }).toEqual({ lo, hi, x, m: x >= lo && x <= hi });
      expect(matchesGbnf(g, `0${Math.abs(hi)}`)).toBe(false);
      expect(matchesGbnf(g, "-0")).toBe(false);
    }
  });

  test("one-sided bounds", () => {
    const cases: Array<[Record<string, unknown>, Array<[string, boolean]>]> = [
      [{ minimum: 5 }, [["5", true], ["4", false], ["123456", true], ["-1", false], ["9999999999999999", true]]],
      [{ maximum: -3 }, [["-3", true], ["-2", false], ["-1000", true], ["0", false]]],
      [{ exclusiveMinimum: 0 }, [["0", false], ["1", true], ["-5", false]]],
      [{ exclusiveMaximum: 10 }, [["10", false], ["9", true], ["-123", true]]],
      [{ minimum: 2.5 }, [["2", false], ["3", true]]],
      [{ maximum: -2.5 }, [["-2", false], ["-3", true]]],
    ];
    for (const [s, probes] of cases) {
      const g = grammarOf(numberExpr(s, true, "", "response_format"));
      for (const [x, ok] of probes) expect({ s, x, m: matchesGbnf(g, x) }).toEqual({ s, x, m: ok });
    }
  });

  test("int32 format and multipleOf 1", () => {
    const g = validateGbnf(jsonSchemaToGbnf({ type: "number", format: "int32" }));
    expect(matchesGbnf(g, "2147483647")).toBe(true);
    expect(matchesGbnf(g, "2147483648")).toBe(false);
    expect(matchesGbnf(g, "-2147483648")).toBe(true);
    expect(matchesGbnf(g, "1.5")).toBe(false);
    const w = validateGbnf(jsonSchemaToGbnf({ type: "number", multipleOf: 1, maximum: 3 }));
    expect(matchesGbnf(w, "3")).toBe(true);
    expect(matchesGbnf(w, "2.5")).toBe(false);
  });

  test("empty ranges are unsatisfiable", () => {
    expect(() => jsonSchemaToGbnf({ type: "integer", minimum: 3, maximum: 2 })).toThrow(/unsatisfiable/);
    expect(() => jsonSchemaToGbnf({ type: "integer", exclusiveMinimum: 2, exclusiveMaximum: 3 })).toThrow(/unsatisfiable/);
  });
});

describe("number ranges with decimal bounds", () => {
  const decimals = ["0", "0.5", "1", "1.5", "2", "2.25", "-1", "-1.5", "-2.5", "10", "99.99", "100", "0.01", "0.001",
    "-0.01", "3.14159", "100.0", "5.00", "5.0001", "4.9999", "-100.5", "0.1", "-0.1", "7", "12.5", "-90", "90.000001", "-0.25", "0.05"];
  const bounds = [-100, -2.5, -1, -0.5, -0.25, 0, 0.01, 0.05, 0.5, 1, 2.25, 5, 10, 90, 99.99, 100];

  test("exact on every probe for random bound combinations", () => {
    const rnd = prng(7);
    const pick = () => bounds[Math.floor(rnd() * bounds.length)];
    let checked = 0;
    for (let t = 0; t < 120; t++) {
      const s: Record<string, number> = {};
      if (t % 5 !== 0) s[t & 8 ? "exclusiveMinimum" : "minimum"] = pick();
      if (t % 5 !== 1) s[t & 16 ? "exclusiveMaximum" : "maximum"] = pick();
      let expr: string;
      try {
        expr = numberExpr(s, false, "", "response_format");
      } catch {
        continue; // unsatisfiable combination
      }
      const g = grammarOf(expr);
      for (const d of decimals) {
        const v = Number(d);
        const ok = !(v < (s.minimum ?? -Infinity)) && !(v <= (s.exclusiveMinimum ?? -Infinity)) &&
          !(v > (s.maximum ?? Infinity)) && !(v >= (s.exclusiveMaximum ?? Infinity));
        expect({ s, d, m: matchesGbnf(g, d) }).toEqual({ s, d, m: ok });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  test("no exponents once bounded; exponents allowed when unbounded", () => {
    const bounded = validateGbnf(jsonSchemaToGbnf({ type: "number", minimum: 0 }));
    expect(matchesGbnf(bounded, "1e5")).toBe(false);
    const free = validateGbnf(jsonSchemaToGbnf({ type: "number" }));
    expect(matchesGbnf(free, "-1.5e+21")).toBe(true);
    expect(matchesGbnf(free, "01")).toBe(false);
    expect(matchesGbnf(free, "1.")).toBe(false);
  });

  test("next to an exclusive bound the fraction cannot round onto the bound", () => {
    const g = validateGbnf(jsonSchemaToGbnf({ type: "number", exclusiveMaximum: 5 }));
    expect(matchesGbnf(g, "4.99999999999999")).toBe(true); // 14 digits: stays < 5 as a double
    expect(matchesGbnf(g, "4.9999999999999999")).toBe(false); // would parse to 5
    expect(Number("4.9999999999999999")).toBe(5);
    const z = validateGbnf(jsonSchemaToGbnf({ type: "number", exclusiveMinimum: 0 }));
    expect(matchesGbnf(z, "0.0000000000000001")).toBe(true);
    expect(matchesGbnf(z, "0.0")).toBe(false);
    expect(matchesGbnf(z, "-0.0")).toBe(false);
  });

  test("toDec gives the exact shortest decimal", () => {
    expect(toDec(1e-7)).toEqual({ neg: false, int: 0n, frac: "0000001" });
    expect(toDec(-123.45)).toEqual({ neg: true, int: 123n, frac: "45" });
    expect(toDec(1e21)).toEqual({ neg: false, int: 10n ** 21n, frac: "" });
    expect(toDec(-0)).toEqual({ neg: false, int: 0n, frac: "" });
  });
});
