/*
 * The only C in InferFlux: wrappers for the few llama.h functions that take or
 * return structs by value, which bun:ffi cannot express (every wrapper passes
 * the struct through a pointer instead), and two callbacks libllama calls from
 * where JavaScript cannot run: a log copy and a one-line interrupt check.
 * No logic lives here.
 * Compiled at start-up by bun:ffi's TinyCC against the pinned headers in llama.cpp/include.
 */
#include "llama.h"

/* Layout report: sizes and field offsets the TypeScript side checks before any call. */
int32_t ifx_layout(int64_t *out, int32_t capacity) {
    int64_t v[] = {
        sizeof(struct llama_model_params),
        offsetof(struct llama_model_params, n_gpu_layers),
        offsetof(struct llama_model_params, progress_callback),
        offsetof(struct llama_model_params, progress_callback_user_data),
        offsetof(struct llama_model_params, vocab_only),
        offsetof(struct llama_model_params, check_tensors),
        sizeof(struct llama_context_params),
        offsetof(struct llama_context_params, n_ctx),
        offsetof(struct llama_context_params, n_batch),
        offsetof(struct llama_context_params, n_ubatch),
        offsetof(struct llama_context_params, n_seq_max),
        offsetof(struct llama_context_params, n_threads),
        offsetof(struct llama_context_params, n_threads_batch),
        offsetof(struct llama_context_params, flash_attn_type),
        offsetof(struct llama_context_params, embeddings),
        offsetof(struct llama_context_params, no_perf),
        offsetof(struct llama_context_params, swa_full),
        offsetof(struct llama_context_params, kv_unified),
        sizeof(struct llama_batch),
        offsetof(struct llama_batch, token),
        offsetof(struct llama_batch, pos),
        offsetof(struct llama_batch, n_seq_id),
        offsetof(struct llama_batch, seq_id),
        offsetof(struct llama_batch, logits),
        sizeof(llama_token_data),
        sizeof(llama_token_data_array),
        offsetof(llama_token_data_array, selected),
        offsetof(llama_token_data_array, sorted),
        sizeof(llama_logit_bias),
        sizeof(struct llama_chat_message),
        sizeof(struct ggml_threadpool_params),
        offsetof(struct ggml_threadpool_params, n_threads),
        offsetof(struct ggml_threadpool_params, prio),
        offsetof(struct ggml_threadpool_params, poll),
        offsetof(struct ggml_threadpool_params, strict_cpu),
        offsetof(struct ggml_threadpool_params, paused),
    };
    int32_t n = (int32_t)(sizeof(v) / sizeof(v[0]));
    for (int32_t i = 0; i < n && i < capacity; i++) out[i] = v[i];
    return n;
}

void ifx_model_default_params(struct llama_model_params *out) { *out = llama_model_default_params(); }

void ifx_context_default_params(struct llama_context_params *out) { *out = llama_context_default_params(); }

struct llama_model *ifx_model_load(const char *path, const struct llama_model_params *params) {
    return llama_model_load_from_file(path, *params);
}

struct llama_context *ifx_context_init(struct llama_model *model, const struct llama_context_params *params) {
    return llama_init_from_model(model, *params);
}

void ifx_batch_init(struct llama_batch *out, int32_t n_tokens, int32_t embd, int32_t n_seq_max) {
    *out = llama_batch_init(n_tokens, embd, n_seq_max);
}

void ifx_batch_free(struct llama_batch *batch) { llama_batch_free(*batch); }

/* The caller sets batch->n_tokens before each call. */
int32_t ifx_decode(struct llama_context *ctx, const struct llama_batch *batch) { return llama_decode(ctx, *batch); }

struct llama_sampler *ifx_sampler_chain_init(bool no_perf) {
    struct llama_sampler_chain_params p = llama_sampler_chain_default_params();
    p.no_perf = no_perf;
    return llama_sampler_chain_init(p);
}

/*
 * Log forwarding. JavaScript receives llama.cpp's log through a threadsafe
 * callback, which runs later on the JS thread; by then the text llama.cpp
 * passed (a stack buffer) is gone. So the text is copied to the heap here and
 * the JS side frees the copy with ifx_free after reading it.
 */
void *malloc(size_t n);
void free(void *p);
size_t strlen(const char *s);
void *memcpy(void *dst, const void *src, size_t n);

typedef void (*ifx_log_sink)(int32_t level, char *text);
static ifx_log_sink ifx_sink;

static void ifx_log_copy(enum ggml_log_level level, const char *text, void *user_data) {
    (void)user_data;
    if (!ifx_sink || !text) return;
    size_t n = strlen(text);
    char *copy = (char *)malloc(n + 1);
    if (!copy) return;
    memcpy(copy, text, n + 1);
    ifx_sink((int32_t)level, copy);
}

void ifx_log_set(ifx_log_sink sink) {
    ifx_sink = sink;
    llama_log_set(sink ? ifx_log_copy : NULL, NULL);
}

void ifx_free(void *p) { free(p); }

/*
 * Step interruption. ggml asks this predicate between graph nodes while
 * llama_decode runs; true stops the decode (it returns 2 and keeps the
 * ubatches already processed). flags[0] is the highest priority of requests
 * posted to the engine and not yet taken, flags[1] the priority a request needs
 * to interrupt the running step; both sit in a SharedArrayBuffer the HTTP
 * thread writes while the engine thread is blocked here. It is C because
 * entering JavaScript at every graph node would cost more than the check.
 */
static bool ifx_interrupt_check(void *data) {
    volatile int32_t *flags = (volatile int32_t *)data;
    return flags[0] >= flags[1];
}

void ifx_set_interrupt(struct llama_context *ctx, int32_t *flags) {
    llama_set_abort_callback(ctx, flags ? ifx_interrupt_check : NULL, flags);
}
