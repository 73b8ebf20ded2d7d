/**
 * Composition root: config -> engine client -> Elysia app -> listen.
 * No logic beyond wiring and shutdown.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { DEFAULT_POLICY_STORE, DEFAULT_POLL, type Config } from "./config/schema";
import { createLogger, setLogLevel, type Logger } from "./shared/logger";
import { WorkerEngineClient } from "./engine/worker-client";
import type { EngineInit } from "./engine/messages";
import { createServerMetrics } from "./metrics/server-metrics";
import { createApp } from "./server/app";
import { physicalCores } from "./shared/cpu";
import { createPolicyEngine, policyOptionsFromConfig, type PolicyEngine } from "./policy";

export interface RunningServer {
  url: string;
  port: number;
  engine: WorkerEngineClient;
  policy: PolicyEngine;
  stop(): Promise<void>;
}

export function engineInitFrom(config: Readonly<Config>): EngineInit {
  const threads = config.runtime.threads || physicalCores();
  const gpuLayers = config.runtime.mps_layers >= 0 ? config.runtime.mps_layers : config.runtime.gpu_layers;
  return {
    modelPath: resolve(config.model.path),
    nCtx: config.runtime.ctx_size,
    parallel: config.runtime.parallel,
    nBatch: config.runtime.batch_size,
    nUbatch: Math.min(config.runtime.ubatch_size, config.runtime.batch_size),
    threads,
    threadsBatch: config.runtime.threads_batch || threads,
    poll: config.runtime.poll >= 0 ? config.runtime.poll : DEFAULT_POLL,
    gpuLayers,
    flashAttn: { auto: -1, off: 0, on: 1 }[config.runtime.flash_attn],
    stepTokenBudget: Math.min(config.scheduler.step_token_budget, config.runtime.batch_size),
    prefillChunk: config.scheduler.prefill_chunk,
    agingPerSecond: config.scheduler.aging_per_second,
    admissionWindowMs: config.scheduler.admission_window_ms,
    preemptPriorityGap: config.scheduler.preempt_priority_gap,
    tenantWeights: { ...config.scheduler.tenant_weights },
    contextShift: config.runtime.context_shift,
    nKeep: config.runtime.n_keep,
    cacheMaxTokens: config.cache.max_tokens,
    cacheResidentTokens: config.cache.resident_tokens,
    cacheRamBytes: config.cache.enabled ? config.cache.ram.max_bytes : 0,
    cacheDiskPath: config.cache.enabled ? config.cache.disk.path : "",
    cacheDiskMaxBytes: config.cache.disk.max_bytes,
    cacheHolders: config.cache.enabled ? Math.min(config.cache.holders, 256 - config.runtime.parallel) : 0,
    logLevel: config.logging.level,
  };
}

/**
 * The policy engine. The store's default location (config/policy_store.conf,
 * as in the seeds) may be unwritable (a read-only image); then the server runs
 * with a memory-only store and says so. A path the operator chose, or a store
 * that exists but cannot be read (wrong passphrase, tampering), still stops it.
 */
async function openPolicy(config: Readonly<Config>, log: Logger): Promise<PolicyEngine> {
  const options = policyOptionsFromConfig(config);
  try {
    return await createPolicyEngine(options);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    const unwritable = ["EACCES", "EROFS", "EPERM"].includes(code) || /cannot create directory/.test((err as Error).message);
    if (config.policy_store.path !== DEFAULT_POLICY_STORE || !unwritable || existsSync(DEFAULT_POLICY_STORE)) throw err;
    log.warn("the default policy store is not writable; admin changes will not persist (set INFERFLUX_POLICY_STORE)", { path: DEFAULT_POLICY_STORE, error: (err as Error).message });
    return createPolicyEngine({ ...options, store: { ...options.store, path: undefined } });
  }
}

export async function startServer(config: Readonly<Config>, options: { onProgress?: (f: number) => void } = {}): Promise<RunningServer> {
  setLogLevel(config.logging.level);
  const log = createLogger("server");
  const metrics = createServerMetrics();
  const engine = new WorkerEngineClient({
    init: engineInitFrom(config),
    maxQueued: config.scheduler.max_queue,
    logger: createLogger("engine"),
    onProgress: options.onProgress,
  });
  const policy = await openPolicy(config, log);
  const app = createApp({ config, engine, metrics, log, policy });
  const tls = config.server.tls.cert_file && config.server.tls.key_file
    ? { cert: Bun.file(config.server.tls.cert_file), key: Bun.file(config.server.tls.key_file) }
    : undefined;
  // Bun's own body cap (it drops the connection) sits above ours, so an oversized body with a length gets a JSON 413.
  const bunBodyCap = config.server.max_body_bytes * 2 + (1 << 20);
  app.listen({ hostname: config.server.host, port: config.server.port, maxRequestBodySize: bunBodyCap, idleTimeout: 0, tls });
  const port = app.server!.port!;
  const url = `${tls ? "https" : "http"}://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${port}`;
  log.info("listening", { url, model: config.model.path || null, cpus: cpus().length });
  if (config.model.path) {
    const t0 = performance.now();
    engine.start().then(
      () => log.info("model ready", { model: engine.model?.name, ms: Math.round(performance.now() - t0), ctx: engine.model?.nCtx, parallel: engine.model?.parallel, threads: engine.model?.threads }),
      (e) => log.error("model failed to load", { error: (e as Error).message }),
    );
  } else {
    engine.state = "stopped";
    log.warn("no model configured: inference answers 503 until the server is started with --model PATH");
  }
  return {
    url,
    port,
    engine,
    policy,
    async stop() {
      app.server?.stop(true);
      await engine.close();
      await policy.close();
    },
  };
}
