/**
 * Starting, health-checking and stopping the two servers. Every process started here is
 * tracked and killed on stop, on Ctrl-C / SIGTERM, on uncaught errors and at exit.
 */
import type { Subprocess } from "bun";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

export type ServerName = "llama-server" | "inferflux";

export interface ServerConfig {
  model: string;
  threads: number;
  parallel: number;
  ctxSize: number;
  port: number;
  logPath: string;
}

export interface RunningServer {
  name: ServerName;
  baseUrl: string;
  proc: Subprocess;
  command: string[];
  env: Record<string, string>;
  /** The model id to put in requests (from GET /v1/models when offered). */
  modelId: string;
  logPath: string;
}

const live = new Set<Subprocess>();

function killAllNow(): void {
  for (const p of live) {
    try { p.kill("SIGKILL"); } catch { /* already gone */ }
  }
  live.clear();
}

let handlersInstalled = false;
/** Kill our servers on Ctrl-C, SIGTERM, uncaught errors and process exit. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.error(`\n[bench] ${sig}: stopping servers`);
      killAllNow();
      process.exit(130);
    });
  }
  process.on("uncaughtException", (e) => {
    console.error("[bench] uncaught:", e);
    killAllNow();
    process.exit(1);
  });
  process.on("unhandledRejection", (e) => {
    console.error("[bench] unhandled rejection:", e);
    killAllNow();
    process.exit(1);
  });
  process.on("exit", killAllNow);
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(proc: Subprocess, url: string, timeoutMs: number, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`exited (code ${proc.exitCode ?? proc.signalCode}) before ${url} was healthy; log tail:\n${tail(logPath)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(250);
  }
  throw new Error(`not healthy after ${timeoutMs} ms (${url}: ${last}); log tail:\n${tail(logPath)}`);
}

async function modelIdOf(baseUrl: string, fallback: string): Promise<string> {
  try {
    const res = await fetch(`${baseUrl}/v1/models`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) {
      const body: any = await res.json();
      const id = body?.data?.[0]?.id;
      if (typeof id === "string" && id) return id;
    }
  } catch { /* use the fallback */ }
  return fallback;
}

async function start(
  name: ServerName, command: string[], env: Record<string, string>, healthPath: string,
  cfg: ServerConfig, cwd: string, healthTimeoutMs: number,
): Promise<RunningServer> {
  installCleanupHandlers();
  const logFd = openSync(cfg.logPath, "a"); // one descriptor for both streams, so lines interleave
  let proc: Subprocess;
  try {
    proc = Bun.spawn(command, { cwd, env: { ...process.env, ...env }, stdin: "ignore", stdout: logFd, stderr: logFd });
  } finally {
    closeSync(logFd);
  }
  live.add(proc);
  const baseUrl = `http://127.0.0.1:${cfg.port}`;
  try {
    await waitHealthy(proc, baseUrl + healthPath, healthTimeoutMs, cfg.logPath);
  } catch (e) {
    await stopServer({ name, baseUrl, proc, command, env, modelId: "", logPath: cfg.logPath });
    throw e;
  }
  const modelId = await modelIdOf(baseUrl, basename(cfg.model).replace(/\.gguf$/i, ""));
  return { name, baseUrl, proc, command, env, modelId, logPath: cfg.logPath };
}

/**
 * llama.cpp's server with one unified KV cache of ctxSize tokens shared by `parallel` slots
 * (--kv-unified), like InferFlux, instead of ctxSize/parallel tokens per slot.
 */
export function startLlamaServer(bin: string, cfg: ServerConfig, cwd: string, healthTimeoutMs: number, extraArgs: string[] = []): Promise<RunningServer> {
  if (!existsSync(bin)) throw new Error(`${bin} not found; build it with: bash llama.cpp/build.sh cpu`);
  const command = [
    bin,
    "--model", cfg.model,
    "--host", "127.0.0.1",
    "--port", String(cfg.port),
    "--threads", String(cfg.threads),
    "--threads-batch", String(cfg.threads),
    "--parallel", String(cfg.parallel),
    "--ctx-size", String(cfg.ctxSize),
    "--kv-unified",
    "--cont-batching",
    "--no-webui",
    ...extraArgs,
  ];
  return start("llama-server", command, {}, "/health", cfg, cwd, healthTimeoutMs);
}

/** InferFlux from this checkout: bun cli/main.ts serve ... (libllama from `libDir` when given). */
export function startInferFlux(
  repoRoot: string, cfg: ServerConfig, libDir: string | undefined, extraArgs: string[], healthTimeoutMs: number,
): Promise<RunningServer> {
  const main = join(repoRoot, "cli", "main.ts");
  if (!existsSync(main)) throw new Error(`${main} does not exist (InferFlux CLI not written yet)`);
  const command = [
    process.execPath, main, "serve",
    "--model", cfg.model,
    "--port", String(cfg.port),
    "--threads", String(cfg.threads),
    "--parallel", String(cfg.parallel),
    "--ctx-size", String(cfg.ctxSize),
    ...extraArgs,
  ];
  // A fresh policy store per server: the checkout's default config/policy_store.conf would carry one
  // bench server's keys and settings into the next.
  const env: Record<string, string> = {
    INFERFLUX_POLICY_STORE: join(mkdtempSync(join(tmpdir(), "ifx-bench-store-")), "policy_store.conf"),
    ...(libDir ? { INFERFLUX_LLAMA_LIB: libDir } : {}),
  };
  return start("inferflux", command, env, "/readyz", cfg, repoRoot, healthTimeoutMs);
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServer(s: RunningServer, graceMs = 10_000): Promise<void> {
  const { proc } = s;
  if (proc.exitCode === null && proc.signalCode === null) {
    try { proc.kill("SIGTERM"); } catch { /* gone */ }
    const exited = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!exited) {
      try { proc.kill("SIGKILL"); } catch { /* gone */ }
      await proc.exited;
    }
  }
  live.delete(proc);
}

/** `llama-server --version` output (first lines), for the results file. */
export function llamaServerVersion(bin: string): string {
  try {
    const r = Bun.spawnSync([bin, "--version"], { stdout: "pipe", stderr: "pipe" });
    return (r.stdout.toString() + r.stderr.toString()).trim().split("\n").filter((l) => /version|built/i.test(l)).join("; ");
  } catch {
    return "";
  }
}

/** Build info written by llama.cpp/build.sh next to the binaries, if present. */
export function buildInfo(bin: string): Record<string, string> {
  const p = join(dirname(bin), "inferflux-build.txt");
  if (!existsSync(p)) return {};
  return Object.fromEntries(
    readFileSync(p, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}
