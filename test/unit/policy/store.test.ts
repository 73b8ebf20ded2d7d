import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPolicyStore, type PolicyStore, readPolicyFile } from "../../../src/policy/store/index.ts";
import { ConfigError } from "../../../src/shared/errors.ts";

const root = mkdtempSync(join(tmpdir(), "ifx-store-"));
const open: PolicyStore[] = [];
afterAll(async () => {
  for (const s of open) await s.close();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const fresh = () => join(root, `c${++n}`, "policy.store");
const SCRYPT = { N: 1024, r: 8, p: 1 };
const PASS = "correct horse battery staple";

async function mk(opts: Parameters<typeof createPolicyStore>[0]): Promise<PolicyStore> {
  const s = await createPolicyStore({ pollMs: 0, scrypt: SCRYPT, ...opts });
  open.push(s);
  return s;
}

const keyRecord = (id: string, name = `name-${id}`) => ({
  id,
  name,
  hash: `sha256:${"a".repeat(64)}`,
  source: "custom" as const,
  scopes: ["generate" as const],
  models: null,
  limits: {},
  expiresAt: null,
  tenant: null,
  revoked: false,
  createdAt: new Date().toISOString(),
  lastUsedAt: null,
});

async function expectStoreError(p: Promise<unknown>, text?: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe("policy_store");
    if (text) expect((err as Error).message).toContain(text);
    return;
  }
  throw new Error("expected ConfigError(policy_store)");
}

describe("plaintext store", () => {
  test("created with 0600, survives reopen, snapshots are frozen and replaced whole", async () => {
    const path = fresh();
    const s = await mk({ path });
    const before = s.state;
    await s.update((d) => {
      d.apiKeys.push(keyRecord("k1"));
    });
    expect(s.state).not.toBe(before);
    expect(before.apiKeys.length).toBe(0);
    expect(Object.isFrozen(s.state.apiKeys[0])).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(path, "utf8"));
    expect(doc).toMatchObject({ magic: "IFXPOLICY", version: 1, encrypted: false });
    const again = await mk({ path });
    expect(again.state.apiKeys[0].id).toBe("k1");
    expect(again.storeId).toBe(s.storeId);
    expect(again.state.revision).toBe(1);
  });

  test("a throwing mutator or invalid state changes nothing", async () => {
    const path = fresh();
    const s = await mk({ path });
    const bytes = readFileSync(path);
    await expect(s.update(() => { throw new Error("nope"); })).rejects.toThrow("nope");
    await expect(s.update((d) => { (d as { version: unknown }).version = 2; })).rejects.toBeInstanceOf(ConfigError);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(s.state.revision).toBe(0);
  });

  test("in-memory store without a path", async () => {
    const s = await mk({});
    await s.update((d) => {
      d.rateLimit = { requestsPerMinute: 5 };
    });
    expect(s.state.rateLimit).toEqual({ requestsPerMinute: 5 });
  });
});

