/**
 * Builders for OpenAI response objects and stream chunks, from engine outputs.
 */
import type { FinishReason, TokenLogprob, Usage } from "../engine/messages";

export type OpenAIFinish = "stop" | "length" | "tool_calls" | "content_filter" | null;

export function openAIFinish(reason: FinishReason | undefined): OpenAIFinish {
  if (reason === "length") return "length";
  if (reason === "stop") return "stop";
  return null;
}

export function usageObject(u: Usage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

/** Chat logprobs: { content: [{token, logprob, bytes, top_logprobs}] }. */
export function chatLogprobs(lps: TokenLogprob[]) {
  return {
    content: lps.map((l) => ({
      token: l.token,
      logprob: l.logprob,
      bytes: l.bytes,
      top_logprobs: l.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes })),
    })),
  };
}

/** Legacy completions logprobs: parallel arrays. */
export function completionLogprobs(lps: TokenLogprob[], startOffset: number) {
  const tokens: string[] = [];
  const tokenLogprobs: number[] = [];
  const top: Record<string, number>[] = [];
  const offsets: number[] = [];
  let off = startOffset;
  for (const l of lps) {
    tokens.push(l.token);
    tokenLogprobs.push(l.logprob);
    top.push(Object.fromEntries(l.top.map((t) => [t.token, t.logprob])));
    offsets.push(off);
    off += l.token.length;
  }
  return { tokens, token_logprobs: tokenLogprobs, top_logprobs: top, text_offset: offsets };
}
