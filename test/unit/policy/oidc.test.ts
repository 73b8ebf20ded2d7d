import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "jose";
import { createOidcVerifier, looksLikeJwt } from "../../../src/policy/auth/oidc.ts";
import { AuthenticationError, ConfigError, ServiceUnavailableError } from "../../../src/shared/errors.ts";

const ISS = "https://idp.example.com";
const AUD = "inferflux";

let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let ec: Awaited<ReturnType<typeof generateKeyPair>>;
let other: Awaited<ReturnType<typeof generateKeyPair>>;
let jwks: { keys: JWK[] };
let server: ReturnType<typeof Bun.serve>;
let hits = 0;
let failJwks = false;
let dir: string;

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

async function sign(
  claims: Record<string, unknown> = {},
  opts: { key?: CryptoKey; alg?: string; kid?: string } = {},
): Promise<string> {
  const alg = opts.alg ?? "RS256";
  const payload = { scope: "generate read", tenant: "acme", sub: "user-42", iss: ISS, aud: AUD, iat: now(), exp: now() + 300, ...claims };
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, kid: opts.kid ?? (alg === "ES256" ? "ec-1" : "rsa-1") });
  return jwt.sign(opts.key ?? (alg === "ES256" ? ec.privateKey : rsa.privateKey));
}

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  other = await generateKeyPair("RS256", { extractable: true });
  jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      hits++;
      return failJwks ? new Response("boom", { status: 500 }) : Response.json(jwks);
    },
  });
  dir = mkdtempSync(join(tmpdir(), "ifx-oidc-"));
});

afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const local = () => createOidcVerifier({ issuer: ISS, audience: AUD, jwks });

async function rejects(p: Promise<unknown>, code?: string): Promise<AuthenticationError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);
    if (code) expect((err as AuthenticationError).code).toBe(code);
    return err as AuthenticationError;
  }
  throw new Error("expected a 401");
}

