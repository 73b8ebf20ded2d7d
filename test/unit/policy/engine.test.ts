import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createPolicyEngine, type PolicyEngine, type PolicyOptions, verifyAuditChain } from "../../../src/policy/index.ts";
import { AuthenticationError, ConfigError, PermissionError, RateLimitError } from "../../../src/shared/errors.ts";

const root = mkdtempSync(join(tmpdir(), "ifx-engine-"));
const engines: PolicyEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const PEPPER = "engine-test-pepper-xyz";
const SCRYPT = { N: 1024, r: 8, p: 1 };

function paths() {
  const dir = join(root, `c${++n}`);
  return { dir, store: join(dir, "policy.store"), audit: join(dir, "audit.log") };
}

async function engine(options: PolicyOptions): Promise<PolicyEngine> {
  const e = await createPolicyEngine(options);
  engines.push(e);
  return e;
}

const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

async function rejects401(p: Promise<unknown>, code?: string) {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthenticationError);
    if (code) expect((err as AuthenticationError).code).toBe(code);
    return;
  }
  throw new Error("expected 401");
}

describe("policy engine", () => {
  test("no keys, no OIDC → anonymous with all scopes; auth turns on once a key exists", async () => {
    const p = paths();
    const e = await engine({ store: { path: p.store, pollMs: 0 } });
    expect(e.authEnabled).toBe(false);
    const anon = await e.authenticate({});
    expect(anon.kind).toBe("anonymous");
    expect(() => e.authorize(anon, "admin")).not.toThrow();
    const { key } = await e.admin.createKey({ scopes: ["generate"] });
    expect(e.authEnabled).toBe(true);
    await rejects401(e.authenticate({}), "missing_api_key");
    const who = await e.authenticate(bearer(key));
    expect(who.kind).toBe("api_key");
    // revoking or deleting the last key never turns authentication off again
    await e.admin.revokeKey(who.id);
    await e.admin.deleteKey(who.id);
    expect(e.authEnabled).toBe(true);
    await rejects401(e.authenticate({}), "missing_api_key");
  });

  test("config keys: hashed on load, never written in plaintext; header forms", async () => {
    const p = paths();
    const e = await engine({
      apiKeys: [{ key: "dev-key-123", scopes: ["generate", "read"], name: "dev", tenant: "acme" }, { key: "admin-key-456", scopes: "admin" as never }],
      pepper: PEPPER,
      store: { path: p.store, passphrase: "engine-pass-1", pollMs: 0, scrypt: SCRYPT },
      audit: { path: p.audit },
    });
    expect(e.authEnabled).toBe(true);
    const dev = await e.authenticate(bearer("dev-key-123"));
    expect(dev).toMatchObject({ kind: "api_key", name: "dev", tenant: "acme" });
    expect((await e.authenticate({ apiKeyHeader: "dev-key-123" })).id).toBe(dev.id);
    expect((await e.authenticate({ authorization: "bearer   admin-key-456" })).scopes.has("admin")).toBe(true);
    expect(() => e.authorize(dev, "admin")).toThrow(PermissionError);
    await rejects401(e.authenticate(bearer("dev-key-124")), "invalid_api_key");
    await rejects401(e.authenticate({ authorization: "Basic abc" }), "invalid_authorization_header");
    await e.audit.flush();
    const disk = readFileSync(p.store, "utf8") + readFileSync(p.audit, "utf8");
    expect(disk).not.toContain("dev-key-123");
    expect(disk).not.toContain("admin-key-456");
    const failures = readFileSync(p.audit, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(failures.map((f) => f.type)).toEqual(["auth_failure", "auth_failure"]);
    expect(failures[0]).toMatchObject({ status: 401, outcome: "invalid_api_key", actor: null });
  });

  test("a revoked config key stays revoked after restart", async () => {
    const p = paths();
    const opts: PolicyOptions = { apiKeys: [{ key: "dev-key-123", scopes: ["generate"] }], store: { path: p.store, pollMs: 0 } };
    const a = await engine(opts);
    const id = (await a.authenticate(bearer("dev-key-123"))).id;
    await a.admin.revokeKey(id);
    await a.close();
    const b = await engine({ ...opts, apiKeys: [{ key: "dev-key-123", scopes: ["generate", "read"] }] });
    await rejects401(b.authenticate(bearer("dev-key-123")), "revoked_api_key");
    expect(b.admin.getKey(id).scopes).toEqual(["generate", "read"]);
  });

  test("admin changes take effect immediately: keys, guardrails, rate limit", async () => {
    const p = paths();
    const e = await engine({
      pepper: PEPPER,
      rateLimit: { requestsPerMinute: 100 },
      guardrails: { blocklist: ["alpha"] },
      store: { path: p.store, pollMs: 0 },
      audit: { path: p.audit },
    });
    const t0 = performance.now();
    const { key, record } = await e.admin.createKey({ scopes: ["generate"], models: ["llama-*"] }, { actor: "ops" });
    const principal = await e.authenticate(bearer(key));
    expect(performance.now() - t0).toBeLessThan(250);
    expect(() => e.checkModel(principal, "llama-3")).not.toThrow();
    expect(() => e.checkModel(principal, "qwen")).toThrow(PermissionError);

    expect(e.guardrails.check("alpha").allowed).toBe(false);
    await e.admin.setGuardrails({ blocklist: ["beta"] });
    expect(e.guardrails.check("alpha").allowed).toBe(true);
    expect(e.guardrails.check("beta").allowed).toBe(false);

    await e.admin.setRateLimit({ requestsPerMinute: 2 });
    e.limits.acquire(principal);
    e.limits.acquire(principal);
    expect(() => e.limits.acquire(principal)).toThrow(RateLimitError);

    await e.admin.revokeKey(record.id);
    await rejects401(e.authenticate(bearer(key)), "revoked_api_key");
    expect(e.admin.getKey(record.id).lastUsedAt).not.toBeNull();

    const usage = e.usageSnapshot();
    expect(usage.principals[0]).toMatchObject({ requests: 2, rateLimited: 1 });
    expect(usage.principals[0].id).not.toBe(record.id);
    await e.close();
    expect(verifyAuditChain(p.audit).ok).toBe(true);
  });

  test("a change made by another process reaches this engine within 250 ms", async () => {
    const p = paths();
    const store = { path: p.store, passphrase: "shared-pass-1", pollMs: 25, scrypt: SCRYPT };
    const a = await engine({ pepper: PEPPER, store });
    const b = await engine({ pepper: PEPPER, store });
    const { key } = await a.admin.createKey({ scopes: ["read"] });
    const t0 = performance.now();
    let ok = false;
    while (!ok && performance.now() - t0 < 1000) {
      ok = await b.authenticate(bearer(key)).then(() => true, () => false);
      if (!ok) await Bun.sleep(5);
    }
    expect(ok).toBe(true);
    expect(performance.now() - t0).toBeLessThan(250);
  });

  describe("OIDC through the engine", () => {
    let jwks: { keys: object[] };
    let priv: CryptoKey;
    beforeAll(async () => {
      const kp = await generateKeyPair("ES256", { extractable: true });
      priv = kp.privateKey;
      jwks = { keys: [{ ...(await exportJWK(kp.publicKey)), kid: "k1", alg: "ES256" }] };
    });

    test("JWT bearer → OIDC principal; API keys still work beside it", async () => {
      const p = paths();
      const e = await engine({
        apiKeys: [{ key: "dev-key-123", scopes: ["generate"] }],
        oidc: { issuer: "https://idp", audience: "ifx", jwks: jwks as never },
        store: { path: p.store, pollMs: 0 },
      });
      const token = await new SignJWT({ scope: "read generate", tenant: "t9" })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setSubject("alice").setIssuer("https://idp").setAudience("ifx").setExpirationTime("5m")
        .sign(priv);
      const who = await e.authenticate(bearer(token));
      expect(who).toMatchObject({ kind: "oidc", id: "alice", tenant: "t9" });
      expect((await e.authenticate(bearer("dev-key-123"))).kind).toBe("api_key");
      await rejects401(e.authenticate(bearer(`${token.slice(0, -4)}AAAA`)));
    });
  });

  test("options are validated with the key named", async () => {
    const bad = async (opts: object, key: string) => {
      try {
        await createPolicyEngine(opts as PolicyOptions);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).key).toBe(key);
        expect((err as Error).message).not.toContain("tiny");
        return;
      }
      throw new Error(`expected ConfigError ${key}`);
    };
    await bad({ apiKeys: [{ key: "tiny", scopes: ["generate"] }] }, "apiKeys[0].key");
    await bad({ apiKeys: [{ key: "dev-key-123", scopes: ["root"] }] }, "apiKeys[0].scopes");
    await bad({ pepper: "short" }, "pepper");
    await bad({ guardrails: { regexes: ["("] } }, "guardrails.regexes[0]");
    await bad({ guardrails: { opa: { endpoint: "nope" } } }, "guardrails.opa.endpoint");
    await bad({ rateLimit: { requestsPerMinute: 0 } }, "rateLimit.requestsPerMinute");
    await bad({ oidc: { issuer: "https://x", audience: "a" } }, "oidc.jwksUri");
    await bad({ audit: { keep: -1 } }, "audit.keep");
    await bad({ store: { scrypt: { N: 3 } } }, "store.scrypt.N");
  });

  test("per-request overhead: authenticate + authorize + acquire is tiny", async () => {
    const e = await engine({ apiKeys: [{ key: "dev-key-123", scopes: ["generate"] }], pepper: PEPPER, rateLimit: { requestsPerMinute: 1e9 } });
    const req = bearer("dev-key-123");
    for (let i = 0; i < 200; i++) await e.authenticate(req);
    const t0 = performance.now();
    const N = 5000;
    for (let i = 0; i < N; i++) {
      const p = await e.authenticate(req);
      e.authorize(p, "generate");
      e.limits.acquire(p, 100).settle(100);
    }
    const per = (performance.now() - t0) / N;
    console.log(`engine: authenticate+authorize+acquire ${(per * 1000).toFixed(1)} µs per request`);
    expect(per).toBeLessThan(0.2);
  });
});
