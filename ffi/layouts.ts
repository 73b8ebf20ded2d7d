/**
 * The byte layouts of llama.h structs that TypeScript reads or writes, for
 * 64-bit targets. shim.c reports the real sizes and offsets from the pinned
 * headers (ifx_layout); checkLayouts refuses to run on any difference.
 */
export const MODEL_PARAMS = {
  size: 80,
  n_gpu_layers: 16,
  progress_callback: 48,
  progress_callback_user_data: 56,
  vocab_only: 72,
  check_tensors: 73,
} as const;

export const CONTEXT_PARAMS = {
  size: 160,
  n_ctx: 0,
  n_batch: 4,
  n_ubatch: 8,
  n_seq_max: 12,
  n_threads: 28,
  n_threads_batch: 32,
  flash_attn_type: 52,
  embeddings: 128,
  no_perf: 130,
  swa_full: 132,
  kv_unified: 133,
} as const;

export const BATCH = { size: 56, token: 8, pos: 24, n_seq_id: 32, seq_id: 40, logits: 48 } as const;

export const TOKEN_DATA = { size: 12 } as const;
export const TOKEN_DATA_ARRAY = { size: 32, selected: 16, sorted: 24 } as const;
export const LOGIT_BIAS = { size: 8 } as const;
export const CHAT_MESSAGE = { size: 16 } as const;
/** ggml.h's ggml_threadpool_params: bool cpumask[GGML_MAX_N_THREADS = 512], then the scalars. */
export const THREADPOOL_PARAMS = { size: 528, n_threads: 512, prio: 516, poll: 520, strict_cpu: 524, paused: 525 } as const;

/** The order in which ifx_layout reports values; keep in step with shim.c. */
export const EXPECTED_LAYOUT: ReadonlyArray<readonly [string, number]> = [
  ["sizeof(llama_model_params)", MODEL_PARAMS.size],
  ["llama_model_params.n_gpu_layers", MODEL_PARAMS.n_gpu_layers],
  ["llama_model_params.progress_callback", MODEL_PARAMS.progress_callback],
  ["llama_model_params.progress_callback_user_data", MODEL_PARAMS.progress_callback_user_data],
  ["llama_model_params.vocab_only", MODEL_PARAMS.vocab_only],
  ["llama_model_params.check_tensors", MODEL_PARAMS.check_tensors],
  ["sizeof(llama_context_params)", CONTEXT_PARAMS.size],
  ["llama_context_params.n_ctx", CONTEXT_PARAMS.n_ctx],
  ["llama_context_params.n_batch", CONTEXT_PARAMS.n_batch],
  ["llama_context_params.n_ubatch", CONTEXT_PARAMS.n_ubatch],
  ["llama_context_params.n_seq_max", CONTEXT_PARAMS.n_seq_max],
  ["llama_context_params.n_threads", CONTEXT_PARAMS.n_threads],
  ["llama_context_params.n_threads_batch", CONTEXT_PARAMS.n_threads_batch],
  ["llama_context_params.flash_attn_type", CONTEXT_PARAMS.flash_attn_type],
  ["llama_context_params.embeddings", CONTEXT_PARAMS.embeddings],
  ["llama_context_params.no_perf", CONTEXT_PARAMS.no_perf],
  ["llama_context_params.swa_full", CONTEXT_PARAMS.swa_full],
  ["llama_context_params.kv_unified", CONTEXT_PARAMS.kv_unified],
  ["sizeof(llama_batch)", BATCH.size],
  ["llama_batch.token", BATCH.token],
  ["llama_batch.pos", BATCH.pos],
  ["llama_batch.n_seq_id", BATCH.n_seq_id],
  ["llama_batch.seq_id", BATCH.seq_id],
  ["llama_batch.logits", BATCH.logits],
  ["sizeof(llama_token_data)", TOKEN_DATA.size],
  ["sizeof(llama_token_data_array)", TOKEN_DATA_ARRAY.size],
  ["llama_token_data_array.selected", TOKEN_DATA_ARRAY.selected],
  ["llama_token_data_array.sorted", TOKEN_DATA_ARRAY.sorted],
  ["sizeof(llama_logit_bias)", LOGIT_BIAS.size],
  ["sizeof(llama_chat_message)", CHAT_MESSAGE.size],
  ["sizeof(ggml_threadpool_params)", THREADPOOL_PARAMS.size],
  ["ggml_threadpool_params.n_threads", THREADPOOL_PARAMS.n_threads],
  ["ggml_threadpool_params.prio", THREADPOOL_PARAMS.prio],
  ["ggml_threadpool_params.poll", THREADPOOL_PARAMS.poll],
  ["ggml_threadpool_params.strict_cpu", THREADPOOL_PARAMS.strict_cpu],
  ["ggml_threadpool_params.paused", THREADPOOL_PARAMS.paused],
];

/** Returns a list of mismatches (empty when the TypeScript layouts match the headers). */
export function compareLayouts(reported: ArrayLike<number | bigint>, count: number): string[] {
  const problems: string[] = [];
  if (count !== EXPECTED_LAYOUT.length) problems.push(`shim reports ${count} layout values, TypeScript expects ${EXPECTED_LAYOUT.length}`);
  EXPECTED_LAYOUT.forEach(([name, expected], i) => {
    const got = Number(reported[i]);
    if (i < count && got !== expected) problems.push(`${name}: headers say ${got}, TypeScript says ${expected}`);
  });
  return problems;
}
