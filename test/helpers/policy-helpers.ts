/**
 * Helpers for the policy integration tests (test/integration/policy-*.test.ts):
 * temp dirs, a config file writer, a small HTTP client that never throws on
 * a status, CLI runs, waiting, and starting a server that is expected to fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freshPolicyStore, REPO } from "./server";

export const MODEL_ID = "stories260K-chatml";

/** A fresh temp dir; remove it with `cleanup()`. */
export function tempDir(prefix: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ifx-${prefix}-`));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a config file (JSON is valid YAML) and returns its path. */
export function writeConfig(path: string, config: object): string {
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export interface ApiResponse {
  status: number;
  json: any;
  text: string;
  headers: Headers;
  ms: number;
}

export interface ApiOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One HTTP call; `key` goes in Authorization: Bearer. Never throws on an HTTP status. */
export async function api(url: string, method: string, path: string, o: ApiOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  let body: string | undefined;
  if (o.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
  }
  const t0 = performance.now();
  const r = await fetch(url + path, { method, headers, body });
  const text = await r.text();
  const ms = performance.now() - t0;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text, headers: r.headers, ms };
}

/** Creates an API key through the admin API; returns the plaintext (shown once) and the record. */
export async function createKey(url: string, adminKey: string, body: Record<string, unknown>): Promise<{ key: string; id: string; record: any }> {
  const r = await api(url, "POST", "/v1/admin/api_keys", { key: adminKey, body });
  if (r.status !== 200 || typeof r.json?.key !== "string") throw new Error(`create key failed: ${r.status} ${r.text}`);
  return { key: r.json.key, id: r.json.record.id, record: r.json.record };
}

/** Polls `fn` until it returns a truthy value or the time is up (then returns the last value). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!v && Date.now() < deadline) {
    await Bun.sleep(stepMs);
    v = await fn();
  }
  return v;
}

/**
 * Runs `bun cli/main.ts ...args` and collects its exit code and output. An `env` value of
 * undefined removes that variable; `stdin` is piped in.
 */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fullEnv: Record<string, string | undefined> = { ...process.env, INFERFLUX_LOG_LEVEL: "warn", ...freshPolicyStore(), ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const proc = Bun.spawn([process.execPath, resolve(REPO, "cli/main.ts"), ...args], {
    cwd: REPO,
    env: fullEnv,
    ...(stdin === undefined ? {} : { stdin: new TextEncoder().encode(stdin) }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}

/**
 * Starts `serve` expecting it to fail at start-up: waits for the exit (or
 * kills it after `timeoutMs` and reports `code: null`).
 */
export async function serveExpectingExit(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  const r = await runCli(["serve", "--port", String(port), "--threads", "1", ...args], env, timeoutMs);
  return { code: r.code, output: r.stdout + r.stderr };
}

/** Parses an SSE body into its data payloads ("[DONE]" kept as a string). */
export function sseEvents(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (!data) continue;
    if (data === "[DONE]") out.push(data);
    else {
      try {
        out.push(JSON.parse(data));
      } catch {
        out.push(data);
      }
    }
  }
  return out;
}

export const sha256Hex = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
