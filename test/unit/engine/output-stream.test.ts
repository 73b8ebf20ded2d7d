import { describe, expect, test } from "bun:test";
import { OutputStream } from "../../../src/engine/output-stream";

describe("OutputStream", () => {
  test("yields outputs in order and ends after a finish reason", async () => {
    const s = new OutputStream();
    setTimeout(() => {
      s.push({ id: "a", text: "x", tokenIds: [1] });
      s.push({ id: "a", text: "y", tokenIds: [2], finishReason: "stop" });
      s.push({ id: "a", text: "ignored", tokenIds: [] });
    }, 1);
    const got: string[] = [];
    for await (const o of s) got.push(o.text);
    expect(got).toEqual(["x", "y"]);
  });
  test("an error is thrown from the iterator after earlier outputs", async () => {
    const s = new OutputStream();
    s.push({ id: "a", text: "x", tokenIds: [] });
    s.fail(new Error("boom"));
    const got: string[] = [];
    await expect((async () => {
      for await (const o of s) got.push(o.text);
    })()).rejects.toThrow("boom");
    expect(got).toEqual(["x"]);
  });
});
