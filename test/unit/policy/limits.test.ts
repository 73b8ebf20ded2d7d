import { describe, expect, test } from "bun:test";
import { formatReset, RateLimiter } from "../../../src/policy/limits/index.ts";
import type { Principal, RateLimits } from "../../../src/policy/types.ts";
import { RateLimitError } from "../../../src/shared/errors.ts";

const key = (id: string, limits: RateLimits = {}, tenant: string | null = null): Principal => ({
  kind: "api_key",
  id,
  tenant,
  scopes: new Set(["generate"]),
  models: null,
  limits,
});

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("rate limiter", () => {
  test("50 simultaneous acquires with a limit of N → exactly N allowed", async () => {
    for (const n of [1, 7, 10, 49]) {
      const rl = new RateLimiter({ requestsPerMinute: n });
      const p = key(`k${n}`);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, async () => {
          await Promise.resolve();
          return rl.acquire(p, 10);
        }),
      );
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(n);
      const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      expect(rejected.length).toBe(50 - n);
      for (const r of rejected) expect(r.reason).toBeInstanceOf(RateLimitError);
    }
  });

  test("429 carries retry-after and x-ratelimit headers; success returns headers too", () => {
    const c = clock();
    const rl = new RateLimiter({ requestsPerMinute: 2, tokensPerMinute: 1000, now: c.now });
    const p = key("a");
    const l1 = rl.acquire(p, 100);
    expect(l1.headers["x-ratelimit-limit-requests"]).toBe("2");
    expect(l1.headers["x-ratelimit-remaining-requests"]).toBe("1");
    expect(l1.headers["x-ratelimit-limit-tokens"]).toBe("1000");
    expect(l1.headers["x-ratelimit-remaining-tokens"]).toBe("900");
    expect(l1.headers["x-ratelimit-reset-requests"]).toBe("30s");
    rl.acquire(p, 100);
    try {
      rl.acquire(p, 100);
      throw new Error("expected 429");
    } catch (err) {
      const e = err as RateLimitError;
      expect(e).toBeInstanceOf(RateLimitError);
      expect(e.status).toBe(429);
      expect(e.headers["retry-after"]).toBe("30");
      expect(e.headers["x-ratelimit-limit-requests"]).toBe("2");
      expect(e.headers["x-ratelimit-remaining-requests"]).toBe("0");
      expect(e.headers["x-ratelimit-limit-tokens"]).toBe("1000");
      expect(e.headers["x-ratelimit-remaining-tokens"]).toBe("800");
    }
    c.advance(30_000);
    expect(() => rl.acquire(p, 100)).not.toThrow();
  });

  test("a refused acquire takes nothing from any bucket", () => {
    const c = clock();
    const rl = new RateLimiter({ requestsPerMinute: 100, tokensPerMinute: 1000, now: c.now });
    const p = key("b");
    rl.acquire(p, 900);
    expect(() => rl.acquire(p, 200)).toThrow(RateLimitError);
    const l = rl.acquire(p, 100); // the refused request did not consume a request slot or tokens
    expect(l.headers["x-ratelimit-remaining-requests"]).toBe("98");
    expect(l.headers["x-ratelimit-remaining-tokens"]).toBe("0");
  });

  test("settle corrects the token estimate (debt and refund)", () => {
    const c = clock();
    const rl = new RateLimiter({ tokensPerMinute: 1000, now: c.now });
    const p = key("c");
    const lease = rl.acquire(p, 100);
    lease.settle({ promptTokens: 400, completionTokens: 700 }); // 1100 used: 100 of debt
    lease.settle(5); // idempotent
    expect(() => rl.acquire(p, 0)).toThrow(RateLimitError);
    c.advance(6_000); // +100 tokens → back to 0
    expect(() => rl.acquire(p, 1)).toThrow(RateLimitError);
    c.advance(600);
    expect(() => rl.acquire(p, 500)).toThrow(RateLimitError);
    const l2 = rl.acquire(p, 10);
    expect(l2.headers["x-ratelimit-remaining-tokens"]).toBe("0");
    l2.settle(0); // refund
    expect(rl.acquire(p, 0).headers["x-ratelimit-remaining-tokens"]).toBe("10");
  });

  test("an estimate above the per-minute capacity is clamped, not refused forever", () => {
    const rl = new RateLimiter({ tokensPerMinute: 100 });
    expect(() => rl.acquire(key("d"), 5000)).not.toThrow();
  });

  test("key limits override the global default; tenant limits are shared", () => {
    const c = clock();
    const rl = new RateLimiter({ requestsPerMinute: 1, tenants: { acme: { requestsPerMinute: 3 } }, now: c.now });
    const big = key("big", { requestsPerMinute: 10 }, "acme");
    const small = key("small", {}, "acme");
    rl.acquire(small);
    expect(() => rl.acquire(small)).toThrow(/per minute/); // global default 1/min
    rl.acquire(big);
    rl.acquire(big);
    try {
      rl.acquire(big); // the tenant's 3/min is used up
      throw new Error("expected 429");
    } catch (err) {
      expect((err as Error).message).toContain("tenant");
    }
    rl.setGlobal({ requestsPerMinute: 100 });
    rl.setTenantLimits({});
    expect(() => rl.acquire(small)).not.toThrow();
  });

  test("no limits → no headers, always allowed", () => {
    const rl = new RateLimiter();
    const l = rl.acquire(key("e"), 1e6);
    expect(l.headers).toEqual({});
  });

  test("usage accounting with masked ids", () => {
    const rl = new RateLimiter({ requestsPerMinute: 2 });
    const p = key("abcdef123456", {}, "acme");
    rl.acquire(p, 10).settle({ promptTokens: 10, completionTokens: 20 });
    rl.acquire(p, 10).fail();
    expect(() => rl.acquire(p)).toThrow(RateLimitError);
    const snap = rl.usage.snapshot();
    expect(snap.principals[0]).toMatchObject({
      id: "abcd****",
      requests: 2,
      promptTokens: 10,
      completionTokens: 20,
      totalTokens: 30,
      errors: 1,
      rateLimited: 1,
      tenant: "acme",
    });
    expect(snap.tenants[0]).toMatchObject({ tenant: "acme", requests: 2 });
    expect(snap.totals.requests).toBe(2);
    expect(JSON.stringify(snap)).not.toContain("abcdef123456");
    expect(rl.usage.snapshot({ maskIds: false }).principals[0].id).toBe("abcdef123456");
    expect(rl.usage.forPrincipal(p)).toMatchObject({ requests: 2, errors: 1 });
    expect(rl.usage.forPrincipal(key("other"))).toBeNull();
  });

  test("full buckets are collected", () => {
    const c = clock();
    const rl = new RateLimiter({ requestsPerMinute: 1000, now: c.now });
    for (let i = 0; i < 1023; i++) rl.acquire(key(`k${i}`));
    c.advance(60_000);
    rl.acquire(key("last"));
    expect(rl.bucketCount).toBeLessThan(5);
  });

  test("formatReset", () => {
    expect(formatReset(20)).toBe("20ms");
    expect(formatReset(1500)).toBe("1.5s");
    expect(formatReset(90_000)).toBe("1m30s");
  });

  test("acquire is cheap", () => {
    const rl = new RateLimiter({ requestsPerMinute: 1e9, tokensPerMinute: 1e12, tenants: { t: { requestsPerMinute: 1e9 } } });
    const p = key("perf", {}, "t");
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) rl.acquire(p, 100).settle(120);
    expect((performance.now() - t0) / 20_000).toBeLessThan(0.05);
  });
});
