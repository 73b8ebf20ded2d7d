/**
 * The native binding in a child process (a native fault must not take the
 * test runner down): thread pools (and pausing them), decode, double free, and the llama.cpp log
 * arriving intact through the threadsafe callback.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { haveModels, STORIES } from "../../helpers/models";

const PROBE = resolve(import.meta.dir, "../../fixtures/ffi-probe.ts");

describe.skipIf(!haveModels)("ffi context", () => {
  test("separate decode and batch thread pools decode; frees are idempotent; log text is intact", () => {
    const p = Bun.spawnSync([process.execPath, PROBE, STORIES], { stdout: "pipe", stderr: "pipe" });
    const stderr = p.stderr.toString();
    expect(p.exitCode, stderr).toBe(0);
    const out = JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
    expect(out.results).toEqual(["ok", "ok", "ok", "ok", "ok", "ok", "ok"]);
    if (process.platform === "linux") {
      expect(out.canPause).toBe(true);
      // Unpaused, poll 100 keeps a thread spinning on a core for the whole 150 ms (measured here: ~150 ms of CPU).
      expect(out.pausedCpuMs).toBeLessThan(40);
    }
    expect(out.badPool).toContain("poll level must be 0..100");
    const msgs: string[] = out.lines.map((l: { msg: string }) => l.msg);
    // Loading a model logs its metadata; every line must be readable text (the callback once read freed memory).
    expect(msgs.some((m) => m.includes("llama_model_loader"))).toBe(true);
    for (const m of msgs) expect(m).toMatch(/^[\x20-\x7e\t]+$/);
  });
});
