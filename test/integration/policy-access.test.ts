/**
 * Access control over real HTTP: every route of ROUTE_ACCESS against every
 * kind of credential (none, wrong, revoked, expired, lacking the scope, with
 * the scope), the route table against the routes the app really serves,
 * Host-header rejection, the x-api-key header, plaintext keys never reaching
 * the policy store, and OIDC bearer tokens (RS256 JWKS file) including the
 * classic forgeries. One server (no model needed) serves the whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { ROUTE_ACCESS, type RouteAccess } from "../../src/server/route-scopes";
import { createApp } from "../../src/server/app";
import { loadConfig } from "../../src/config";
import { createServerMetrics } from "../../src/metrics/server-metrics";
import { createLogger } from "../../src/shared/logger";
import { createPolicyEngine } from "../../src/policy";
import { startTestServer, type TestServer } from "../helpers/server";
import { api, type ApiResponse, createKey, MODEL_ID, tempDir, writeConfig } from "../helpers/policy-helpers";

const ADMIN_KEY = "cfg-admin-key-0123456789";
const CFG_GENREAD_KEY = "cfg-genread-key-abcdefghij";
const ISS = "https://idp.test.example";
const AUD = "inferflux-tests";

type Cred = "none" | "wrong" | "revoked" | "expired" | "lacking" | "scoped";
const CREDS: Cred[] = ["none", "wrong", "revoked", "expired", "lacking", "scoped"];

const tmp = tempDir("access");
let server: TestServer;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let other: Awaited<ReturnType<typeof generateKeyPair>>;
/** Plaintext keys by role, filled in beforeAll. */
const keys: Record<string, string> = {};
const generatedPlaintexts: string[] = [];
let expiresAtMs = 0;

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const nowSec = () => Math.floor(Date.now() / 1000);