describe("encrypted store", () => {
  test("no plaintext on disk; fresh nonce per write; reopen decrypts", async () => {
    const path = fresh();
    const s = await mk({ path, passphrase: PASS });
    await s.update((d) => {
      d.apiKeys.push(keyRecord("k1", "very-recognisable-name"));
    });
    const text1 = readFileSync(path, "utf8");
    expect(text1).not.toContain("very-recognisable-name");
    const h1 = JSON.parse(text1.split("\n")[0]);
    expect(h1).toMatchObject({ magic: "IFXPOLICY", version: 1, encrypted: true, cipher: "aes-256-gcm", kdf: { name: "scrypt", N: 1024, r: 8, p: 1 } });
    expect(Buffer.from(h1.kdf.salt, "base64").length).toBe(16);
    expect(Buffer.from(h1.nonce, "base64").length).toBe(12);
    await s.update((d) => {
      d.apiKeys[0] = { ...d.apiKeys[0], revoked: true };
    });
    const h2 = JSON.parse(readFileSync(path, "utf8").split("\n")[0]);
    expect(h2.nonce).not.toBe(h1.nonce);
    expect(h2.kdf.salt).toBe(h1.kdf.salt);
    const again = await mk({ path, passphrase: PASS });
    expect(again.state.apiKeys[0]).toMatchObject({ id: "k1", revoked: true });
    expect((await readPolicyFile(path, PASS)).state.revision).toBe(2);
  });

  test("wrong passphrase → ConfigError(policy_store), file untouched", async () => {
    const path = fresh();
    await mk({ path, passphrase: PASS });
    const bytes = readFileSync(path);
    await expectStoreError(mk({ path, passphrase: "not the passphrase" }), "wrong passphrase");
    await expectStoreError(mk({ path }), "passphrase");
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  test("a flipped ciphertext bit, header byte or truncation is detected", async () => {
    const path = fresh();
    const s = await mk({ path, passphrase: PASS });
    await s.update((d) => {
      d.apiKeys.push(keyRecord("k1"));
    });
    const good = readFileSync(path, "utf8");
    const [header, body] = good.split("\n");
    const raw = Buffer.from(body, "base64");
    for (const i of [0, Math.floor(raw.length / 2), raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[i] ^= 0x01;
      writeFileSync(path, `${header}\n${flipped.toString("base64")}\n`);
      await expectStoreError(readPolicyFile(path, PASS), "modified");
      expect(readFileSync(path, "utf8")).toBe(`${header}\n${flipped.toString("base64")}\n`);
    }
    const otherId = header.replace(/"storeId":"(.)/, (_m, c) => `"storeId":"${c === "a" ? "b" : "a"}`);
    writeFileSync(path, `${otherId}\n${body}\n`);
    await expectStoreError(readPolicyFile(path, PASS));
    writeFileSync(path, `${header}\n${body.slice(0, 20)}\n`);
    await expectStoreError(readPolicyFile(path, PASS));
    writeFileSync(path, "garbage");
    await expectStoreError(readPolicyFile(path, PASS));
  });

  test("a plaintext store is encrypted on first load with a passphrase", async () => {
    const path = fresh();
    const plain = await mk({ path });
    await plain.update((d) => {
      d.apiKeys.push(keyRecord("k9", "migrate-me"));
    });
    expect(readFileSync(path, "utf8")).toContain("migrate-me");
    const enc = await mk({ path, passphrase: PASS });
    expect(enc.state.apiKeys[0].name).toBe("migrate-me");
    expect(readFileSync(path, "utf8")).not.toContain("migrate-me");
    const decoded = await readPolicyFile(path, PASS);
    expect(decoded.encrypted).toBe(true);
    expect(decoded.storeId).toBe(plain.storeId);
  });
});

describe("watching and concurrent writers", () => {
  test("another process's change is picked up by polling and announced", async () => {
    const path = fresh();
    const a = await mk({ path, passphrase: PASS });
    const b = await mk({ path, passphrase: PASS, pollMs: 25 });
    const seen: Array<[number, string]> = [];
    b.onChange((state, source) => seen.push([state.revision, source]));
    const t0 = performance.now();
    await a.update((d) => {
      d.rateLimit = { requestsPerMinute: 42 };
    });
    while (seen.length === 0 && performance.now() - t0 < 2000) await Bun.sleep(5);
    expect(seen).toEqual([[1, "external"]]);
    expect(b.state.rateLimit).toEqual({ requestsPerMinute: 42 });
    expect(performance.now() - t0).toBeLessThan(250);
  });

  test("a writer re-reads external changes first, so no update is lost", async () => {
    const path = fresh();
    const a = await mk({ path });
    const b = await mk({ path });
    for (let i = 0; i < 5; i++) {
      await a.update((d) => {
        d.apiKeys.push(keyRecord(`a${i}`));
      });
      await b.update((d) => {
        d.apiKeys.push(keyRecord(`b${i}`));
      });
    }
    const { state } = await readPolicyFile(path);
    expect(state.apiKeys.length).toBe(10);
    expect(state.revision).toBe(10);
  });

  test("a corrupt external write is ignored by the watcher (last good state kept)", async () => {
    const path = fresh();
    const s = await mk({ path, pollMs: 20 });
    await s.update((d) => {
      d.rateLimit = { requestsPerMinute: 7 };
    });
    writeFileSync(path, "{ not json");
    await Bun.sleep(80);
    expect(s.state.rateLimit).toEqual({ requestsPerMinute: 7 });
  });
});

describe("options", () => {
  const bad = async (opts: object, key: string) => {
    try {
      await createPolicyStore(opts as never);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
      return;
    }
    throw new Error("expected ConfigError");
  };
  test("bad values name the key", async () => {
    await bad({ scrypt: { N: 1000 } }, "store.scrypt.N");
    await bad({ scrypt: { r: 0 } }, "store.scrypt.r");
    await bad({ passphrase: "short" }, "store.passphrase");
    await bad({ pollMs: -1 }, "store.pollMs");
  });
});
