/**
 * One streamed request with arbitrary extra body fields and headers (priority,
 * response_format, auth): TTFT, total time, completion tokens and the text.
 */
import { sseData } from "./sse.ts";

export interface TimedResult {
  ok: boolean;
  error?: string;
  ttftMs: number;
  totalMs: number;
  tokens: number;
  text: string;
  cachedTokens?: number;
}

export async function timedRequest(
  baseUrl: string,
  path: "/v1/completions" | "/v1/chat/completions",
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  timeoutMs = 300_000,
): Promise<TimedResult> {
  const t0 = performance.now();
  let ttft = NaN;
  let text = "";
  let usage: any;
  try {
    const res = await fetch(baseUrl + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal: AbortSignal.timeout(timeoutMs),
      keepalive: false,
    });
    if (!res.ok || !res.body) return { ok: false, error: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`, ttftMs: NaN, totalMs: performance.now() - t0, tokens: 0, text };
    for await (const data of sseData(res.body)) {
      if (data === "[DONE]") continue;
      const msg = JSON.parse(data);
      if (msg.error) return { ok: false, error: JSON.stringify(msg.error), ttftMs: ttft, totalMs: performance.now() - t0, tokens: 0, text };
      const piece = msg.choices?.[0]?.text ?? msg.choices?.[0]?.delta?.content ?? "";
      if (piece) {
        if (Number.isNaN(ttft)) ttft = performance.now() - t0;
        text += piece;
      }
      if (msg.usage) usage = msg.usage;
    }
    return {
      ok: true,
      ttftMs: ttft,
      totalMs: performance.now() - t0,
      tokens: usage?.completion_tokens ?? 0,
      text,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens,
    };
  } catch (e) {
    return { ok: false, error: String(e), ttftMs: ttft, totalMs: performance.now() - t0, tokens: 0, text };
  }
}

/** Runs jobs with at most `concurrency` in flight; returns results in job order. */
export async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}
