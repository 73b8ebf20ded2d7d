import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPolicyAdmin, type PolicyAdmin } from "../../../src/policy/admin.ts";
import { createAuditLog, verifyAuditChain } from "../../../src/policy/audit/index.ts";
import type { AuditLog } from "../../../src/policy/audit/index.ts";
import { authenticateApiKey, buildKeyIndex } from "../../../src/policy/auth/api-keys.ts";
import { createPolicyStore, type PolicyStore } from "../../../src/policy/store/index.ts";
import { InvalidRequestError, NotFoundError } from "../../../src/shared/errors.ts";

const root = mkdtempSync(join(tmpdir(), "ifx-admin-"));
const PEPPER = "admin-test-pepper-0123";
let n = 0;
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup) await c();
  rmSync(root, { recursive: true, force: true });
});

async function setup(): Promise<{ admin: PolicyAdmin; store: PolicyStore; audit: AuditLog; dir: string }> {
  const dir = join(root, `c${++n}`);
  const store = await createPolicyStore({ path: join(dir, "policy.store"), passphrase: "admin-test-pass", pollMs: 0, scrypt: { N: 1024, r: 8, p: 1 } });
  const audit = await createAuditLog({ path: join(dir, "audit.log") });
  cleanup.push(() => store.close(), () => audit.close());
  const admin = createPolicyAdmin({
    store,
    audit,
    pepper: PEPPER,
    defaults: { guardrails: { blocklist: ["cfg"], regexes: [], pii: {} }, rateLimit: { requestsPerMinute: 60 }, tenantLimits: {} },
  });
  return { admin, store, audit, dir };
}

const auth = (store: PolicyStore, key: string) => authenticateApiKey(key, buildKeyIndex(store.state.apiKeys), PEPPER, Date.now());

