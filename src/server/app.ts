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
import type { PolicyEngine } from "../policy";
import { ANONYMOUS } from "../policy";
import { createAccessGuard } from "./plugins/access";
import { createTransportGuard } from "./plugins/transport";
import { RequestPolicy } from "./request-policy";
import { adminRoutes } from "./routes/admin";
import { InferFluxError } from "../shared/errors";

export interface AppDeps {
  config: Readonly<Config>;
  engine: EngineClient;
  metrics: ServerMetrics;
  log: Logger;
  policy: PolicyEngine;
}

export const VERSION = "0.1.0";

export function createApp(deps: AppDeps) {
  const { engine, config, metrics, log, policy } = deps;
  const access = createAccessGuard(policy, config.server.metrics_public);
  const transport = createTransportGuard({ bindHost: config.server.host, allowedHosts: config.server.allowed_hosts, corsOrigins: config.server.cors_origins });
  const admin = adminRoutes(policy);
  const ipOf = (server: { requestIP(r: Request): { address: string } | null } | null, r: Request) => server?.requestIP(r)?.address ?? null;
  const adminCtx = (request: Request, route: string, ip: string | null) => ({ actor: access.principalOf(request)?.id ?? "anonymous", sourceIp: ip, route });
  /** A generation route: per-request policy hooks, rate-limit headers on the response. */
  const generate = async (
    handler: (rp: RequestPolicy) => Promise<Response | object>,
    ctx: { request: Request; body: unknown; set: { headers: Record<string, string | number> }; server: unknown; route: string },
  ) => {
    const model = (ctx.body as { model?: unknown } | null)?.model;
    const principal = access.principalOf(ctx.request) ?? ANONYMOUS;
    const rp = new RequestPolicy(policy, principal, { route: ctx.route, model: typeof model === "string" ? model : "", sourceIp: ipOf(ctx.server as never, ctx.request) });
    try {
      const result = await handler(rp);
      Object.assign(ctx.set.headers, rp.headers);
      return result;
    } catch (e) {
      rp.finish(undefined, 500, e instanceof Error && "status" in e ? (e as never) : undefined);
      Object.assign(ctx.set.headers, rp.headers);
      throw e;
    }
  };
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
    contextShift: config.runtime.context_shift,
  };
  const jsonBody = (schema: object, summary: string) => ({
    parse: "json" as const,
    detail: { summary, requestBody: { required: true, content: { "application/json": { schema } } } },
  });

  // Requests answered by onError are counted there, with their real status.
  const countedErrors = new WeakSet<Request>();
  const routeLabel = (path: string, code: string) => (code === "unknown_route" ? "unmatched" : path);

  // /openapi.json re-enters the app in-process; the handle is bound once the app exists.
  let handleInProcess: (r: Request) => Promise<Response> = async () => new Response("{}", { status: 503 });
  const app = new Elysia()
    .use(
      swagger({
        path: "/docs",
        documentation: { info: { title: "InferFlux API", version: VERSION, description: "OpenAI-compatible inference API" } },
        exclude: ["/docs", "/docs/json"],
      }),
    )
    .onRequest(async ({ request, set, server }) => {
      const path = new URL(request.url).pathname;
      transport.checkHost(request.headers);
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > config.server.max_body_bytes) {
        throw new InferFluxError(413, "invalid_request_error", "body_too_large", `the request body (${length} bytes) exceeds server.max_body_bytes (${config.server.max_body_bytes})`);
      }
      const cors = transport.corsHeaders(request.headers);
      if (request.method === "OPTIONS") return new Response(null, { status: cors["access-control-allow-origin"] ? 204 : 404, headers: cors });
      Object.assign(set.headers, cors);
      await access.check(request, path, ipOf(server as never, request));
    })
    .onError(({ error, code, request, path, server }) => {
      const e = toInferFluxError(error, code, log);
      // 401s are audited by the policy engine itself; a missing scope (403) is audited here, with who asked.
      if (e.status === 403) policy.audit.log({ type: "auth_failure", actor: access.principalOf(request)?.id ?? null, sourceIp: ipOf(server as never, request), route: path, outcome: e.code, status: 403 });
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
          metrics.kvUsedCells.set(s.kvUsedCells);
          metrics.freeSequences.set(s.freeSequences);
          metrics.prefixQueries.set(s.prefixCache.queries);
          metrics.prefixHits.set(s.prefixCache.hits);
          metrics.prefixHitTokens.set(s.prefixCache.hitTokens);
          metrics.prefixCachedTokens.set(s.prefixCache.cachedTokens);
          metrics.prefixLocks.set(s.prefixCache.locks);
          metrics.tierSnapshots.set(s.prefixCache.tiers?.snapshots ?? 0);
          metrics.tierRestores.set(s.prefixCache.tiers?.restores ?? 0);
          metrics.tierRestoredTokens.set(s.prefixCache.tiers?.restoredTokens ?? 0);
          metrics.preemptions.set(s.preemptions);
          metrics.stepsInterrupted.set(s.stepsInterrupted);
          metrics.contextShifts.set(s.contextShifts);
        }
      }
      return new Response(metrics.registry.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
    })
    // The same spec as /docs/json, produced in-process (no HTTP round trip, works behind TLS and any Host).
    .get("/openapi.json", (): Promise<Response> => handleInProcess(new Request("http://localhost/docs/json")))
    .get("/v1/models", () => (ensureModelParts(), listModels(engine, naming)))
    .get("/v1/models/:id", ({ params }) => (ensureModelParts(), getModel(engine, naming, decodeURIComponent(params.id))))
    .get("/v1/usage", ({ request }) => {
      const p = access.principalOf(request);
      // Admins (and everyone when auth is off) see all usage, ids masked; other callers see their own.
      if (p && p.kind !== "anonymous" && !p.scopes.has("admin")) return { object: "usage", id: p.id, usage: policy.usage.forPrincipal(p) };
      return { object: "usage", ...policy.usageSnapshot({ maskIds: true }) };
    })
    .post("/v1/chat/completions", (c) => generate((rp) => chatCompletions(routeDeps, c.body, c.request.signal, c.request.headers, rp), { ...c, route: "/v1/chat/completions" }), jsonBody(ChatCompletionRequestSchema, "Chat completion"))
    .post("/v1/completions", (c) => generate((rp) => completions(routeDeps, c.body, c.request.signal, c.request.headers, rp), { ...c, route: "/v1/completions" }), jsonBody(CompletionRequestSchema, "Text completion"))
    .get("/v1/admin/api_keys", () => admin.listKeys())
    .post("/v1/admin/api_keys", ({ body, request, server }) => admin.createKey(body, adminCtx(request, "/v1/admin/api_keys", ipOf(server as never, request))), { parse: "json" })
    .get("/v1/admin/api_keys/:id", ({ params }) => admin.getKey(params.id))
    .patch("/v1/admin/api_keys/:id", ({ params, body, request, server }) => admin.updateKey(params.id, body, adminCtx(request, "/v1/admin/api_keys/:id", ipOf(server as never, request))), { parse: "json" })
    .delete("/v1/admin/api_keys/:id", ({ params, request, server }) => admin.deleteKey(params.id, adminCtx(request, "/v1/admin/api_keys/:id", ipOf(server as never, request))))
    .post("/v1/admin/api_keys/:id/revoke", ({ params, request, server }) => admin.revokeKey(params.id, adminCtx(request, "/v1/admin/api_keys/:id/revoke", ipOf(server as never, request))))
    .post("/v1/admin/api_keys/:id/rotate", ({ params, request, server }) => admin.rotateKey(params.id, adminCtx(request, "/v1/admin/api_keys/:id/rotate", ipOf(server as never, request))))
    .get("/v1/admin/guardrails", () => admin.getGuardrails())
    .put("/v1/admin/guardrails", ({ body, request, server }) => admin.setGuardrails(body, adminCtx(request, "/v1/admin/guardrails", ipOf(server as never, request))), { parse: "json" })
    .get("/v1/admin/rate_limit", () => admin.getRateLimit())
    .put("/v1/admin/rate_limit", ({ body, request, server }) => admin.setRateLimit(body, adminCtx(request, "/v1/admin/rate_limit", ipOf(server as never, request))), { parse: "json" })
    .get("/v1/admin/policy", () => admin.exportPolicy())
    .onAfterResponse(({ path, set, request }) => {
      if (countedErrors.has(request)) return;
      metrics.requests.inc({ route: path, status: String(set.status ?? 200) });
    });
  handleInProcess = (r) => app.handle(r);
  return app;
}
