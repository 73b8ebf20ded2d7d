/**
 * 200 SIGKILLs at random points while a child process rewrites the encrypted
 * store (after 0-3 completed writes, then 0-6 ms into the next ones): after every kill the file must load and hold a whole state, the one
 * the child last acknowledged or the next one — never a torn mix.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPolicyFile } from "../../../src/policy/store/index.ts";
import { isWhole } from "./fixtures/store-content.ts";

const dir = mkdtempSync(join(tmpdir(), "ifx-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KILLS = 200;
const BUN = process.execPath;
const WRITER = join(import.meta.dir, "fixtures", "store-writer.ts");

async function runOnce(path: string): Promise<{ ready: number; lastDone: number | null; killedEarly: boolean }> {
  const child = Bun.spawn([BUN, WRITER, path, "crash-test-passphrase"], { stdout: "pipe", stderr: "ignore" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  const ready = /^ready (\d+)/.exec(out);
  if (!ready) throw new Error(`writer did not start: ${out}`);
  // Let 0-3 writes complete, then kill at a random point of the writes that follow
  // (a write takes a few milliseconds: encrypt, write, fsync, rename, fsync dir).
  const writesFirst = Math.floor(Math.random() * 4);
  while ((out.match(/done \d+\n/g)?.length ?? 0) < writesFirst) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  await Bun.sleep(Math.random() * 6);
  child.kill("SIGKILL");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  await child.exited;
  const dones = [...out.matchAll(/done (\d+)\n/g)].map((m) => Number(m[1]));
  return { ready: Number(ready[1]), lastDone: dones.length ? dones[dones.length - 1] : null, killedEarly: child.signalCode === "SIGKILL" };
}

test(`store survives ${KILLS} SIGKILLs during writes`, async () => {
  const path = join(dir, "policy.store");
  let previous = 0;
  let midWrite = 0;
  const t0 = performance.now();
  for (let i = 0; i < KILLS; i++) {
    const r = await runOnce(path);
    expect(r.killedEarly).toBe(true);
    const { state, encrypted } = await readPolicyFile(path, "crash-test-passphrase");
    expect(encrypted).toBe(true);
    expect(isWhole(state)).toBe(true);
    const acknowledged = r.lastDone ?? r.ready;
    // durable: every acknowledged write is on disk; at most the one in flight on top
    expect(state.revision === acknowledged || state.revision === acknowledged + 1).toBe(true);
    expect(state.revision).toBeGreaterThanOrEqual(previous);
    if (state.revision === acknowledged + 1) midWrite++;
    previous = state.revision;
  }
  // The kills landed during a stream of writes, not only before the first one.
  expect(previous).toBeGreaterThanOrEqual(KILLS);
  console.log(`store-crash: ${KILLS} kills, final revision ${previous}, ${midWrite} landed between rename and ack, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 60_000);
