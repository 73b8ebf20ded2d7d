/**
 * A per-request sampler chain built from sampling parameters. Owns the chain
 * (which owns the samplers added to it) and frees it once.
 */
import { ptr, type Pointer } from "bun:ffi";
import type { LlamaBinding } from "./index";
import type { Context } from "./context";

export interface SamplerOptions {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** How many recent tokens the penalties look at. */
  penaltyLastN: number;
  seed: number;
  /** [token id, bias] pairs; token ids already validated against the vocabulary. */
  logitBias: ReadonlyArray<readonly [number, number]>;
  nVocab: number;
}

export class SamplerChain {
  private handle: Pointer | null;

  constructor(private readonly binding: LlamaBinding, o: SamplerOptions) {
    const { llama, shim } = binding;
    const chain = shim.ifx_sampler_chain_init(true) as Pointer | null;
    if (!chain) throw new Error("llama_sampler_chain_init returned NULL");
    this.handle = chain;
    const add = (s: unknown) => {
      if (!s) throw new Error("a sampler failed to initialise");
      llama.llama_sampler_chain_add(chain, s as Pointer);
    };
    try {
      if (o.logitBias.length) {
        const arr = new ArrayBuffer(o.logitBias.length * 8);
        const dv = new DataView(arr);
        o.logitBias.forEach(([tok, bias], i) => {
          dv.setInt32(i * 8, tok, true);
          dv.setFloat32(i * 8 + 4, bias, true);
        });
        add(llama.llama_sampler_init_logit_bias(o.nVocab, o.logitBias.length, ptr(arr)));
      }
      if (o.repeatPenalty !== 1 || o.presencePenalty !== 0 || o.frequencyPenalty !== 0) {
        add(llama.llama_sampler_init_penalties(o.penaltyLastN, o.repeatPenalty, o.frequencyPenalty, o.presencePenalty));
      }
      if (o.temperature <= 0) {
        add(llama.llama_sampler_init_greedy());
        return;
      }
      if (o.topK > 0) add(llama.llama_sampler_init_top_k(o.topK));
      if (o.topP < 1) add(llama.llama_sampler_init_top_p(o.topP, 1));
      if (o.minP > 0) add(llama.llama_sampler_init_min_p(o.minP, 1));
      add(llama.llama_sampler_init_temp(o.temperature));
      add(llama.llama_sampler_init_dist(o.seed >>> 0));
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /** Samples from the logits at batch output index idx; the chain accepts the token itself. */
  sample(ctx: Context, idx: number): number {
    if (!this.handle) throw new Error("sampler already freed");
    return this.binding.llama.llama_sampler_sample(this.handle, ctx.native, idx);
  }

  /** Applies the chain to a candidate array (no accept). */
  apply(candidates: Pointer): void {
    if (!this.handle) throw new Error("sampler already freed");
    this.binding.llama.llama_sampler_apply(this.handle, candidates);
  }

  /** Records a token chosen by hand (penalties history, RNG-free). */
  accept(token: number): void {
    if (!this.handle) throw new Error("sampler already freed");
    this.binding.llama.llama_sampler_accept(this.handle, token);
  }

  free(): void {
    if (!this.handle) return;
    this.binding.llama.llama_sampler_free(this.handle);
    this.handle = null;
  }
}

/**
 * A GBNF grammar sampler, kept outside the chain so a token can be checked
 * before the full-vocabulary mask is paid for. Guards libllama's aborts:
 * only tokens the grammar allows are ever accepted.
 */
export class GrammarSampler {
  private handle: Pointer | null;

  constructor(private readonly binding: LlamaBinding, vocab: Pointer, grammar: string, root = "root") {
    const h = binding.llama.llama_sampler_init_grammar(vocab, Buffer.from(grammar + "\0"), Buffer.from(root + "\0")) as Pointer | null;
    if (!h) throw new Error("the grammar does not parse (libllama rejected it)");
    this.handle = h;
  }

  get native(): Pointer {
    if (!this.handle) throw new Error("grammar sampler already freed");
    return this.handle;
  }

  apply(candidates: Pointer): void {
    this.binding.llama.llama_sampler_apply(this.native, candidates);
  }

  accept(token: number): void {
    this.binding.llama.llama_sampler_accept(this.native, token);
  }

  free(): void {
    if (!this.handle) return;
    this.binding.llama.llama_sampler_free(this.handle);
    this.handle = null;
  }
}
