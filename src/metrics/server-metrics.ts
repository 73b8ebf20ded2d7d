/** The metrics InferFlux exports, in one place. */
import { Counter, Gauge, Histogram, Registry } from "./registry";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createServerMetrics() {
  const registry = new Registry();
  return {
    registry,
    requests: registry.register(new Counter("inferflux_requests_total", "HTTP requests by route and status")),
    errors: registry.register(new Counter("inferflux_errors_total", "Error responses by code")),
    promptTokens: registry.register(new Counter("inferflux_prompt_tokens_total", "Prompt tokens processed")),
    completionTokens: registry.register(new Counter("inferflux_completion_tokens_total", "Completion tokens generated")),
    cachedTokens: registry.register(new Counter("inferflux_cached_prompt_tokens_total", "Prompt tokens served from the prefix cache")),
    ttft: registry.register(new Histogram("inferflux_time_to_first_token_seconds", "Time to first token", LATENCY_BUCKETS)),
    duration: registry.register(new Histogram("inferflux_request_duration_seconds", "Generation request duration", LATENCY_BUCKETS)),
    engineRunning: registry.register(new Gauge("inferflux_engine_running_sequences", "Sequences decoding now")),
    engineWaiting: registry.register(new Gauge("inferflux_engine_waiting_requests", "Requests waiting for a slot")),
    kvUsage: registry.register(new Gauge("inferflux_kv_cache_usage_ratio", "Fraction of KV cells in use")),
    engineUp: registry.register(new Gauge("inferflux_engine_ready", "1 when a model is loaded and the engine is ready")),
    engineRestarts: registry.register(new Counter("inferflux_engine_restarts_total", "Engine worker restarts")),
    freeSequences: registry.register(new Gauge("inferflux_engine_free_sequences", "Sequence slots free")),
    kvUsedCells: registry.register(new Gauge("inferflux_kv_cache_used_cells", "KV cells in use (running sequences and cached prefixes)")),
    prefixQueries: registry.register(new Gauge("inferflux_prefix_cache_queries_total", "Prefix cache lookups since the engine started")),
    prefixHits: registry.register(new Gauge("inferflux_prefix_cache_hits_total", "Prefix cache lookups that reused tokens")),
    prefixHitTokens: registry.register(new Gauge("inferflux_prefix_cache_hit_tokens_total", "Prompt tokens reused from the prefix cache")),
    prefixCachedTokens: registry.register(new Gauge("inferflux_prefix_cache_tokens", "Tokens held by the prefix cache")),
    prefixLocks: registry.register(new Gauge("inferflux_prefix_cache_pins", "Prefix cache pins held by running requests")),
    tierSnapshots: registry.register(new Gauge("inferflux_prefix_cache_tier_snapshots_total", "Prefixes saved from the KV cache to the RAM/disk tiers")),
    tierRestores: registry.register(new Gauge("inferflux_prefix_cache_tier_restores_total", "Prefixes restored from the RAM/disk tiers instead of recomputed")),
    tierRestoredTokens: registry.register(new Gauge("inferflux_prefix_cache_tier_restored_tokens_total", "Prompt tokens restored from the tiers")),
    preemptions: registry.register(new Gauge("inferflux_engine_preemptions_total", "Sequences preempted for KV space")),
    stepsInterrupted: registry.register(new Gauge("inferflux_engine_steps_interrupted_total", "Engine steps cut short by a higher-priority request")),
    contextShifts: registry.register(new Gauge("inferflux_engine_context_shifts_total", "Context shifts at the context limit (runtime.context_shift)")),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
