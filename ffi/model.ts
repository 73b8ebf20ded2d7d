/**
 * A loaded GGUF model: metadata, chat template and vocabulary. Owns the native
 * model handle and frees it exactly once.
 */
import { ptr, CString, JSCallback, FFIType, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import type { LlamaBinding } from "./index";
import { MODEL_PARAMS } from "./layouts";
import { Vocab } from "./vocab";

export interface ModelLoadOptions {
  path: string;
  /** Layers to offload to a GPU; -1 = all, 0 = none. */
  gpuLayers?: number;
  /** Called with 0..1 while tensors load. */
  onProgress?: (fraction: number) => void;
}

export class Model {
  readonly vocab: Vocab;
  readonly metadata: Readonly<Record<string, string>>;
  readonly description: string;
  readonly nCtxTrain: number;
  readonly nParams: number;
  readonly sizeBytes: number;
  private handle: Pointer | null;

  private constructor(private readonly binding: LlamaBinding, handle: Pointer, readonly path: string) {
    const { llama } = binding;
    this.handle = handle;
    this.vocab = new Vocab(llama, llama.llama_model_get_vocab(handle) as Pointer);
    this.metadata = Object.freeze(readMetadata(binding, handle));
    const buf = new Uint8Array(512);
    const n = llama.llama_model_desc(handle, ptr(buf), buf.length);
    this.description = n > 0 ? Buffer.from(buf.subarray(0, Math.min(n, buf.length - 1))).toString("utf8") : "";
    this.nCtxTrain = llama.llama_model_n_ctx_train(handle);
    this.nParams = Number(llama.llama_model_n_params(handle));
    this.sizeBytes = Number(llama.llama_model_size(handle));
  }

  /** Loads a model; throws with the path when the file is missing or not a usable GGUF. */
  static load(binding: LlamaBinding, options: ModelLoadOptions): Model {
    if (!existsSync(options.path)) throw new Error(`model file ${options.path} does not exist`);
    const params = new Uint8Array(MODEL_PARAMS.size);
    binding.shim.ifx_model_default_params(ptr(params));
    const view = new DataView(params.buffer);
    view.setInt32(MODEL_PARAMS.n_gpu_layers, options.gpuLayers ?? (binding.backends.some((b) => b !== "CPU") ? -1 : 0), true);
    let progress: JSCallback | undefined;
    if (options.onProgress) {
      const report = options.onProgress;
      progress = new JSCallback((fraction: number) => (report(fraction), true), { args: [FFIType.f32, FFIType.ptr], returns: FFIType.bool });
      view.setBigUint64(MODEL_PARAMS.progress_callback, BigInt(progress.ptr!), true);
    }
    try {
      const handle = binding.shim.ifx_model_load(Buffer.from(options.path + "\0"), ptr(params)) as Pointer | null;
      if (!handle) throw new Error(`failed to load model ${options.path}: not a readable GGUF model (see the llama.cpp log above)`);
      return new Model(binding, handle, options.path);
    } finally {
      progress?.close();
    }
  }

  get native(): Pointer {
    if (!this.handle) throw new Error("model already freed");
    return this.handle;
  }

  /** The model's own Jinja chat template (tokenizer.chat_template), or null. */
  chatTemplate(): string | null {
    const p = this.binding.llama.llama_model_chat_template(this.native, null);
    return p ? new CString(p).toString() : null;
  }

  free(): void {
    if (!this.handle) return;
    this.binding.llama.llama_model_free(this.handle);
    this.handle = null;
  }
}

function readMetadata(binding: LlamaBinding, handle: Pointer): Record<string, string> {
  const { llama } = binding;
  const out: Record<string, string> = {};
  const count = llama.llama_model_meta_count(handle);
  let buf = new Uint8Array(1024);
  const read = (fn: (b: Uint8Array) => number): string => {
    let n = fn(buf);
    if (n >= buf.length) {
      buf = new Uint8Array(n + 1);
      n = fn(buf);
    }
    return n < 0 ? "" : Buffer.from(buf.subarray(0, n)).toString("utf8");
  };
  for (let i = 0; i < count; i++) {
    const key = read((b) => llama.llama_model_meta_key_by_index(handle, i, ptr(b), b.length));
    // Arrays (the vocabulary) are summarised by libllama; skip them to keep this small.
    if (key.startsWith("tokenizer.ggml.")) continue;
    out[key] = read((b) => llama.llama_model_meta_val_str_by_index(handle, i, ptr(b), b.length));
  }
  return out;
}
