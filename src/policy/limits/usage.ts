/**
 * Usage accounting per principal (api key, OIDC subject or anonymous) and per
 * tenant: requests, prompt/completion tokens, errors and rate-limit refusals.
 * `snapshot()` feeds GET /v1/usage and metrics; ids are masked by default.
 */
import type { Principal } from "../types.ts";
import { maskId } from "../util.ts";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface UsageCounters {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  errors: number;
  rateLimited: number;
}

export interface PrincipalUsage extends UsageCounters {
  id: string;
  kind: Principal["kind"];
  name: string | null;
  tenant: string | null;
  lastUsedAt: string | null;
}

export interface UsageSnapshot {
  since: string;
  totals: UsageCounters;
  principals: PrincipalUsage[];
  tenants: Array<UsageCounters & { tenant: string }>;
}

interface Entry extends UsageCounters {
  principal: Principal;
  lastUsedMs: number | null;
}

function zero(): UsageCounters {
  return { requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, errors: 0, rateLimited: 0 };
}

function add(into: UsageCounters, from: UsageCounters): void {
  into.requests += from.requests;
  into.promptTokens += from.promptTokens;
  into.completionTokens += from.completionTokens;
  into.totalTokens += from.totalTokens;
  into.errors += from.errors;
  into.rateLimited += from.rateLimited;
}

export class UsageTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly since = new Date().toISOString();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(p: Principal): Entry {
    const key = `${p.kind}:${p.id}`;
    let e = this.entries.get(key);
    if (!e) {
      e = { ...zero(), principal: p, lastUsedMs: null };
      this.entries.set(key, e);
    } else if (e.principal !== p) {
      e.principal = p; // keep name/tenant current after a reload
    }
    return e;
  }

  recordRequest(p: Principal): void {
    const e = this.entry(p);
    e.requests++;
    e.lastUsedMs = this.now();
  }

  recordTokens(p: Principal, usage: Partial<TokenUsage> & { totalTokens?: number }): void {
    const e = this.entry(p);
    const prompt = Math.max(0, usage.promptTokens ?? 0);
    const completion = Math.max(0, usage.completionTokens ?? 0);
    e.promptTokens += prompt;
    e.completionTokens += completion;
    e.totalTokens += Math.max(0, usage.totalTokens ?? prompt + completion);
  }

  recordError(p: Principal): void {
    this.entry(p).errors++;
  }

  recordRateLimited(p: Principal): void {
    this.entry(p).rateLimited++;
  }

  /** The counters of one principal (e.g. for GET /v1/usage called by that key), or null. */
  forPrincipal(p: Pick<Principal, "kind" | "id">): UsageCounters | null {
    const e = this.entries.get(`${p.kind}:${p.id}`);
    if (!e) return null;
    const { requests, promptTokens, completionTokens, totalTokens, errors, rateLimited } = e;
    return { requests, promptTokens, completionTokens, totalTokens, errors, rateLimited };
  }

  /** Last successful acquire of an api key, as epoch ms. */
  lastUsed(kind: Principal["kind"], id: string): number | null {
    return this.entries.get(`${kind}:${id}`)?.lastUsedMs ?? null;
  }

  snapshot(options: { maskIds?: boolean } = {}): UsageSnapshot {
    const mask = options.maskIds ?? true;
    const totals = zero();
    const tenants = new Map<string, UsageCounters>();
    const principals: PrincipalUsage[] = [];
    for (const e of this.entries.values()) {
      const counters: UsageCounters = {
        requests: e.requests, promptTokens: e.promptTokens, completionTokens: e.completionTokens,
        totalTokens: e.totalTokens, errors: e.errors, rateLimited: e.rateLimited,
      };
      add(totals, counters);
      const tenant = e.principal.tenant;
      if (tenant !== null) {
        const t = tenants.get(tenant) ?? zero();
        add(t, counters);
        tenants.set(tenant, t);
      }
      principals.push({
        id: mask && e.principal.kind !== "anonymous" ? maskId(e.principal.id) : e.principal.id,
        kind: e.principal.kind,
        name: e.principal.name ?? null,
        tenant,
        lastUsedAt: e.lastUsedMs === null ? null : new Date(e.lastUsedMs).toISOString(),
        ...counters,
      });
    }
    return {
      since: this.since,
      totals,
      principals,
      tenants: [...tenants].map(([tenant, c]) => ({ tenant, ...c })),
    };
  }
}
