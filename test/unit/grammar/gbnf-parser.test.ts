import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../../src/shared/errors";
import { GT, parseGbnf, validateGbnf } from "../../../src/grammar/gbnf-parser";
import { isViablePrefix, matchesGbnf } from "../../../src/grammar/gbnf-matcher";

function errorOf(text: string, root = "root"): InvalidRequestError {
  try {
    validateGbnf(text, root);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRequestError);
    const err = e as InvalidRequestError;
    expect(err.code).toBe("invalid_grammar");
    expect(err.param).toBe("grammar");
    expect(err.status).toBe(400);
    return err;
  }
  throw new Error(`grammar was accepted: ${text}`);
}

describe("validateGbnf: accepts llama.cpp grammars", () => {
  const good: Record<string, string> = {
    "simple": `root ::= "yes" | "no"\n`,
    "comments and blank lines": `# leading comment\n\nroot ::= item+ # trailing\n\n# between\nitem ::= [a-z]\n`,
    "multi-line alternatives inside groups": `root ::= (\n  "a"\n  | "b"\n)\n`,
    "newline after bar": `root ::= "a" |\n  "b"\n`,
    "escapes": `root ::= "\\x41\\u00e9\\U0001F600\\t\\r\\n\\\\\\"" [\\[\\]\\-\\x00-\\x1F]\n`,
    "negated and ranges": `root ::= [^"\\\\] [a-zA-Z0-9_-]\n`,
    "repetitions": `root ::= "a"{3} "b"{1,} "c"{0,2} "d"{ 2 , 5 } "e"* "f"+ "g"?\n`,
    "dot": `root ::= . .?\n`,
    "CRLF": `root ::= a\r\na ::= "x"\r\n`,
    "empty alternative": `root ::= "a" | ""\n`,
    "forward reference": `root ::= later\nlater ::= "x"\n`,
    "right recursion": `root ::= "a" root | "b"\n`,
    "no trailing newline": `root ::= "x"`,
  };
  for (const [name, text] of Object.entries(good)) test(name, () => void validateGbnf(text));

  test("custom root name", () => void validateGbnf(`start ::= "x"\n`, "start"));
});

describe("validateGbnf: errors with line and column", () => {
  const cases: Array<[string, string, RegExp]> = [
    [`root ::= foo\n`, "line 1 column 10", /undefined rule 'foo'/],
    [`root ::= "a"\nx ::= "b" missing\n`, "line 2 column 11", /undefined rule 'missing'/],
    [`root ::= "abc\n`, "line 2 column 1", /unexpected end of input/],
    [`root ::= [a-z\n`, "line 2 column 1", /unexpected end of input/],
    [`root ::= ("a" | "b"\n`, "line 2 column 1", /expecting '\)'/],
    [`root ::= "a" )\n`, "line 1 column 14", /expecting newline or end/],
    [`root := "a"\n`, "line 1 column 6", /expecting ::=/],
    [`root ::= "a"\n  | "b"\n`, "line 2 column 3", /expecting name/],
    [`root ::= "\\q"\n`, "line 1 column 11", /unknown escape/],
    [`root ::= "\\x4"\n`, "line 1 column 13", /expecting 2 hex chars/],
    [`root ::= * "a"\n`, "line 1 column 10", /expecting preceding item/],
    [`root ::= ""*\n`, "line 1 column 12", /expecting preceding item/],
    [`root ::= "a"{x}\n`, "line 1 column 14", /expecting an int/],
    [`root ::= "a"{1;2}\n`, "line 1 column 15", /expecting ','/],
    [`root ::= "a"{1,2\n`, "line 1 column 17", /expecting '\}'/],
    [`root ::= "a"{2001}\n`, "line 1 column 13", /exceeds sane defaults/],
    [`root ::= "a"{0,2001}\n`, "line 1 column 13", /upper bound exceeds 2000/],
    [`root ::= "a"{3,2}\n`, "line 1 column 13", /below the lower bound/],
    [`root ::= ("a"{0,100}){0,100}\n`, "line 1 column 22", /exceeds sane defaults/],
    [`root ::= [z-a]\n`, "line 1 column 11", /out of order/],
    [`root ::= []\n`, "line 1 column 10", /empty character class/],
    [`root ::= <[123]>\n`, "line 1 column 10", /token/],
    [`root ::= "a"\nroot ::= "b"\n`, "line 2 column 1", /defined more than once/],
    [`root_1 ::= "a"\n`, "line 1 column 5", /expecting ::=/],
    [`x ::= "a"\n`, "line 1 column 1", /does not define a 'root' rule/],
    [``, "line 1 column 1", /does not define a 'root' rule/],
    [`root ::= "a\u0000"\n`, "line 1 column 12", /NUL/],
  ];
  for (const [text, where, why] of cases) {
    test(JSON.stringify(text), () => {
      const err = errorOf(text);
      expect(err.message).toStartWith(`invalid grammar at ${where}: `);
      expect(err.message).toMatch(why);
    });
  }

  test("left recursion: direct, indirect, and hidden behind a nullable prefix", () => {
    expect(errorOf(`root ::= root "a" | "b"\n`).message).toMatch(/line 1 column 1: left recursion detected in rule 'root'/);
    expect(errorOf(`root ::= x\nx ::= y "a"\ny ::= x | "b"\n`).message).toMatch(/left recursion/);
    expect(errorOf(`root ::= "q"\nx ::= [a]* x\n`).message).toMatch(/line 2 column 1: left recursion detected in rule 'x'/);
    expect(errorOf(`root ::= e x\ne ::= f?\nf ::= "z"\nx ::= e root\n`).message).toMatch(/left recursion/);
  });
});

