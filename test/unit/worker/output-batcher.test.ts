import { describe, expect, test } from "bun:test";
import { OutputBatcher } from "../../../src/worker/output-batcher";
import type { RequestOutput } from "../../../src/engine/messages";

const out = (id: string, text: string, extra: Partial<RequestOutput> = {}): RequestOutput => ({ id, text, tokenIds: [1], ...extra });

describe("OutputBatcher", () => {
  test("merges a request's outputs and holds them until the interval has passed", () => {
    const b = new OutputBatcher(10);
    b.add([out("a", "x", { promptTokens: 3 })]);
    expect(b.take(0).map((o) => o.text)).toEqual(["x"]); // first output: at once
    b.add([out("a", "y")]);
    b.add([out("a", "z")]);
    expect(b.take(5)).toEqual([]);
    const later = b.take(10);
    expect(later).toHaveLength(1);
    expect(later[0].text).toBe("yz");
    expect(later[0].tokenIds).toEqual([1, 1]);
  });

  test("the first output that carries text is flushed at once, even when the first output had none", () => {
    const b = new OutputBatcher(10);
    b.add([out("a", "", { promptTokens: 3 })]); // e.g. half a UTF-8 character
    expect(b.take(0)).toHaveLength(1);
    b.add([out("a", "é")]);
    expect(b.take(1).map((o) => o.text)).toEqual(["é"]);
    b.add([out("a", "more")]);
    expect(b.take(2)).toEqual([]); // later text waits for the interval again
  });

  test("the last output is flushed at once and forgets the request", () => {
    const b = new OutputBatcher(10);
    b.add([out("a", "x", { promptTokens: 1 })]);
    b.take(0);
    b.add([out("a", "y", { finishReason: "length" })]);
    expect(b.take(1).map((o) => o.finishReason)).toEqual(["length"]);
    // the same id reused later starts afresh: its first text is urgent again
    b.add([out("a", "", { promptTokens: 1 })]);
    b.take(2);
    b.add([out("a", "z")]);
    expect(b.take(3).map((o) => o.text)).toEqual(["z"]);
  });

  test("force flushes whatever is pending", () => {
    const b = new OutputBatcher(1000);
    b.add([out("a", "x", { promptTokens: 1 })]);
    b.take(0);
    b.add([out("a", "y")]);
    expect(b.take(1)).toEqual([]);
    expect(b.take(1, true).map((o) => o.text)).toEqual(["y"]);
  });

  test("tookUrgent says whether the outputs just taken had to go at once", () => {
    const b = new OutputBatcher(10);
    b.add([out("a", "x", { promptTokens: 1 })]);
    b.take(0);
    expect(b.tookUrgent).toBe(true);
    b.add([out("a", "y")]);
    b.take(10);
    expect(b.tookUrgent).toBe(false);
    b.add([out("a", "z", { finishReason: "stop" })]);
    b.take(11);
    expect(b.tookUrgent).toBe(true);
  });
});
