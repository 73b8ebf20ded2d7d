import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KvFileStore } from "../../../src/worker/kv-file-store";

const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ifx-kvfs-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const payload = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".ifxkv"));
const open = (dir: string, maxBytes = 1 << 20, fingerprint = "fp-a") => KvFileStore.open({ dir, maxBytes, fingerprint });

describe("KvFileStore", () => {
  test("save, match and load round trip; the index survives a reopen", async () => {
    const dir = newDir();
    const s = open(dir);
    expect(await s.save("ns", seq(1, 50), payload(300, 3))).toBe(true);
    expect(await s.save("ns", seq(1, 50), payload(300, 3))).toBe(false); // already stored
    const hit = s.bestMatch("ns", [...seq(1, 40), 999], 10, 100)!;
    expect(hit.length).toBe(40);
    expect(s.load(hit.entry)).toEqual(payload(300, 3));
    expect(s.bestMatch("other", seq(1, 40), 1, 100)).toBeNull();
    expect(s.bestMatch("ns", seq(1, 40), 41, 100)).toBeNull();
    const again = open(dir);
    expect(again.stats().entries).toBe(1);
    expect(again.has("ns", seq(1, 50))).toBe(true);
    expect(again.load(again.bestMatch("ns", seq(1, 50), 1, 50)!.entry)).toEqual(payload(300, 3));
  });

  test("bounded in bytes: least recently used entries go, at save and at open; too large is skipped", async () => {
    const dir = newDir();
    const one = 12 + 250 + 40 + 1000; // magic+len, ~header, 10 tokens, payload (header size varies a little)
    const s = open(dir, 3 * one);
    await s.save("ns", seq(100, 10), payload(1000));
    await s.save("ns", seq(200, 10), payload(1000));
    s.load(s.bestMatch("ns", seq(100, 10), 1, 10)!.entry); // touch the first
    await s.save("ns", seq(300, 10), payload(1000));
    await s.save("ns", seq(400, 10), payload(1000));
    expect(s.stats().evictions).toBeGreaterThanOrEqual(1);
    expect(s.bestMatch("ns", seq(200, 10), 1, 10)).toBeNull();
    expect(s.bestMatch("ns", seq(100, 10), 1, 10)).not.toBeNull();
    expect(files(dir).length).toBe(s.stats().entries);
    expect(await s.save("ns", seq(500, 10), payload(10 * one))).toBe(false);
    const small = open(dir, one + 10);
    expect(small.stats().entries).toBe(1);
    expect(files(dir).length).toBe(1);
  });

  test("a flipped payload byte is detected at load: null, and the file is deleted", async () => {
    const dir = newDir();
    const s = open(dir);
    await s.save("ns", seq(1, 20), payload(500));
    const f = join(dir, files(dir)[0]);
    const b = readFileSync(f);
    b[b.length - 1] ^= 1;
    writeFileSync(f, b);
    const entry = s.bestMatch("ns", seq(1, 20), 1, 20)!.entry;
    expect(s.load(entry)).toBeNull();
    expect(existsSync(f)).toBe(false);
    expect(s.stats()).toMatchObject({ entries: 0, loadFailures: 1 });
  });

  test("open: truncated and garbage files and crash leftovers are deleted; foreign files are ignored and kept", async () => {
    const dir = newDir();
    const s = open(dir);
    await s.save("ns", seq(1, 20), payload(500));
    await s.save("ns", seq(50, 20), payload(500));
    const [a, b] = files(dir);
    writeFileSync(join(dir, a), readFileSync(join(dir, a)).subarray(0, 100)); // truncated
    writeFileSync(join(dir, "garbage.ifxkv"), "not a cache file at all");
    writeFileSync(join(dir, ".tmp-123456"), "half written");
    const foreign = open(dir, 1 << 20, "fp-other");
    expect(foreign.stats()).toMatchObject({ entries: 0, ignoredFiles: 3 }); // b is valid but not its own; a and garbage are corrupt
    expect(existsSync(join(dir, a))).toBe(false);
    expect(existsSync(join(dir, "garbage.ifxkv"))).toBe(false);
    expect(existsSync(join(dir, ".tmp-123456"))).toBe(false);
    expect(existsSync(join(dir, b))).toBe(true);
    expect(open(dir).stats().entries).toBe(1);
  });

  test("concurrent saves of one key make one entry; has() is true while the write is in flight; bad input throws", async () => {
    const dir = newDir();
    const s = open(dir);
    const p1 = s.save("ns", seq(1, 5), payload(100));
    expect(s.has("ns", seq(1, 5))).toBe(true);
    const p2 = s.save("ns", seq(1, 5), payload(100));
    expect([await p1, await p2]).toEqual([true, false]);
    await s.flush();
    expect(files(dir).length).toBe(1);
    expect(() => s.save("ns", [], payload(1))).toThrow(RangeError);
    expect(() => s.save("ns", [1.5], payload(1))).toThrow(RangeError);
    expect(() => s.save("ns", [2 ** 31], payload(1))).toThrow(RangeError);
  });
});
