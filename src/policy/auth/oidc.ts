/**
 * OIDC bearer tokens: RS256/ES256 JWTs verified with jose against a JWKS.
 *
 * The JWKS is either remote (`jwksUri`, fetched by jose's createRemoteJWKSet:
 * cached, concurrent fetches shared, and an unknown `kid` triggers at most one
 * refetch per `cooldownMs`; failed fetches are also throttled to one per
 * cooldown so a down IdP is not hammered) or local (`jwksFile` or `jwks`).
 * Only RS256 and ES256 are accepted, so `alg: none` and HS256-with-the-RSA-
 * public-key (algorithm confusion) are rejected before any key is used.
 * iss, aud, exp and sub are required; clock tolerance defaults to 30 s.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from "jose";
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from "jose";
import { AuthenticationError, ConfigError, ServiceUnavailableError } from "../../shared/errors.ts";
import { parseScopes, scopesFromStrings } from "../rbac/index.ts";
import type { Principal, Scope } from "../types.ts";
import { optNumber, optRecord, optString, reqString } from "../util.ts";

export const OIDC_ALGORITHMS = Object.freeze(["RS256", "ES256"]);

export interface OidcOptions {
  issuer: string;
  audience: string | string[];
  jwksUri?: string;
  jwksFile?: string;
  jwks?: JSONWebKeySet;
  /** Claim holding scopes: a space-separated string or an array. Default "scope". */
  scopeClaim?: string;
  /** Claim holding roles (array or space-separated string), mapped through roleScopes. Default "roles". */
  rolesClaim?: string;
  /**
   * Role or scope value → scopes, e.g. { "inferflux-admins": ["admin"] }. Scope-claim values
   * named like a scope map to it directly; roles-claim values only through this map.
   */
  roleScopes?: Record<string, Scope[]>;
  /** Claim holding the tenant; falls back to `sub`. Default "tenant". */
  tenantClaim?: string;
  clockToleranceSec?: number;
  /** Minimum time between JWKS refetches (unknown kid or failure). Default 30 000 ms. */
  cooldownMs?: number;
  cacheMaxAgeMs?: number;
  timeoutMs?: number;
}

export interface OidcVerifier {
  verify(token: string): Promise<Principal>;
}

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Three base64url parts separated by dots (the signature may be empty, as with
 * alg none) whose first part decodes to a JSON header with an `alg`; so a
 * custom API key that merely contains two dots is still treated as a key.
 */
export function looksLikeJwt(token: string): boolean {
  if (token.length > 16384 || !JWT_RE.test(token)) return false;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
    return typeof header === "object" && header !== null && typeof header.alg === "string";
  } catch {
    return false;
  }
}

interface Resolved {
  issuer: string;
  audience: string | string[];
  scopeClaim: string;
  rolesClaim: string;
  roleScopes: Record<string, Scope[]>;
  tenantClaim: string;
  clockToleranceSec: number;
  cooldownMs: number;
}

function resolveOptions(o: OidcOptions): Resolved {
  const audience = Array.isArray(o.audience)
    ? o.audience.map((a, i) => reqString(`oidc.audience[${i}]`, a))
    : reqString("oidc.audience", o.audience);
  const roleScopes: Record<string, Scope[]> = {};
  for (const [role, scopes] of Object.entries(optRecord("oidc.roleScopes", o.roleScopes) ?? {})) {
    roleScopes[role] = parseScopes(`oidc.roleScopes.${role}`, scopes);
  }
  return {
    issuer: reqString("oidc.issuer", o.issuer),
    audience,
    scopeClaim: optString("oidc.scopeClaim", o.scopeClaim) ?? "scope",
    rolesClaim: optString("oidc.rolesClaim", o.rolesClaim) ?? "roles",
    roleScopes,
    tenantClaim: optString("oidc.tenantClaim", o.tenantClaim) ?? "tenant",
    clockToleranceSec: optNumber("oidc.clockToleranceSec", o.clockToleranceSec, { max: 3600 }) ?? 30,
    cooldownMs: optNumber("oidc.cooldownMs", o.cooldownMs, { max: 86_400_000 }) ?? 30_000,
  };
}

