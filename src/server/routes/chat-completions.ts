/** POST /v1/chat/completions */
import { ChatCompletionRequestSchema, type ChatCompletionRequest } from "../../protocol/openai-schemas";
import { validateBody } from "../../protocol/validate";
import { toSamplingParams } from "../../protocol/sampling";
import { chatLogprobs, openAIFinish, usageObject } from "../../protocol/openai-responses";
import { InvalidRequestError } from "../../shared/errors";
import { randomId } from "../../shared/ids";
import type { EngineRequest, RequestOutput } from "../../engine/messages";
import { collect, streamResponse, type GenerationDeps } from "../generation";
import type { RequestPolicy } from "../request-policy";
import { requireModel, type ModelNaming } from "./served-model";
import type { PromptRenderer } from "../prompt-renderer";
import { grammarFor, lazyTriggers } from "../structured-output";
import { planTools, type ToolPlan } from "../tool-calls";
import { ChatStreamShaper, finalMessage } from "../chat-output";

export interface ChatRouteDeps extends GenerationDeps {
  naming: () => ModelNaming | undefined;
  renderer: () => PromptRenderer | undefined;
  defaultMaxTokens: number;
  contextShift: boolean;
}

export async function chatCompletions(deps: ChatRouteDeps, body: unknown, signal: AbortSignal, headers: Headers, rp: RequestPolicy): Promise<Response | object> {
  const req = validateBody(ChatCompletionRequestSchema, body);
  const info = requireModel(deps.engine, deps.naming, req.model);
  const renderer = deps.renderer()!;
  const tools = planTools(req, renderer.template);
  const rendered = tools ? renderer.renderChat(tools.messages, tools.templateTools) : renderer.renderChat(req.messages);
  const prompt = { ...rendered, text: await rp.admitPrompt(rendered.text) };
  const wantLogprobs = req.logprobs === true;
  if (req.top_logprobs != null && !wantLogprobs) throw new InvalidRequestError("top_logprobs requires logprobs: true", "top_logprobs");
  const params = toSamplingParams(req, req.max_completion_tokens ?? req.max_tokens, wantLogprobs ? (req.top_logprobs ?? 0) : -1, {
    nVocab: info.nVocab,
    nCtx: info.nCtx,
    defaultMaxTokens: deps.defaultMaxTokens,
    contextShift: deps.contextShift,
  });
  params.stop = [...params.stop, ...renderer.stopStrings];
  rp.acquire(Math.ceil(prompt.text.length / 4) + params.maxTokens);
  const id = randomId("chatcmpl");
  const engineReq: EngineRequest = {
    id,
    prompt: { text: prompt.text, addSpecial: prompt.addSpecial, parseSpecial: true },
    params,
    ...requestGrammar(req, tools),
    priority: priorityOf(req.priority, headers),
    tenant: rp.tenant(headers),
  };
  const created = Math.floor(Date.now() / 1000);
  const model = req.model;
  if (req.stream) {
    const includeUsage = req.stream_options?.include_usage === true;
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
      id, object: "chat.completion.chunk", created, model, system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const shaper = new ChatStreamShaper(tools);
    return streamResponse(deps, engineReq, signal, {
      start: () => [chunk({ role: "assistant", content: "" }, null)],
      output: (out: RequestOutput) => {
        const chunks: object[] = [];
        const lp = wantLogprobs && out.logprobs?.length ? { logprobs: chatLogprobs(out.logprobs) } : {};
        const deltas = shaper.push(out.text);
        if (out.finishReason) deltas.push(...shaper.end());
        if (!deltas.length && out.logprobs?.length) deltas.push({ content: "" });
        deltas.forEach((d, i) => chunks.push(chunk(d, null, i === 0 ? lp : {})));
        if (out.finishReason) chunks.push(chunk({}, shaper.toolCalls ? "tool_calls" : openAIFinish(out.finishReason)));
        return chunks;
      },
      usage: includeUsage ? (u) => ({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usageObject(u) }) : undefined,
    }, rp);
  }
  const r = await collect(deps, engineReq, signal, rp);
  const lps = r.outputs.flatMap((o) => o.logprobs ?? []);
  const { message, toolCalls } = finalMessage(r.text, tools);
  return {
    id,
    object: "chat.completion",
    created,
    model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message,
        logprobs: wantLogprobs ? chatLogprobs(lps) : null,
        finish_reason: toolCalls && r.finish.finishReason === "stop" ? "tool_calls" : openAIFinish(r.finish.finishReason),
      },
    ],
    usage: usageObject(r.usage),
  };
}

/** The grammar of a request: tool calls (forced, or lazy under tool_choice auto), or response_format / grammar. */
function requestGrammar(req: ChatCompletionRequest, tools: ToolPlan | undefined): { grammar?: string; grammarRoot?: string; grammarTriggers?: string[] } {
  const structured = grammarFor(req);
  const triggers = lazyTriggers(req);
  const g = tools?.grammar;
  if (g && !g.triggers) {
    if (structured) throw new InvalidRequestError("response_format or grammar cannot be combined with a required tool call", "tool_choice");
    return { grammar: g.text, grammarRoot: g.root };
  }
  // An explicit response_format or grammar wins over the lazy tool-call grammar of tool_choice auto.
  if (structured) return { grammar: structured, grammarTriggers: triggers };
  return g ? { grammar: g.text, grammarRoot: g.root, grammarTriggers: g.triggers } : {};
}

/** Priority from the body, else the X-Priority header; bounded to -100..100. */
export function priorityOf(body: number | undefined, headers: Headers): number {
  if (body !== undefined) return body;
  const h = headers.get("x-priority");
  if (h === null) return 0;
  const n = Number(h);
  if (!Number.isInteger(n) || n < -100 || n > 100) throw new InvalidRequestError("X-Priority must be an integer from -100 to 100", "priority");
  return n;
}
