/**
 * Turns an OpenAI-style request into the engine's SamplingParams, applying
 * defaults and the checks that need the model (vocabulary size, context).
 */
import { InvalidRequestError } from "../shared/errors";
import type { SamplingParams } from "../engine/messages";

export interface SamplingInput {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number;
  min_p?: number;
  repeat_penalty?: number;
  repeat_last_n?: number;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  stop?: string | string[] | null;
  ignore_eos?: boolean;
  n?: number | null;
}

export interface SamplingLimits {
  nVocab: number;
  nCtx: number;
  defaultMaxTokens: number;
  /** With context shift on (runtime.context_shift), generation may outgrow the context: max_tokens is not capped by it. */
  contextShift?: boolean;
}

export function toSamplingParams(req: SamplingInput, maxTokens: number | null | undefined, logprobs: number, limits: SamplingLimits): SamplingParams {
  if ((req.n ?? 1) !== 1) throw new InvalidRequestError("n > 1 is not supported: send one request per completion", "n", "unsupported_parameter");
  const logitBias: [number, number][] = [];
  for (const [k, v] of Object.entries(req.logit_bias ?? {})) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || !Number.isInteger(id) || id >= limits.nVocab) {
      throw new InvalidRequestError(`logit_bias key "${k}" is not a token id of this model (0..${limits.nVocab - 1})`, "logit_bias", "invalid_value");
    }
    logitBias.push([id, v]);
  }
  const stop = req.stop == null ? [] : typeof req.stop === "string" ? [req.stop] : req.stop;
  if (stop.some((s) => s.length === 0)) throw new InvalidRequestError("stop strings must not be empty", "stop", "invalid_value");
  if (req.seed != null && !Number.isSafeInteger(req.seed)) throw new InvalidRequestError("seed must be a safe integer", "seed", "invalid_value");
  const max = maxTokens ?? limits.defaultMaxTokens;
  return {
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    topK: req.top_k ?? 0,
    minP: req.min_p ?? 0,
    repeatPenalty: req.repeat_penalty ?? 1,
    presencePenalty: req.presence_penalty ?? 0,
    frequencyPenalty: req.frequency_penalty ?? 0,
    penaltyLastN: req.repeat_last_n === -1 ? limits.nCtx : (req.repeat_last_n ?? 64),
    // Seeds wider than 32 bits fold into 32 (libllama's RNG seed is uint32).
    seed: req.seed == null ? undefined : Number(BigInt.asUintN(32, BigInt(req.seed))),
    logitBias,
    maxTokens: limits.contextShift ? max : Math.min(max, limits.nCtx),
    stop,
    ignoreEos: req.ignore_eos ?? false,
    logprobs,
  };
}
