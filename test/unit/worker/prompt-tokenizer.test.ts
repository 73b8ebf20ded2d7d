/**
 * PromptTokenizer reuses an earlier prompt's tokens for a shared opening; it
 * must give exactly libllama's tokens. Differential, in a child process per
 * vocabulary (test/fixtures/tokenizer-probe.ts): random prompts with shared
 * openings, special-token texts, Unicode and runs of whitespace.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { haveModels, STORIES, SYNTHETIC } from "../../helpers/models";
import { PromptTokenizer } from "../../../src/worker/prompt-tokenizer";

const PROBE = resolve(import.meta.dir, "../../fixtures/tokenizer-probe.ts");

describe.skipIf(!haveModels)("PromptTokenizer against libllama", () => {
  for (const model of [STORIES, SYNTHETIC]) {
    test.skipIf(!existsSync(model))(`${model.split("/").pop()}: identical tokens, with reuse`, () => {
      for (const seed of ["1", "2"]) {
        const p = Bun.spawnSync([process.execPath, PROBE, model, seed], { stdout: "pipe", stderr: "pipe" });
        expect(p.exitCode, p.stderr.toString()).toBe(0);
        const out = JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
        expect(out.mismatches).toEqual([]);
        expect(out.cases).toBe(240);
        expect(out.plain && out.special).toBe(true); // both vocabularies allow splitting in both modes
        expect(out.reused).toBeGreaterThan(10_000);
      }
    }, 60_000);
  }
});

describe("PromptTokenizer without split rules", () => {
  test("tokenizes every prompt whole and remembers nothing", () => {
    const calls: string[] = [];
    const pt = new PromptTokenizer(
      { tokenize: (t) => (calls.push(t), [1, 2, 3]), pieceLength: () => 1, bos: 1, addBos: true, isMatchedSpecial: () => false },
      { rules: { plain: null, special: null }, minBytes: 4 },
    );
    const long = "a shared opening that is long enough ".repeat(4);
    expect(pt.tokenize(long + "one", true, false)).toEqual([1, 2, 3]);
    expect(pt.tokenize(long + "two", true, false)).toEqual([1, 2, 3]);
    expect(calls).toEqual([long + "one", long + "two"]);
    expect(pt.reusedTokens).toBe(0);
  });
});
