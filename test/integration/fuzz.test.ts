/**
 * Seeded random requests (test/helpers/request-fuzz.ts), eight at a time: every answer is a
 * proper one (a completion, an SSE stream that ends, or an OpenAI-shaped client error), none is
 * a 5xx or takes long, and afterwards the server is healthy and answers as it did before.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";
import { fuzzRequests, type FuzzRequest } from "../helpers/request-fuzz";

const MODEL = "stories260K-chatml";

describe.skipIf(!haveModels)("random requests", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML, "--ctx-size", "1024", "--parallel", "4"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  const greedy = async () => {
    const r = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, prompt: "Once upon a time", max_tokens: 24, temperature: 0 }),
    });
    return ((await r.json()) as { choices: { text: string }[] }).choices[0].text;
  };

  /** What is wrong with the answer to `req`, or undefined. */
  async function check(req: FuzzRequest): Promise<string | undefined> {
    const t = performance.now();
    const r = await fetch(server.url + req.path, { method: "POST", headers: req.headers, body: req.body, signal: AbortSignal.timeout(30_000) });
    const text = await r.text();
    if (performance.now() - t > 5_000) return `took ${Math.round(performance.now() - t)} ms`;
    if (r.status >= 500) return `status ${r.status}: ${text.slice(0, 200)}`;
    if (text.startsWith("data:")) return text.trimEnd().endsWith("data: [DONE]") ? undefined : `stream did not end: ${text.slice(-200)}`;
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      return `status ${r.status}, not JSON: ${text.slice(0, 200)}`;
    }
    if (r.status === 200) return Array.isArray(json.choices) ? undefined : `200 without choices: ${text.slice(0, 200)}`;
    const e = json.error;
    const shaped = e && typeof e.message === "string" && typeof e.type === "string" && "param" in e && "code" in e;
    return shaped ? undefined : `status ${r.status}, not an OpenAI error: ${text.slice(0, 200)}`;
  }

  test("600 seeded random requests: no 5xx, no hang, every error in OpenAI's shape; the server is unchanged after", async () => {
    const before = await greedy();
    const requests = fuzzRequests(600, 7);
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < requests.length) {
          const req = requests[next++];
          const why = await check(req).catch((e) => `request failed: ${(e as Error).message}`);
          if (why) problems.push(`${why}\n  ${req.path} ${req.body.slice(0, 300)}`);
        }
      }),
    );
    expect(problems).toEqual([]);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { open_requests: number }).open_requests).toBe(0);
    expect(await greedy()).toBe(before);
  }, 240_000);
});
