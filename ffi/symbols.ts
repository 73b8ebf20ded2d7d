/**
 * The dlopen table: every libllama/ggml function InferFlux calls directly
 * (those with pointer-only signatures). Struct-by-value functions go through
 * shim.c instead. Comments follow llama.h: what it returns, who owns it.
 * All of these are called only from the engine worker's thread.
 */
// Types are bun:ffi type names as literals, so TypeScript infers exact argument and return types.
const ptr = "ptr", cstring = "cstring", i32 = "i32", u32 = "u32", u64 = "u64", f32 = "f32", bool = "bool", v = "void", usize = "usize";

export const llamaSymbols = {
  llama_backend_init: { args: [], returns: v },
  llama_backend_free: { args: [], returns: v },
  /** Installs the log callback (level, text, user_data); NULL restores stderr. */
  llama_log_set: { args: [ptr, ptr], returns: v },
  /** Static string owned by libllama. */
  llama_print_system_info: { args: [], returns: cstring },
  llama_supports_gpu_offload: { args: [], returns: bool },
  llama_max_devices: { args: [], returns: usize },

  // --- model (owned by caller of ifx_model_load; freed once with llama_model_free)
  llama_model_free: { args: [ptr], returns: v },
  /** Borrowed vocab pointer; lives as long as the model. */
  llama_model_get_vocab: { args: [ptr], returns: ptr },
  llama_model_n_ctx_train: { args: [ptr], returns: i32 },
  llama_model_n_embd: { args: [ptr], returns: i32 },
  llama_model_n_layer: { args: [ptr], returns: i32 },
  /** Writes a NUL-terminated description; returns its length or -1. */
  llama_model_desc: { args: [ptr, ptr, usize], returns: i32 },
  llama_model_size: { args: [ptr], returns: u64 },
  llama_model_n_params: { args: [ptr], returns: u64 },
  llama_model_meta_count: { args: [ptr], returns: i32 },
  llama_model_meta_key_by_index: { args: [ptr, i32, ptr, usize], returns: i32 },
  llama_model_meta_val_str_by_index: { args: [ptr, i32, ptr, usize], returns: i32 },
  llama_model_meta_val_str: { args: [ptr, cstring, ptr, usize], returns: i32 },
  /** Borrowed template string or NULL when the model has none. */
  llama_model_chat_template: { args: [ptr, ptr], returns: ptr },
  llama_model_has_encoder: { args: [ptr], returns: bool },

  // --- vocab (borrowed from the model)
  llama_vocab_n_tokens: { args: [ptr], returns: i32 },
  llama_vocab_type: { args: [ptr], returns: i32 },
  llama_vocab_bos: { args: [ptr], returns: i32 },
  llama_vocab_eos: { args: [ptr], returns: i32 },
  llama_vocab_eot: { args: [ptr], returns: i32 },
  llama_vocab_is_eog: { args: [ptr, i32], returns: bool },
  llama_vocab_is_control: { args: [ptr, i32], returns: bool },
  llama_vocab_get_add_bos: { args: [ptr], returns: bool },
  llama_vocab_get_add_eos: { args: [ptr], returns: bool },
  /** llama_token_attr bit set (control, user-defined, lstrip, ...). */
  llama_vocab_get_attr: { args: [ptr, i32], returns: i32 },
  /** Returns the number of tokens, or -(needed) when n_tokens_max is too small. */
  llama_tokenize: { args: [ptr, ptr, i32, ptr, i32, bool, bool], returns: i32 },
  /** Returns bytes written, or -(needed). Token id must be < n_vocab (else libllama aborts). */
  llama_token_to_piece: { args: [ptr, i32, ptr, i32, i32, bool], returns: i32 },
  /** Applies a built-in template by name/content; returns bytes needed (may exceed buf). */
  llama_chat_apply_template: { args: [ptr, ptr, usize, bool, ptr, i32], returns: i32 },

  // --- context (owned; freed once with llama_free)
  llama_free: { args: [ptr], returns: v },
  llama_n_ctx: { args: [ptr], returns: u32 },
  llama_n_batch: { args: [ptr], returns: u32 },
  llama_n_ubatch: { args: [ptr], returns: u32 },
  llama_n_seq_max: { args: [ptr], returns: u32 },
  llama_set_n_threads: { args: [ptr, i32, i32], returns: v },
  /** Borrowed memory handle of the context. */
  llama_get_memory: { args: [ptr], returns: ptr },
  llama_memory_clear: { args: [ptr, bool], returns: v },
  /** seq_id < 0 = any; p0/p1 < 0 = open range. Returns false on partial removal failure. */
  llama_memory_seq_rm: { args: [ptr, i32, i32, i32], returns: bool },
  llama_memory_seq_cp: { args: [ptr, i32, i32, i32, i32], returns: v },
  llama_memory_seq_keep: { args: [ptr, i32], returns: v },
  llama_memory_seq_add: { args: [ptr, i32, i32, i32, i32], returns: v },
  llama_memory_seq_pos_min: { args: [ptr, i32], returns: i32 },
  llama_memory_seq_pos_max: { args: [ptr, i32], returns: i32 },
  llama_memory_can_shift: { args: [ptr], returns: bool },
  /** Logits row for output index i of the last batch (borrowed; valid until the next decode). NULL if invalid. */
  llama_get_logits_ith: { args: [ptr, i32], returns: ptr },
  llama_synchronize: { args: [ptr], returns: v },

  // --- sequence state (disk tier)
  llama_state_seq_get_size: { args: [ptr, i32], returns: usize },
  llama_state_seq_get_data: { args: [ptr, ptr, usize, i32], returns: usize },
  llama_state_seq_set_data: { args: [ptr, ptr, usize, i32], returns: usize },

  // --- LoRA adapters (owned by the model; freed with llama_adapter_lora_free or with the model)
  llama_adapter_lora_init: { args: [ptr, cstring], returns: ptr },
  llama_adapter_lora_free: { args: [ptr], returns: v },
  llama_set_adapters_lora: { args: [ptr, ptr, usize, ptr], returns: i32 },

  // --- samplers (a chain owns the samplers added to it; free only the chain)
  llama_sampler_chain_add: { args: [ptr, ptr], returns: v },
  llama_sampler_init_greedy: { args: [], returns: ptr },
  llama_sampler_init_dist: { args: [u32], returns: ptr },
  llama_sampler_init_top_k: { args: [i32], returns: ptr },
  llama_sampler_init_top_p: { args: [f32, usize], returns: ptr },
  llama_sampler_init_min_p: { args: [f32, usize], returns: ptr },
  llama_sampler_init_typical: { args: [f32, usize], returns: ptr },
  llama_sampler_init_temp: { args: [f32], returns: ptr },
  llama_sampler_init_penalties: { args: [i32, f32, f32, f32], returns: ptr },
  llama_sampler_init_logit_bias: { args: [i32, i32, ptr], returns: ptr },
  /** NULL when the grammar does not parse (the error goes to stderr: validate in TypeScript first). */
  llama_sampler_init_grammar: { args: [ptr, cstring, cstring], returns: ptr },
  /** Samples from logits row idx, and accepts the token into every sampler of the chain. */
  llama_sampler_sample: { args: [ptr, ptr, i32], returns: i32 },
  llama_sampler_accept: { args: [ptr, i32], returns: v },
  llama_sampler_apply: { args: [ptr, ptr], returns: v },
  llama_sampler_reset: { args: [ptr], returns: v },
  llama_sampler_free: { args: [ptr], returns: v },
  /** Persistent thread pools for single-token and batch decodes (without them ggml starts threads for every decode). */
  llama_attach_threadpool: { args: [ptr, ptr, ptr], returns: v },
  llama_detach_threadpool: { args: [ptr], returns: v },
} as const;

