/**
 * Differential tests against the real llama.cpp grammar engine (the prebuilt
 * libllama that @node-llama-cpp ships, the pinned llama.cpp): every grammar
 * the compiler emits must load, and llama.cpp must accept exactly the strings
 * our matcher accepts. Skipped where that library is not installed.
 */
import { describe, expect, test } from "bun:test";
import { type Pointer, dlopen, FFIType, read } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { jsonSchemaToGbnf, matchesGbnf, validateGbnf } from "../../../src/grammar/index";
import { sampleGbnf } from "../../../src/grammar/gbnf-sampler";
import corpus from "../../fixtures/schemas/corpus.json";

const LIB = join(import.meta.dir, "../../../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.5.0.so");

const INIT = "_Z23llama_grammar_init_implPK11llama_vocabPKcS3_bPS3_mPKim";
const ACCEPT = "_Z20llama_grammar_acceptP13llama_grammarj";
const STACKS = "_Z24llama_grammar_get_stacksP13llama_grammar";
const FREE = "_Z23llama_grammar_free_implP13llama_grammar";

function tryLoad(): ReturnType<typeof loadLlama> | null {
  try {
    return loadLlama();
  } catch {
    return null;
  }
}

function loadLlama() {
  const lib = dlopen(LIB, {
    [INIT]: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.bool, FFIType.ptr, FFIType.u64, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
    [ACCEPT]: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.void },
    [STACKS]: { args: [FFIType.ptr], returns: FFIType.ptr },
    [FREE]: { args: [FFIType.ptr], returns: FFIType.void },
  });
  const s = lib.symbols as Record<string, (...a: unknown[]) => unknown>;
  const cstr = (text: string) => Buffer.from(text + "\0", "utf8");
  return {
    /** llama.cpp's verdict on a grammar: the grammar handle or null. */
    load(grammar: string): Pointer | null {
      return s[INIT](null, cstr(grammar), cstr("root"), false, null, 0, null, 0) as Pointer | null;
    },
    free(g: Pointer) {
      s[FREE](g);
    },
    /** Feed `text` into a fresh copy of `grammar`; true when it ends on a complete sentence. */
    matches(grammar: string, text: string): boolean {
      const g = this.load(grammar);
      if (!g) throw new Error("grammar did not load");
      try {
        for (const ch of text) s[ACCEPT](g, ch.codePointAt(0)!);
        const vec = s[STACKS](g) as Pointer; // std::vector<std::vector<const llama_grammar_element *>>
        const begin = read.ptr(vec, 0);
        const end = read.ptr(vec, 8);
        for (let p = begin; p < end; p += 24) {
          if (read.ptr(p as Pointer, 0) === read.ptr(p as Pointer, 8)) return true; // an empty stack
        }
        return false;
      } finally {
        this.free(g);
      }
    },
  };
}

const llama = process.platform === "linux" && process.arch === "x64" && existsSync(LIB) ? tryLoad() : null;
const available = llama !== null;

const entries = corpus as Array<{ name: string; schema: unknown; valid: unknown[]; invalid: unknown[] }>;

describe.skipIf(!available)("llama.cpp agrees", () => {
  if (!llama) return;

  test("every corpus grammar loads in llama.cpp (compact and flexible)", () => {
    for (const e of entries) {
      for (const whitespace of ["compact", "flexible"] as const) {
        const g = llama.load(jsonSchemaToGbnf(e.schema, { whitespace }));
        expect({ name: e.name, whitespace, loaded: g !== null }).toEqual({ name: e.name, whitespace, loaded: true });
        if (g) llama.free(g);
      }
    }
  });

  test("llama.cpp accepts exactly what our matcher accepts", () => {
    let compared = 0;
    for (const [i, e] of entries.entries()) {
      if (e.name.includes("/") && i % 4 !== 0) continue;
      const text = jsonSchemaToGbnf(e.schema);
      const parsed = validateGbnf(text);
      const inputs = [...e.valid, ...e.invalid].map((x) => JSON.stringify(x));
      for (let k = 0; k < 3; k++) {
        const s = sampleGbnf(parsed, { seed: 1000 + i * 7 + k });
        if (s !== null) inputs.push(s, s.slice(0, -1), s + " ");
      }
      for (const input of inputs) {
        expect({ name: e.name, input, llama: llama.matches(text, input) }).toEqual({ name: e.name, input, llama: matchesGbnf(parsed, input) });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  test("grammars our validator accepts load; llama.cpp's own errors are ours too", () => {
    const good = [
      `root ::= "a" | ""\n`,
      `root ::= (\n  "a"\n  | "b"\n) x{2,5} .\nx ::= [^\\x00-\\x1F"\\\\]\n`,
      `root ::= "\\U0001F600"{1,2000}\n`,
      `# c\nroot ::= a # d\r\na ::= "x"+\n`,
    ];
    for (const g of good) {
      validateGbnf(g);
      const h = llama.load(g);
      expect(h).not.toBeNull();
      if (h) llama.free(h);
    }
    const bad = [`root ::= foo\n`, `root ::= "a" )\n`, `root ::= "a"{2001}\n`, `root ::= ("a"{0,100}){0,100}\n`, `root ::= root "a"\n`, `x ::= "a"\n`];
    for (const g of bad) {
      expect(() => validateGbnf(g)).toThrow(/invalid grammar at line/);
      expect(llama.load(g)).toBeNull();
    }
  });
});
