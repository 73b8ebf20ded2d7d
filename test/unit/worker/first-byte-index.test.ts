import { describe, expect, test } from "bun:test";
import { FirstByteIndex } from "../../../src/worker/first-byte-index";

const enc = new TextEncoder();
// A small vocabulary: single bytes (the probes), words, a multi-byte character, an empty piece, and EOG.
const pieces = ["a", "b", ",", "]", '"', "ab", "abc", ",\"", "]}", "bz", "é", "éa", "", "</s>", "zz", "\u0000x"];
const EOG = 13;
const vocab = pieces.map((p) => enc.encode(p));
const index = new FirstByteIndex(vocab.length, (t) => vocab[t], (t) => t === EOG);

/** A stand-in grammar: a token passes when its text keeps `accepts(text)` viable. */
function narrowed(viable: (text: string) => boolean): number[] | null {
  const probes = Array.from(index.probes);
  const ids = index.candidates((i) => viable(pieces[probes[i]]));
  return ids ? Array.from(ids) : null;
}

describe("FirstByteIndex", () => {
  test("probes are the one-byte pieces; 'z' and 0xC3 have none, so their buckets are always checked", () => {
    const probeTexts = Array.from(index.probes).map((t) => pieces[t]);
    expect(probeTexts.sort()).toEqual(['"', ",", "]", "a", "b"].sort());
  });

  test("a structural position keeps only the tokens whose first byte passes, plus EOG and unprobed buckets, ascending", () => {
    // After a closed string only "," or "]" may follow.
    const ids = narrowed((s) => s === "," || s === "]")!;
    expect(ids).toEqual([2, 3, 7, 8, 10, 11, 13, 14]); // "é" and "éa": byte 0xC3 has no probe
    expect(ids.map((t) => pieces[t])).toContain("]}");
  });

  test("every token a prefix-closed grammar allows is among the candidates", () => {
    const language = ["abc", ",\"x", "]}", "éa", "zz"];
    const viable = (s: string) => language.some((w) => w.startsWith(s));
    const ids = new Set(narrowed(viable) ?? pieces.map((_, i) => i));
    pieces.forEach((p, t) => {
      if (p !== "" && t !== EOG && viable(p)) expect(ids.has(t)).toBe(true);
    });
  });

  test("null when most of the vocabulary could pass (the full mask is cheaper)", () => {
    expect(narrowed(() => true)).toBeNull();
  });

  test("empty pieces and pieces starting with NUL are never candidates (the grammar rejects them)", () => {
    const ids = narrowed((s) => s === "a") ?? [];
    expect(ids).not.toContain(12);
    expect(ids).not.toContain(15);
  });
});