async function jwt(claims: Record<string, unknown> = {}, o: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {}): Promise<string> {
  const payload = { sub: "alice", iss: ISS, aud: AUD, iat: nowSec(), exp: nowSec() + 300, scope: "generate read", ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: o.alg ?? "RS256", kid: o.kid ?? "k1" }).sign(o.key ?? rsa.privateKey);
}

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  other = await generateKeyPair("RS256", { extractable: true });
  const jwksFile = tmp.path("jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] }));
  const config = writeConfig(tmp.path("server.yaml"), {
    server: { metrics_public: false },
    auth: {
      api_keys: [
        { key: ADMIN_KEY, scopes: ["admin"], name: "cfg-admin" },
        { key: CFG_GENREAD_KEY, scopes: ["generate", "read"], name: "cfg-genread" },
      ],
    },
  });
  server = await startTestServer(["--config", config], {
    INFERFLUX_POLICY_STORE: tmp.path("policy.json"),
    INFERFLUX_OIDC_ISSUER: ISS,
    INFERFLUX_OIDC_AUDIENCE: AUD,
    INFERFLUX_AUTH_OIDC_JWKS_FILE: jwksFile,
  }, false);

  // The expiring key first, so the wait overlaps the rest of the set-up.
  expiresAtMs = Date.now() + 1500;
  const expiring = await createKey(server.url, ADMIN_KEY, { name: "expiring", scopes: ["generate", "read", "admin"], expires_at: new Date(expiresAtMs).toISOString() });
  keys.expired = expiring.key;
  generatedPlaintexts.push(expiring.key);
  // While it is still valid it works: its later 401s come from the expiry alone.
  expect((await api(server.url, "GET", "/v1/admin/policy", { key: expiring.key })).status).toBe(200);

  const make = async (role: string, scopes: string[]) => {
    const k = await createKey(server.url, ADMIN_KEY, { name: role, scopes });
    keys[role] = k.key;
    generatedPlaintexts.push(k.key);
    return k;
  };
  await make("read", ["read"]);
  await make("generate", ["generate"]);
  await make("admin", ["admin"]);
  await make("genread", ["generate", "read"]);
  const revoked = await make("revoked", ["generate", "read", "admin"]);
  expect((await api(server.url, "GET", "/v1/admin/policy", { key: revoked.key })).status).toBe(200);
  const rv = await api(server.url, "POST", `/v1/admin/api_keys/${revoked.id}/revoke`, { key: ADMIN_KEY });
  expect(rv.status).toBe(200);
  expect(rv.json.revoked).toBe(true);

  const wait = expiresAtMs + 150 - Date.now();
  if (wait > 0) await Bun.sleep(wait);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

/** A concrete request for a route pattern. */
function concrete(method: string, pattern: string): { path: string; body?: unknown } {
  const path = pattern.replace("/v1/models/:id", `/v1/models/${MODEL_ID}`).replace(":id", "nosuchkey000");
  return { path, body: method === "POST" || method === "PUT" || method === "PATCH" ? {} : undefined };
}

/** The credential header set for a route's access rule. */
function credFor(access: RouteAccess, cred: Cred): string | null {
  const scope = access === "metrics" ? "read" : access;
  switch (cred) {
    case "none":
      return null;
    case "wrong":
      return "not-a-real-key-0000000";
    case "revoked":
      return keys.revoked;
    case "expired":
      return keys.expired;
    case "lacking":
      return { read: keys.generate, generate: keys.read, admin: keys.genread }[scope as "read" | "generate" | "admin"] ?? null;
    case "scoped":
      return { read: keys.read, generate: keys.generate, admin: keys.admin }[scope as "read" | "generate" | "admin"] ?? null;
  }
}

function describeResponse(r: ApiResponse) {
  return `${r.status} ${r.text.slice(0, 200)}`;
}

describe("route × credential matrix", () => {
  for (const [entry, access] of ROUTE_ACCESS) {
    const [method, pattern] = entry.split(" ");
    test(`${entry} (${access})`, async () => {
      const { path, body } = concrete(method, pattern);
      const results = await Promise.all(CREDS.map(async (cred) => [cred, await api(server.url, method, path, { key: credFor(access, cred), body })] as const));
      for (const [cred, r] of results) {
        const where = `${entry} with ${cred} credentials → ${describeResponse(r)}`;
        // Every table entry is really served (no 404 unknown_route) and never crashes.
        expect(r.json?.error?.code, where).not.toBe("unknown_route");
        expect(r.status, where).toBeLessThan(500 + (pattern === "/readyz" ? 4 : 0));
        if (access === "public") {
          expect([401, 403], where).not.toContain(r.status);
          continue;
        }
        if (cred === "none" || cred === "wrong" || cred === "revoked" || cred === "expired") {
          expect(r.status, where).toBe(401);
          expect(r.json?.error?.type, where).toBe("authentication_error");
        } else if (cred === "lacking") {
          expect(r.status, where).toBe(403);
          expect(r.json?.error?.type, where).toBe("permission_error");
        } else {
          expect([401, 403], where).not.toContain(r.status);
        }
      }
    });
  }

  test("admin implies every other scope", async () => {
    for (const [entry, access] of ROUTE_ACCESS) {
      if (access === "admin" || access === "public") continue;
      const [method, pattern] = entry.split(" ");
      const { path, body } = concrete(method, pattern);
      const r = await api(server.url, method, path, { key: keys.admin, body });
      expect([401, 403], `${entry} as admin → ${describeResponse(r)}`).not.toContain(r.status);
    }
  });

  test("/metrics needs the read scope when metrics_public is false", async () => {
    expect((await api(server.url, "GET", "/metrics")).status).toBe(401);
    const ok = await api(server.url, "GET", "/metrics", { key: keys.read });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain("# TYPE");
  });
});

describe("route table completeness", () => {
  test("every route the app registers is in ROUTE_ACCESS", async () => {
    const policy = await createPolicyEngine({});
    try {
      const app = createApp({ config: loadConfig({ env: {} }), engine: {} as never, metrics: createServerMetrics(), log: createLogger("test"), policy });
      const served = app.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`);
      expect(served.length).toBeGreaterThan(10);
      const missing = served.filter((k) => !ROUTE_ACCESS.has(k));
      expect(missing).toEqual([]);
      // And the reverse: no stale table entry for a route that does not exist.
      const stale = [...ROUTE_ACCESS.keys()].filter((k) => !served.includes(k));
      expect(stale).toEqual([]);
    } finally {
      await policy.close();
    }
  });

  test("every operation in the live /openapi.json is in ROUTE_ACCESS", async () => {
    const r = await api(server.url, "GET", "/openapi.json");
    expect(r.status).toBe(200);
    const ops: string[] = [];
    for (const [p, item] of Object.entries(r.json.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(item)) ops.push(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`);
    }
    expect(ops.length).toBeGreaterThan(10);
    expect(ops.filter((k) => !ROUTE_ACCESS.has(k))).toEqual([]);
  });

  test("path variants of protected routes never bypass authentication", async () => {
    const variants = [
      "/v1/admin/policy/", "//v1/admin/policy", "/v1//admin/policy", "/V1/ADMIN/POLICY", "/v1/admin/%70olicy",
      "/v1/admin/policy%2F", "/v1/admin/policy;x", "/v1/admin/policy?x=1", "/v1/admin/./policy", "/v1/admin/x/../policy",
      "/v1/admin/api_keys/", "/v1/admin/api_keys/%2e%2e/", "/v1/models/", "/v1/Models",
    ];
    for (const path of variants) {
      for (const method of ["GET", "HEAD", "POST", "PUT"]) {
        const r = await rawRequest(server.port, method, path);
        expect([401, 404, 405], `${method} ${path} without credentials → ${r.split("\r\n")[0]}`).toContain(Number(r.split(" ")[1]));
      }
    }
  });
});

