/**
 * The persisted policy state and its validation. Everything an admin can
 * change at run time lives here; fields left null fall back to the
 * configuration file (so editing the config still works until an admin
 * overrides a setting).
 */
import { ConfigError } from "../../shared/errors.ts";
import { isScope } from "../rbac/index.ts";
import type { ApiKeyRecord, GuardrailSettings, RateLimits } from "../types.ts";
import { isRecord } from "../util.ts";

export interface PolicyState {
  version: 1;
  /** Incremented by every write. */
  revision: number;
  updatedAt: string;
  apiKeys: ApiKeyRecord[];
  /** Admin override of the configured guardrails; null = use the configuration. */
  guardrails: GuardrailSettings | null;
  /** Admin override of the global default limits; null = use the configuration. */
  rateLimit: RateLimits | null;
  /** Admin overrides of per-tenant limits (merged over the configured ones). */
  tenantLimits: Record<string, RateLimits>;
}

export function emptyState(): PolicyState {
  return { version: 1, revision: 0, updatedAt: new Date(0).toISOString(), apiKeys: [], guardrails: null, rateLimit: null, tenantLimits: {} };
}

const bad = (why: string): never => {
  throw new ConfigError("policy_store", `invalid policy state: ${why}`);
};

function checkLimits(v: unknown, where: string): RateLimits {
  if (!isRecord(v)) return bad(`${where} must be an object`);
  for (const k of ["requestsPerMinute", "tokensPerMinute"] as const) {
    const n = v[k];
    if (n !== undefined && n !== null && (typeof n !== "number" || !Number.isInteger(n) || n < 1)) bad(`${where}.${k}`);
  }
  return v as RateLimits;
}

function checkKey(k: unknown, i: number): void {
  const where = `apiKeys[${i}]`;
  if (!isRecord(k)) return bad(`${where} must be an object`);
  for (const f of ["id", "name", "hash", "createdAt", "source"]) if (typeof k[f] !== "string") bad(`${where}.${f}`);
  if (!/^(hmac-sha256|sha256):[0-9a-f]{64}$/.test(k.hash as string)) bad(`${where}.hash`);
  if (!Array.isArray(k.scopes) || !k.scopes.every(isScope)) bad(`${where}.scopes`);
  if (k.models !== null && !(Array.isArray(k.models) && k.models.every((m) => typeof m === "string"))) bad(`${where}.models`);
  if (typeof k.revoked !== "boolean") bad(`${where}.revoked`);
  for (const f of ["expiresAt", "tenant", "lastUsedAt"]) if (k[f] !== null && typeof k[f] !== "string") bad(`${where}.${f}`);
  checkLimits(k.limits, `${where}.limits`);
}

/** Check the shape of a state read from disk (or about to be written). */
export function validateState(raw: unknown): PolicyState {
  if (!isRecord(raw)) return bad("not an object");
  if (raw.version !== 1) bad(`unsupported version ${String(raw.version)}`);
  if (typeof raw.revision !== "number" || !Number.isInteger(raw.revision) || raw.revision < 0) bad("revision");
  if (typeof raw.updatedAt !== "string") bad("updatedAt");
  if (!Array.isArray(raw.apiKeys)) bad("apiKeys");
  (raw.apiKeys as unknown[]).forEach(checkKey);
  const ids = new Set((raw.apiKeys as ApiKeyRecord[]).map((k) => k.id));
  if (ids.size !== (raw.apiKeys as unknown[]).length) bad("duplicate key ids");
  if (raw.guardrails !== null) {
    const g = raw.guardrails;
    if (!isRecord(g) || !Array.isArray(g.blocklist) || !Array.isArray(g.regexes) || !isRecord(g.pii)) bad("guardrails");
  }
  if (raw.rateLimit !== null) checkLimits(raw.rateLimit, "rateLimit");
  if (!isRecord(raw.tenantLimits)) bad("tenantLimits");
  for (const [t, l] of Object.entries(raw.tenantLimits as object)) checkLimits(l, `tenantLimits.${t}`);
  return raw as unknown as PolicyState;
}
