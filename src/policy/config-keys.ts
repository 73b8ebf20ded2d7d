/**
 * API keys given in plaintext in the configuration (`auth.api_keys`): validated,
 * hashed on load and merged into the store; the plaintext is never written.
 * A config key missing from the store is added; one already there keeps its
 * revoked flag (a revocation survives restarts) and takes scopes, models,
 * tenant, limits and name from the configuration.
 */
import { ConfigError } from "../shared/errors.ts";
import { customKeyProblem, hashApiKey, keyIdFor } from "./auth/api-keys.ts";
import { parseScopes } from "./rbac/index.ts";
import type { PolicyStore } from "./store/policy-store.ts";
import type { ApiKeyRecord, RateLimits, Scope } from "./types.ts";
import { canonicalJson, isRecord, optString, optStringArray, parseLimits } from "./util.ts";

export interface ConfigApiKey {
  key: string;
  scopes: Scope[] | string;
  name?: string;
  models?: string[] | null;
  tenant?: string | null;
  limits?: RateLimits;
}

export interface PreparedConfigKey {
  readonly id: string;
  readonly hash: string;
  readonly name: string;
  readonly scopes: Scope[];
  readonly models: string[] | null;
  readonly tenant: string | null;
  readonly limits: RateLimits;
}

/** Validate and hash config keys (the returned objects hold no plaintext). */
export function prepareConfigKeys(raw: unknown, pepper: string | undefined): PreparedConfigKey[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError("apiKeys", "must be a list of {key, scopes}");
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const at = `apiKeys[${i}]`;
    if (!isRecord(entry)) throw new ConfigError(at, "must be an object {key, scopes}");
    if (typeof entry.key !== "string") throw new ConfigError(`${at}.key`, "is required");
    const problem = customKeyProblem(entry.key);
    if (problem) throw new ConfigError(`${at}.key`, problem);
    const id = keyIdFor(entry.key, pepper) as string;
    if (seen.has(id)) throw new ConfigError(`${at}.key`, "is listed twice");
    seen.add(id);
    return {
      id,
      hash: hashApiKey(entry.key, pepper),
      name: optString(`${at}.name`, entry.name) ?? `config-${id}`,
      scopes: parseScopes(`${at}.scopes`, entry.scopes ?? ["generate", "read"]),
      models: optStringArray(`${at}.models`, entry.models) ?? null,
      tenant: optString(`${at}.tenant`, entry.tenant) ?? null,
      limits: parseLimits(`${at}.limits`, entry.limits),
    };
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Merge prepared config keys into the store; writes only when something changed. */
export async function syncConfigKeys(store: PolicyStore, keys: readonly PreparedConfigKey[]): Promise<void> {
  const merged = (current: readonly ApiKeyRecord[]): ApiKeyRecord[] | null => {
    const out = [...current];
    let changed = false;
    for (const k of keys) {
      const i = out.findIndex((r) => r.id === k.id);
      const existing = i >= 0 ? out[i] : undefined;
      const next: ApiKeyRecord = {
        id: k.id,
        name: k.name,
        hash: k.hash,
        source: existing?.source ?? "config",
        scopes: k.scopes,
        models: k.models,
        limits: k.limits,
        expiresAt: existing?.expiresAt ?? null,
        tenant: k.tenant,
        revoked: existing?.revoked ?? false,
        createdAt: existing?.createdAt ?? new Date().toISOString(),
        lastUsedAt: existing?.lastUsedAt ?? null,
      };
      if (existing && sameJson(existing, next)) continue;
      if (existing) out[i] = next;
      else out.push(next);
      changed = true;
    }
    return changed ? out : null;
  };
  if (merged(store.state.apiKeys) === null) return;
  await store.update((draft) => {
    draft.apiKeys = merged(draft.apiKeys) ?? draft.apiKeys;
  });
}
