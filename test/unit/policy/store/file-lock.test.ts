import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withFileLock } from "../../../../src/policy/store/file-lock";

const dir = mkdtempSync(join(tmpdir(), "ifx-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("withFileLock", () => {
  test("the lock holds the owner from the moment it exists, and is gone afterwards with no temp left", async () => {
    const store = join(dir, "a.conf");
    const seen = await withFileLock(store, async () => readFileSync(`${store}.lock`, "utf8"));
    expect(seen.split(" ")[0]).toBe(String(process.pid));
    expect(existsSync(`${store}.lock`)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes("a.conf"))).toEqual([]);
  });

  test("writers are serialised", async () => {
    const store = join(dir, "b.conf");
    const order: string[] = [];
    await Promise.all([1, 2, 3].map((i) => withFileLock(store, async () => {
      order.push(`in${i}`);
      await Bun.sleep(5);
      order.push(`out${i}`);
    })));
    for (let k = 0; k < order.length; k += 2) expect(order[k + 1]).toBe(order[k].replace("in", "out"));
  });

  test("a lock left by a dead process is broken at once", async () => {
    const store = join(dir, "c.conf");
    const dead = Bun.spawnSync([process.execPath, "-e", "process.exit(0)"]).pid;
    writeFileSync(`${store}.lock`, `${dead} ${require("node:os").hostname()} ${Date.now()}`);
    const t0 = performance.now();
    expect(await withFileLock(store, async () => "ok", { timeoutMs: 2000 })).toBe("ok");
    expect(performance.now() - t0).toBeLessThan(500);
  });

  test("an empty lock (a writer that died before naming itself) is broken after a second, not after staleMs", async () => {
    const store = join(dir, "d.conf");
    writeFileSync(`${store}.lock`, "");
    const old = (Date.now() - 2000) / 1000;
    utimesSync(`${store}.lock`, old, old);
    expect(await withFileLock(store, async () => "ok", { timeoutMs: 2000, staleMs: 60_000 })).toBe("ok");
  });

  test("a live owner's lock times out with a clear error", async () => {
    const store = join(dir, "e.conf");
    writeFileSync(`${store}.lock`, `${process.pid} ${require("node:os").hostname()} ${Date.now()}`);
    await expect(withFileLock(store, async () => "never", { timeoutMs: 200 })).rejects.toThrow(/locked by another process/);
    rmSync(`${store}.lock`);
  });
});
