/**
 * The Elysia application: one flat route table. Handlers are thin: they
 * call route modules and return objects or Responses; every error goes
 * through errors.ts.
 */
import { Elysia } from "elysia";
import { swagger } from "@elysiajs/swagger";
import type { EngineClient } from "../engine/client";
import type { Config } from "../config/schema";
import type { Logger } from "../shared/logger";
import type { ServerMetrics } from "../metrics/server-metrics";
import { ChatCompletionRequestSchema, CompletionRequestSchema } from "../protocol/openai-schemas";
import { errorResponse, toInferFluxError } from "./errors";
import { chatCompletions } from "./routes/chat-completions";
import { completions } from "./routes/completions";
import { getModel, listModels } from "./routes/models";
import { health, readiness } from "./routes/health";
import type { ModelNaming } from "./routes/served-model";
import { PromptRenderer } from "./prompt-renderer";
import { servedModelId } from "./routes/served-model";

export interface AppDeps {
  config: Readonly<Config>;
  engine: EngineClient;
  metrics: ServerMetrics;
  log: Logger;
}

export const VERSION = "0.1.0";

export function createApp(deps: AppDeps) {
  const { engine, config, metrics, log } = deps;
  // The model-dependent parts are built lazily: the engine may (re)load after the app exists.
  let naming: ModelNaming | undefined;
  let renderer: PromptRenderer | undefined;
  let builtFor: unknown;
  const ensureModelParts = () => {
    if (!engine.model || builtFor === engine.model) return;
    builtFor = engine.model;
    naming = { id: servedModelId(engine.model, config.model.name), aliases: config.model.aliases };
    renderer = new PromptRenderer(engine.model, config.model.chat_template, log);
  };
  const routeDeps = {
    engine, metrics, log,
    naming: () => (ensureModelParts(), naming),
    renderer: () => (ensureModelParts(), renderer),
    defaultMaxTokens: config.scheduler.max_tokens_default,
  };
  const jsonBody = (schema: object, summary: string) => ({
    parse: "json" as const,
    detail: { summary, requestBody: { required: true, content: { "application/json": { schema } } } },
  });

  // Requests answered by onError are counted there, with their real status.
  const countedErrors = new WeakSet<Request>();
  const routeLabel = (path: string, code: string) => (code === "unknown_route" ? "unmatched" : path);

  return new Elysia()
    .use(
      swagger({
        path: "/docs",
        documentation: { info: { title: "InferFlux API", version: VERSION, description: "OpenAI-compatible inference API" } },
        exclude: ["/docs", "/docs/json"],
      }),
    )
    .onError(({ error, code, request, path }) => {
      const e = toInferFluxError(error, code, log);
      metrics.errors.inc({ code: e.code });
      metrics.requests.inc({ route: routeLabel(path, e.code), status: String(e.status) });
      countedErrors.add(request);
      if (e.status >= 500) log.warn("request failed", { route: path, method: request.method, status: e.status, code: e.code });
      return errorResponse(e);
    })
    .get("/healthz", () => health(engine))
    .get("/livez", () => ({ status: "ok" }))
    .get("/readyz", () => readiness(engine))
    .get("/metrics", async () => {
      metrics.engineUp.set(engine.state === "ready" ? 1 : 0);
      if (engine.state === "ready") {
        const s = await engine.stats().catch(() => undefined);
        if (s) {
          metrics.engineRunning.set(s.running);
          metrics.engineWaiting.set(s.waiting);
          metrics.kvUsage.set(s.kvTotalCells ? s.kvUsedCells / s.kvTotalCells : 0);
        }
      }
      return new Response(metrics.registry.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
    })
    .get("/openapi.json", ({ request }) => fetch(new URL("/docs/json", request.url)).catch(() => new Response("{}", { status: 500 })))
    .get("/v1/models", () => (ensureModelParts(), listModels(engine, naming)))
    .get("/v1/models/:id", ({ params }) => (ensureModelParts(), getModel(engine, naming, decodeURIComponent(params.id))))
    .post("/v1/chat/completions", ({ body, request }) => chatCompletions(routeDeps, body, request.signal, request.headers), jsonBody(ChatCompletionRequestSchema, "Chat completion"))
    .post("/v1/completions", ({ body, request }) => completions(routeDeps, body, request.signal, request.headers), jsonBody(CompletionRequestSchema, "Text completion"))
    .onAfterResponse(({ path, set, request }) => {
      if (countedErrors.has(request)) return;
      metrics.requests.inc({ route: path, status: String(set.status ?? 200) });
    });
}
