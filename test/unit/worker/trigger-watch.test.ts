import { expect, test } from "bun:test";
import { TriggerWatch } from "../../../src/worker/trigger-watch";

const enc = new TextEncoder();
const feed = (w: TriggerWatch, pieces: string[]) => pieces.map((p) => w.push(enc.encode(p)));

test("a trigger that starts at a token boundary names that token, when its last byte arrives", () => {
  const w = new TriggerWatch(["<tool_call>"]);
  const hits = feed(w, ["Let me", " check.", "\n", "<tool", "_call", ">", "\n{"]);
  expect(hits.slice(0, 5)).toEqual([null, null, null, null, null]);
  expect(hits[5]).toEqual({ fromToken: 3, trigger: "<tool_call>" });
  expect(hits[6]).toBeNull(); // reported once, when it completes
});

test("a trigger inside a token cannot be engaged; a later boundary occurrence can", () => {
  const w = new TriggerWatch(["<tool_call>"]);
  expect(feed(w, ["ok <tool_call>"])[0]).toEqual({ midToken: true, trigger: "<tool_call>" });
  expect(feed(w, [" and ", "<tool_call>"])[1]).toEqual({ fromToken: 2, trigger: "<tool_call>" });
});

test("the earliest starting trigger wins; multi-byte characters split across tokens are matched on bytes", () => {
  const w = new TriggerWatch(['{"name"', "<|python_tag|>"]);
  expect(feed(w, ["<|python_tag|>"])[0]).toEqual({ fromToken: 0, trigger: "<|python_tag|>" });
  const u = new TriggerWatch(["é!"]);
  const e = enc.encode("é");
  expect(u.push(e.subarray(0, 1))).toBeNull();
  expect(u.push(e.subarray(1))).toBeNull();
  expect(u.push(enc.encode("!"))).toEqual({ fromToken: 0, trigger: "é!" }); // "é" began with the first token, split as it was
  const long = new TriggerWatch(["END"]);
  for (let i = 0; i < 500; i++) expect(long.push(enc.encode("abc "))).toBeNull();
  expect(long.push(enc.encode("END"))).toEqual({ fromToken: 500, trigger: "END" });
  expect(new TriggerWatch([]).push(enc.encode("x"))).toBeNull();
});