describe("parseGbnf mirrors llama.cpp's expansion", () => {
  test("symbols and synthesized rules", () => {
    const g = parseGbnf(`root ::= ("a" | b)* b\nb ::= [x-z]\n`);
    expect([...g.symbolIds.keys()]).toEqual(["root", "root_1", "b", "root_3"]);
    expect(g.rules[g.symbolIds.get("b")!]).toEqual([
      { type: GT.CHAR, value: 0x78 },
      { type: GT.CHAR_RNG_UPPER, value: 0x7a },
      { type: GT.END, value: 0 },
    ]);
    // root_3 ::= root_1 root_3 |
    expect(g.rules[3].map((e) => e.type)).toEqual([GT.RULE_REF, GT.RULE_REF, GT.ALT, GT.END]);
  });

  test("a literal is repeated as a whole", () => {
    const g = validateGbnf(`root ::= "ab"{2}\n`);
    expect(matchesGbnf(g, "abab")).toBe(true);
    expect(matchesGbnf(g, "abb")).toBe(false);
  });
});

describe("matcher", () => {
  const g = validateGbnf(`root ::= "a" x{2,4} ("b" | "c")* [^x-z]\nx ::= [0-9]\n`);
  test("whole-string matching", () => {
    expect(matchesGbnf(g, "a12b1")).toBe(true);
    expect(matchesGbnf(g, "a12bcq")).toBe(true);
    expect(matchesGbnf(g, "a1b")).toBe(false);
    expect(matchesGbnf(g, "a12345q")).toBe(false);
    expect(matchesGbnf(g, "a1234x")).toBe(false);
  });
  test("viable prefixes", () => {
    expect(isViablePrefix(g, "a12")).toBe(true);
    expect(matchesGbnf(g, "a12")).toBe(false);
    expect(isViablePrefix(g, "b")).toBe(false);
  });
  test("code points beyond the BMP and dot", () => {
    const u = validateGbnf(`root ::= "\\U0001F600" . [\\u4e00-\\u9fff]\n`);
    expect(matchesGbnf(u, "😀x中")).toBe(true);
    expect(matchesGbnf(u, "😀😀中")).toBe(true);
    expect(matchesGbnf(u, "😀x")).toBe(false);
  });
  test("NUL never matches (llama.cpp terminator)", () => {
    expect(matchesGbnf(validateGbnf(`root ::= .\n`), "\u0000")).toBe(false);
  });
});