export const ggmlSymbols = {
  /** Loads every backend library (CPU variants, CUDA, Metal, Vulkan) found in a directory. */
  ggml_backend_load_all_from_path: { args: [cstring], returns: v },
  ggml_backend_reg_count: { args: [], returns: usize },
  ggml_backend_reg_get: { args: [usize], returns: ptr },
  ggml_backend_reg_name: { args: [ptr], returns: cstring },
  ggml_backend_dev_count: { args: [], returns: usize },
  ggml_backend_dev_get: { args: [usize], returns: ptr },
  ggml_backend_dev_name: { args: [ptr], returns: cstring },
  ggml_backend_dev_description: { args: [ptr], returns: cstring },
  ggml_backend_dev_type: { args: [ptr], returns: i32 },
  /** The CPU device, or NULL (type 0 = GGML_BACKEND_DEVICE_TYPE_CPU). */
  ggml_backend_dev_by_type: { args: [i32], returns: ptr },
  ggml_backend_dev_backend_reg: { args: [ptr], returns: ptr },
  /** A backend's extra entry points by name (the CPU backend's threadpool functions live in a loaded module). */
  ggml_backend_reg_get_proc_address: { args: [ptr, cstring], returns: ptr },
  /** Fills ggml_threadpool_params with the defaults for n threads (no affinity, normal priority, poll 50). */
  ggml_threadpool_params_init: { args: [ptr, i32], returns: v },
} as const;

