/**
 * Starts the real `inferflux serve` in a child process on a free port and
 * waits until /readyz says the model is loaded.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const REPO = resolve(import.meta.dir, "../..");

const storeDir = mkdtempSync(join(tmpdir(), "ifx-test-stores-"));
let storeCount = 0;
/**
 * A fresh policy store file for one test process: without it every server
 * would share the default config/policy_store.conf of the checkout, and one
 * test's admin changes would leak into the next.
 */
export function freshPolicyStore(): Record<string, string> {
  return { INFERFLUX_POLICY_STORE: join(storeDir, `store-${process.pid}-${++storeCount}.conf`) };
}

export interface TestServer {
  url: string;
  port: number;
  proc: Subprocess;
  logs: () => string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

/** `cwd` runs the server elsewhere; `defaultStore` leaves the policy store at its default location (under cwd). */
export async function startTestServer(args: string[], env: Record<string, string> = {}, waitReady = true, options: { cwd?: string; defaultStore?: boolean } = {}): Promise<TestServer> {
  const port = await freePort();
  const baseEnv: Record<string, string | undefined> = { ...process.env, INFERFLUX_LOG_LEVEL: "warn", ...(options.defaultStore ? {} : freshPolicyStore()), ...env };
  if (options.defaultStore) delete baseEnv.INFERFLUX_POLICY_STORE;
  const proc = Bun.spawn([process.execPath, resolve(REPO, "cli/main.ts"), "serve", "--port", String(port), "--threads", "1", ...args], {
    cwd: options.cwd ?? REPO,
    env: baseEnv,
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) output += new TextDecoder().decode(c);
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>);
  void drain(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${url}/${waitReady ? "readyz" : "livez"}`);
      if (r.status === 200) break;
    } catch {}
    try {
      // A TLS server: any HTTPS answer means it is up.
      const r = await fetch(`https://127.0.0.1:${port}/livez`, { tls: { rejectUnauthorized: false } } as RequestInit);
      if (r.status === 200) break;
    } catch {}
    await Bun.sleep(50);
  }
  if (Date.now() >= deadline) {
    proc.kill();
    throw new Error(`server did not become ready:\n${output}`);
  }
  return {
    url,
    port,
    proc,
    logs: () => output,
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(3000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

/** Reads a gauge or counter value from /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.split(" ").pop()) : NaN;
}
