/**
 * Shared types of the policy layer: scopes, principals, API key records and
 * guardrail settings. Pure data; no behaviour lives here.
 */

export type Scope = "generate" | "read" | "admin";

/** Per-minute limits; an absent field means "no limit at this level". */
export interface RateLimits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
}

export type PrincipalKind = "api_key" | "oidc" | "anonymous";

/** Who is calling. `id` is a key id or an OIDC subject, never a secret. */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly name?: string;
  readonly tenant: string | null;
  readonly scopes: ReadonlySet<Scope>;
  /** Allowed models (exact names or `*` globs); null = all models. */
  readonly models: readonly string[] | null;
  readonly limits: RateLimits;
}

export type ApiKeySource = "generated" | "custom" | "config";

/** A stored API key. `hash` is "hmac-sha256:<hex>" or "sha256:<hex>"; the plaintext is never stored. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly source: ApiKeySource;
  readonly scopes: readonly Scope[];
  readonly models: readonly string[] | null;
  readonly limits: RateLimits;
  /** ISO-8601 time, or null for no expiry. */
  readonly expiresAt: string | null;
  readonly tenant: string | null;
  readonly revoked: boolean;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** Set on keys created by rotateKey: the id of the key they replaced. */
  readonly rotatedFrom?: string;
}

/** What admin listings and exports show: a record without its hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, "hash">;

export const PII_KINDS = ["email", "phone", "credit_card", "iban", "ipv4", "ipv6", "ssn"] as const;
export type PiiKind = (typeof PII_KINDS)[number];
export type PiiAction = "block" | "redact" | "log" | "off";

export interface OpaOptions {
  readonly endpoint: string;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
}

/** The mutable guardrail settings (what admins may replace at run time). */
export interface GuardrailSettings {
  readonly blocklist: readonly string[];
  readonly regexes: readonly string[];
  readonly pii: Readonly<Partial<Record<PiiKind, PiiAction>>>;
}
