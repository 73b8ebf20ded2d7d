/** Maps the server configuration onto PolicyOptions (validation happens in the policy factories). */
import type { Config } from "../config/schema";
import type { PolicyOptions } from "./options";
import type { Scope } from "./types";

export function policyOptionsFromConfig(config: Readonly<Config>): PolicyOptions {
  const { auth, rate_limit, guardrails, audit, policy_store } = config;
  const oidc = auth.oidc.issuer
    ? {
        issuer: auth.oidc.issuer,
        audience: auth.oidc.audience,
        ...(auth.oidc.jwks_uri ? { jwksUri: auth.oidc.jwks_uri } : {}),
        ...(auth.oidc.jwks_file ? { jwksFile: auth.oidc.jwks_file } : {}),
        scopeClaim: auth.oidc.scope_claim,
        tenantClaim: auth.oidc.tenant_claim,
      }
    : undefined;
  return {
    apiKeys: auth.api_keys.map((k) => ({ key: k.key, scopes: k.scopes as Scope[], name: k.name, models: k.models ?? null, tenant: k.tenant })),
    ...(auth.pepper ? { pepper: auth.pepper } : {}),
    ...(oidc ? { oidc } : {}),
    rateLimit: {
      ...(rate_limit.requests_per_minute > 0 ? { requestsPerMinute: rate_limit.requests_per_minute } : {}),
      ...(rate_limit.tokens_per_minute > 0 ? { tokensPerMinute: rate_limit.tokens_per_minute } : {}),
    },
    audit: { ...(audit.path ? { path: audit.path } : {}), debugMode: audit.debug_mode },
    guardrails: { blocklist: [...guardrails.blocklist], ...(guardrails.opa_endpoint ? { opa: { endpoint: guardrails.opa_endpoint } } : {}) },
    store: { ...(policy_store.path ? { path: policy_store.path } : {}), ...(policy_store.passphrase ? { passphrase: policy_store.passphrase } : {}) },
  };
}
