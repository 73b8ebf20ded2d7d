/**
 * Runs one engine request for a route: collects it (non-streaming) or turns
 * it into an SSE Response (streaming), aborting the engine request when the
 * client goes away, and recording metrics.
 */
import type { EngineClient } from "../engine/client";
import type { EngineRequest, RequestOutput, Usage } from "../engine/messages";
import { SSE_DONE, SSE_HEADERS, sseData } from "../protocol/sse";
import { errorEnvelope } from "../protocol/errors";
import { InferFluxError } from "../shared/errors";
import type { ServerMetrics } from "../metrics/server-metrics";
import type { Logger } from "../shared/logger";
import { PolicyViolationError, type RequestPolicy } from "./request-policy";

export interface GenerationDeps {
  engine: EngineClient;
  metrics: ServerMetrics;
  log: Logger;
}

export interface Collected {
  text: string;
  outputs: RequestOutput[];
  finish: RequestOutput;
  usage: Usage;
}

function record(deps: GenerationDeps, usage: Usage | undefined, startMs: number, firstMs: number | undefined): void {
  const m = deps.metrics;
  if (usage) {
    m.promptTokens.inc({}, usage.promptTokens);
    m.completionTokens.inc({}, usage.completionTokens);
    m.cachedTokens.inc({}, usage.cachedTokens);
  }
  if (firstMs !== undefined) m.ttft.observe((firstMs - startMs) / 1000);
  m.duration.observe((performance.now() - startMs) / 1000);
}

/** Runs a request to the end and returns everything it produced. */
export async function collect(deps: GenerationDeps, req: EngineRequest, signal: AbortSignal, rp: RequestPolicy): Promise<Collected> {
  const start = performance.now();
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let first: number | undefined;
  try {
    const outputs: RequestOutput[] = [];
    let text = "";
    for await (const out of deps.engine.submit(req, ctl.signal)) {
      first ??= performance.now();
      outputs.push(out);
      text += out.text;
      rp.checkOutput(out.text, out.finishReason !== undefined);
      if (out.finishReason) {
        record(deps, out.usage, start, first);
        rp.finish(out.usage);
        return { text, outputs, finish: out, usage: out.usage! };
      }
    }
    throw new InferFluxError(500, "server_error", "engine_stream_ended", "the engine ended the request without a result");
  } catch (e) {
    rp.finish(undefined, 500, e instanceof InferFluxError ? e : undefined);
    throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
    ctl.abort();
  }
}

export interface StreamFormatter {
  /** Chunks to send before any output (e.g. the assistant role delta). */
  start(): unknown[];
  /** Chunks for one engine output. */
  output(out: RequestOutput): unknown[];
  /** The usage chunk, when stream_options.include_usage asked for it. */
  usage?(usage: Usage): unknown;
}

/**
 * An SSE Response: data chunks as the engine produces them, then [DONE].
 * An engine error after the stream began is sent as an error event. Client
 * disconnect (cancel or request.signal) aborts the engine request at once.
 */
export async function streamResponse(deps: GenerationDeps, req: EngineRequest, signal: AbortSignal, fmt: StreamFormatter, rp: RequestPolicy): Promise<Response> {
  const start = performance.now();
  const ctl = new AbortController();
  let firstResult: IteratorResult<RequestOutput>;
  let iterator: AsyncIterator<RequestOutput>;
  try {
    iterator = deps.engine.submit(req, ctl.signal)[Symbol.asyncIterator](); // throws 429/503 before any byte is sent
    // Wait for the first output so that errors known at admission (prompt too long) are a proper HTTP status.
    firstResult = await iterator.next();
  } catch (e) {
    ctl.abort();
    rp.finish(undefined, 500, e instanceof InferFluxError ? e : undefined);
    throw e;
  }
  const first = performance.now();
  const onAbort = () => ctl.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (c: unknown) => controller.enqueue(sseData(c));
      let last: RequestOutput | undefined;
      try {
        for (const c of fmt.start()) send(c);
        let res = firstResult;
        while (!res.done) {
          const out = res.value;
          // Guardrails may hold back text that could still become blocked; a block ends the stream with a policy error event.
          last = out;
          const text = rp.checkOutput(out.text, out.finishReason !== undefined); // the final verdict comes before the finish chunk
          for (const c of fmt.output(text === out.text ? out : { ...out, text })) send(c);
          if (out.finishReason) {
            finished = true;
            record(deps, out.usage, start, first);
            if (fmt.usage && out.usage) send(fmt.usage(out.usage));
            rp.finish(out.usage);
            break;
          }
          res = await iterator.next();
        }
        controller.enqueue(SSE_DONE);
      } catch (e) {
        const err = e instanceof InferFluxError ? e : new InferFluxError(500, "server_error", "internal_error", "internal server error");
        rp.finish(undefined, err.status, err);
        if (e instanceof PolicyViolationError && e.allowedText) {
          // The allowed text before the blocked part, so that what the client saw does not depend on chunking.
          for (const c of fmt.output({ id: last?.id ?? req.id, text: e.allowedText, tokenIds: [] })) send(c);
        }
        if (!ctl.signal.aborted || e instanceof InferFluxError && e.code === "content_policy_violation") {
          if (!(e instanceof InferFluxError)) deps.log.error("stream failed", { error: String(e) });
          send(errorEnvelope(err));
          controller.enqueue(SSE_DONE);
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        if (!finished) ctl.abort();
        try {
          controller.close();
        } catch {
          /* already closed by a cancel */
        }
      }
    },
    cancel() {
      ctl.abort();
    },
  });
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...rp.headers } });
}
