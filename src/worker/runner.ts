/**
 * The runner owns every native object of the engine: model, context, batch
 * and per-sequence sampler chains. It builds a batch from a step plan, decodes
 * it, and samples. It creates and frees native memory in one place each.
 */
import { loadLlama, type LlamaBinding } from "../../ffi/index";
import { Model } from "../../ffi/model";
import { Context, type DecodeResult } from "../../ffi/context";
import { Batch } from "../../ffi/batch";
import { GrammarSampler, SamplerChain } from "../../ffi/sampler";
import type { Logger } from "../shared/logger";
import type { EngineInit, ModelInfo, SamplingParams, TokenLogprob, TopLogprob } from "../engine/messages";
import type { StepItem } from "../scheduler/scheduler";
import { topLogprobs } from "./logprobs";
import { biasMap, greedyArgmax } from "./greedy";
import { GrammarSampling, type ConstrainedState } from "./grammar-sampling";
import { prng } from "../shared/prng";
import { Utf8Validator } from "../shared/utf8";
import { matchedSpecial, PromptTokenizer, splitRules } from "./prompt-tokenizer";

/** The prefix cache has RAM or disk tiers (they need one extra sequence id, the scratch sequence). */
export function cacheTiersEnabled(init: EngineInit): boolean {
  return init.cacheHolders > 0 && (init.cacheRamBytes > 0 || init.cacheDiskPath !== "");
}

interface SequenceSampler extends Omit<ConstrainedState, "grammar"> {
  grammar?: GrammarSampler;
  /** Set when greedy sampling is done here (argmax) instead of by the chain. */
  greedyBias?: Map<number, number>;
}

export class Runner {
  readonly binding: LlamaBinding;
  readonly model: Model;
  readonly ctx: Context;
  private readonly batch: Batch;
  private readonly samplers = new Map<number, SequenceSampler>();
  private readonly constrained: GrammarSampling;
  /** Tokens that end generation (EOS, EOT ...), banned under ignore_eos. */
  readonly eogTokens: number[];
  private readonly promptTokenizer: PromptTokenizer;

  constructor(readonly init: EngineInit, private readonly log: Logger, onProgress: (f: number) => void) {
    this.binding = loadLlama(log);
    this.model = Model.load(this.binding, { path: init.modelPath, gpuLayers: init.gpuLayers, onProgress });
    const nCtx = init.nCtx > 0 ? init.nCtx : Math.min(this.model.nCtxTrain || 4096, 8192);
    try {
      this.ctx = Context.create(this.binding, this.model, {
        nCtx,
        nBatch: init.nBatch,
        nUbatch: init.nUbatch,
        nSeqMax: init.parallel + init.cacheHolders + (cacheTiersEnabled(init) ? 1 : 0),
        threads: init.threads,
        threadsBatch: init.threadsBatch,
        poll: init.poll,
        kvUnified: true,
        flashAttn: init.flashAttn,
      });
    } catch (e) {
      this.model.free();
      throw e;
    }
    this.batch = new Batch(this.binding, this.ctx.nBatch);
    this.constrained = new GrammarSampling(this.model.vocab);
    this.eogTokens = [];
    for (let t = 0; t < this.model.vocab.nTokens; t++) if (this.model.vocab.isEog(t)) this.eogTokens.push(t);
    const vocab = this.model.vocab;
    const rules = splitRules(vocab);
    this.promptTokenizer = new PromptTokenizer(
      { tokenize: (t, a, p) => vocab.tokenize(t, a, p), pieceLength: (t, special) => vocab.pieceBytes(t, special).length, bos: vocab.bos, addBos: vocab.addBos, isMatchedSpecial: (t, p) => matchedSpecial(vocab.attr(t), p) },
      { rules },
    );
    this.log.debug("prompt tokenizer", { reusePlain: rules.plain !== null, reuseSpecial: rules.special !== null });
  }

  modelInfo(): ModelInfo {
    const m = this.model;
    const v = m.vocab;
    const text = (t: number) => (v.isValidToken(t) ? Buffer.from(v.pieceBytes(t, true)).toString("utf8") : "");
    return {
      path: m.path,
      name: m.metadata["general.name"] ?? m.path.split("/").pop()!.replace(/\.gguf$/i, ""),
      description: m.description,
      nCtx: this.ctx.nCtx,
      nCtxTrain: m.nCtxTrain,
      nVocab: v.nTokens,
      nParams: m.nParams,
      sizeBytes: m.sizeBytes,
      parallel: this.init.parallel,
      chatTemplate: m.chatTemplate(),
      bosText: text(v.bos),
      eosText: text(v.eos),
      addBos: v.addBos,
      metadata: { ...m.metadata },
      backends: this.binding.backends,
      devices: this.binding.devices,
      libraryPath: this.binding.location.llamaPath,
      threads: this.init.threads,
    };
  }

