/**
 * Admin operations over the policy store, shared by the HTTP admin routes and
 * the CLI. Inputs are validated (bad input → InvalidRequestError 400, unknown
 * ids → NotFoundError 404). Every change is written to the store, audited as
 * `admin_change` (never with a plaintext key or hash) and reaches the live
 * engine through the store's change listener before the promise resolves.
 */
import { ConfigError, InvalidRequestError, NotFoundError } from "../shared/errors.ts";
import type { AuditLog } from "./audit/audit-log.ts";
import { customKeyProblem, generateApiKey, hashApiKey, keyIdFor } from "./auth/api-keys.ts";
import { normalizeSettings } from "./guardrails/rules.ts";
import { parseScopes } from "./rbac/index.ts";
import type { PolicyStore } from "./store/policy-store.ts";
import type { PolicyState } from "./store/state.ts";
import type { ApiKeyInfo, ApiKeyRecord, GuardrailSettings, RateLimits, Scope } from "./types.ts";
import { isRecord, optString, optStringArray, parseLimits } from "./util.ts";

export interface AdminContext {
  /** Who made the change (key id or OIDC subject). Default "system". */
  actor?: string | null;
  sourceIp?: string | null;
  route?: string | null;
}

export interface KeyInput {
  name?: string;
  scopes?: Scope[] | string;
  models?: string[] | null;
  limits?: RateLimits;
  /** ISO-8601 time or epoch milliseconds; null = never. */
  expiresAt?: string | number | null;
  tenant?: string | null;
}

export interface PolicyExport {
  exportedAt: string;
  storeId: string;
  revision: number;
  apiKeys: ApiKeyInfo[];
  guardrails: GuardrailSettings;
  rateLimit: RateLimits;
  tenantLimits: Record<string, RateLimits>;
  overrides: { guardrails: boolean; rateLimit: boolean };
}

export interface AdminDeps {
  store: PolicyStore;
  audit: AuditLog;
  pepper?: string;
  /** Configured values used while the store has no override. */
  defaults: { guardrails: GuardrailSettings; rateLimit: RateLimits; tenantLimits: Record<string, RateLimits> };
  /** Compile guardrails to validate them before saving (throws ConfigError). */
  checkGuardrails?: (settings: GuardrailSettings) => void;
  /** Last authentication time of a key (epoch ms), from the live engine. */
  lastUsed?: (id: string) => number | null;
}

/** Run validation that throws ConfigError and report it as a 400. */
function asRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidRequestError(err.message.replace(/^config /, ""), err.key);
    throw err;
  }
}

function parseExpiry(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const ms = typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidRequestError("expiresAt must be an ISO-8601 time or epoch milliseconds", "expiresAt");
  if (ms <= Date.now()) throw new InvalidRequestError("expiresAt must be in the future", "expiresAt");
  return new Date(ms).toISOString();
}

function info(r: ApiKeyRecord, lastUsed?: (id: string) => number | null): ApiKeyInfo {
  const { hash: _hash, ...rest } = r;
  const live = lastUsed?.(r.id);
  return { ...rest, lastUsedAt: live ? new Date(live).toISOString() : r.lastUsedAt };
}

export class PolicyAdmin {
  constructor(private readonly deps: AdminDeps) {}

  private get state(): Readonly<PolicyState> {
    return this.deps.store.state;
  }

  private record(id: string): ApiKeyRecord {
    const r = this.state.apiKeys.find((k) => k.id === id);
    if (!r) throw new NotFoundError(`No API key with id '${id}'`, "id", "api_key_not_found");
    return r;
  }

  private audit(ctx: AdminContext | undefined, op: string, details: Record<string, unknown>): void {
    this.deps.audit.log({
      type: "admin_change",
      actor: ctx?.actor ?? "system",
      sourceIp: ctx?.sourceIp ?? null,
      route: ctx?.route ?? null,
      outcome: "success",
      details: { op, ...details },
    });
  }

  /** Apply a change to the key list, folding in live last-used times. */
  private async changeKeys(fn: (keys: ApiKeyRecord[]) => void): Promise<Readonly<PolicyState>> {
    return this.deps.store.update((draft) => {
      const lastUsed = this.deps.lastUsed;
      const keys = draft.apiKeys.map((k) => {
        const live = lastUsed?.(k.id);
        return live ? { ...k, lastUsedAt: new Date(live).toISOString() } : k;
      });
      fn(keys);
      draft.apiKeys = keys;
    });
  }

