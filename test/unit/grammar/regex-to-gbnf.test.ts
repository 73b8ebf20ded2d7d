import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../../src/shared/errors";
import { validateGbnf } from "../../../src/grammar/gbnf-parser";
import { matchesGbnf } from "../../../src/grammar/gbnf-matcher";
import { prng } from "../../../src/grammar/gbnf-sampler";
import { regexToGbnf } from "../../../src/grammar/regex-to-gbnf";

const compile = (p: string, opts = {}) => validateGbnf(regexToGbnf(p, opts));

/** Random strings over `alphabet` plus the given ones. */
function candidates(alphabet: string, extra: string[], seed = 1, n = 150): string[] {
  const rnd = prng(seed);
  const chars = [...alphabet];
  const out = new Set(extra);
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rnd() * 9);
    let s = "";
    for (let k = 0; k < len; k++) s += chars[Math.floor(rnd() * chars.length)];
    out.add(s);
  }
  return [...out];
}

describe("regex → GBNF agrees with ECMAScript on canonical JSON strings", () => {
  const cases: Array<[string, string, string[]]> = [
    ["^[a-z]+$", "abZ1", ["", "a", "abc"]],
    ["abc", "abcx", ["abc", "xabcx", "ab"]],
    ["^\\d{3}-\\d{2,4}$", "12-", ["123-45", "123-4567", "123-45678", "12-34"]],
    ["^(foo|bar)?[^\"\\\\]{2,3}$", "fobar\"\\x", ["fooxx", "xx", "x\"x", "barabc"]],
    ["^a\"b\\\\c$", "ab\"\\c", ["a\"b\\c"]],
    ["^.$", "a\n\r\u2028é😀", ["\n", "x", "é", "😀", "\u2028"]],
    ["^[\\s\\S]{2}$", "a \n\t\u0001", ["\n\t", "\u0001\u0002"]],
    ["^(?:[A-Z]{2}|\\w+)$|^x", "ABx-_1", ["AB", "xyz", "x-", "a-"]],
    ["^\\w+@\\w+\\.(com|org)$", "a@.comorg", ["a@b.com", "a@b.org", "a@b.net"]],
    ["colou?r", "colurx ", ["color", "colour", "my colour!", "colr"]],
    ["^$", "a", ["", "a"]],
    ["", "ab", ["", "xyz"]],
    ["^(a|b)*c$", "abc", ["c", "abababc", "abca"]],
    ["^[^aeiou]*$", "abe1", ["", "bcd", "bad"]],
    ["^\\D\\W\\S$", "a1 -", ["a-x", "1-x", "a x"]],
    ["^x{2,}$", "xy", ["x", "xx", "xxxxx"]],
    ["^(ab){1,3}?$", "ab", ["ab", "ababab", "abababab"]],
    ["end$", "dne", ["end", "the end", "ending"]],
    ["^\\u0041\\x42\\u{1F600}\\t$", "AB😀\t", ["AB😀\t"]],
    ["^[\\-\\]\\[]+$", "-][a", ["-", "][", "a"]],
    ["^(?<year>\\d{4})-(?:0[1-9]|1[0-2])$", "0123-", ["2024-01", "2024-13", "2024-1"]],
    ["^\\+?[1-9]\\d{1,3}$", "+019", ["+12", "12", "+0", "1"]],
    ["a|b$|^c", "abcx", ["xa", "xb", "bx", "cx", "xc"]],
    ["^[\\u0000-\\u001f]$", "\u0000\u001f\n a", ["\u0000", "\u001f", "a"]],
    ["^\\{\\}\\(\\)\\.\\*\\/$", "{}().*/", ["{}().*/"]],
    ["^a{0}b$", "ab", ["b", "ab"]],
  ];
  for (const [pattern, alphabet, extra] of cases) {
    test(pattern || "(empty)", () => {
      const g = compile(pattern);
      const re = new RegExp(pattern, "u");
      for (const s of candidates(alphabet, extra)) {
        if (s.includes("\u0000")) continue; // llama.cpp never matches NUL code points
        expect({ s, matched: matchesGbnf(g, JSON.stringify(s)) }).toEqual({ s, matched: re.test(s) });
      }
    });
  }
});

describe("JSON string escaping", () => {
  test("quotes, backslashes and control characters appear escaped", () => {
    const g = compile("^[\"\\\\\\n\\u0001]+$");
    expect(matchesGbnf(g, JSON.stringify("\"\\\n\u0001"))).toBe(true);
    expect(matchesGbnf(g, "\"\"\"")).toBe(false); // a raw quote inside would end the string
    expect(matchesGbnf(g, "\"\\u0022\"")).toBe(false); // only the canonical spelling
    expect(regexToGbnf("^\"$")).toContain(`"\\"\\\\\\"\\""`);
  });
});

describe("length bounds", () => {
  test("exact when one part varies", () => {
    const g = compile("^[A-Z][0-9]*$", { minLength: 3, maxLength: 5 });
    for (const [s, ok] of [["A1", false], ["A12", true], ["A1234", true], ["A12345", false]] as const) {
      expect(matchesGbnf(g, JSON.stringify(s))).toBe(ok);
    }
  });
  test("max-only bounds under-approximate soundly", () => {
    const g = compile("^[a-z]+(\\.[a-z]+)*$", { maxLength: 12 });
    const re = /^[a-z]+(\.[a-z]+)*$/;
    for (const s of candidates("ab.", ["a.b.c", "abcdefghijkl", "abcdefghijklm"], 3, 300)) {
      if (matchesGbnf(g, JSON.stringify(s))) expect(re.test(s) && s.length <= 12).toBe(true);
    }
    expect(matchesGbnf(g, JSON.stringify("a.b.c"))).toBe(true);
  });
  test("unsatisfiable and unsupported combinations", () => {
    expect(() => regexToGbnf("^[0-9]{4}$", { maxLength: 3 })).toThrow(/unsatisfiable/);
    expect(() => regexToGbnf("^a+b+$", { minLength: 5 })).toThrow(/minLength/);
  });
  test("large counts are decomposed below llama.cpp's 2000 threshold", () => {
    const text = regexToGbnf("^a{2500,4100}$");
    const g = validateGbnf(text);
    for (const n of [2499, 2500, 3999, 4000, 4100, 4101]) {
      expect(matchesGbnf(g, JSON.stringify("a".repeat(n)))).toBe(n >= 2500 && n <= 4100);
    }
    expect(text.length).toBeLessThan(400);
  });
});

describe("refused constructs name themselves", () => {
  const bad: Array<[string, RegExp]> = [
    ["(?=a)b", /lookahead/],
    ["(?!a)b", /negative lookahead/],
    ["(?<=a)b", /lookbehind/],
    ["(?<!a)b", /negative lookbehind/],
    ["(a)\\1", /backreference \\1/],
    ["(?<x>a)\\k<x>", /named backreference/],
    ["\\bword\\b", /word boundary/],
    ["\\p{L}+", /Unicode property escape/],
    ["a^b", /anchors/],
    ["(^a|b)c", /anchors/],
    ["*a", /nothing to repeat/],
    ["a**", /nothing to repeat/],
    ["(ab", /unterminated group/],
    ["ab)", /unmatched/],
    ["[ab", /unterminated character class/],
    ["[z-a]", /out of order/],
    ["a{3,1}", /out of order/],
    ["(?i)a", /inline modifiers/],
  ];
  for (const [p, why] of bad) {
    test(p, () => {
      let err: unknown;
      try {
        regexToGbnf(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect((err as InvalidRequestError).code).toBe("unsupported_schema");
      expect((err as Error).message).toMatch(why);
    });
  }
});
