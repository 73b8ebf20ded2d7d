/**
 * Rate limits over real HTTP: the requests-per-minute bucket is exact under
 * concurrency (50 requests at once → exactly N pass, the rest 429 with
 * Retry-After and x-ratelimit-* headers), GET /v1/usage counts them, per-key
 * limits override the global one, token limits are enforced, and
 * `inferflux admin rate-limit --set` changes the global limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";
import { api, type ApiResponse, createKey, MODEL_ID, runCli, tempDir, writeConfig } from "../helpers/policy-helpers";

const ADMIN_KEY = "limits-admin-key-0123456789";

describe.skipIf(!haveModels)("rate limits", () => {
  const tmp = tempDir("limits");
  let server: TestServer;

  beforeAll(async () => {
    const config = writeConfig(tmp.path("server.yaml"), {
      auth: { api_keys: [{ key: ADMIN_KEY, scopes: ["admin"] }] },
      runtime: { ctx_size: 2048, parallel: 4 },
      scheduler: { max_queue: 64 },
    });
    server = await startTestServer(["--config", config, "--model", STORIES_CHATML]);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  const complete = (key: string, extra: object = {}) =>
    api(server.url, "POST", "/v1/completions", { key, body: { model: MODEL_ID, prompt: "Hi", max_tokens: 1, temperature: 0, ...extra } });

  async function burst(key: string, n: number, extra: object = {}): Promise<{ ok: ApiResponse[]; limited: ApiResponse[]; other: ApiResponse[] }> {
    const all = await Promise.all(Array.from({ length: n }, () => complete(key, extra)));
    return {
      ok: all.filter((r) => r.status === 200),
      limited: all.filter((r) => r.status === 429),
      other: all.filter((r) => r.status !== 200 && r.status !== 429),
    };
  }

  function expectLimitedResponse(r: ApiResponse, kind: "requests" | "tokens", limit: number) {
    expect(r.json.error.type).toBe("rate_limit_error");
    expect(r.json.error.code).toBe("rate_limit_exceeded");
    const retry = Number(r.headers.get("retry-after"));
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 60).toBe(true);
    expect(r.headers.get(`x-ratelimit-limit-${kind}`)).toBe(String(limit));
    expect(r.headers.get(`x-ratelimit-remaining-${kind}`)).toBe("0");
    expect(r.headers.get(`x-ratelimit-reset-${kind}`)).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+s$/);
  }

  test("global limit via PUT /v1/admin/rate_limit: 50 concurrent → exactly N succeed; usage reflects it", async () => {
    const N = 10;
    const put = await api(server.url, "PUT", "/v1/admin/rate_limit", { key: ADMIN_KEY, body: { requests_per_minute: N } });
    expect(put.status).toBe(200);
    expect(put.json.requests_per_minute).toBe(N);
    expect((await api(server.url, "GET", "/v1/admin/rate_limit", { key: ADMIN_KEY })).json.requests_per_minute).toBe(N);

    const k = await createKey(server.url, ADMIN_KEY, { name: "burst", scopes: ["generate", "read"] });
    const { ok, limited, other } = await burst(k.key, 50);
    expect(other.map((r) => `${r.status} ${r.text}`)).toEqual([]);
    expect(ok.length).toBe(N);
    expect(limited.length).toBe(50 - N);
    for (const r of limited) expectLimitedResponse(r, "requests", N);
    // Each admitted request saw its own slot of the bucket: remaining N-1 … 0, once each.
    for (const r of ok) expect(r.headers.get("x-ratelimit-limit-requests")).toBe(String(N));
    const remaining = ok.map((r) => Number(r.headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: N }, (_, i) => i));

    // The key's own view of its usage.
    const mine = await api(server.url, "GET", "/v1/usage", { key: k.key });
    expect(mine.status).toBe(200);
    expect(mine.json.usage.requests).toBe(N);
    expect(mine.json.usage.rateLimited).toBe(50 - N);
    expect(mine.json.usage.completionTokens).toBe(N);
    expect(mine.json.usage.errors).toBe(0);
    // The admin's view lists it too (id masked).
    const all = await api(server.url, "GET", "/v1/usage", { key: ADMIN_KEY });
    const entry = all.json.principals.find((p: any) => p.name === "burst");
    expect(entry).toBeDefined();
    expect(entry.id).not.toBe(k.id);
    expect(entry.requests).toBe(N);
    expect(entry.rateLimited).toBe(50 - N);

    // Only generation consumes the limiter: reads still work, another completion does not.
    expect((await api(server.url, "GET", "/v1/models", { key: k.key })).status).toBe(200);
    expect((await complete(k.key)).status).toBe(429);
    // A streaming request is refused the same way, before any SSE byte.
    const streamed = await complete(k.key, { stream: true });
    expect(streamed.status).toBe(429);
    expectLimitedResponse(streamed, "requests", N);
    expect(streamed.headers.get("content-type")).toContain("application/json");
  });

  test("a key's own requests_per_minute overrides the global limit", async () => {
    const k = await createKey(server.url, ADMIN_KEY, { name: "own-limit", scopes: ["generate", "read"], requests_per_minute: 3 });
    const { ok, limited, other } = await burst(k.key, 12);
    expect(other.length).toBe(0);
    expect(ok.length).toBe(3);
    expect(limited.length).toBe(9);
    for (const r of limited) expectLimitedResponse(r, "requests", 3);
    // Other keys are not affected by this key's bucket.
    const fresh = await createKey(server.url, ADMIN_KEY, { name: "neighbour", scopes: ["generate"] });
    expect((await complete(fresh.key)).status).toBe(200);
  });

  test("tokens_per_minute is enforced on the estimate (prompt/4 + max_tokens) under concurrency", async () => {
    // Each request reserves ceil(2/4) + 40 = 41 tokens: 100 tokens admit exactly two at once.
    const k = await createKey(server.url, ADMIN_KEY, { name: "tokens", scopes: ["generate", "read"], tokens_per_minute: 100, requests_per_minute: 1000 });
    const { ok, limited, other } = await burst(k.key, 6, { max_tokens: 40 });
    expect(other.length).toBe(0);
    expect(ok.length).toBe(2);
    expect(limited.length).toBe(4);
    for (const r of limited) expect(r.headers.get("x-ratelimit-limit-tokens")).toBe("100");
    for (const r of ok) expect(r.headers.get("x-ratelimit-limit-tokens")).toBe("100");
  });

  test("`inferflux admin rate-limit --set 7` changes the global limit", async () => {
    const set = await runCli(["admin", "rate-limit", "--set", "7", "--port", String(server.port), "--api-key", ADMIN_KEY]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout).requests_per_minute).toBe(7);
    expect((await api(server.url, "GET", "/v1/admin/rate_limit", { key: ADMIN_KEY })).json.requests_per_minute).toBe(7);
    const show = await runCli(["admin", "rate-limit", "--port", String(server.port), "--api-key", ADMIN_KEY]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout).requests_per_minute).toBe(7);

    const k = await createKey(server.url, ADMIN_KEY, { name: "after-cli", scopes: ["generate"] });
    const { ok, limited } = await burst(k.key, 12);
    expect(ok.length).toBe(7);
    expect(limited.length).toBe(5);

    // Without an admin key the CLI fails and changes nothing.
    const denied = await runCli(["admin", "rate-limit", "--set", "1000", "--port", String(server.port)], { INFERCTL_API_KEY: "", INFERFLUX_API_KEY: "" });
    expect(denied.code).not.toBe(0);
    expect((await api(server.url, "GET", "/v1/admin/rate_limit", { key: ADMIN_KEY })).json.requests_per_minute).toBe(7);
  }, 30_000);

  test("/metrics is public by default (metrics_public: true)", async () => {
    expect((await api(server.url, "GET", "/metrics")).status).toBe(200);
  });
});