/** An HTTP/1.1 request with the path sent byte for byte (fetch would normalise it). */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    let buf = "";
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
        },
        data(_s, d) {
          buf += new TextDecoder().decode(d);
        },
        close() {
          resolve(buf);
        },
        error() {
          resolve(buf);
        },
      },
    });
  });
}

describe("transport and headers", () => {
  test("a foreign Host header is rejected with 403 when bound to 127.0.0.1", async () => {
    for (const [path, key] of [["/livez", null], ["/healthz", null], ["/v1/models", keys.read], ["/v1/admin/policy", ADMIN_KEY]] as const) {
      const r = await api(server.url, "GET", path, { key, headers: { host: "evil.example" } });
      expect(r.status, `${path} → ${describeResponse(r)}`).toBe(403);
      expect(r.json.error.code).toBe("host_not_allowed");
      const withPort = await api(server.url, "GET", path, { key, headers: { host: "evil.example:80" } });
      expect(withPort.status).toBe(403);
    }
    const raw = await rawRequest(server.port, "GET", "/livez", { "X-Forwarded-Host": "evil.example" });
    expect(raw.startsWith("HTTP/1.1 200")).toBe(true);
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, "localhost"]) {
      expect((await api(server.url, "GET", "/v1/models", { key: keys.read, headers: { host } })).status).toBe(200);
    }
  });

  test("x-api-key works as an alternative to Authorization", async () => {
    expect((await api(server.url, "GET", "/v1/models", { headers: { "x-api-key": keys.read } })).status).toBe(200);
    expect((await api(server.url, "GET", "/v1/admin/policy", { headers: { "x-api-key": ADMIN_KEY } })).status).toBe(200);
    const wrong = await api(server.url, "GET", "/v1/models", { headers: { "x-api-key": "not-a-real-key-0000000" } });
    expect(wrong.status).toBe(401);
    expect((await api(server.url, "GET", "/v1/models", { headers: { "x-api-key": keys.revoked } })).status).toBe(401);
    expect((await api(server.url, "GET", "/v1/admin/policy", { headers: { "x-api-key": keys.read } })).status).toBe(403);
    // A malformed Authorization header is an error, not a fall-through to x-api-key or anonymous.
    const basic = await api(server.url, "GET", "/v1/models", { headers: { authorization: `Basic ${btoa("u:p")}` } });
    expect(basic.status).toBe(401);
  });

  test("config and generated keys never appear in plaintext in the policy store", async () => {
    const text = readFileSync(tmp.path("policy.json"), "utf8");
    expect(text).toContain("IFXPOLICY");
    expect(text).toContain("cfg-admin"); // the config keys were synced into this file
    for (const k of [ADMIN_KEY, CFG_GENREAD_KEY, ...generatedPlaintexts]) {
      expect(text.includes(k), `plaintext key in store: ${k.slice(0, 8)}…`).toBe(false);
      const secret = k.startsWith("ifx_") ? k.split("_")[2] : k;
      expect(text.includes(secret)).toBe(false);
    }
    // Listings do not leak hashes either.
    const list = await api(server.url, "GET", "/v1/admin/api_keys", { key: ADMIN_KEY });
    expect(list.text).not.toMatch(/sha256:|"hash"/);
    for (const k of [ADMIN_KEY, CFG_GENREAD_KEY, ...generatedPlaintexts]) expect(list.text.includes(k)).toBe(false);
  });
});

