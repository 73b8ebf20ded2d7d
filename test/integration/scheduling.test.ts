/**
 * Priority scheduling through the real server: an urgent request preempts a
 * running low-priority one, which resumes and finishes with the same output
 * as when it runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES } from "../helpers/models";
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
