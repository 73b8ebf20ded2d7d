/**
 * Rate limits: token buckets for requests/min and tokens/min (prompt +
 * completion) per principal and per tenant. A principal's own limits (an api
 * key's `limits`) override the global default; tenant limits apply on top.
 *
 * `acquire` is synchronous: every bucket is checked and then debited with no
 * await in between, so concurrent requests are counted exactly. The lease it
 * returns corrects the token estimate once the real usage is known.
 */
import { RateLimitError } from "../../shared/errors.ts";
import type { Principal, RateLimits } from "../types.ts";
import { parseLimits } from "../util.ts";
import { TokenBucket } from "./token-bucket.ts";
import { type TokenUsage, UsageTracker } from "./usage.ts";

export { TokenBucket } from "./token-bucket.ts";
export { UsageTracker } from "./usage.ts";
export type { PrincipalUsage, TokenUsage, UsageCounters, UsageSnapshot } from "./usage.ts";

export interface RateLimiterOptions {
  /** Global default per principal (INFERFLUX_RATE_LIMIT_PER_MINUTE upstream). */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Limits per tenant, shared by all principals of that tenant. */
  tenants?: Record<string, RateLimits>;
  usage?: UsageTracker;
  now?: () => number;
}

export interface Lease {
  /** x-ratelimit-* headers to set on the response (empty when nothing is limited). */
  readonly headers: Readonly<Record<string, string>>;
  readonly estimatedTokens: number;
  /** Replace the estimate with the real usage (a total, or prompt + completion). Idempotent. */
  settle(actual: number | TokenUsage): void;
  /** The request failed: count an error and settle (default: refund the estimate). */
  fail(actual?: number | TokenUsage): void;
}

type Kind = "requests" | "tokens";

interface Check {
  name: string;
  bucket: TokenBucket;
  need: number;
  kind: Kind;
  level: "key" | "tenant";
}

