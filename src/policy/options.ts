/**
 * PolicyOptions: the plain object the server's configuration is mapped to.
 * `normalizePolicyOptions` validates it and throws ConfigError naming the
 * option key (e.g. "store.scrypt.N", "guardrails.regexes[2]").
 */
import { ConfigError } from "../shared/errors.ts";
import type { AuditLogOptions } from "./audit/audit-log.ts";
import type { OidcOptions } from "./auth/oidc.ts";
import { type ConfigApiKey, type PreparedConfigKey, prepareConfigKeys } from "./config-keys.ts";
import { normalizeOpaOptions } from "./guardrails/opa.ts";
import { normalizeSettings } from "./guardrails/rules.ts";
import type { ScryptParams } from "./store/format.ts";
import type { GuardrailSettings, OpaOptions, PiiAction, RateLimits } from "./types.ts";
import { optBool, optNumber, optRecord, optString, parseLimits } from "./util.ts";

export interface PolicyOptions {
  /** Require credentials. Default: true when any key (config or store) or OIDC is configured. */
  authEnabled?: boolean;
  /** Plaintext keys from the configuration (`auth.api_keys`); hashed on load. */
  apiKeys?: ConfigApiKey[];
  /** Secret for HMAC-SHA-256 of stored keys (recommended). */
  pepper?: string;
  oidc?: OidcOptions;
  rateLimit?: {
    requestsPerMinute?: number;
    tokensPerMinute?: number;
    tenants?: Record<string, RateLimits>;
  };
  audit?: Omit<AuditLogOptions, "onEvent">;
  guardrails?: {
    blocklist?: string[];
    regexes?: string[];
    /** Per PII kind (email, phone, credit_card, iban, ipv4, ipv6, ip, ssn): block | redact | log | off. */
    pii?: Record<string, PiiAction>;
    opa?: { endpoint: string; timeoutMs?: number; failOpen?: boolean };
  };
  store?: {
    path?: string;
    passphrase?: string;
    pollMs?: number;
    scrypt?: Partial<ScryptParams>;
  };
  /** Clock for rate limits and key expiry (tests). */
  now?: () => number;
}

export interface NormalizedPolicyOptions {
  authEnabled: boolean | undefined;
  configKeys: PreparedConfigKey[];
  pepper: string | undefined;
  oidc: OidcOptions | undefined;
  rateLimit: RateLimits;
  tenantLimits: Record<string, RateLimits>;
  audit: NonNullable<PolicyOptions["audit"]>;
  guardrails: GuardrailSettings;
  opa: OpaOptions | undefined;
  store: NonNullable<PolicyOptions["store"]>;
  now: () => number;
}

export function normalizePolicyOptions(options: PolicyOptions): NormalizedPolicyOptions {
  const o = optRecord("policy", options);
  if (!o) throw new ConfigError("policy", "options are required");
  const pepper = optString("pepper", o.pepper, 16);
  const rate = optRecord("rateLimit", o.rateLimit) ?? {};
  const tenantLimits: Record<string, RateLimits> = {};
  for (const [t, l] of Object.entries(optRecord("rateLimit.tenants", rate.tenants) ?? {})) {
    tenantLimits[t] = parseLimits(`rateLimit.tenants.${t}`, l);
  }
  const audit = optRecord("audit", o.audit) ?? {};
  const guardrails = optRecord("guardrails", o.guardrails) ?? {};
  const store = optRecord("store", o.store) ?? {};
  const oidc = optRecord("oidc", o.oidc) as OidcOptions | undefined;
  if (o.now !== undefined && typeof o.now !== "function") throw new ConfigError("now", "must be a function");
  // Validate numeric options early so errors name the PolicyOptions key.
  optBool("audit.debugMode", audit.debugMode);
  optNumber("store.pollMs", store.pollMs, { max: 3_600_000 });
  return {
    authEnabled: optBool("authEnabled", o.authEnabled),
    configKeys: prepareConfigKeys(o.apiKeys, pepper),
    pepper,
    oidc,
    rateLimit: parseLimits("rateLimit", rate),
    tenantLimits,
    audit: audit as NormalizedPolicyOptions["audit"],
    guardrails: normalizeSettings(guardrails as Partial<GuardrailSettings>, "guardrails"),
    opa: normalizeOpaOptions(guardrails.opa, "guardrails.opa"),
    store: store as NormalizedPolicyOptions["store"],
    now: (o.now as () => number) ?? Date.now,
  };
}
