/**
 * What every route needs. The request guard looks routes up here; a test
 * walks the app's routes and fails on any route missing from this table.
 */
import type { Scope } from "../policy";

export type RouteAccess = Scope | "public" | "metrics";

const TABLE: [method: string, path: string, access: RouteAccess][] = [
  ["GET", "/healthz", "public"],
  ["GET", "/livez", "public"],
  ["GET", "/readyz", "public"],
  ["GET", "/metrics", "metrics"],
  ["GET", "/openapi.json", "public"],
  ["GET", "/docs", "public"],
  ["GET", "/docs/json", "public"],
  ["GET", "/v1/models", "read"],
  ["GET", "/v1/models/:id", "read"],
  ["GET", "/v1/usage", "read"],
  ["POST", "/v1/chat/completions", "generate"],
  ["POST", "/v1/completions", "generate"],
  ["GET", "/v1/admin/api_keys", "admin"],
  ["POST", "/v1/admin/api_keys", "admin"],
  ["GET", "/v1/admin/api_keys/:id", "admin"],
  ["PATCH", "/v1/admin/api_keys/:id", "admin"],
  ["DELETE", "/v1/admin/api_keys/:id", "admin"],
  ["POST", "/v1/admin/api_keys/:id/revoke", "admin"],
  ["POST", "/v1/admin/api_keys/:id/rotate", "admin"],
  ["GET", "/v1/admin/guardrails", "admin"],
  ["PUT", "/v1/admin/guardrails", "admin"],
  ["GET", "/v1/admin/rate_limit", "admin"],
  ["PUT", "/v1/admin/rate_limit", "admin"],
  ["GET", "/v1/admin/policy", "admin"],
];

export const ROUTE_ACCESS: ReadonlyMap<string, RouteAccess> = new Map(TABLE.map(([m, p, a]) => [`${m} ${p}`, a]));

/** The access rule of a matched route (Elysia's route pattern), or undefined for unknown routes. */
export function accessOf(method: string, routePattern: string): RouteAccess | undefined {
  return ROUTE_ACCESS.get(`${method} ${routePattern}`) ?? (method === "HEAD" ? ROUTE_ACCESS.get(`GET ${routePattern}`) : undefined);
}
