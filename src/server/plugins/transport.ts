/**
 * Transport rules applied before routing: rejection of foreign Host headers
 * when bound to a loopback address (DNS rebinding), and CORS for configured
 * origins (never `*` together with credentials).
 */
import { InferFluxError } from "../../shared/errors";

const LOOPBACK_BINDS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

export interface TransportOptions {
  bindHost: string;
  allowedHosts: readonly string[];
  corsOrigins: readonly string[];
}

/** Host without port: "localhost:8080" -> "localhost", "[::1]:80" -> "[::1]". */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const i = h.lastIndexOf(":");
  return i >= 0 && h.indexOf(":") === i ? h.slice(0, i) : h;
}

export function createTransportGuard(o: TransportOptions) {
  const loopbackOnly = LOOPBACK_BINDS.has(o.bindHost.toLowerCase());
  const extra = new Set(o.allowedHosts.map((h) => h.toLowerCase()));
  const anyOrigin = o.corsOrigins.includes("*");
  const origins = new Set(o.corsOrigins.filter((x) => x !== "*"));

  return {
    /** Throws 403 when a loopback-bound server sees a foreign Host header. */
    checkHost(headers: Headers): void {
      if (!loopbackOnly) return;
      const host = headers.get("host");
      if (!host) return;
      const name = hostName(host);
      if (LOOPBACK_HOSTS.has(name) || extra.has(name) || extra.has(host.toLowerCase())) return;
      throw new InferFluxError(403, "permission_error", "host_not_allowed", `Host '${host}' is not allowed: this server is bound to ${o.bindHost}; add it to server.allowed_hosts to serve it`);
    },
    /** CORS headers for a request's Origin, or none. */
    corsHeaders(headers: Headers): Record<string, string> {
      const origin = headers.get("origin");
      if (!origin || (!anyOrigin && !origins.has(origin))) return {};
      const h: Record<string, string> = {
        "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "access-control-allow-headers": "authorization, content-type, x-api-key, x-priority",
        "access-control-max-age": "600",
        vary: "Origin",
      };
      if (origins.has(origin)) {
        h["access-control-allow-origin"] = origin;
        h["access-control-allow-credentials"] = "true";
      } else h["access-control-allow-origin"] = "*"; // wildcard: never with credentials
      return h;
    },
  };
}
