import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { engineInitFrom } from "../../src/main";

describe("engineInitFrom", () => {
  test("the thread pools busy-poll at llama.cpp's level 50 by default", () => {
    expect(loadConfig({ env: {} }).runtime.poll).toBe(50);
    expect(engineInitFrom(loadConfig({ env: {} })).poll).toBe(50);
  });
  test("-1 (the earlier default) means the default; 0..100 pass through", () => {
    expect(engineInitFrom(loadConfig({ env: {}, overrides: { "runtime.poll": "-1" } })).poll).toBe(50);
    expect(engineInitFrom(loadConfig({ env: {}, overrides: { "runtime.poll": "0" } })).poll).toBe(0);
    expect(engineInitFrom(loadConfig({ env: { INFERFLUX_RUNTIME_POLL: "100" } })).poll).toBe(100);
  });
});