  private fields(input: KeyInput, partial: boolean): Partial<ApiKeyRecord> {
    if (!isRecord(input)) throw new InvalidRequestError("body must be an object");
    return asRequest(() => {
      const out: Record<string, unknown> = {};
      if (input.name !== undefined || !partial) out.name = optString("name", input.name) ?? undefined;
      if (input.scopes !== undefined || !partial) out.scopes = parseScopes("scopes", input.scopes ?? ["generate", "read"], true);
      if (input.models !== undefined) out.models = optStringArray("models", input.models) ?? null;
      if (input.limits !== undefined) out.limits = parseLimits("limits", input.limits);
      if (input.expiresAt !== undefined) out.expiresAt = parseExpiry(input.expiresAt);
      if (input.tenant !== undefined) out.tenant = optString("tenant", input.tenant) ?? null;
      for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
      return out as Partial<ApiKeyRecord>;
    });
  }

  private newRecord(id: string, hash: string, source: ApiKeyRecord["source"], f: Partial<ApiKeyRecord>): ApiKeyRecord {
    return {
      id,
      name: f.name ?? `key-${id}`,
      hash,
      source,
      scopes: f.scopes ?? ["generate", "read"],
      models: f.models ?? null,
      limits: f.limits ?? {},
      expiresAt: f.expiresAt ?? null,
      tenant: f.tenant ?? null,
      revoked: false,
      createdAt: new Date().toISOString(),
      lastUsedAt: null,
    };
  }

  /** All keys, without hashes. */
  listKeys(): ApiKeyInfo[] {
    return this.state.apiKeys.map((k) => info(k, this.deps.lastUsed));
  }

  getKey(id: string): ApiKeyInfo {
    return info(this.record(id), this.deps.lastUsed);
  }

  /** Generate a new key; the plaintext is returned once and never stored. */
  async createKey(input: KeyInput = {}, ctx?: AdminContext): Promise<{ key: string; record: ApiKeyInfo }> {
    const f = this.fields(input, false);
    let gen = generateApiKey();
    while (this.state.apiKeys.some((k) => k.id === gen.id)) gen = generateApiKey();
    const record = this.newRecord(gen.id, hashApiKey(gen.key, this.deps.pepper), "generated", f);
    await this.changeKeys((keys) => {
      keys.push(record);
    });
    this.audit(ctx, "api_key.create", { keyId: record.id, name: record.name, scopes: record.scopes, tenant: record.tenant });
    return { key: gen.key, record: info(record) };
  }

  /** Register an operator-chosen key (`admin api-keys --add KEY --scopes a,b`). */
  async registerKey(plaintext: string, input: KeyInput = {}, ctx?: AdminContext): Promise<{ record: ApiKeyInfo }> {
    const problem = typeof plaintext === "string" ? customKeyProblem(plaintext) : "must be a string";
    if (problem) throw new InvalidRequestError(`key ${problem}`, "key");
    const id = keyIdFor(plaintext, this.deps.pepper) as string;
    if (this.state.apiKeys.some((k) => k.id === id)) throw new InvalidRequestError("This key is already registered", "key", "key_exists");
    const source = plaintext.startsWith("ifx_") ? "generated" : "custom";
    const record = this.newRecord(id, hashApiKey(plaintext, this.deps.pepper), source, this.fields(input, false));
    await this.changeKeys((keys) => {
      if (keys.some((k) => k.id === id)) throw new InvalidRequestError("This key is already registered", "key", "key_exists");
      keys.push(record);
    });
    this.audit(ctx, "api_key.register", { keyId: id, name: record.name, scopes: record.scopes, tenant: record.tenant });
    return { record: info(record) };
  }

  async revokeKey(id: string, ctx?: AdminContext): Promise<ApiKeyInfo> {
    this.record(id);
    const state = await this.changeKeys((keys) => {
      const i = keys.findIndex((k) => k.id === id);
      if (i < 0) throw new NotFoundError(`No API key with id '${id}'`, "id", "api_key_not_found");
      keys[i] = { ...keys[i], revoked: true };
    });
    this.audit(ctx, "api_key.revoke", { keyId: id });
    return info(state.apiKeys.find((k) => k.id === id) as ApiKeyRecord, this.deps.lastUsed);
  }

  /** Replace a key by a new generated one with the same settings; the old key is revoked. */
  async rotateKey(id: string, ctx?: AdminContext): Promise<{ key: string; record: ApiKeyInfo }> {
    const old = this.record(id);
    let gen = generateApiKey();
    while (this.state.apiKeys.some((k) => k.id === gen.id)) gen = generateApiKey();
    const record: ApiKeyRecord = {
      ...this.newRecord(gen.id, hashApiKey(gen.key, this.deps.pepper), "generated", old),
      name: old.name,
      expiresAt: old.expiresAt && Date.parse(old.expiresAt) > Date.now() ? old.expiresAt : null,
      rotatedFrom: old.id,
    };
    await this.changeKeys((keys) => {
      const i = keys.findIndex((k) => k.id === id);
      if (i < 0) throw new NotFoundError(`No API key with id '${id}'`, "id", "api_key_not_found");
      keys[i] = { ...keys[i], revoked: true };
      keys.push(record);
    });
    this.audit(ctx, "api_key.rotate", { keyId: id, newKeyId: record.id });
    return { key: gen.key, record: info(record) };
  }

