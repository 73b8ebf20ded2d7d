/**
 * Grammar-constrained sampling at low cost per token. The cheap path: sample
 * unconstrained and check that one token against the grammar. When it is
 * rejected, the next token comes from the cheapest exact method that applies:
 *  1. greedy with nothing that raises a logit: the best allowed token among the
 *     top logits is the best allowed overall;
 *  2. few tokens can pass (a structural position, narrowed by first byte, see
 *     FirstByteIndex): mask just those and sample among them;
 *  3. most tokens pass and the chain does not truncate (no top-k/top-p/min-p):
 *     redraw from the chain's own distribution until a draw passes (rejection
 *     sampling: exactly the distribution restricted to the allowed tokens);
 *  4. otherwise, and always on a small vocabulary (< 4096 tokens, where a full
 *     mask is as cheap as 2 and 3), the full-vocabulary mask, as llama.cpp does.
 * Native memory here is the candidate arrays, owned by TypeScript.
 *
 * llama.cpp's grammar decodes UTF-8 leniently (an overlong form or a
 * surrogate counts as one character), so byte tokens could build sequences
 * that reach the client as U+FFFD and break a length bound. Constrained output
 * stays strictly valid UTF-8: the few tokens whose pieces are not complete
 * characters get a logit of -inf wherever they would make it invalid.
 */
import { CandidateArray } from "../../ffi/candidates";
import type { GrammarSampler, SamplerChain } from "../../ffi/sampler";
import type { Vocab } from "../../ffi/vocab";
import { FirstByteIndex } from "./first-byte-index";
import { isCompleteUtf8, Utf8Validator } from "../shared/utf8";

/** Candidates the grammar checks first under greedy sampling before masking the whole vocabulary. */
const GREEDY_GRAMMAR_TOP_K = 256;
/** Below this many tokens a rejected draw goes straight to the full mask. */
const SMALL_VOCAB = 4096;
/** Redraws tried before the full mask (each is one binary search and one single-token check). */
const MAX_REDRAWS = 8;

export interface ConstrainedState {
  chain: SamplerChain;
  grammar: GrammarSampler;
  /** Greedy with nothing that can raise a logit: the grammar may check the top logits first. */
  greedyExact: boolean;
  /** Set when the chain samples from the whole distribution (temperature > 0, no truncation): redraws are exact. */
  redraw?: () => number;
  /** The chain keeps no history (no penalties): it may sample and accept a token the grammar then rejects. */
  statelessChain: boolean;
  /** UTF-8 state of the constrained output so far (always valid UTF-8, so it is also the grammar's partial-character state). */
  utf8: Utf8Validator;
}

export class GrammarSampling {
  private readonly candidates: CandidateArray;
  /** Small arrays for single-token checks and first-byte probes, so the full array keeps its probabilities. */
  private readonly probe = new CandidateArray(256);
  private firstBytes?: FirstByteIndex;
  /** Tokens whose pieces are not complete UTF-8 characters (byte tokens, mostly): the only ones that can break validity. */
  private partialTokens?: Int32Array;
  /** Those of them that are invalid after a complete character (the usual state): banned without checking. */
  private invalidAtBoundary?: Int32Array;
  /** Samples whose first draw the grammar rejected. */
  maskedSamples = 0;

  constructor(private readonly vocab: Vocab) {
    this.candidates = new CandidateArray(vocab.nTokens);
  }

  /** True when the grammar accepts `token` next (does not accept it). */
  allows(g: GrammarSampler, token: number): boolean {
    g.apply(this.probe.single(token));
    return this.probe.firstLogit() !== -Infinity;
  }

  /**
   * The next token under the grammar (accepted), or -1 when the grammar allows
   * none. `chainSample` samples with the chain straight from the context's
   * logits (the chain's own copy of the vocabulary, in C).
   */
  sample(s: ConstrainedState, logits: Float32Array, chainSample: () => number): number {
    this.banInvalidUtf8(s.utf8, logits);
    const cand = this.candidates;
    let filled = false;
    let token: number;
    if (s.statelessChain) {
      token = chainSample();
    } else {
      s.chain.apply(cand.fill(logits));
      token = cand.selectedToken();
      filled = true;
    }
    if (token < 0 || !this.allows(s.grammar, token)) {
      this.maskedSamples++;
      token = this.resample(s, logits, filled);
      if (token < 0 || !this.allows(s.grammar, token)) return -1;
    }
    s.grammar.accept(token);
    // A stateless chain accepted its own draw already, and accepting is a no-op for it anyway.
    if (!s.statelessChain) s.chain.accept(token);
    s.utf8.push(this.vocab.pieceBytes(token, true));
    return token;
  }

  /** -inf for every token that would make the output invalid UTF-8 next (the logits are this sample's own row). */
  private banInvalidUtf8(utf8: Utf8Validator, logits: Float32Array): void {
    const v = this.vocab;
    if (!this.partialTokens) {
      this.partialTokens = Int32Array.from({ length: v.nTokens }, (_, t) => t).filter((t) => !isCompleteUtf8(v.pieceBytes(t, true)));
      const fresh = new Utf8Validator();
      this.invalidAtBoundary = this.partialTokens.filter((t) => !fresh.accepts(v.pieceBytes(t, true)));
    }
    if (utf8.complete) {
      for (const t of this.invalidAtBoundary!) logits[t] = -Infinity;
      return;
    }
    for (const t of this.partialTokens) if (!utf8.accepts(v.pieceBytes(t, true))) logits[t] = -Infinity;
  }

  /** `filled`: the full array holds the chain's probabilities from the first draw. */
  private resample(s: ConstrainedState, logits: Float32Array, filled: boolean): number {
    const cand = this.candidates;
    if (s.greedyExact) {
      const top = cand.fillTop(logits, GREEDY_GRAMMAR_TOP_K);
      s.grammar.apply(top);
      if (cand.anyAllowed()) {
        s.chain.apply(top);
        const t = cand.selectedToken();
        if (t >= 0) return t;
      }
      filled = false;
    }
    // On a small vocabulary the full mask costs about as much as the probes or a few redraws.
    if (this.vocab.nTokens < SMALL_VOCAB) return this.maskAndSample(s, cand.fill(logits));
    const few = s.utf8.complete ? this.narrowed(s.grammar) : null;
    if (few) return this.maskAndSample(s, cand.fillIds(few, logits));
    if (s.redraw) {
      if (!filled) s.chain.apply(cand.fill(logits));
      if (cand.buildCumulative()) {
        for (let i = 0; i < MAX_REDRAWS; i++) {
          const t = cand.drawCumulative(s.redraw());
          if (t >= 0 && this.allows(s.grammar, t)) return t;
        }
      }
    }
    return this.maskAndSample(s, cand.fill(logits));
  }

  private maskAndSample(s: ConstrainedState, arr: ReturnType<CandidateArray["fill"]>): number {
    s.grammar.apply(arr);
    s.chain.apply(arr);
    return this.candidates.selectedToken();
  }

  /** The token ids a mask must look at, narrowed by first byte; null when most of the vocabulary could pass. */
  private narrowed(g: GrammarSampler): Int32Array | null {
    const v = this.vocab;
    const index = (this.firstBytes ??= new FirstByteIndex(v.nTokens, (t) => v.pieceBytes(t, true), (t) => v.isEog(t)));
    g.apply(this.probe.fillIds(index.probes));
    return index.candidates((i) => this.probe.allowedAt(i));
  }
}
