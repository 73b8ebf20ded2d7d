/** POST /v1/completions (legacy text completions). */
import { CompletionRequestSchema, type CompletionRequest } from "../../protocol/openai-schemas";
import { validateBody } from "../../protocol/validate";
import { toSamplingParams } from "../../protocol/sampling";
import { completionLogprobs, openAIFinish, usageObject } from "../../protocol/openai-responses";
import { InvalidRequestError } from "../../shared/errors";
import { randomId } from "../../shared/ids";
import type { EngineRequest, PromptInput, RequestOutput } from "../../engine/messages";
import { collect, streamResponse, type GenerationDeps } from "../generation";
import type { RequestPolicy } from "../request-policy";
import { requireModel, type ModelNaming } from "./served-model";
import { priorityOf } from "./chat-completions";
import { grammarFor, lazyTriggers } from "../structured-output";

export interface CompletionRouteDeps extends GenerationDeps {
  naming: () => ModelNaming | undefined;
  defaultMaxTokens: number;
  contextShift: boolean;
}

/** One prompt only: a string, one token array, or a one-element list of either. */
function promptInput(p: CompletionRequest["prompt"]): PromptInput {
  if (typeof p === "string") return { text: p, addSpecial: true, parseSpecial: false };
  if (p.length !== 1 && typeof p[0] !== "number") {
    throw new InvalidRequestError("a batch of prompts is not supported: send one prompt per request", "prompt", "unsupported_parameter");
  }
  const first = p[0];
  if (typeof first === "number") return { tokens: p as number[] };
  if (typeof first === "string") return { text: first, addSpecial: true, parseSpecial: false };
  return { tokens: first };
}

export async function completions(deps: CompletionRouteDeps, body: unknown, signal: AbortSignal, headers: Headers, rp: RequestPolicy): Promise<Response | object> {
  const req = validateBody(CompletionRequestSchema, body);
  const info = requireModel(deps.engine, deps.naming, req.model);
  if (req.suffix) throw new InvalidRequestError("suffix (fill-in-the-middle) is not supported", "suffix", "unsupported_parameter");
  const raw = promptInput(req.prompt);
  const prompt: PromptInput = "text" in raw ? { ...raw, text: await rp.admitPrompt(raw.text) } : (await rp.admitPrompt(""), raw);
  const nLogprobs = req.logprobs ?? -1;
  const params = toSamplingParams(req, req.max_tokens ?? 16, nLogprobs, {
    nVocab: info.nVocab,
    nCtx: info.nCtx,
    defaultMaxTokens: deps.defaultMaxTokens,
    contextShift: deps.contextShift,
  });
  rp.acquire(("text" in prompt ? Math.ceil(prompt.text.length / 4) : prompt.tokens.length) + params.maxTokens);
  const id = randomId("cmpl");
  const engineReq: EngineRequest = { id, prompt, params, grammar: grammarFor(req), grammarTriggers: lazyTriggers(req), priority: priorityOf(req.priority, headers), tenant: rp.tenant(headers) };
  const created = Math.floor(Date.now() / 1000);
  const model = req.model;
  const echo = req.echo === true && "text" in prompt ? prompt.text : "";
  if (req.stream) {
    const includeUsage = req.stream_options?.include_usage === true;
    let offset = echo.length;
    const chunk = (text: string, finish: string | null, logprobs: object | null = null) => ({
      id, object: "text_completion", created, model, system_fingerprint: null,
      choices: [{ index: 0, text, logprobs, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    return streamResponse(deps, engineReq, signal, {
      start: () => (echo ? [chunk(echo, null)] : []),
      output: (out: RequestOutput) => {
        const lp = nLogprobs >= 0 && out.logprobs?.length ? completionLogprobs(out.logprobs, offset) : null;
        // text_offset follows the tokens (guardrails may move held text to a later chunk).
        for (const l of out.logprobs ?? []) offset += l.token.length;
        const chunks: object[] = [];
        if (out.text || lp) chunks.push(chunk(out.text, null, lp));
        if (out.finishReason) chunks.push(chunk("", openAIFinish(out.finishReason)));
        return chunks;
      },
      usage: includeUsage ? (u) => ({ id, object: "text_completion", created, model, system_fingerprint: null, choices: [], usage: usageObject(u) }) : undefined,
    }, rp);
  }
  const r = await collect(deps, engineReq, signal, rp);
  const lps = r.outputs.flatMap((o) => o.logprobs ?? []);
  return {
    id,
    object: "text_completion",
    created,
    model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        text: echo + r.text,
        logprobs: nLogprobs >= 0 ? completionLogprobs(lps, echo.length) : null,
        finish_reason: openAIFinish(r.finish.finishReason),
      },
    ],
    usage: usageObject(r.usage),
  };
}
