import { describe, expect, test } from "bun:test";
import { Utf8Stream, completePrefixLength } from "../../../src/shared/utf8";

describe("Utf8Stream", () => {
  test("a character split across tokens is held back, never U+FFFD", () => {
    const text = "héllo wörld — 你好 🎉!";
    const bytes = new TextEncoder().encode(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = new Utf8Stream();
      const out = s.push(bytes.subarray(0, cut)) + s.push(bytes.subarray(cut)) + s.end();
      expect(out).toBe(text);
    }
    const s = new Utf8Stream();
    let out = "";
    for (const b of bytes) {
      const piece = s.push(Uint8Array.of(b));
      expect(piece.includes("\uFFFD")).toBe(false);
      out += piece;
    }
    expect(out + s.end()).toBe(text);
  });
  test("an incomplete tail at the end becomes U+FFFD; invalid bytes are replaced", () => {
    const s = new Utf8Stream();
    expect(s.push(Uint8Array.of(0x61, 0xe4, 0xbd))).toBe("a");
    expect(s.end()).toBe("\uFFFD");
    expect(new Utf8Stream().push(Uint8Array.of(0xff, 0x61))).toBe("\uFFFDa");
  });
  test("completePrefixLength", () => {
    expect(completePrefixLength([0x61])).toBe(1);
    expect(completePrefixLength([0x61, 0xf0, 0x9f])).toBe(1);
    expect(completePrefixLength([0xf0, 0x9f, 0x8e, 0x89])).toBe(4);
  });
});
