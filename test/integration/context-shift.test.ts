/**
 * Context shift (runtime.context_shift): at the context limit a generating
 * sequence drops the older half of its tokens after the kept opening and goes
 * on to max_tokens; without it, it finishes with "length" at the limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES } from "../helpers/models";
import { metric, startTestServer, type TestServer } from "../helpers/server";

const CTX = 256;

async function complete(url: string, body: object) {
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "stories260K", temperature: 0, ignore_eos: true, ...body }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as any;
}

const args = (...extra: string[]) => ["--model", STORIES, "--parallel", "2", "--ctx-size", String(CTX), ...extra];
const SHORT = "Once upon a time";
// Longer than half the context, so the shifts drop prompt tokens too.
const LONG = "Tom had a red ball. He liked to play with it in the park. ".repeat(10);

describe.skipIf(!haveModels)("context shift", () => {
  let shifting: TestServer;
  let uncached: TestServer;
  let plain: TestServer;
  beforeAll(async () => {
    [shifting, uncached, plain] = await Promise.all([
      startTestServer(args("--set", "runtime.context_shift=true")),
      startTestServer(args("--set", "runtime.context_shift=true", "--set", "cache.enabled=false")),
      startTestServer(args()),
    ]);
  }, 60_000);
  afterAll(async () => Promise.all([shifting?.stop(), uncached?.stop(), plain?.stop()]));

  test("off (the default): generation ends with length at the context limit", async () => {
    const r = await complete(plain.url, { prompt: SHORT, max_tokens: 600 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage.prompt_tokens + r.usage.completion_tokens).toBe(CTX);
  });

  test("on: generation goes past the context to max_tokens", async () => {
    const before = await metric(shifting.url, "inferflux_engine_context_shifts_total");
    const r = await complete(shifting.url, { prompt: SHORT, max_tokens: 600 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage.completion_tokens).toBe(600);
    // 605 tokens through a 256-token context: at least two shifts.
    expect(await metric(shifting.url, "inferflux_engine_context_shifts_total")).toBeGreaterThanOrEqual(before + 2);
    // Same request, same text; and the same without a prefix cache.
    expect((await complete(shifting.url, { prompt: SHORT, max_tokens: 600 })).choices[0].text).toBe(r.choices[0].text);
    expect((await complete(uncached.url, { prompt: SHORT, max_tokens: 600 })).choices[0].text).toBe(r.choices[0].text);
    // Nothing leaks: once idle, the KV cache holds only what the prefix cache keeps.
    expect(await metric(shifting.url, "inferflux_kv_cache_used_cells")).toBe(await metric(shifting.url, "inferflux_prefix_cache_tokens"));
  }, 60_000);

  test("a long prompt: a cached prompt gives the same text as an uncached one", async () => {
    const warm = await complete(shifting.url, { prompt: LONG, max_tokens: 1 });
    expect(warm.usage.prompt_tokens).toBeGreaterThan(CTX / 2);
    const cached = await complete(shifting.url, { prompt: LONG, max_tokens: 300 });
    expect(cached.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(cached.usage.completion_tokens).toBe(300);
    const cold = await complete(uncached.url, { prompt: LONG, max_tokens: 300 });
    expect(cold.usage.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    expect(cached.choices[0].text).toBe(cold.choices[0].text);
  }, 60_000);

  test("two sequences shifting side by side each give their solo text", async () => {
    const a = { prompt: SHORT, max_tokens: 400 };
    const b = { prompt: "The little dog", max_tokens: 400 };
    const [soloA, soloB] = [await complete(uncached.url, a), await complete(uncached.url, b)];
    const before = await metric(uncached.url, "inferflux_engine_context_shifts_total");
    // Together they fill the cache long before either reaches the limit: one is preempted, resumes and shifts later.
    const [duoA, duoB] = await Promise.all([complete(uncached.url, a), complete(uncached.url, b)]);
    expect(duoA.choices[0].text).toBe(soloA.choices[0].text);
    expect(duoB.choices[0].text).toBe(soloB.choices[0].text);
    expect(duoA.usage.completion_tokens + duoB.usage.completion_tokens).toBe(800);
    expect(await metric(uncached.url, "inferflux_engine_context_shifts_total")).toBeGreaterThanOrEqual(before + 2);
    expect(await metric(uncached.url, "inferflux_kv_cache_used_cells")).toBe(0);
  }, 60_000);
});
