import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditLog, GENESIS_HASH, verifyAuditChain } from "../../../src/policy/audit/index.ts";
import { generateApiKey } from "../../../src/policy/auth/api-keys.ts";
import { ConfigError } from "../../../src/shared/errors.ts";

const root = mkdtempSync(join(tmpdir(), "ifx-audit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `case-${++n}`, "audit.log");

const event = (i: number) => ({
  type: "request" as const,
  actor: `key${i % 3}`,
  sourceIp: "10.0.0.1",
  route: "/v1/chat/completions",
  model: "llama",
  outcome: "success",
  status: 200,
  usage: { promptTokens: i, completionTokens: 2 * i },
  latencyMs: 12.5,
  verdicts: [{ allowed: true, action: "allow", reasons: [] }],
  prompt: `prompt number ${i}`,
  completion: `completion ${i}`,
});

function lines(path: string): string[] {
  return readFileSync(path, "utf8").trimEnd().split("\n");
}

describe("audit log", () => {
  test("writes a verifiable chain; close() flushes everything", async () => {
    const path = fresh();
    const log = await createAuditLog({ path, flushIntervalMs: 10_000 });
    for (let i = 0; i < 500; i++) log.log(event(i));
    await log.close();
    const ls = lines(path);
    expect(ls.length).toBe(500);
    const first = JSON.parse(ls[0]);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first).toMatchObject({ type: "request", actor: "key0", status: 200, route: "/v1/chat/completions" });
    expect(first.promptSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.prompt).toBeUndefined();
    expect(readFileSync(path, "utf8")).not.toContain("prompt number");
    expect(verifyAuditChain(path)).toEqual({ ok: true, lines: 500, files: [path] });
  });

  test("a flipped byte is detected at the right line", async () => {
    const path = fresh();
    const log = await createAuditLog({ path });
    for (let i = 0; i < 6; i++) log.log(event(i));
    await log.close();
    const original = readFileSync(path);
    const starts = [0];
    for (let i = 0; i < original.length - 1; i++) if (original[i] === 10) starts.push(i + 1);
    const line3 = lines(path)[2];
    // flip bytes at many positions of line 3: content, prevHash, hash, braces
    const positions = [0, 5, line3.indexOf('"actor"') + 9, line3.indexOf('"prevHash"') + 15, line3.indexOf('"hash"') + 10, line3.length - 1];
    for (const pos of positions) {
      const copy = Buffer.from(original);
      copy[starts[2] + pos] ^= 0x01;
      writeFileSync(path, copy);
      const r = verifyAuditChain(path);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.line).toBe(3);
    }
    // removing a line breaks the chain at the line after it
    const kept = original.toString("utf8").trimEnd().split("\n");
    kept.splice(3, 1);
    writeFileSync(path, `${kept.join("\n")}\n`);
    const r = verifyAuditChain(path);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.line).toBe(4);
      expect(r.reason).toContain("prevHash");
    }
  });

  test("raw prompt/completion only in debug mode; actors are never secrets", async () => {
    const path = fresh();
    const log = await createAuditLog({ path, debugMode: true });
    const { key, id } = generateApiKey();
    const rec = log.log({ ...event(1), actor: key });
    await log.close();
    expect(rec.actor).toBe(id);
    const line = JSON.parse(lines(path)[0]);
    expect(line.prompt).toBe("prompt number 1");
    expect(line.completion).toBe("completion 1");
    expect(readFileSync(path, "utf8")).not.toContain(key);
  });

  test("rotation keeps the chain across files and verification spans them", async () => {
    const path = fresh();
    const log = await createAuditLog({ path, maxBytes: 4096, keep: 50, flushIntervalMs: 1 });
    for (let i = 0; i < 60; i++) {
      log.log(event(i));
      if (i % 7 === 0) await log.flush();
    }
    await log.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(true);
    const r = verifyAuditChain(path, { requireGenesis: true });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.lines).toBe(60);
      expect(r.files[r.files.length - 1]).toBe(path);
    }
    for (const f of r.ok ? r.files : []) expect(readFileSync(f).length).toBeLessThanOrEqual(4096);
    // the live file chains from the last hash of audit.log.1
    const prevLast = JSON.parse(lines(`${path}.1`).at(-1) as string).hash;
    expect(JSON.parse(lines(path)[0]).prevHash).toBe(prevLast);
    // a flipped byte in a rotated file is reported there
    const buf = readFileSync(`${path}.2`);
    const secondLine = buf.indexOf(10) + 1;
    buf[secondLine + 20] ^= 0x02;
    writeFileSync(`${path}.2`, buf);
    const bad = verifyAuditChain(path);
    expect(bad).toMatchObject({ ok: false, file: `${path}.2`, line: 2 });
  });

  test("keep=N drops the oldest files; the remaining chain still verifies", async () => {
    const path = fresh();
    const log = await createAuditLog({ path, maxBytes: 2048, keep: 2 });
    for (let i = 0; i < 40; i++) log.log(event(i));
    await log.close();
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(verifyAuditChain(path).ok).toBe(true);
    expect(verifyAuditChain(path, { requireGenesis: true }).ok).toBe(false);
  });

  test("reopening continues the chain; a torn last line is truncated", async () => {
    const path = fresh();
    const a = await createAuditLog({ path });
    a.log(event(1));
    a.log(event(2));
    await a.close();
    appendFileSync(path, '{"id":"torn-wri');
    expect(verifyAuditChain(path)).toMatchObject({ ok: false, line: 3, reason: expect.stringContaining("torn") });
    const b = await createAuditLog({ path });
    b.log(event(3));
    await b.close();
    expect(verifyAuditChain(path)).toMatchObject({ ok: true, lines: 3 });
  });

  test("events after close are dropped, not thrown; no path = hash only", async () => {
    const seen: string[] = [];
    const log = await createAuditLog({ onEvent: (r) => seen.push(r.hash) });
    log.log(event(1));
    await log.close();
    expect(() => log.log(event(2))).not.toThrow();
    expect(seen.length).toBe(1);
  });

  test("bad options name the key", async () => {
    await expect(createAuditLog({ maxBytes: -1 })).rejects.toBeInstanceOf(ConfigError);
    await expect(createAuditLog({ keep: 1.5 })).rejects.toThrow("audit.keep");
  });

  test("log() is fast and does not block on I/O", async () => {
    const path = fresh();
    const log = await createAuditLog({ path });
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) log.log(event(i));
    const per = (performance.now() - t0) / 5000;
    await log.close();
    expect(per).toBeLessThan(0.1);
    expect(verifyAuditChain(path)).toMatchObject({ ok: true, lines: 5000 });
  });
});
