/**
 * The policy engine: authentication (API keys, OIDC), RBAC, rate limits and
 * usage, guardrails, the audit log, the policy store and admin operations,
 * composed behind one object. The request path does no scrypt and no I/O:
 * an API key costs one HMAC and a constant-time compare against an immutable
 * snapshot that is replaced whole whenever the store changes.
 */
import { AuthenticationError, InferFluxError } from "../shared/errors.ts";
import { createLogger } from "../shared/logger.ts";
import { type PolicyAdmin, createPolicyAdmin } from "./admin.ts";
import { type AuditLog, createAuditLog } from "./audit/audit-log.ts";
import { authenticateApiKey, buildKeyIndex, type KeyIndex, keyIdFor } from "./auth/api-keys.ts";
import { createOidcVerifier, looksLikeJwt, type OidcVerifier } from "./auth/oidc.ts";
import { syncConfigKeys } from "./config-keys.ts";
import { createGuardrails, type Guardrails } from "./guardrails/index.ts";
import { RateLimiter, type UsageSnapshot, UsageTracker } from "./limits/index.ts";
import { type NormalizedPolicyOptions, normalizePolicyOptions, type PolicyOptions } from "./options.ts";
import { ALL_SCOPES, checkModelAllowed, requireScope } from "./rbac/index.ts";
import { createPolicyStore, type PolicyStore } from "./store/policy-store.ts";
import type { PolicyState } from "./store/state.ts";
import type { Principal, RateLimits, Scope } from "./types.ts";

export type { AdminContext, KeyInput, PolicyAdmin, PolicyExport } from "./admin.ts";
export { type AuditEventInput, type AuditRecord, type AuditVerifyResult, verifyAuditChain } from "./audit/index.ts";
export { generateApiKey, hashApiKey, keyIdFor, parseGeneratedKey } from "./auth/api-keys.ts";
export { looksLikeJwt } from "./auth/oidc.ts";
export type { GuardrailContext, GuardrailVerdict, Guardrails, StreamChecker } from "./guardrails/index.ts";
export type { Lease, RateLimiter, TokenUsage, UsageSnapshot, UsageTracker } from "./limits/index.ts";
export type { PolicyOptions } from "./options.ts";
export { policyOptionsFromConfig } from "./from-config.ts";
export { ALL_SCOPES, checkModelAllowed, hasScope, parseScopes, requireScope, SCOPES } from "./rbac/index.ts";
export { readPolicyFile } from "./store/policy-store.ts";
export type * from "./types.ts";

const log = createLogger("policy");

/** The credentials of one request, as the HTTP layer found them. */
export interface AuthRequest {
  /** The Authorization header ("Bearer <api key or JWT>"). */
  authorization?: string | null;
  /** An x-api-key style header, used when there is no Authorization header. */
  apiKeyHeader?: string | null;
  /** For the auth_failure audit record. */
  sourceIp?: string | null;
  route?: string | null;
}

/** What the engine serves from; replaced whole on every store change. */
export interface PolicySnapshot {
  readonly revision: number;
  readonly keys: KeyIndex;
  readonly guardrails: Guardrails;
  readonly rateLimit: RateLimits;
  readonly tenantLimits: Readonly<Record<string, RateLimits>>;
  readonly activeKeys: number;
}

export interface PolicyEngine {
  /** Whether credentials are required right now. */
  readonly authEnabled: boolean;
  readonly snapshot: PolicySnapshot;
  /** Resolve the caller; throws AuthenticationError (401) or ServiceUnavailableError (503, IdP keys down). */
  authenticate(request: AuthRequest): Promise<Principal>;
  /** Throws PermissionError (403) unless the principal holds the scope (admin implies all). */
  authorize(principal: Principal, scope: Scope): void;
  /** Throws PermissionError (403) when the principal may not use the model. */
  checkModel(principal: Principal, model: string): void;
  readonly limits: RateLimiter;
  /** The current guardrails (a new object after every settings change). */
  readonly guardrails: Guardrails;
  readonly audit: AuditLog;
  readonly admin: PolicyAdmin;
  readonly usage: UsageTracker;
  usageSnapshot(options?: { maskIds?: boolean }): UsageSnapshot;
  readonly store: PolicyStore;
  /** Stop watching the store and flush the audit log. */
  close(): Promise<void>;
}

export const ANONYMOUS: Principal = Object.freeze({
  kind: "anonymous" as const,
  id: "anonymous",
  tenant: null,
  scopes: ALL_SCOPES,
  models: null,
  limits: Object.freeze({}),
});

function bearerToken(req: AuthRequest): string {
  const auth = req.authorization?.trim();
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) throw new AuthenticationError("Authorization header must be 'Bearer <key>'", "invalid_authorization_header");
    return m[1];
  }
  const key = req.apiKeyHeader?.trim();
  if (key) return key;
  throw new AuthenticationError("Missing credentials: send 'Authorization: Bearer <key>'", "missing_api_key");
}

class Engine implements PolicyEngine {
  private current: PolicySnapshot;
  private readonly lastSeen = new Map<string, number>();
  private authLatched = false;
  readonly admin: PolicyAdmin;
  readonly usage: UsageTracker;

