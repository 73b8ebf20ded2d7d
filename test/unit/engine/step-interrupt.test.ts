import { describe, expect, test } from "bun:test";
import { StepInterrupt } from "../../../src/engine/step-interrupt";

describe("StepInterrupt", () => {
  test("a new pair is not armed and has nothing pending", () => {
    const s = new StepInterrupt();
    expect(s.triggered).toBe(false);
    s.posted(100);
    expect(s.triggered).toBe(false); // not armed: nothing interrupts
  });

  test("a posted request at or above the armed priority triggers; below does not", () => {
    const s = new StepInterrupt();
    s.arm(0);
    s.posted(-10);
    expect(s.triggered).toBe(false);
    s.posted(0);
    expect(s.triggered).toBe(true);
  });

  test("posted keeps the highest pending priority; taken clears it", () => {
    const s = new StepInterrupt();
    s.posted(50);
    s.posted(5);
    s.arm(40);
    expect(s.triggered).toBe(true);
    s.taken();
    expect(s.triggered).toBe(false);
    s.arm(undefined);
    s.posted(1e9); // clamped, and still below "never"
    expect(s.triggered).toBe(false);
  });

  test("a view over the same buffer (the worker's) sees the other side's writes", () => {
    const http = new StepInterrupt();
    const worker = new StepInterrupt(http.buffer);
    worker.arm(10);
    http.posted(10);
    expect(worker.triggered).toBe(true);
    worker.taken();
    expect(http.triggered).toBe(false);
  });
});
