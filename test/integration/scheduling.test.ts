/**
 * Priority scheduling through the real server: an urgent request preempts a
 * running low-priority one, which resumes and finishes with the same output
 * as when it runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { haveModels, STORIES, SYNTHETIC } from "../helpers/models";
import { metric, startTestServer, type TestServer } from "../helpers/server";

async function complete(url: string, body: object, headers: Record<string, string> = {}) {
  const r = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ model: "stories260K", temperature: 0, ...body }) });
  return (await r.json()) as any;
}

describe.skipIf(!haveModels)("priority scheduling", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES, "--parallel", "1", "--ctx-size", "1024", "--set", "cache.enabled=false"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("an urgent request preempts; the preempted one resumes with identical output", async () => {
    const low = { prompt: "Once upon a time", max_tokens: 120, ignore_eos: true };
    const alone = await complete(server.url, low);
    const before = await metric(server.url, "inferflux_engine_preemptions_total");
    const lowRun = complete(server.url, low, { "x-priority": "0" });
    await Bun.sleep(15);
    const urgent = await complete(server.url, { prompt: "The dog", max_tokens: 5, priority: 50 });
    expect(urgent.choices[0].text.length).toBeGreaterThan(0);
    const resumed = await lowRun;
    expect(await metric(server.url, "inferflux_engine_preemptions_total")).toBeGreaterThan(before);
    expect(resumed.choices[0].text).toBe(alone.choices[0].text);
    expect(resumed.usage.completion_tokens).toBe(120);
  });

  test("priority outside -100..100 is a 400", async () => {
    const r = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json", "x-priority": "1000" }, body: JSON.stringify({ model: "stories260K", prompt: "x" }) });
    expect(r.status).toBe(400);
  });
});

// The 24M bench model makes a long prefill step last hundreds of milliseconds, long enough to interrupt.
describe.skipIf(!existsSync(SYNTHETIC))("step interruption", () => {
  let server: TestServer;
  const model = "synthetic-llama2vocab-24M-random-q8_0";
  beforeAll(async () => {
    server = await startTestServer(["--model", SYNTHETIC, "--parallel", "2", "--ctx-size", "8192", "--set", "runtime.ubatch_size=256", "--set", "cache.enabled=false"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("an urgent request cuts a long low-priority prefill short; both outputs equal their solo runs", async () => {
    const long = { model, prompt: Array.from({ length: 300 }, (_, i) => `item ${i}`).join(", "), max_tokens: 8, ignore_eos: true, priority: -10 };
    const short = { model, prompt: "The dog ran", max_tokens: 8, ignore_eos: true, priority: 50 };
    const longAlone = await complete(server.url, long);
    const shortAlone = await complete(server.url, short);
    expect(longAlone.usage.prompt_tokens).toBeGreaterThan(1500); // one prefill step of about a second here
    const before = await metric(server.url, "inferflux_engine_steps_interrupted_total");
    let interrupted = false;
    // Timing decides whether the urgent request lands inside the long prefill: try a few offsets.
    for (const delayMs of [100, 250, 50, 400]) {
      const longRun = complete(server.url, long);
      await Bun.sleep(delayMs);
      const urgent = await complete(server.url, short);
      const resumed = await longRun;
      expect(urgent.choices[0].text).toBe(shortAlone.choices[0].text);
      expect(resumed.choices[0].text).toBe(longAlone.choices[0].text);
      expect(resumed.usage.completion_tokens).toBe(8);
      if ((await metric(server.url, "inferflux_engine_steps_interrupted_total")) > before) {
        interrupted = true;
        break;
      }
    }
    expect(interrupted).toBe(true);
  }, 60_000);

});

describe.skipIf(!haveModels)("decode-step interruption", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Two slots: the urgent requests never need a preemption, only the interrupt.
    server = await startTestServer(["--model", STORIES, "--parallel", "2", "--ctx-size", "1024", "--set", "cache.enabled=false"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("an urgent request cuts a decode-only step short; the interrupted sequence's output is unchanged", async () => {
    const low = { prompt: "Once upon a time", max_tokens: 400, ignore_eos: true, priority: -10 };
    const short = { prompt: "The cat sat", max_tokens: 4, ignore_eos: true, priority: 50 };
    const lowAlone = await complete(server.url, low);
    const shortAlone = await complete(server.url, short);
    const before = await metric(server.url, "inferflux_engine_steps_interrupted_total");
    const lowRun = complete(server.url, low);
    for (let i = 0; i < 8; i++) {
      await Bun.sleep(10);
      expect((await complete(server.url, short)).choices[0].text).toBe(shortAlone.choices[0].text);
    }
    const resumed = await lowRun;
    expect(resumed.choices[0].text).toBe(lowAlone.choices[0].text);
    expect(resumed.usage.completion_tokens).toBe(400);
    // The low request's prompt is a few tokens: the steps interrupted were decode steps.
    expect(await metric(server.url, "inferflux_engine_steps_interrupted_total")).toBeGreaterThan(before);
  }, 60_000);
});