  constructor(
    private readonly o: NormalizedPolicyOptions,
    readonly store: PolicyStore,
    readonly audit: AuditLog,
    readonly limits: RateLimiter,
    private readonly oidc: OidcVerifier | null,
  ) {
    this.usage = limits.usage;
    this.current = this.build(store.state, null);
    store.onChange((state) => this.reload(state));
    this.admin = createPolicyAdmin({
      store,
      audit,
      pepper: o.pepper,
      defaults: { guardrails: o.guardrails, rateLimit: o.rateLimit, tenantLimits: o.tenantLimits },
      checkGuardrails: (s) => void createGuardrails(s, { opa: o.opa }),
      lastUsed: (id) => this.lastSeen.get(id) ?? null,
    });
  }

  private build(state: Readonly<PolicyState>, previous: PolicySnapshot | null): PolicySnapshot {
    let guardrails: Guardrails;
    const settings = state.guardrails ?? this.o.guardrails;
    if (previous && previous.guardrails.settings === settings) {
      guardrails = previous.guardrails;
    } else {
      try {
        guardrails = createGuardrails(settings, { opa: this.o.opa });
      } catch (err) {
        if (!previous) throw err;
        log.error("stored guardrails are invalid; keeping the previous ones", { error: (err as Error).message });
        guardrails = previous.guardrails;
      }
    }
    const rateLimit = state.rateLimit ?? this.o.rateLimit;
    const tenantLimits = { ...this.o.tenantLimits, ...state.tenantLimits };
    this.limits.setGlobal(rateLimit);
    this.limits.setTenantLimits(tenantLimits);
    return Object.freeze({
      revision: state.revision,
      keys: buildKeyIndex(state.apiKeys),
      guardrails,
      rateLimit,
      tenantLimits: Object.freeze(tenantLimits),
      activeKeys: state.apiKeys.filter((k) => !k.revoked).length,
    });
  }

  private reload(state: Readonly<PolicyState>): void {
    this.current = this.build(state, this.current);
    log.debug("policy snapshot replaced", { revision: state.revision });
  }

  get snapshot(): PolicySnapshot {
    return this.current;
  }

  /**
   * Explicit option, else on when OIDC is configured or any key record exists
   * (revoked ones included, so revoking the last key never opens the server);
   * once on, it stays on for the life of the process.
   */
  get authEnabled(): boolean {
    if (this.o.authEnabled !== undefined) return this.o.authEnabled;
    if (!this.authLatched && (this.oidc !== null || this.current.keys.size > 0)) this.authLatched = true;
    return this.authLatched;
  }

  get guardrails(): Guardrails {
    return this.current.guardrails;
  }

  async authenticate(req: AuthRequest): Promise<Principal> {
    if (!this.authEnabled) return ANONYMOUS;
    let token: string | undefined;
    try {
      token = bearerToken(req);
      if (this.oidc && looksLikeJwt(token)) return await this.oidc.verify(token);
      const principal = authenticateApiKey(token, this.current.keys, this.o.pepper, this.o.now());
      this.lastSeen.set(principal.id, this.o.now());
      return principal;
    } catch (err) {
      this.audit.log({
        type: "auth_failure",
        actor: token === undefined ? null : this.actorFor(token),
        sourceIp: req.sourceIp ?? null,
        route: req.route ?? null,
        outcome: err instanceof InferFluxError ? err.code : "error",
        status: err instanceof InferFluxError ? err.status : 500,
      });
      throw err;
    }
  }

  /** A non-secret label for a failed credential: the key id it claims, or the JWT subject. */
  private actorFor(token: string): string | null {
    if (looksLikeJwt(token)) {
      try {
        const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
        return typeof payload.sub === "string" ? `jwt:${payload.sub.slice(0, 128)}` : "jwt";
      } catch {
        return "jwt";
      }
    }
    const id = keyIdFor(token, this.o.pepper);
    return id && this.current.keys.has(id) ? id : null;
  }

  authorize(principal: Principal, scope: Scope): void {
    requireScope(principal, scope);
  }

  checkModel(principal: Principal, model: string): void {
    checkModelAllowed(principal, model);
  }

  usageSnapshot(options?: { maskIds?: boolean }): UsageSnapshot {
    return this.usage.snapshot(options);
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.audit.close();
  }
}

/** Validate options, open the store and the audit log, and compose the engine. */
export async function createPolicyEngine(options: PolicyOptions): Promise<PolicyEngine> {
  const o = normalizePolicyOptions(options);
  const oidc = o.oidc ? createOidcVerifier(o.oidc) : null;
  const store = await createPolicyStore(o.store);
  try {
    await syncConfigKeys(store, o.configKeys);
    const audit = await createAuditLog(o.audit);
    const limits = new RateLimiter({ ...o.rateLimit, tenants: o.tenantLimits, usage: new UsageTracker(o.now), now: o.now });
    const engine = new Engine(o, store, audit, limits, oidc);
    if (o.authEnabled === false && engine.snapshot.activeKeys > 0) {
      log.warn("authentication is disabled although API keys exist; every request is anonymous with all scopes");
    }
    return engine;
  } catch (err) {
    await store.close();
    throw err;
  }
}