describe("admin: api keys", () => {
  test("createKey returns the plaintext once; the store keeps only the HMAC", async () => {
    const { admin, store, dir } = await setup();
    const { key, record } = await admin.createKey({ name: "ci", scopes: ["generate"], models: ["llama-*"], tenant: "acme", limits: { requestsPerMinute: 5 } });
    expect(key).toMatch(/^ifx_/);
    expect(record).toMatchObject({ name: "ci", scopes: ["generate"], models: ["llama-*"], tenant: "acme", revoked: false, source: "generated" });
    expect("hash" in record).toBe(false);
    expect(store.state.apiKeys[0].hash).toMatch(/^hmac-sha256:/);
    expect(auth(store, key).id).toBe(record.id);
    await admin.exportPolicy();
    const audit = readFileSync(join(dir, "audit.log"), "utf8") + readFileSync(join(dir, "policy.store"), "utf8");
    expect(audit).not.toContain(key);
    expect(JSON.stringify(admin.listKeys())).not.toContain("hmac-sha256");
  });

  test("registerKey (custom key), duplicates rejected, bad input is a 400", async () => {
    const { admin, store } = await setup();
    const { record } = await admin.registerKey("dev-key-123", { scopes: "generate,read" });
    expect(record.scopes).toEqual(["generate", "read"]);
    expect(record.source).toBe("custom");
    expect(auth(store, "dev-key-123").id).toBe(record.id);
    await expect(admin.registerKey("dev-key-123", { scopes: ["admin"] })).rejects.toMatchObject({ code: "key_exists", status: 400 });
    await expect(admin.registerKey("short", {})).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(admin.createKey({ scopes: ["root" as never] })).rejects.toMatchObject({ status: 400, param: "scopes" });
    await expect(admin.createKey({ expiresAt: "2001-01-01T00:00:00Z" })).rejects.toMatchObject({ status: 400, param: "expiresAt" });
    await expect(admin.createKey({ limits: { requestsPerMinute: -3 } })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  test("revoke, rotate, update, delete; unknown ids are 404", async () => {
    const { admin, store } = await setup();
    const a = await admin.createKey({ name: "a", scopes: ["read"] });
    const rotated = await admin.rotateKey(a.record.id);
    expect(rotated.record).toMatchObject({ name: "a", scopes: ["read"], rotatedFrom: a.record.id });
    expect(() => auth(store, a.key)).toThrow(/revoked/);
    expect(auth(store, rotated.key).id).toBe(rotated.record.id);
    const updated = await admin.updateKey(rotated.record.id, { scopes: ["generate", "admin"], tenant: "t2" });
    expect(updated).toMatchObject({ scopes: ["generate", "admin"], tenant: "t2", name: "a" });
    expect(auth(store, rotated.key).scopes.has("admin")).toBe(true);
    await admin.revokeKey(rotated.record.id);
    expect(() => auth(store, rotated.key)).toThrow(/revoked/);
    await admin.deleteKey(a.record.id);
    expect(admin.listKeys().map((k) => k.id)).toEqual([rotated.record.id]);
    await expect(admin.revokeKey("nope")).rejects.toBeInstanceOf(NotFoundError);
    expect(() => admin.getKey("nope")).toThrow(NotFoundError);
  });
});

describe("admin: guardrails, limits, export, audit", () => {
  test("guardrails override and reset; invalid regex is a 400", async () => {
    const { admin, store } = await setup();
    expect(admin.getGuardrails().blocklist).toEqual(["cfg"]);
    await admin.setGuardrails({ blocklist: ["x", "y"] });
    expect(admin.getGuardrails()).toMatchObject({ blocklist: ["x", "y"], regexes: [] });
    expect(store.state.guardrails?.blocklist).toEqual(["x", "y"]);
    await expect(admin.setGuardrails({ regexes: ["(bad"] })).rejects.toMatchObject({ status: 400, param: "guardrails.regexes[0]" });
    await admin.resetGuardrails();
    expect(admin.getGuardrails().blocklist).toEqual(["cfg"]);
  });

  test("rate limits", async () => {
    const { admin } = await setup();
    expect(admin.getRateLimit()).toEqual({ requestsPerMinute: 60 });
    await admin.setRateLimit({ requestsPerMinute: 10, tokensPerMinute: 1000 });
    expect(admin.getRateLimit()).toEqual({ requestsPerMinute: 10, tokensPerMinute: 1000 });
    await admin.setTenantLimits("acme", { requestsPerMinute: 3 });
    expect(admin.exportPolicy().tenantLimits).toEqual({ acme: { requestsPerMinute: 3 } });
    await expect(admin.setRateLimit({ requestsPerMinute: 0 })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  test("export has no secrets or hashes; every change is audited with a valid chain", async () => {
    const { admin, audit, dir } = await setup();
    const { key } = await admin.createKey({ name: "x" }, { actor: "admin-key-1", sourceIp: "10.1.1.1" });
    await admin.registerKey("custom-secret-key", { scopes: ["read"] }, { actor: "admin-key-1" });
    await admin.setGuardrails({ blocklist: ["z"] });
    await admin.setRateLimit({ requestsPerMinute: 9 });
    const exp = JSON.stringify(admin.exportPolicy());
    expect(exp).not.toContain("hash");
    expect(exp).not.toContain(key);
    await audit.flush();
    const text = readFileSync(join(dir, "audit.log"), "utf8");
    const ops = text.trim().split("\n").map((l) => JSON.parse(l));
    expect(ops.map((o) => [o.type, o.details.op])).toEqual([
      ["admin_change", "api_key.create"],
      ["admin_change", "api_key.register"],
      ["admin_change", "guardrails.set"],
      ["admin_change", "rate_limit.set"],
    ]);
    expect(ops[0]).toMatchObject({ actor: "admin-key-1", sourceIp: "10.1.1.1" });
    expect(text).not.toContain(key);
    expect(text).not.toContain("custom-secret-key");
    expect(text).not.toContain("hmac-sha256");
    expect(verifyAuditChain(join(dir, "audit.log")).ok).toBe(true);
  });
});