  /** Tokenizes a prompt, reusing the tokens of an earlier one with the same opening where that is exact (PromptTokenizer). */
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): number[] {
    return this.promptTokenizer.tokenize(text, addSpecial, parseSpecial);
  }

  /** Creates the sampler chain of a sequence (keyed by a numeric handle the core keeps). */
  createSampler(handle: number, p: SamplingParams, seed: number, grammar?: string, grammarRoot = "root", lazy = false): void {
    const bias = p.logitBias.slice();
    // A grammar decides when generation may end; banning EOG would leave it no way out.
    if (p.ignoreEos && !grammar) for (const t of this.eogTokens) bias.push([t, -Infinity]);
    const g = grammar && !lazy ? new GrammarSampler(this.binding, this.model.vocab.handle, grammar, grammarRoot) : undefined;
    let chain: SamplerChain;
    try {
      chain = new SamplerChain(this.binding, {
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        minP: p.minP,
        repeatPenalty: p.repeatPenalty,
        presencePenalty: p.presencePenalty,
        frequencyPenalty: p.frequencyPenalty,
        penaltyLastN: p.penaltyLastN,
        seed,
        logitBias: bias,
        nVocab: this.ctx.nVocab,
      });
    } catch (e) {
      g?.free();
      throw e;
    }
    // Greedy, with nothing that can raise a token's logit: the best grammar-allowed token among the top
    // logits is the best allowed token overall, so the mask may skip the rest of the vocabulary.
    // Penalties keep a history (the chain's state) and may change any logit.
    const noPenalties = p.repeatPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0;
    const neutral = noPenalties && p.logitBias.every(([, b]) => b <= 0);
    const greedyExact = p.temperature <= 0 && neutral;
    // Greedy without penalties is stateless: argmax over the logits plus the biases, done here, gives
    // the chain's token without its full-vocabulary candidate copy (~0.1 ms a token on a 32k vocabulary).
    const greedyBias = p.temperature <= 0 && !g && !lazy && noPenalties ? biasMap(bias) : undefined;
    // Without truncation the chain draws from the whole distribution: a redraw restricted to allowed tokens is exact.
    const untruncated = p.temperature > 0 && (p.topK <= 0 || p.topK >= this.ctx.nVocab) && p.topP >= 1 && p.minP <= 0;
    const redraw = untruncated ? prng(seed ^ 0x5bd1e995) : undefined;
    this.samplers.set(handle, { chain, grammar: g, greedyExact, greedyBias, redraw, statelessChain: noPenalties, utf8: new Utf8Validator() });
  }

  /**
   * Engages a lazy grammar: replays `tokens` (already generated, from where the
   * trigger began) into a new grammar sampler and constrains sampling from now
   * on. False (and nothing changes) when the grammar does not accept them.
   */
  engageGrammar(handle: number, grammar: string, root: string, tokens: readonly number[]): boolean {
    const s = this.samplers.get(handle);
    if (!s || s.grammar) return false;
    // Constrained output is valid UTF-8 from its first byte (GrammarSampling relies on it): free text that is not stays free.
    const utf8 = new Utf8Validator();
    for (const t of tokens) if (!utf8.push(this.model.vocab.pieceBytes(t, true))) return false;
    s.greedyBias = undefined;
    const g = new GrammarSampler(this.binding, this.model.vocab.handle, grammar, root);
    for (const t of tokens) {
      if (!this.constrained.allows(g, t)) {
        g.free();
        return false;
      }
      g.accept(t);
    }
    s.grammar = g;
    s.utf8 = utf8;
    return true;
  }

  freeSampler(handle: number): void {
    const s = this.samplers.get(handle);
    s?.chain.free();
    s?.grammar?.free();
    this.samplers.delete(handle);
  }

  /** Fills the batch from the plan and decodes. Returns the result and, per item, its logits index (-1 when not sampling). */
  decode(items: readonly StepItem[]): { result: DecodeResult; logitIndex: number[] } {
    const b = this.batch;
    b.clear();
    const logitIndex: number[] = [];
    for (const it of items) {
      let idx = -1;
      for (let k = 0; k < it.count; k++) {
        const pos = it.from + k;
        const want = it.sample && k === it.count - 1;
        const i = b.add(it.seq.tokens[pos], pos, it.seq.seqId, want);
        if (want) idx = i;
      }
      logitIndex.push(idx);
    }
    return { result: this.ctx.decode(b), logitIndex };
  }

  /**
   * Samples the next token (accepted by the chain, and by the grammar when
   * there is one: see GrammarSampling). Returns -1 when the grammar allows no
   * token at all.
   */
  sample(handle: number, logitIdx: number): number {
    const s = this.samplers.get(handle);
    if (!s) throw new Error(`no sampler for sequence handle ${handle}`);
    if (s.grammar) return this.constrained.sample(s as ConstrainedState, this.ctx.logits(logitIdx), () => s.chain.sample(this.ctx, logitIdx));
    return s.greedyBias ? greedyArgmax(this.ctx.logits(logitIdx), s.greedyBias) : s.chain.sample(this.ctx, logitIdx);
  }

  /** Grammar samples whose first draw was rejected (the rest passed the cheap check). */
  get grammarMaskedSamples(): number {
    return this.constrained.maskedSamples;
  }

  /** True when the sequence's output is constrained by a grammar now (a lazy one once engaged). */
  grammarEngaged(handle: number): boolean {
    return this.samplers.get(handle)?.grammar !== undefined;
  }

  logprobs(logitIdx: number, token: number, nTop: number): TokenLogprob {
    const logits = this.ctx.logits(logitIdx);
    const { chosen, top } = topLogprobs(logits, token, nTop);
    const entry = (t: number, lp: number): TopLogprob => {
      const bytes = this.model.vocab.pieceBytes(t);
      return { token: Buffer.from(bytes).toString("utf8"), logprob: lp, bytes: Array.from(bytes) };
    };
    return { ...entry(token, chosen), top: top.map(([t, lp]) => entry(t, lp)) };
  }

  piece(token: number): Uint8Array {
    return this.model.vocab.pieceBytes(token);
  }

  isEog(token: number): boolean {
    return this.model.vocab.isEog(token);
  }

  clearSequence(seqId: number): void {
    if (seqId >= 0) this.ctx.seqRemove(seqId, 0, -1);
  }

  free(): void {
    for (const h of [...this.samplers.keys()]) this.freeSampler(h);
    this.batch.free();
    this.ctx.free();
    this.model.free();
    this.log.debug("runner freed");
  }
}
