import { describe, expect, test } from "bun:test";
import { Utf8Stream, Utf8Validator, completePrefixLength, isCompleteUtf8 } from "../../../src/shared/utf8";

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

describe("Utf8Validator", () => {
  const b = (...xs: number[]) => new Uint8Array(xs);
  test("valid text, also split anywhere across pushes", () => {
    const text = Buffer.from("a é 日本 🙂 \u{10FFFF}", "utf8");
    for (let cut = 0; cut <= text.length; cut++) {
      const v = new Utf8Validator();
      expect(v.push(text.subarray(0, cut))).toBe(true);
      expect(v.push(text.subarray(cut))).toBe(true);
      expect(v.complete).toBe(true);
    }
  });
  test("overlong forms, surrogates, values above U+10FFFF and stray bytes are refused", () => {
    for (const bad of [b(0xc0, 0x80), b(0xc1, 0xa1), b(0xe0, 0x80, 0x80), b(0xe0, 0x9f, 0xbf), b(0xf0, 0x8f, 0xbf, 0xbf), b(0xed, 0xa0, 0x80), b(0xf4, 0x90, 0x80, 0x80), b(0xf5), b(0xff), b(0x80), b(0x61, 0xbf), b(0xe4, 0x41)]) {
      expect(new Utf8Validator().accepts(bad)).toBe(false);
      expect(isCompleteUtf8(bad)).toBe(false);
    }
  });
  test("the narrowed second byte after E0, ED, F0, F4 applies across pushes; accepts does not commit", () => {
    const v = new Utf8Validator();
    expect(v.push(b(0xed))).toBe(true);
    expect(v.complete).toBe(false);
    expect(v.accepts(b(0xa0))).toBe(false); // would be a surrogate
    expect(v.accepts(b(0x9f))).toBe(true);
    expect(v.accepts(b(0x9f))).toBe(true); // unchanged by accepts
    expect(v.push(b(0x9f, 0xbf))).toBe(true);
    expect(v.complete).toBe(true);
    expect(v.push(b(0xbf))).toBe(false); // refused and not applied
    expect(v.push(b(0x61))).toBe(true);
    expect(isCompleteUtf8(b(0xe4, 0xb8))).toBe(false); // incomplete is not complete
  });
});
