/**
 * Role-based access: three scopes, `admin` implying the others, and a model
 * allow-list per principal (exact names or `*` globs).
 */
import { ConfigError, InvalidRequestError, PermissionError } from "../../shared/errors.ts";
import type { Principal, Scope } from "../types.ts";

export const SCOPES: readonly Scope[] = Object.freeze(["generate", "read", "admin"] as Scope[]);
export const ALL_SCOPES: ReadonlySet<Scope> = Object.freeze(new Set<Scope>(SCOPES)) as ReadonlySet<Scope>;

export function isScope(value: unknown): value is Scope {
  return value === "generate" || value === "read" || value === "admin";
}

/** True when the principal holds `scope` directly or through `admin`. */
export function hasScope(principal: Pick<Principal, "scopes">, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has("admin");
}

/** Throws PermissionError (403) unless the principal holds `scope`. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new PermissionError(`This credential lacks the '${scope}' scope`, "insufficient_scope");
  }
}

const globCache = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  const cached = globCache.get(glob);
  if (cached) return cached;
  if (globCache.size > 1000) globCache.clear();
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  const re = new RegExp(`^${escaped}$`);
  globCache.set(glob, re);
  return re;
}

/** Does `model` match an allow-list entry (exact, or a glob with `*`)? */
export function modelMatches(allowed: readonly string[], model: string): boolean {
  for (const entry of allowed) {
    if (entry === model || entry === "*") return true;
    if (entry.includes("*") && globToRegExp(entry).test(model)) return true;
  }
  return false;
}

/** Throws PermissionError (403) when the principal may not use `model`. */
export function checkModelAllowed(principal: Principal, model: string): void {
  if (principal.models === null) return;
  if (!modelMatches(principal.models, model)) {
    throw new PermissionError(`This credential may not use model '${model}'`, "model_not_allowed");
  }
}

/**
 * Parse a scope list from config ("a,b" or ["a","b"]). Throws ConfigError
 * naming `key` on an unknown scope, or InvalidRequestError when `http` is set
 * (admin routes report bad input as 400).
 */
export function parseScopes(key: string, value: unknown, http = false): Scope[] {
  const fail = (msg: string): never => {
    throw http ? new InvalidRequestError(msg, key) : new ConfigError(key, msg);
  };
  const list = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(list)) return fail("must be a list of scopes (generate, read, admin)");
  const out = new Set<Scope>();
  for (const raw of list) {
    const s = typeof raw === "string" ? raw.trim() : raw;
    if (s === "") continue;
    if (!isScope(s)) return fail(`unknown scope '${String(s)}' (expected generate, read or admin)`);
    out.add(s);
  }
  if (out.size === 0) return fail("must name at least one scope");
  return [...out];
}

/**
 * Map free-form scope/role strings (e.g. OIDC claims) to known scopes through
 * `roleMap`, ignoring the rest; with `direct`, values named like a scope count too.
 */
export function scopesFromStrings(
  values: Iterable<string>,
  roleMap: Readonly<Record<string, readonly Scope[]>> | undefined,
  direct: boolean,
  out = new Set<Scope>(),
): Set<Scope> {
  for (const v of values) {
    if (direct && isScope(v)) out.add(v);
    const mapped = roleMap?.[v];
    if (mapped) for (const s of mapped) out.add(s);
  }
  return out;
}