/** "20ms", "1.5s", "6m0s" like OpenAI's x-ratelimit-reset-* values. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms - m * 60_000) / 1000)}s`;
}

export class RateLimiter {
  readonly usage: UsageTracker;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;
  private global: RateLimits;
  private tenants: Record<string, RateLimits>;
  private acquires = 0;

  constructor(options: RateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.usage = options.usage ?? new UsageTracker(this.now);
    this.global = parseLimits("rateLimit", options);
    this.tenants = {};
    this.setTenantLimits(options.tenants ?? {});
  }

  /** Replace the global default (takes effect on the next acquire). */
  setGlobal(limits: RateLimits): void {
    this.global = parseLimits("rateLimit", limits);
  }

  getGlobal(): RateLimits {
    return this.global;
  }

  setTenantLimits(tenants: Record<string, RateLimits>): void {
    const next: Record<string, RateLimits> = {};
    for (const [t, l] of Object.entries(tenants)) next[t] = parseLimits(`rateLimit.tenants.${t}`, l);
    this.tenants = next;
  }

  private bucket(name: string, capacity: number, now: number): TokenBucket {
    let b = this.buckets.get(name);
    if (!b) {
      b = new TokenBucket(capacity, now);
      this.buckets.set(name, b);
    } else {
      b.setCapacity(capacity, now);
      b.refill(now);
    }
    return b;
  }

  private checksFor(p: Principal, estimatedTokens: number, now: number): Check[] {
    const checks: Check[] = [];
    const add = (level: Check["level"], name: string, limits: RateLimits) => {
      if (limits.requestsPerMinute) {
        const bucketName = `${name}:r`;
        const bucket = this.bucket(bucketName, limits.requestsPerMinute, now);
        checks.push({ name: bucketName, bucket, need: 1, kind: "requests", level });
      }
      if (limits.tokensPerMinute) {
        const need = Math.min(estimatedTokens, limits.tokensPerMinute);
        const bucketName = `${name}:t`;
        const bucket = this.bucket(bucketName, limits.tokensPerMinute, now);
        checks.push({ name: bucketName, bucket, need, kind: "tokens", level });
      }
    };
    add("key", `p:${p.kind}:${p.id}`, {
      requestsPerMinute: p.limits.requestsPerMinute ?? this.global.requestsPerMinute,
      tokensPerMinute: p.limits.tokensPerMinute ?? this.global.tokensPerMinute,
    });
    const tenantLimits = p.tenant !== null ? this.tenants[p.tenant] : undefined;
    if (tenantLimits) add("tenant", `t:${p.tenant}`, tenantLimits);
    return checks;
  }

  private headersFor(checks: Check[]): Record<string, string> {
    const h: Record<string, string> = {};
    for (const kind of ["requests", "tokens"] as const) {
      let tightest: Check | undefined;
      for (const c of checks) {
        if (c.kind === kind && (!tightest || c.bucket.tokens < tightest.bucket.tokens)) tightest = c;
      }
      if (!tightest) continue;
      h[`x-ratelimit-limit-${kind}`] = String(tightest.bucket.capacity);
      h[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, Math.floor(tightest.bucket.tokens)));
      h[`x-ratelimit-reset-${kind}`] = formatReset(tightest.bucket.msUntilFull());
    }
    return h;
  }

  /**
   * Reserve one request and `estimatedTokens` tokens for `principal`, or throw
   * RateLimitError (429) with retry-after and x-ratelimit-* headers.
   */
  acquire(principal: Principal, estimatedTokens = 0): Lease {
    const now = this.now();
    const estimate = Math.max(0, Math.ceil(estimatedTokens));
    const checks = this.checksFor(principal, estimate, now);
    let waitMs = 0;
    let blocking: Check | undefined;
    for (const c of checks) {
      const ms = c.bucket.tokens < c.need || c.bucket.tokens < 0 ? Math.max(1, c.bucket.msUntil(Math.max(c.need, 0.0001))) : 0;
      if (ms > waitMs) {
        waitMs = ms;
        blocking = c;
      }
    }
    if (blocking) {
      this.usage.recordRateLimited(principal);
      const what = `${blocking.kind} per minute${blocking.level === "tenant" ? " for this tenant" : ""}`;
      throw new RateLimitError(
        `Rate limit reached: ${blocking.bucket.capacity} ${what}. Retry after ${Math.ceil(waitMs / 1000)}s.`,
        waitMs / 1000,
        "rate_limit_exceeded",
        this.headersFor(checks),
      );
    }
    for (const c of checks) c.bucket.tokens -= c.need;
    this.usage.recordRequest(principal);
    if (++this.acquires % 1024 === 0) this.collect(now);
    return this.lease(principal, estimate, checks);
  }

  private lease(principal: Principal, estimate: number, checks: Check[]): Lease {
    let settled = false;
    const settle = (actual: number | TokenUsage) => {
      if (settled) return;
      settled = true;
      const total = typeof actual === "number" ? Math.max(0, actual) : Math.max(0, actual.promptTokens) + Math.max(0, actual.completionTokens);
      const now = this.now();
      for (const c of checks) {
        if (c.kind !== "tokens") continue;
        // Look the bucket up again: it may have been collected while the request ran.
        const bucket = this.buckets.get(c.name) ?? this.bucket(c.name, c.bucket.capacity, now);
        bucket.refill(now);
        bucket.tokens = Math.min(bucket.capacity, bucket.tokens - (total - c.need));
      }
      this.usage.recordTokens(principal, typeof actual === "number" ? { totalTokens: total } : actual);
    };
    return {
      headers: Object.freeze(this.headersFor(checks)),
      estimatedTokens: estimate,
      settle,
      fail: (actual = 0) => {
        if (!settled) this.usage.recordError(principal);
        settle(actual);
      },
    };
  }

  /** Drop buckets that have refilled completely (a fresh bucket is identical). */
  private collect(now: number): void {
    for (const [name, b] of this.buckets) if (b.isFull(now)) this.buckets.delete(name);
  }

  /** Number of live buckets (for tests and metrics). */
  get bucketCount(): number {
    return this.buckets.size;
  }
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  return new RateLimiter(options);
}