function localKeySet(o: OidcOptions): JWTVerifyGetKey {
  let jwks: unknown = o.jwks;
  const key = o.jwks ? "oidc.jwks" : "oidc.jwksFile";
  if (!jwks) {
    try {
      jwks = JSON.parse(readFileSync(reqString("oidc.jwksFile", o.jwksFile), "utf8"));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(key, `cannot read JWKS: ${(err as Error).message}`);
    }
  }
  try {
    return createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (err) {
    throw new ConfigError(key, `invalid JWKS: ${(err as Error).message}`);
  }
}

const KEY_ERRORS = new Set(["ERR_JWKS_NO_MATCHING_KEY", "ERR_JWKS_MULTIPLE_MATCHING_KEYS", "ERR_JOSE_NOT_SUPPORTED", "ERR_JOSE_ALG_NOT_ALLOWED", "ERR_JWS_INVALID", "ERR_JWK_INVALID"]);

class JwksUnavailable extends Error {}

/** Remote key set with a failure cooldown on top of jose's unknown-kid cooldown. */
function remoteKeySet(o: OidcOptions, cooldownMs: number): JWTVerifyGetKey {
  const raw = reqString("oidc.jwksUri", o.jwksUri);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("oidc.jwksUri", "must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("oidc.jwksUri", "must be http(s)");
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: cooldownMs,
    cacheMaxAge: optNumber("oidc.cacheMaxAgeMs", o.cacheMaxAgeMs) ?? 600_000,
    timeoutDuration: optNumber("oidc.timeoutMs", o.timeoutMs, { min: 1 }) ?? 5_000,
  });
  let lastFailure = -Infinity;
  return async (header, token) => {
    if (!remote.fresh && Date.now() - lastFailure < cooldownMs) throw new JwksUnavailable("JWKS fetch failed recently");
    try {
      return await remote(header, token);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !KEY_ERRORS.has(code)) {
        lastFailure = Date.now();
        throw new JwksUnavailable((err as Error).message);
      }
      throw err;
    }
  };
}

function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let cur: unknown = payload;
  for (const part of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

function mapError(err: unknown): Error {
  if (err instanceof JwksUnavailable) {
    return new ServiceUnavailableError("Identity provider keys are unavailable", "jwks_unavailable");
  }
  if (err instanceof joseErrors.JWTExpired) return new AuthenticationError("Token has expired", "token_expired");
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new AuthenticationError(`Token claim '${err.claim}' is invalid (${err.reason})`, "invalid_token");
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new AuthenticationError("Token signing key is unknown", "invalid_token");
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AuthenticationError("Token algorithm is not allowed", "invalid_token");
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new AuthenticationError("Token signature is invalid", "invalid_token");
  }
  return new AuthenticationError("Invalid token", "invalid_token");
}

/** Build a verifier; throws ConfigError naming the option at fault. */
export function createOidcVerifier(options: OidcOptions): OidcVerifier {
  const o = resolveOptions(options);
  const sources = [options.jwksUri, options.jwksFile, options.jwks].filter((v) => v !== undefined && v !== null);
  if (sources.length !== 1) throw new ConfigError("oidc.jwksUri", "set exactly one of jwksUri, jwksFile or jwks");
  const getKey = options.jwksUri ? remoteKeySet(options, o.cooldownMs) : localKeySet(options);
  const verifyOptions = {
    issuer: o.issuer,
    audience: o.audience,
    algorithms: [...OIDC_ALGORITHMS],
    clockTolerance: o.clockToleranceSec,
    requiredClaims: ["iss", "aud", "exp", "sub"],
  };

  return {
    async verify(token: string): Promise<Principal> {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, verifyOptions));
      } catch (err) {
        throw mapError(err);
      }
      const sub = String(payload.sub);
      const scopes = scopesFromStrings(stringsOf(claimAt(payload, o.scopeClaim)), o.roleScopes, true);
      scopesFromStrings(stringsOf(claimAt(payload, o.rolesClaim)), o.roleScopes, false, scopes);
      const tenantClaim = claimAt(payload, o.tenantClaim);
      const tenant = typeof tenantClaim === "string" && tenantClaim !== "" ? tenantClaim : sub;
      return Object.freeze({
        kind: "oidc" as const,
        id: sub,
        tenant,
        scopes: Object.freeze(scopes) as ReadonlySet<Scope>,
        models: null,
        limits: {},
      });
    },
  };
}
