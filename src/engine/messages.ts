/**
 * The worker boundary: the only data that crosses between the HTTP side and
 * the engine worker. Plain, structured-clone objects, each tagged by `type`.
 */

/** Sampling parameters of one request, already validated by the server. */
export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  penaltyLastN: number;
  /** Fixed seed, or undefined for a random one. */
  seed?: number;
  /** [token id, bias] pairs. */
  logitBias: [number, number][];
  maxTokens: number;
  stop: string[];
  ignoreEos: boolean;
  /** Number of top alternatives per token to report; -1 = no logprobs at all. */
  logprobs: number;
}

export type PromptInput = { text: string; addSpecial: boolean; parseSpecial: boolean } | { tokens: number[] };

export interface EngineRequest {
  id: string;
  prompt: PromptInput;
  params: SamplingParams;
  /** GBNF grammar (validated by the server) or undefined. */
  grammar?: string;
  /** The grammar's start rule (default "root"). */
  grammarRoot?: string;
  /** Makes the grammar lazy: output is free until one of these strings appears, then constrained from its start. */
  grammarTriggers?: string[];
  /** Keeps prefix-cache entries of different adapters/tenants apart. */
  cacheNamespace?: string;
  priority?: number;
  tenant?: string;
}

export interface EngineInit {
  modelPath: string;
  nCtx: number;
  parallel: number;
  nBatch: number;
  nUbatch: number;
  threads: number;
  threadsBatch: number;
  /** CPU thread pool polling level 0..100. */
  poll: number;
  gpuLayers: number;
  flashAttn: number;
  /** Tokens a step may process (decode tokens + prefill chunks). */
  stepTokenBudget: number;
  /** Largest prompt chunk one sequence may prefill in one step. */
  prefillChunk: number;
  /** Sequence ids reserved to hold cached prefixes (0 disables the prefix cache). */
  cacheHolders: number;
  /** KV cells the prefix cache may keep (0 = a quarter of the context). */
  cacheMaxTokens: number;
  /** Unpinned cached cells kept resident when a request is admitted (with a tier). */
  cacheResidentTokens: number;
  /** Host-memory tier bound in bytes (0 = off). */
  cacheRamBytes: number;
  /** Disk tier directory ("" = off) and bound. */
  cacheDiskPath: string;
  cacheDiskMaxBytes: number;
  agingPerSecond: number;
  /** See scheduler.admission_window_ms. */
  admissionWindowMs: number;
  preemptPriorityGap: number;
  tenantWeights: Record<string, number>;
  /** See runtime.context_shift and runtime.n_keep. */
  contextShift: boolean;
  nKeep: number;
  logLevel: string;
}

export type ToWorker =
  | {
      type: "init";
      init: EngineInit;
      /** StepInterrupt's shared values. */ interrupt: SharedArrayBuffer;
      /** OutputHandoff's shared counter. */ handoff: SharedArrayBuffer;
    }
  | { type: "add"; request: EngineRequest }
  | { type: "abort"; ids: string[] }
  | { type: "tokenize"; callId: number; text: string; addSpecial: boolean; parseSpecial: boolean }
  | { type: "detokenize"; callId: number; tokens: number[] }
  | { type: "stats"; callId: number }
  | { type: "shutdown" };

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top: TopLogprob[];
}

export type FinishReason = "stop" | "length" | "abort" | "error";

export interface EngineErrorInfo {
  status: number;
  code: string;
  message: string;
  param?: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** One request's progress in one step. */
export interface RequestOutput {
  id: string;
  /** Text that became final this step (UTF-8 complete, stop strings withheld). */
  text: string;
  tokenIds: number[];
  logprobs?: TokenLogprob[];
  finishReason?: FinishReason;
  /** The stop string that ended generation, when one did. */
  stopString?: string;
  error?: EngineErrorInfo;
  usage?: Usage;
  /** Set once, on the first output after the prompt was processed. */
  promptTokens?: number;
}

export interface ModelInfo {
  path: string;
  name: string;
  description: string;
  nCtx: number;
  nCtxTrain: number;
  nVocab: number;
  nParams: number;
  sizeBytes: number;
  parallel: number;
  chatTemplate: string | null;
  bosText: string;
  eosText: string;
  addBos: boolean;
  metadata: Record<string, string>;
  backends: string[];
  devices: string[];
  libraryPath: string;
  threads: number;
}

export interface EngineStats {
  running: number;
  waiting: number;
  kvUsedCells: number;
  kvTotalCells: number;
  freeSequences: number;
  stepsTotal: number;
  tokensGenerated: number;
  promptTokensProcessed: number;
  preemptions: number;
  /** Steps cut short by a higher-priority arrival (their finished ubatches kept). */
  stepsInterrupted: number;
  /** Context shifts done at the context limit (runtime.context_shift). */
  contextShifts: number;
  prefixCache: { queries: number; hits: number; hitTokens: number; cachedTokens: number; evictedTokens: number; locks: number; tiers?: { snapshots: number; restores: number; restoredTokens: number; restoreFailures: number } };
  /** Grammar samples that needed the full vocabulary mask. */
  grammarMaskedSamples: number;
}

export type FromWorker =
  | { type: "ready"; model: ModelInfo }
  | { type: "progress"; fraction: number }
  /** `urgent`: the worker waits for the HTTP thread to deliver these (OutputHandoff). */
  | { type: "outputs"; outputs: RequestOutput[]; urgent?: boolean }
  | { type: "reply"; callId: number; result?: unknown; error?: string }
  | { type: "fatal"; message: string };