describe("OIDC bearer tokens (RS256, JWKS file)", () => {
  const expect401 = async (token: string, what: string) => {
    const r = await api(server.url, "GET", "/v1/models", { key: token });
    expect(r.status, `${what} → ${describeResponse(r)}`).toBe(401);
    expect(r.json.error.type).toBe("authentication_error");
    return r;
  };

  test("a valid token with scope 'generate read' works on /v1/models", async () => {
    const token = await jwt();
    const r = await api(server.url, "GET", "/v1/models", { key: token });
    expect(r.status).toBe(200);
    expect(r.json.object).toBe("list");
    // ...and is a read/generate principal only.
    expect((await api(server.url, "GET", "/v1/admin/policy", { key: token })).status).toBe(403);
    expect((await api(server.url, "POST", "/v1/completions", { key: token, body: {} })).status).toBe(400);
  });

  test("scopes come from the token: read-only cannot generate, admin can administer", async () => {
    const readOnly = await jwt({ scope: "read" });
    expect((await api(server.url, "GET", "/v1/models", { key: readOnly })).status).toBe(200);
    expect((await api(server.url, "POST", "/v1/chat/completions", { key: readOnly, body: {} })).status).toBe(403);
    expect((await api(server.url, "GET", "/v1/admin/policy", { key: await jwt({ scope: "admin" }) })).status).toBe(200);
  });

  test("expired token → 401", async () => {
    const r = await expect401(await jwt({ iat: nowSec() - 600, exp: nowSec() - 120 }), "expired");
    expect(r.json.error.code).toBe("token_expired");
  });

  test("wrong audience → 401", async () => {
    await expect401(await jwt({ aud: "someone-else" }), "wrong aud");
  });

  test("wrong issuer → 401", async () => {
    await expect401(await jwt({ iss: "https://evil.example" }), "wrong iss");
  });

  test("alg none → 401", async () => {
    const payload = { sub: "mallory", iss: ISS, aud: AUD, iat: nowSec(), exp: nowSec() + 300, scope: "generate read admin" };
    await expect401(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`, "alg none");
    await expect401(`${b64url({ alg: "none", kid: "k1" })}.${b64url(payload)}.`, "alg none with kid");
  });

  test("HS256 signed with the RSA public key bytes (algorithm confusion) → 401", async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const secret = new TextEncoder().encode(pem);
    await expect401(await jwt({ scope: "admin" }, { alg: "HS256", key: secret }), "HS256 with PEM");
    const jwk = await exportJWK(rsa.publicKey);
    await expect401(await jwt({ scope: "admin" }, { alg: "HS256", key: new TextEncoder().encode(JSON.stringify(jwk)) }), "HS256 with JWK JSON");
  });

  test("unknown kid → 401", async () => {
    await expect401(await jwt({}, { kid: "no-such-kid" }), "unknown kid");
  });

  test("other forgeries → 401: foreign key with a known kid, edited payload, missing sub", async () => {
    await expect401(await jwt({}, { key: other.privateKey }), "signed by another key");
    const good = await jwt();
    const [h, , s] = good.split(".");
    const payload = { sub: "alice", iss: ISS, aud: AUD, iat: nowSec(), exp: nowSec() + 300, scope: "generate read admin" };
    await expect401(`${h}.${b64url(payload)}.${s}`, "payload edited after signing");
    await expect401(await jwt({ sub: undefined }), "no sub");
  });

  test("API keys keep working next to OIDC", async () => {
    expect((await api(server.url, "GET", "/v1/models", { key: CFG_GENREAD_KEY })).status).toBe(200);
  });
});