describe("OIDC attack matrix (local JWKS)", () => {
  test("valid RS256 and ES256 tokens", async () => {
    const v = local();
    const p = await v.verify(await sign());
    expect(p.kind).toBe("oidc");
    expect(p.id).toBe("user-42");
    expect(p.tenant).toBe("acme");
    expect([...p.scopes].sort()).toEqual(["generate", "read"]);
    const q = await v.verify(await sign({ scope: ["admin"], tenant: undefined }, { alg: "ES256" }));
    expect([...q.scopes]).toEqual(["admin"]);
    expect(q.tenant).toBe("user-42"); // falls back to sub
  });

  test("alg none", async () => {
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "x", iss: ISS, aud: AUD, exp: now() + 60 })}.`;
    expect(looksLikeJwt(token)).toBe(true);
    expect(looksLikeJwt("my.custom.key")).toBe(false);
    expect(looksLikeJwt("ifx_abc_def_ghi")).toBe(false);
    await rejects(local().verify(token));
  });

  test("HS256 signed with the RSA public key (algorithm confusion)", async () => {
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(jwks.keys[0]))]) {
      const token = await new SignJWT({ scope: "admin" })
        .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
        .setSubject("attacker").setIssuer(ISS).setAudience(AUD).setExpirationTime("5m")
        .sign(secret);
      await rejects(local().verify(token));
    }
  });

  test("unknown kid", async () => {
    await rejects(local().verify(await sign({}, { kid: "nope", key: other.privateKey })));
  });

  test("missing exp", async () => {
    const token = await new SignJWT({ scope: "generate" })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .setSubject("u").setIssuer(ISS).setAudience(AUD)
      .sign(rsa.privateKey);
    const err = await rejects(local().verify(token));
    expect(err.message).toContain("exp");
  });

  test("expired beyond the 30 s tolerance; within it is accepted", async () => {
    await rejects(local().verify(await sign({ exp: now() - 120 })), "token_expired");
    const p = await local().verify(await sign({ exp: now() - 10 }));
    expect(p.id).toBe("user-42");
  });

  test("wrong iss / wrong aud", async () => {
    await rejects(local().verify(await sign({ iss: "https://evil.example.com" })));
    await rejects(local().verify(await sign({ aud: "someone-else" })));
  });

  test("bad signature (payload tampered, or signed by another key with a known kid)", async () => {
    const t = await sign();
    const [h, , s] = t.split(".");
    const tampered = `${h}.${b64({ sub: "user-42", scope: "admin", iss: ISS, aud: AUD, exp: now() + 300 })}.${s}`;
    await rejects(local().verify(tampered));
    await rejects(local().verify(await sign({}, { key: other.privateKey, kid: "rsa-1" })));
  });

  test("roles claim mapping, custom claims and jwksFile", async () => {
    const file = join(dir, "jwks.json");
    writeFileSync(file, JSON.stringify(jwks));
    const v = createOidcVerifier({
      issuer: ISS,
      audience: [AUD, "other"],
      jwksFile: file,
      scopeClaim: "scp",
      tenantClaim: "org.id",
      roleScopes: { "ifx-admins": ["admin"], "inferflux:generate": ["generate"] },
    });
    const p = await v.verify(await sign({ scp: "openid inferflux:generate", roles: ["ifx-admins", "admin-ish"], org: { id: "org-7" } }));
    expect([...p.scopes].sort()).toEqual(["admin", "generate"]);
    expect(p.tenant).toBe("org-7");
    const q = await v.verify(await sign({ scp: undefined, scope: undefined, roles: ["admin"] }));
    expect(q.scopes.size).toBe(0); // a role merely named "admin" is not mapped
  });

  test("bad options throw ConfigError naming the key", () => {
    const bad = (o: object, key: string) => {
      try {
        createOidcVerifier({ issuer: ISS, audience: AUD, jwks, ...o } as never);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).key).toBe(key);
        return;
      }
      throw new Error("expected ConfigError");
    };
    bad({ issuer: "" }, "oidc.issuer");
    bad({ jwksUri: "http://x" }, "oidc.jwksUri");
    bad({ jwks: undefined, jwksUri: "not a url" }, "oidc.jwksUri");
    bad({ jwks: undefined, jwksFile: join(dir, "missing.json") }, "oidc.jwksFile");
    bad({ clockToleranceSec: -1 }, "oidc.clockToleranceSec");
  });
});

describe("remote JWKS", () => {
  const uri = () => `http://127.0.0.1:${server.port}/jwks`;

  test("an unknown-kid flood causes at most one fetch per cooldown", async () => {
    hits = 0;
    const v = createOidcVerifier({ issuer: ISS, audience: AUD, jwksUri: uri(), cooldownMs: 300 });
    expect((await v.verify(await sign())).id).toBe("user-42");
    expect(hits).toBe(1);
    const bogus = await sign({}, { kid: "unknown-kid", key: other.privateKey });
    const flood = await Promise.allSettled(Array.from({ length: 50 }, () => v.verify(bogus)));
    expect(flood.every((r) => r.status === "rejected" && (r.reason as AuthenticationError).status === 401)).toBe(true);
    expect(hits).toBe(1); // still cooling down
    await Bun.sleep(350);
    const flood2 = await Promise.allSettled(Array.from({ length: 50 }, () => v.verify(bogus)));
    expect(flood2.every((r) => r.status === "rejected")).toBe(true);
    expect(hits).toBe(2); // one shared refetch after the cooldown
  });

  test("a new key is picked up after rotation", async () => {
    hits = 0;
    const v = createOidcVerifier({ issuer: ISS, audience: AUD, jwksUri: uri(), cooldownMs: 0 });
    await v.verify(await sign());
    const rotated = await generateKeyPair("ES256", { extractable: true });
    jwks.keys.push({ ...(await exportJWK(rotated.publicKey)), kid: "ec-2", alg: "ES256" });
    const p = await v.verify(await sign({}, { alg: "ES256", kid: "ec-2", key: rotated.privateKey }));
    expect(p.id).toBe("user-42");
    expect(hits).toBe(2);
    jwks.keys.pop();
  });

  test("a failing JWKS endpoint gives 503 and is not hammered", async () => {
    hits = 0;
    failJwks = true;
    try {
      const v = createOidcVerifier({ issuer: ISS, audience: AUD, jwksUri: uri(), cooldownMs: 60_000 });
      const token = await sign();
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => v.verify(token)));
      for (const r of results) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ServiceUnavailableError);
      }
      await Promise.allSettled(Array.from({ length: 20 }, () => v.verify(token)));
      expect(hits).toBe(1);
    } finally {
      failJwks = false;
    }
  });
});
