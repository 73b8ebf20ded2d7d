/**
 * The encrypted policy store across processes (INFERFLUX_POLICY_STORE +
 * INFERFLUX_POLICY_PASSPHRASE): admin changes survive a restart; a second
 * server on the same file picks up keys (and revocations) made on the first;
 * a wrong or missing passphrase and a flipped ciphertext bit stop start-up
 * with a clear message and leave the file byte-identical. No model needed.
 * (The SIGKILL crash test lives in test/unit/policy.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../helpers/server";
import { api, createKey, serveExpectingExit, tempDir, waitFor, writeConfig } from "../helpers/policy-helpers";

const ADMIN_KEY = "store-admin-key-0123456789";
const PASS = "correct horse battery staple";

describe("encrypted policy store", () => {
  const tmp = tempDir("store");
  const storePath = tmp.path("policy.store");
  let config: string;
  const env = (passphrase = PASS) => ({ INFERFLUX_POLICY_STORE: storePath, INFERFLUX_POLICY_PASSPHRASE: passphrase });
  const start = () => startTestServer(["--config", config], env(), false);
  const running: TestServer[] = [];
  const keys: Record<string, { key: string; id: string }> = {};
  const canRead = async (s: TestServer, key: string) => (await api(s.url, "GET", "/v1/usage", { key })).status;

  beforeAll(() => {
    config = writeConfig(tmp.path("server.yaml"), { auth: { api_keys: [{ key: ADMIN_KEY, scopes: ["admin"] }] } });
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    tmp.cleanup();
  });

  test("two servers share one store file: keys and revocations made on one reach the other", async () => {
    const a = await start();
    running.push(a);
    keys.persist = await createKey(a.url, ADMIN_KEY, { name: "persist-me", scopes: ["read"] });
    keys.doomed = await createKey(a.url, ADMIN_KEY, { name: "doomed", scopes: ["read"] });
    expect((await api(a.url, "POST", `/v1/admin/api_keys/${keys.doomed.id}/revoke`, { key: ADMIN_KEY })).status).toBe(200);
    expect((await api(a.url, "PUT", "/v1/admin/guardrails", { key: ADMIN_KEY, body: { blocklist: ["persisted-term"] } })).status).toBe(200);
    expect((await api(a.url, "PUT", "/v1/admin/rate_limit", { key: ADMIN_KEY, body: { requests_per_minute: 321 } })).status).toBe(200);
    expect(await canRead(a, keys.persist.key)).toBe(200);

    const b = await start();
    running.push(b);
    // What existed when b started.
    expect(await canRead(b, keys.persist.key)).toBe(200);
    expect(await canRead(b, keys.doomed.key)).toBe(401);

    // Created on a after b started → b picks it up by polling the file.
    keys.fromA = await createKey(a.url, ADMIN_KEY, { name: "from-a", scopes: ["read"] });
    const t0 = Date.now();
    expect(await waitFor(async () => (await canRead(b, keys.fromA.key)) === 200, 5000)).toBe(true);
    const pickupMs = Date.now() - t0;
    expect(pickupMs).toBeLessThan(5000);

    // And the other way round.
    keys.fromB = await createKey(b.url, ADMIN_KEY, { name: "from-b", scopes: ["read"] });
    expect(await waitFor(async () => (await canRead(a, keys.fromB.key)) === 200, 5000)).toBe(true);
    // a's own earlier keys were not lost by b's write.
    expect(await canRead(a, keys.persist.key)).toBe(200);
    expect(await canRead(b, keys.fromA.key)).toBe(200);

    // A revocation on one server shuts the key out of the other too.
    keys.revokedLater = await createKey(a.url, ADMIN_KEY, { name: "revoked-later", scopes: ["read"] });
    expect(await waitFor(async () => (await canRead(b, keys.revokedLater.key)) === 200, 5000)).toBe(true);
    expect((await api(a.url, "POST", `/v1/admin/api_keys/${keys.revokedLater.id}/revoke`, { key: ADMIN_KEY })).status).toBe(200);
    expect(await waitFor(async () => (await canRead(b, keys.revokedLater.key)) === 401, 5000)).toBe(true);
    // a and b stay up for the next test.
  }, 30_000);

  const listed = async (s: TestServer) => (await api(s.url, "GET", "/v1/admin/api_keys", { key: ADMIN_KEY })).json.data.map((k: any) => k.name);

  test("concurrent admin writes on the two servers lose nothing", async () => {
    const [a, b] = running;
    expect(running.length).toBe(2);
    const before = (await listed(a)).length;
    const made = await Promise.all(
      Array.from({ length: 16 }, (_, i) => createKey(i % 2 ? b.url : a.url, ADMIN_KEY, { name: `race-${i}`, scopes: ["read"] })),
    );
    // Every create answered 200 with a key; once both have re-read the file, all of them must exist.
    await Bun.sleep(1500);
    const names = await listed(a);
    const lost = made.map((_, i) => `race-${i}`).filter((n) => !names.includes(n));
    // BUG (server): PolicyStore.update re-reads the file and then writes it with no cross-process lock
    // (src/policy/store/policy-store.ts), so two processes writing at once overwrite each other's changes:
    // keys the admin API reported as created (HTTP 200, plaintext returned) silently disappear.
    expect(lost, `lost ${lost.length} of ${made.length} keys created concurrently on two servers`).toEqual([]);
    expect(names.length).toBe(before + made.length);
    expect((await listed(b)).length).toBe(before + made.length);
  }, 30_000);

  test("a revocation on one server is not undone by a concurrent write on the other", async () => {
    const [a, b] = running;
    try {
      expect(running.length).toBe(2);
      const victim = await createKey(a.url, ADMIN_KEY, { name: "victim", scopes: ["read"] });
      expect(await waitFor(async () => (await canRead(b, victim.key)) === 200, 5000)).toBe(true);
      const [rv] = await Promise.all([
        api(a.url, "POST", `/v1/admin/api_keys/${victim.id}/revoke`, { key: ADMIN_KEY }),
        ...Array.from({ length: 4 }, (_, i) => createKey(b.url, ADMIN_KEY, { name: `bystander-${i}`, scopes: ["read"] })),
      ]);
      expect(rv.status).toBe(200);
      expect(rv.json.revoked).toBe(true);
      await Bun.sleep(1500); // both servers have polled the file by now
      // BUG (server), same cause as above: the revoke answered 200 {revoked: true}, yet the key works again.
      expect({ a: await canRead(a, victim.key), b: await canRead(b, victim.key) }).toEqual({ a: 401, b: 401 });
    } finally {
      await Promise.all([a?.stop(), b?.stop()]);
      running.length = 0;
    }
  }, 30_000);

  test("the file is encrypted, mode 0600, and holds no plaintext", () => {
    const text = readFileSync(storePath, "utf8");
    const [header, body] = text.split("\n");
    const h = JSON.parse(header);
    expect(h.magic).toBe("IFXPOLICY");
    expect(h.encrypted).toBe(true);
    expect(h.cipher).toBe("aes-256-gcm");
    expect(body.length).toBeGreaterThan(100);
    for (const s of [ADMIN_KEY, ...Object.values(keys).map((k) => k.key), "persist-me", "persisted-term", PASS]) {
      expect(text.includes(s), `plaintext in store: ${s.slice(0, 10)}…`).toBe(false);
    }
    expect(statSync(storePath).mode & 0o777).toBe(0o600);
  });

  test("keys, revocations, guardrails and rate limits survive a restart", async () => {
    const c = await start();
    running.push(c);
    for (const k of ["persist", "fromA", "fromB"]) expect(await canRead(c, keys[k].key), k).toBe(200);
    for (const k of ["doomed", "revokedLater"]) expect(await canRead(c, keys[k].key), k).toBe(401);
    expect((await api(c.url, "GET", "/v1/admin/guardrails", { key: ADMIN_KEY })).json.blocklist).toEqual(["persisted-term"]);
    expect((await api(c.url, "GET", "/v1/admin/rate_limit", { key: ADMIN_KEY })).json.requests_per_minute).toBe(321);
    const names = (await api(c.url, "GET", "/v1/admin/api_keys", { key: ADMIN_KEY })).json.data.map((k: any) => k.name);
    for (const n of ["persist-me", "doomed", "from-a", "from-b", "revoked-later"]) expect(names).toContain(n);
    await c.stop();
    running.length = 0;
  }, 20_000);

  test("a wrong or missing passphrase: exit non-zero with a clear message, file untouched", async () => {
    const before = readFileSync(storePath);
    const wrong = await serveExpectingExit(["--config", config], env("not the right passphrase"));
    expect(wrong.code).not.toBeNull();
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/policy_store/);
    expect(wrong.output).toMatch(/wrong passphrase|cannot decrypt/i);
    expect(Buffer.compare(readFileSync(storePath), before)).toBe(0);

    const missing = await serveExpectingExit(["--config", config], { INFERFLUX_POLICY_STORE: storePath, INFERFLUX_POLICY_PASSPHRASE: "" });
    expect(missing.code).not.toBeNull();
    expect(missing.code).not.toBe(0);
    expect(missing.output).toMatch(/encrypted.*passphrase/i);
    expect(Buffer.compare(readFileSync(storePath), before)).toBe(0);
  }, 30_000);

  test("a flipped ciphertext bit: refuses to start with a clear message, file untouched; restoring it starts again", async () => {
    const original = readFileSync(storePath);
    const [header, body] = original.toString("utf8").split("\n");
    const ct = Buffer.from(body, "base64");
    ct[Math.floor(ct.length / 2)] ^= 0x04;
    const flipped = Buffer.from(`${header}\n${ct.toString("base64")}\n`, "utf8");
    expect(flipped.length).toBe(original.length);
    writeFileSync(storePath, flipped);

    const r = await serveExpectingExit(["--config", config], env());
    expect(r.code).not.toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/policy_store/);
    expect(r.output).toMatch(/cannot decrypt|modified|tamper|corrupt/i);
    expect(Buffer.compare(readFileSync(storePath), flipped)).toBe(0);

    // The header is authenticated too: one changed character of the store id is refused.
    const h = JSON.parse(header);
    const last = h.storeId.at(-1);
    h.storeId = h.storeId.slice(0, -1) + (last === "a" ? "b" : "a");
    const badHeader = Buffer.from(`${JSON.stringify(h)}\n${body}\n`, "utf8");
    writeFileSync(storePath, badHeader);
    const r2 = await serveExpectingExit(["--config", config], env());
    expect(r2.code).not.toBe(0);
    expect(r2.output).toMatch(/cannot decrypt|modified/i);
    expect(Buffer.compare(readFileSync(storePath), badHeader)).toBe(0);

    writeFileSync(storePath, original);
    const ok = await start();
    running.push(ok);
    expect(await canRead(ok, keys.persist.key)).toBe(200);
    await ok.stop();
    running.length = 0;
  }, 40_000);
});

describe("policy store at its default location", () => {
  const tmp = tempDir("store-default");
  afterAll(() => tmp.cleanup());

  test("without INFERFLUX_POLICY_STORE, admin changes persist in config/policy_store.conf under the working directory", async () => {
    const config = writeConfig(tmp.path("server.yaml"), { auth: { api_keys: [{ key: ADMIN_KEY, scopes: ["admin"] }] } });
    const cwd = tmp.dir;
    const first = await startTestServer(["--config", config], {}, false, { cwd, defaultStore: true });
    const made = await createKey(first.url, ADMIN_KEY, { name: "kept", scopes: ["read"] });
    await first.stop();
    expect(existsSync(join(cwd, "config", "policy_store.conf"))).toBe(true);
    const second = await startTestServer(["--config", config], {}, false, { cwd, defaultStore: true });
    try {
      expect((await api(second.url, "GET", "/v1/usage", { key: made.key })).status).toBe(200);
    } finally {
      await second.stop();
    }
  }, 30_000);
});
