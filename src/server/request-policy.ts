/**
 * The policy steps around one generation request: model permission, prompt
 * guardrails, rate-limit lease, output guardrails (streaming too), usage and
 * the audit line. Routes call these hooks; the policy logic lives in src/policy.
 */
import type { PolicyEngine, Principal, Lease, StreamChecker, GuardrailVerdict } from "../policy";
import { InferFluxError } from "../shared/errors";
import type { Usage } from "../engine/messages";

export class PolicyViolationError extends InferFluxError {
  /** Completion text before the blocked part that a stream may still send. */
  readonly allowedText: string;

  constructor(direction: "prompt" | "completion", reasons: string[], allowedText = "") {
    super(400, "invalid_request_error", "content_policy_violation", `the ${direction} was blocked by policy (${reasons.join(", ") || "guardrail"})`);
    this.allowedText = allowedText;
  }
}

export interface RequestInfo {
  route: string;
  model: string;
  sourceIp: string | null;
}

export class RequestPolicy {
  private lease: Lease | undefined;
  private output: StreamChecker | undefined;
  private readonly verdicts: GuardrailVerdict[] = [];
  private readonly startMs = performance.now();
  private completion = "";
  private done = false;
  /** Headers to add to the response (x-ratelimit-*). */
  headers: Record<string, string> = {};

  constructor(private readonly policy: PolicyEngine, readonly principal: Principal, private readonly info: RequestInfo, private promptText = "") {}

  /** The fair-share tenant: the key's or token's tenant, else the caller's id; anonymous callers may name one in X-Tenant. */
  tenant(headers: Headers): string {
    const p = this.principal;
    if (p.kind === "anonymous") return headers.get("x-tenant")?.slice(0, 128) || "anonymous";
    return p.tenant ?? p.id;
  }

  /** Checks model access and the prompt; returns the prompt text to use (redacted when configured). */
  async admitPrompt(text: string): Promise<string> {
    this.policy.checkModel(this.principal, this.info.model);
    const v = await this.policy.guardrails.evaluate({ text, direction: "prompt", principal: this.principal, model: this.info.model, route: this.info.route });
    this.promptText = text;
    if (v.action !== "allow") this.verdicts.push(v);
    if (!v.allowed) throw new PolicyViolationError("prompt", v.reasons);
    return v.redactedText ?? text;
  }

  /** Takes the rate-limit lease (throws 429 with headers). */
  acquire(estimatedTokens: number): void {
    this.lease = this.policy.limits.acquire(this.principal, estimatedTokens);
    this.headers = { ...this.lease.headers };
    this.output = this.policy.guardrails.createStreamChecker();
  }

  /**
   * Feeds completion text; returns the text that may be sent now (text that
   * could still turn out blocked is held back) and throws PolicyViolationError
   * as soon as blocked text appears. `last` marks the final delta: the
   * whole-text check runs and everything still held is released.
   */
  checkOutput(delta: string, last = false): string {
    this.completion += delta;
    if (!this.output) return delta;
    let { release, verdict } = this.output.push(delta);
    if (last && !verdict) {
      const end = this.output.end();
      release += end.release;
      verdict = end.verdict;
      if (verdict.action !== "allow" && verdict.allowed) this.verdicts.push(verdict);
    }
    if (verdict && !verdict.allowed) {
      this.verdicts.push(verdict);
      throw new PolicyViolationError("completion", verdict.reasons, release);
    }
    return release;
  }

  finish(usage: Usage | undefined, status = 200, error?: InferFluxError): void {
    if (this.done) return;
    this.done = true;
    const tokens = usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } : undefined;
    if (error) this.lease?.fail(tokens);
    else this.lease?.settle(tokens ?? 0);
    this.policy.audit.log({
      type: "request",
      actor: this.principal.id,
      sourceIp: this.info.sourceIp,
      route: this.info.route,
      model: this.info.model,
      outcome: error ? error.code : "success",
      status: error ? error.status : status,
      usage: usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } : null,
      latencyMs: Math.round((performance.now() - this.startMs) * 1000) / 1000,
      verdicts: this.verdicts.length ? this.verdicts.map((v) => ({ action: v.action, reasons: v.reasons })) : null,
      prompt: this.promptText,
      completion: this.completion,
    });
  }
}
