/**
 * The configuration schema: every key of config/server.yaml, its type,
 * default and documentation. Env vars and CLI flags map onto these keys.
 */
import { Type as T, type Static } from "@sinclair/typebox";

/** Where the seeds put the policy store (override with INFERFLUX_POLICY_STORE). */
export const DEFAULT_POLICY_STORE = "config/policy_store.conf";

const Int = (o: { minimum?: number; maximum?: number; default: number; description: string }) => T.Integer(o);
const Scope = T.Union([T.Literal("generate"), T.Literal("read"), T.Literal("admin")]);

/** CPU thread pools' busy-polling level between decodes when the config says -1 or nothing (llama.cpp's own default). */
export const DEFAULT_POLL = 50;

export const ConfigSchema = T.Object(
  {
    server: T.Object(
      {
        host: T.String({ default: "127.0.0.1", description: "Address to bind" }),
        port: Int({ minimum: 0, maximum: 65535, default: 8080, description: "TCP port (0 = any free port)" }),
        cors_origins: T.Array(T.String(), { default: [], description: "Origins allowed by CORS; empty disables CORS" }),
        allowed_hosts: T.Array(T.String(), { default: [], description: "Extra Host header values accepted when bound to localhost" }),
        max_body_bytes: Int({ minimum: 1024, default: 8 * 1024 * 1024, description: "Largest request body" }),
        metrics_public: T.Boolean({ default: true, description: "Serve /metrics without authentication" }),
        tls: T.Object(
          {
            cert_file: T.String({ default: "", description: "PEM certificate; set with key_file to serve HTTPS" }),
            key_file: T.String({ default: "", description: "PEM private key" }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    model: T.Object(
      {
        path: T.String({ default: "", description: "GGUF model file to load at start-up" }),
        name: T.String({ default: "", description: "Model id served by the API (default: from the file)" }),
        aliases: T.Array(T.String(), { default: [], description: "Other model ids accepted for this model" }),
        chat_template: T.String({ default: "", description: "Jinja chat template overriding the model's own" }),
      },
      { default: {} },
    ),
    runtime: T.Object(
      {
        threads: Int({ minimum: 0, maximum: 1024, default: 0, description: "Decode threads (0 = physical cores)" }),
        threads_batch: Int({ minimum: 0, maximum: 1024, default: 0, description: "Prompt-processing threads (0 = same as threads)" }),
        poll: Int({ minimum: -1, maximum: 100, default: DEFAULT_POLL, description: "CPU thread pool busy-polling level between decodes, 0 (sleep) .. 100, as llama.cpp's --poll (default 50, as llama.cpp); -1 = the default" }),
        parallel: Int({ minimum: 1, maximum: 256, default: 4, description: "Sequences decoded together" }),
        ctx_size: Int({ minimum: 0, maximum: 1 << 22, default: 0, description: "KV cache size in tokens, shared by all sequences (0 = min(model, 8192))" }),
        batch_size: Int({ minimum: 32, maximum: 65536, default: 2048, description: "Most tokens one llama_decode call takes (logical batch)" }),
        ubatch_size: Int({ minimum: 32, maximum: 65536, default: 512, description: "Tokens computed at once inside a decode (physical batch)" }),
        gpu_layers: Int({ minimum: -1, maximum: 100000, default: -1, description: "Layers offloaded to a GPU (-1 = all when a GPU backend loaded)" }),
        mps_layers: Int({ minimum: -1, maximum: 100000, default: -1, description: "Alias of gpu_layers kept for older configs" }),
        flash_attn: T.Union([T.Literal("auto"), T.Literal("on"), T.Literal("off")], { default: "auto", description: "Flash attention" }),
        context_shift: T.Boolean({ default: false, description: "When a generating sequence reaches the context limit, drop the older half of its tokens after the first n_keep and go on (as llama.cpp's --context-shift); off: it finishes with finish_reason \"length\"" }),
        n_keep: Int({ minimum: -1, maximum: 1 << 22, default: 0, description: "Prompt tokens a context shift keeps at the start, besides BOS (-1 = the whole prompt), as llama.cpp's --keep" }),
      },
      { default: {} },
    ),
    scheduler: T.Object(
      {
        max_queue: Int({ minimum: 0, maximum: 100000, default: 64, description: "Requests that may wait beyond the running ones before 429" }),
        step_token_budget: Int({ minimum: 1, maximum: 65536, default: 2048, description: "Tokens per engine step (decode + prefill)" }),
        prefill_chunk: Int({ minimum: 1, maximum: 65536, default: 2048, description: "Largest prompt chunk one sequence prefills per step (smaller = smoother streams beside long prompts)" }),
        admission_window_ms: Int({ minimum: 0, maximum: 1000, default: 5, description: "When the engine goes idle after running N requests together, the first new request waits up to this long for N to arrive, so a burst that finished together prefills together (0 = never wait)" }),
        max_tokens_default: Int({ minimum: 1, maximum: 1 << 20, default: 2048, description: "max_tokens when a request gives none" }),
        aging_per_second: T.Number({ minimum: 0, maximum: 1000, default: 1, description: "Priority points a waiting request gains per second (anti-starvation)" }),
        preempt_priority_gap: Int({ minimum: 0, maximum: 200, default: 10, description: "A waiting request this many priority points above a running one preempts it, interrupts the running step, and its prefill step leaves out the decodes it outranks (0 = never)" }),
        tenant_weights: T.Record(T.String(), T.Number({ exclusiveMinimum: 0 }), { default: {}, description: "Fair-share weight per tenant (default 1)" }),
      },
      { default: {} },
    ),
    cache: T.Object(
      {
        enabled: T.Boolean({ default: true, description: "Radix prefix cache: reuse the KV of shared prompt prefixes" }),
        holders: Int({ minimum: 1, maximum: 250, default: 16, description: "Sequence ids reserved to hold cached prefixes (distinct branches cached at once)" }),
        max_tokens: Int({ minimum: 0, maximum: 1 << 22, default: 0, description: "KV cells the cache may keep (0 = a quarter of the context): attention in a unified cache spans every used cell, so an unbounded cache slows all decoding" }),
        resident_tokens: Int({ minimum: 0, maximum: 1 << 22, default: 0, description: "With a RAM or disk tier: cached cells nobody runs on that stay in the KV cache when a new request starts; the rest leave it, and those saved to the tiers while the engine was idle are restored on a hit" }),
        ram: T.Object(
          {
            max_bytes: Int({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 2 * 1024 ** 3, description: "Host-memory tier for prefixes evicted from the KV cache, in bytes (0 = off)" }),
          },
          { default: {} },
        ),
        disk: T.Object(
          {
            path: T.String({ default: "", description: "Directory of the disk tier (off when empty): evicted prefixes are saved there and restored on a later hit, also after a restart" }),
            max_bytes: Int({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 10 * 1024 ** 3, description: "Disk tier size bound in bytes" }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    auth: T.Object(
      {
        api_keys: T.Array(
          T.Object({
            key: T.String({ minLength: 8 }),
            scopes: T.Array(Scope, { default: ["generate", "read"] }),
            name: T.Optional(T.String()),
            models: T.Optional(T.Array(T.String())),
            tenant: T.Optional(T.String()),
          }),
          { default: [], description: "API keys (hashed at load; plaintext never written back)" },
        ),
        pepper: T.String({ default: "", description: "HMAC pepper for stored key hashes" }),
        oidc: T.Object(
          {
            issuer: T.String({ default: "" }),
            audience: T.String({ default: "" }),
            jwks_uri: T.String({ default: "" }),
            jwks_file: T.String({ default: "" }),
            scope_claim: T.String({ default: "scope" }),
            tenant_claim: T.String({ default: "tenant" }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    rate_limit: T.Object(
      {
        requests_per_minute: Int({ minimum: 0, maximum: 1e9, default: 0, description: "Per-key request limit (0 = none)" }),
        tokens_per_minute: Int({ minimum: 0, maximum: 1e12, default: 0, description: "Per-key token limit (0 = none)" }),
      },
      { default: {} },
    ),
    guardrails: T.Object(
      {
        blocklist: T.Array(T.String(), { default: [], description: "Words blocked in prompts and completions" }),
        opa_endpoint: T.String({ default: "", description: "Optional OPA decision endpoint" }),
      },
      { default: {} },
    ),
    audit: T.Object(
      {
        path: T.String({ default: "", description: "Audit log file (JSON lines); empty disables" }),
        debug_mode: T.Boolean({ default: false, description: "Log raw prompts/completions instead of hashes" }),
      },
      { default: {} },
    ),
    policy_store: T.Object(
      {
        path: T.String({ default: DEFAULT_POLICY_STORE, description: "Policy store file, relative to the working directory (empty: memory only)" }),
        passphrase: T.String({ default: "", description: "Encrypts the policy store (AES-256-GCM)" }),
      },
      { default: {} },
    ),
    logging: T.Object(
      {
        level: T.Union([T.Literal("debug"), T.Literal("info"), T.Literal("warn"), T.Literal("error"), T.Literal("silent")], { default: "info" }),
      },
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

/** Every object in the schema rejects unknown keys, so a typo in server.yaml stops start-up. */
(function strict(schema: { type?: string; additionalProperties?: unknown; properties?: Record<string, unknown>; items?: unknown }) {
  if (schema.type === "object" && schema.properties) {
    schema.additionalProperties = false;
    for (const sub of Object.values(schema.properties)) strict(sub as typeof schema);
  }
  if (schema.type === "array" && schema.items) strict(schema.items as typeof schema);
})(ConfigSchema as never);

export type Config = Static<typeof ConfigSchema>;

/** Env vars from the original product documents, mapped to config keys. */
export const ENV_ALIASES: Record<string, string> = {
  INFERFLUX_MODEL_PATH: "model.path",
  INFERFLUX_HOST: "server.host",
  INFERFLUX_PORT: "server.port",
  INFERFLUX_RATE_LIMIT_PER_MINUTE: "rate_limit.requests_per_minute",
  INFERFLUX_GUARDRAIL_BLOCKLIST: "guardrails.blocklist",
  INFERFLUX_AUDIT_LOG: "audit.path",
  INFERFLUX_OIDC_ISSUER: "auth.oidc.issuer",
  INFERFLUX_OIDC_AUDIENCE: "auth.oidc.audience",
  INFERFLUX_POLICY_STORE: "policy_store.path",
  INFERFLUX_POLICY_PASSPHRASE: "policy_store.passphrase",
  INFERFLUX_MPS_LAYERS: "runtime.mps_layers",
  INFERFLUX_LOG_LEVEL: "logging.level",
};
