import { describe, expect, test } from "bun:test";
import { StopMatcher } from "../../../src/scheduler/stop-strings";

function run(stops: string[], pieces: string[]) {
  const m = new StopMatcher(stops);
  let out = "";
  for (const p of pieces) {
    const r = m.push(p);
    out += r.emit;
    if (r.stopped) return { out, stopped: r.stopped };
  }
  return { out: out + m.flush(), stopped: undefined };
}

describe("StopMatcher", () => {
  test("no stops passes text through", () => expect(run([], ["a", "b"])).toEqual({ out: "ab", stopped: undefined }));
  test("stop inside one piece", () => expect(run(["END"], ["abcENDxyz"])).toEqual({ out: "abc", stopped: "END" }));
  test("stop split across pieces is withheld, never emitted in part", () => {
    const m = new StopMatcher(["</s>"]);
    expect(m.push("hello <").emit).toBe("hello ");
    expect(m.push("/").emit).toBe("");
    const r = m.push("s>tail");
    expect(r).toEqual({ emit: "", stopped: "</s>" });
  });
  test("a false start is released", () => expect(run(["abc"], ["xa", "b", "d"])).toEqual({ out: "xabd", stopped: undefined }));
  test("earliest of several stops wins", () => expect(run(["zz", "b"], ["abzz"])).toEqual({ out: "a", stopped: "b" }));
  test("every split point gives the same result", () => {
    const text = "The quick brown fox STOP jumps";
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(run(["STOP"], [text.slice(0, i), text.slice(i, j), text.slice(j)])).toEqual({ out: "The quick brown fox ", stopped: "STOP" });
      }
    }
  });
});