  async updateKey(id: string, patch: KeyInput, ctx?: AdminContext): Promise<ApiKeyInfo> {
    this.record(id);
    const f = this.fields(patch, true);
    const state = await this.changeKeys((keys) => {
      const i = keys.findIndex((k) => k.id === id);
      if (i < 0) throw new NotFoundError(`No API key with id '${id}'`, "id", "api_key_not_found");
      keys[i] = { ...keys[i], ...f };
    });
    this.audit(ctx, "api_key.update", { keyId: id, fields: Object.keys(f) });
    return info(state.apiKeys.find((k) => k.id === id) as ApiKeyRecord, this.deps.lastUsed);
  }

  async deleteKey(id: string, ctx?: AdminContext): Promise<void> {
    this.record(id);
    await this.changeKeys((keys) => {
      const i = keys.findIndex((k) => k.id === id);
      if (i >= 0) keys.splice(i, 1);
    });
    this.audit(ctx, "api_key.delete", { keyId: id });
  }

  /** The effective guardrail settings (store override, else configuration). */
  getGuardrails(): GuardrailSettings {
    return this.state.guardrails ?? this.deps.defaults.guardrails;
  }

  /** Replace the guardrail settings (blocklist list replace; omitted fields keep their value). */
  async setGuardrails(input: Partial<GuardrailSettings>, ctx?: AdminContext): Promise<GuardrailSettings> {
    if (!isRecord(input)) throw new InvalidRequestError("body must be an object");
    const current = this.getGuardrails();
    const next = asRequest(() => {
      const s = normalizeSettings({
        blocklist: input.blocklist ?? current.blocklist,
        regexes: input.regexes ?? current.regexes,
        pii: input.pii ?? current.pii,
      }, "guardrails");
      this.deps.checkGuardrails?.(s);
      return s;
    });
    await this.deps.store.update((draft) => {
      draft.guardrails = structuredClone(next) as GuardrailSettings;
    });
    this.audit(ctx, "guardrails.set", { blocklistSize: next.blocklist.length, regexes: next.regexes.length, pii: next.pii });
    return next;
  }

  /** Drop the admin override and use the configured guardrails again. */
  async resetGuardrails(ctx?: AdminContext): Promise<GuardrailSettings> {
    await this.deps.store.update((draft) => {
      draft.guardrails = null;
    });
    this.audit(ctx, "guardrails.reset", {});
    return this.getGuardrails();
  }

  getRateLimit(): RateLimits {
    return this.state.rateLimit ?? this.deps.defaults.rateLimit;
  }

  /** Set the global default limits (requests/min and optionally tokens/min). */
  async setRateLimit(input: RateLimits, ctx?: AdminContext): Promise<RateLimits> {
    const limits = asRequest(() => parseLimits("rateLimit", input));
    await this.deps.store.update((draft) => {
      draft.rateLimit = limits;
    });
    this.audit(ctx, "rate_limit.set", { ...limits });
    return limits;
  }

  /** Set (or with null, clear) the limits of one tenant. */
  async setTenantLimits(tenant: string, input: RateLimits | null, ctx?: AdminContext): Promise<void> {
    asRequest(() => optString("tenant", tenant));
    const limits = input === null ? null : asRequest(() => parseLimits(`tenantLimits.${tenant}`, input));
    await this.deps.store.update((draft) => {
      if (limits === null) delete draft.tenantLimits[tenant];
      else draft.tenantLimits[tenant] = limits;
    });
    this.audit(ctx, "tenant_limits.set", { tenant, limits });
  }

  /** Everything an operator may back up or review: no secrets, no hashes. */
  exportPolicy(): PolicyExport {
    const s = this.state;
    return {
      exportedAt: new Date().toISOString(),
      storeId: this.deps.store.storeId,
      revision: s.revision,
      apiKeys: this.listKeys(),
      guardrails: this.getGuardrails(),
      rateLimit: this.getRateLimit(),
      tenantLimits: { ...this.deps.defaults.tenantLimits, ...s.tenantLimits },
      overrides: { guardrails: s.guardrails !== null, rateLimit: s.rateLimit !== null },
    };
  }
}

export function createPolicyAdmin(deps: AdminDeps): PolicyAdmin {
  return new PolicyAdmin(deps);
}
