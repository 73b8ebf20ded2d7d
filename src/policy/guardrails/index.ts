/**
 * Guardrails: local checks (blocklist, regexes, PII) that are synchronous and
 * take microseconds, a streaming checker for completions, and an optional OPA
 * decision. A Guardrails object is immutable; new settings mean a new object.
 */
import type { GuardrailSettings, OpaOptions, Principal } from "../types.ts";
import { createOpaClient, type OpaClient } from "./opa.ts";
import { type CompiledRules, compileRules, type Finding, normalizeSettings, redact, scan } from "./rules.ts";
import { createStreamCheckerFor, type GuardrailAction, type GuardrailVerdict, type StreamChecker, type StreamCheckerOptions } from "./stream.ts";

export { ibanValid, ipv6Valid, luhnValid, PII_DETECTORS } from "./pii.ts";
export { createOpaClient, normalizeOpaOptions, type OpaClient, type OpaDecision } from "./opa.ts";
export { normalizeSettings } from "./rules.ts";
export type { GuardrailAction, GuardrailVerdict, StreamChecker, StreamCheckerOptions } from "./stream.ts";

export type Direction = "prompt" | "completion";

export interface GuardrailContext {
  text: string;
  direction?: Direction;
  principal?: Principal;
  model?: string | null;
  route?: string | null;
}

export interface GuardrailsOptions {
  opa?: OpaOptions;
  /** Injected fetch for OPA (tests). */
  fetch?: typeof fetch;
  stream?: StreamCheckerOptions;
}

export interface Guardrails {
  readonly settings: GuardrailSettings;
  readonly opa: OpaClient | null;
  /** Local checks only; synchronous. */
  check(text: string): GuardrailVerdict;
  /** Local checks, then OPA (when configured and the local verdict allows). */
  evaluate(ctx: GuardrailContext): Promise<GuardrailVerdict>;
  createStreamChecker(options?: StreamCheckerOptions): StreamChecker;
}

const RANK: Record<GuardrailAction, number> = { allow: 0, log: 1, redact: 2, block: 3 };

function verdictOf(text: string, findings: readonly Finding[], t0: number): GuardrailVerdict {
  let action: GuardrailAction = "allow";
  for (const f of findings) if (RANK[f.rule.action] > RANK[action]) action = f.rule.action;
  const verdict: GuardrailVerdict = {
    allowed: action !== "block",
    action,
    reasons: [...new Set(findings.map((f) => f.label))],
    latencyMs: 0,
  };
  if (action === "redact") verdict.redactedText = redact(text, findings);
  verdict.latencyMs = performance.now() - t0;
  return verdict;
}

function localCheck(compiled: CompiledRules, text: string): GuardrailVerdict {
  const t0 = performance.now();
  return verdictOf(text, compiled.rules.length ? scan(compiled.rules, text) : [], t0);
}

/** Build guardrails from settings; throws ConfigError naming the bad key. */
export function createGuardrails(settings: Partial<GuardrailSettings> = {}, options: GuardrailsOptions = {}): Guardrails {
  const normalized = normalizeSettings(settings);
  const compiled = compileRules(normalized);
  const opa = options.opa ? createOpaClient(options.opa, options.fetch) : null;
  const check = (text: string) => localCheck(compiled, text);

  return Object.freeze({
    settings: normalized,
    opa,
    check,
    async evaluate(ctx: GuardrailContext): Promise<GuardrailVerdict> {
      const t0 = performance.now();
      const local = check(ctx.text);
      if (!opa || !local.allowed) return local;
      const p = ctx.principal;
      const decision = await opa.evaluate({
        direction: ctx.direction ?? "prompt",
        text: local.redactedText ?? ctx.text,
        model: ctx.model ?? null,
        route: ctx.route ?? null,
        principal: p ? { kind: p.kind, id: p.id, tenant: p.tenant, scopes: [...p.scopes] } : null,
        local: { action: local.action, reasons: local.reasons },
      });
      const reasons = [...local.reasons, ...decision.reasons];
      const action: GuardrailAction = decision.allowed ? (local.action === "allow" && decision.failed ? "log" : local.action) : "block";
      const merged: GuardrailVerdict = { allowed: decision.allowed, action, reasons, latencyMs: performance.now() - t0 };
      if (decision.allowed && local.redactedText !== undefined) merged.redactedText = local.redactedText;
      return merged;
    },
    createStreamChecker(streamOptions?: StreamCheckerOptions): StreamChecker {
      return createStreamCheckerFor(compiled, check, { ...options.stream, ...streamOptions });
    },
  });
}
