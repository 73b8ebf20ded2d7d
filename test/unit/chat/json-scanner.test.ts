import { describe, expect, test } from "bun:test";
import { minifyJson } from "../../../src/chat/index.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 6));
  switch (k) {
    case 0:
      return Math.floor(r() * 2000 - 1000) / (r() < 0.5 ? 1 : 8);
    case 1:
      return ["", "a", 'q"uote', "back\\slash", "é😀", "tab\tnl\n", "\u0001", "</tool_call>"][Math.floor(r() * 8)];
    case 2:
      return [true, false, null][Math.floor(r() * 3)];
    case 3:
      return r() < 0.5 ? 1e21 : -0.000123;
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 4); i++) o[`k${i}`] = randomValue(r, depth + 1);
      return o;
    }
  }
}

describe("minifyJson", () => {
  test("equals JSON.stringify for pretty-printed random values", () => {
    const r = rng(42);
    for (let i = 0; i < 500; i++) {
      const v = randomValue(r);
      expect(minifyJson(JSON.stringify(v, null, 1 + (i % 4)))).toBe(JSON.stringify(v));
      expect(minifyJson(` \n${JSON.stringify(v)}\t`)).toBe(JSON.stringify(v));
    }
  });

  test("keeps tokens verbatim", () => {
    expect(minifyJson('{ "a" : 1.50E+2 , "b" : "\\u00e9\\/" }')).toBe('{"a":1.50E+2,"b":"\\u00e9\\/"}');
    expect(minifyJson("12345678901234567890123")).toBe("12345678901234567890123");
  });

  test("rejects what is not JSON", () => {
    for (const bad of ['{"a":}', "[1,]", "01", "1.", "-", '"\\x"', "tru", '{"a" 1}', "{} x", "", "{", "'a'", "[1 2]", '{"a":1,}', "NaN", "]"]) {
      expect(minifyJson(bad)).toBeNull();
    }
  });

  test("raw control characters in strings are escaped", () => {
    expect(minifyJson('{"code": "a\nb\tc"}')).toBe('{"code":"a\\nb\\tc"}');
    expect(JSON.parse(minifyJson('"\u0001"')!)).toBe("\u0001");
  });
});
