/** inferflux serve: load config (file <- env <- flags), start the server, stop cleanly on signals. */
import { defineCommand } from "citty";
import { loadConfig, defaultConfigFile } from "../../src/config";
import { ConfigError } from "../../src/shared/errors";
import { startServer } from "../../src/main";

/** Flags that map straight onto config keys. */
const FLAG_KEYS: Record<string, string> = {
  model: "model.path",
  host: "server.host",
  port: "server.port",
  threads: "runtime.threads",
  "threads-batch": "runtime.threads_batch",
  parallel: "runtime.parallel",
  "ctx-size": "runtime.ctx_size",
  "batch-size": "runtime.batch_size",
  "gpu-layers": "runtime.gpu_layers",
  "model-name": "model.name",
  "max-queue": "scheduler.max_queue",
  "log-level": "logging.level",
};

/** `--set key.path=value`, repeatable: any config key from the command line. */
export function parseSetFlags(rawArgs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    const v = a === "--set" ? rawArgs[++i] : a.startsWith("--set=") ? a.slice(6) : undefined;
    if (v === undefined) continue;
    const eq = v.indexOf("=");
    if (eq <= 0) throw new ConfigError("--set", `expected key=value, got "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export default defineCommand({
  meta: { name: "serve", description: "Start the OpenAI-compatible server on a GGUF model" },
  args: {
    model: { type: "string", description: "GGUF model file (or INFERFLUX_MODEL_PATH)" },
    host: { type: "string", description: "Bind address (default 127.0.0.1)" },
    port: { type: "string", description: "Port (default 8080)" },
    config: { type: "string", description: "YAML config file (default ./config/server.yaml if present)" },
    threads: { type: "string", description: "Decode threads (default: physical cores)" },
    "threads-batch": { type: "string", description: "Prompt threads (default: --threads)" },
    parallel: { type: "string", description: "Sequences decoded together (default 4)" },
    "ctx-size": { type: "string", description: "KV cache tokens shared by all sequences" },
    "batch-size": { type: "string", description: "Tokens per decode call (default 512)" },
    "gpu-layers": { type: "string", description: "Layers to offload to a GPU (-1 all)" },
    "model-name": { type: "string", description: "Model id served by the API" },
    "max-queue": { type: "string", description: "Waiting requests before 429" },
    "log-level": { type: "string", description: "debug | info | warn | error" },
    set: { type: "string", description: "Any config key: --set runtime.parallel=8 (repeatable)" },
  },
  async run({ args, rawArgs }) {
    let config;
    try {
      const overrides: Record<string, string> = parseSetFlags(rawArgs);
      for (const [flag, key] of Object.entries(FLAG_KEYS)) {
        const v = (args as Record<string, unknown>)[flag];
        if (typeof v === "string") overrides[key] = v;
      }
      config = loadConfig({ file: args.config ?? process.env.INFERFLUX_CONFIG ?? defaultConfigFile(), overrides });
    } catch (e) {
      console.error(`inferflux: ${(e as Error).message}`);
      process.exit(2);
    }
    let lastPct = -1;
    const progress = process.stderr.isTTY
      ? (f: number) => {
          const pct = Math.round(f * 100);
          if (pct === lastPct) return;
          lastPct = pct;
          process.stderr.write(`\rloading model ${pct}%${pct === 100 ? "\n" : ""}`);
        }
      : undefined;
    let server;
    try {
      server = await startServer(config, { onProgress: progress });
    } catch (e) {
      console.error(`inferflux: ${(e as Error).message}`);
      process.exit(2);
    }
    // A model that cannot load at start-up is fatal for `serve` (exit 1), so supervisors see it.
    if (config.model.path) {
      server.engine.start().catch(async () => {
        await server.stop();
        process.exit(1);
      });
    }
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await server.stop();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },
});
