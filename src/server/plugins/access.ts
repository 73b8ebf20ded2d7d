/**
 * Authentication and scope checks for every request, before the body is
 * parsed: the route's access rule comes from route-scopes.ts; the caller is
 * resolved by the policy engine. Unknown routes fall through to a 404.
 */
import type { PolicyEngine, Principal } from "../../policy";
import { ROUTE_ACCESS, type RouteAccess } from "../route-scopes";

interface CompiledRoute {
  method: string;
  regex: RegExp;
  access: RouteAccess;
  pattern: string;
}

const compiled: CompiledRoute[] = [...ROUTE_ACCESS.entries()].map(([key, access]) => {
  const [method, pattern] = key.split(" ");
  const regex = new RegExp("^" + pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[a-zA-Z]+/g, "[^/]+") + "/?$");
  return { method, regex, access, pattern };
});

/** The access rule and route pattern for a method and path; undefined when no route matches. */
export function matchRoute(method: string, path: string): { access: RouteAccess; pattern: string } | undefined {
  const m = method === "HEAD" ? "GET" : method;
  for (const r of compiled) if (r.method === m && r.regex.test(path)) return r;
  return undefined;
}

export function createAccessGuard(policy: PolicyEngine, metricsPublic: boolean) {
  const principals = new WeakMap<Request, Principal>();
  return {
    /** Resolves and checks the caller; throws 401/403. Returns the principal (anonymous for public routes). */
    async check(request: Request, path: string, sourceIp: string | null): Promise<Principal | undefined> {
      const route = matchRoute(request.method, path);
      if (!route) return undefined;
      if (route.access === "public" || (route.access === "metrics" && metricsPublic)) return undefined;
      const principal = await policy.authenticate({
        authorization: request.headers.get("authorization"),
        apiKeyHeader: request.headers.get("x-api-key"),
        sourceIp,
        route: route.pattern,
      });
      principals.set(request, principal);
      policy.authorize(principal, route.access === "metrics" ? "read" : route.access);
      return principal;
    },
    principalOf(request: Request): Principal | undefined {
      return principals.get(request);
    },
  };
}
