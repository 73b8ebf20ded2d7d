/**
 * /v1/admin/*: API keys, guardrails, rate limits and the policy export.
 * Thin adapters over PolicyAdmin; bodies accept snake_case (OpenAI style) or camelCase.
 */
import type { AdminContext, KeyInput, PolicyEngine } from "../../policy";
import { InvalidRequestError } from "../../shared/errors";

type Body = Record<string, unknown>;

function objectBody(body: unknown): Body {
  if (body === undefined || body === null || body === "") return {};
  if (typeof body !== "object" || Array.isArray(body)) throw new InvalidRequestError("the request body must be a JSON object", null, "invalid_body");
  return body as Body;
}

const pick = (b: Body, snake: string, camel: string) => (snake in b ? b[snake] : b[camel]);

function keyInput(b: Body): KeyInput {
  const input: KeyInput = {};
  const set = <K extends keyof KeyInput>(k: K, v: unknown) => {
    if (v !== undefined) input[k] = v as KeyInput[K];
  };
  set("name", b.name);
  set("scopes", b.scopes);
  set("models", b.models);
  set("tenant", b.tenant);
  set("expiresAt", pick(b, "expires_at", "expiresAt"));
  const limits = b.limits as Body | undefined;
  const rpm = pick(b, "requests_per_minute", "requestsPerMinute") ?? (limits && pick(limits, "requests_per_minute", "requestsPerMinute"));
  const tpm = pick(b, "tokens_per_minute", "tokensPerMinute") ?? (limits && pick(limits, "tokens_per_minute", "tokensPerMinute"));
  if (rpm !== undefined || tpm !== undefined) input.limits = { ...(rpm !== undefined ? { requestsPerMinute: rpm as number } : {}), ...(tpm !== undefined ? { tokensPerMinute: tpm as number } : {}) };
  return input;
}

export function adminRoutes(policy: PolicyEngine) {
  const a = policy.admin;
  return {
    listKeys: () => ({ object: "list", data: a.listKeys() }),
    getKey: (id: string) => a.getKey(id),
    /** With `key`: register an operator-chosen key; without: generate one (shown once). */
    async createKey(body: unknown, ctx: AdminContext) {
      const b = objectBody(body);
      if (b.key !== undefined) {
        if (typeof b.key !== "string") throw new InvalidRequestError("key must be a string", "key");
        const { record } = await a.registerKey(b.key, keyInput(b), ctx);
        return { record };
      }
      return a.createKey(keyInput(b), ctx);
    },
    updateKey: async (id: string, body: unknown, ctx: AdminContext) => a.updateKey(id, keyInput(objectBody(body)), ctx),
    revokeKey: (id: string, ctx: AdminContext) => a.revokeKey(id, ctx),
    rotateKey: (id: string, ctx: AdminContext) => a.rotateKey(id, ctx),
    async deleteKey(id: string, ctx: AdminContext) {
      await a.deleteKey(id, ctx);
      return { id, deleted: true };
    },
    getGuardrails: () => a.getGuardrails(),
    setGuardrails: (body: unknown, ctx: AdminContext) => a.setGuardrails(objectBody(body) as never, ctx),
    getRateLimit: () => snakeLimits(a.getRateLimit()),
    async setRateLimit(body: unknown, ctx: AdminContext) {
      const b = objectBody(body);
      const rpm = pick(b, "requests_per_minute", "requestsPerMinute");
      const tpm = pick(b, "tokens_per_minute", "tokensPerMinute");
      return snakeLimits(await a.setRateLimit({ ...(rpm !== undefined ? { requestsPerMinute: rpm as number } : {}), ...(tpm !== undefined ? { tokensPerMinute: tpm as number } : {}) }, ctx));
    },
    exportPolicy: () => a.exportPolicy(),
  };
}

function snakeLimits(l: { requestsPerMinute?: number; tokensPerMinute?: number }) {
  return { requests_per_minute: l.requestsPerMinute ?? null, tokens_per_minute: l.tokensPerMinute ?? null };
}
