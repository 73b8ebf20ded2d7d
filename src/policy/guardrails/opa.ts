/**
 * Optional Open Policy Agent check: POST {input} to the decision endpoint
 * (e.g. http://opa:8181/v1/data/inferflux/allow) with a timeout, reading
 * `result` as a boolean or as {allow, reasons?}. On error or timeout the
 * decision is allow (failOpen) or deny.
 */
import { createLogger } from "../../shared/logger.ts";
import type { OpaOptions } from "../types.ts";
import { optBool, optNumber, optRecord, reqString } from "../util.ts";
import { ConfigError } from "../../shared/errors.ts";

const log = createLogger("policy.opa");

export interface OpaDecision {
  allowed: boolean;
  reasons: string[];
  /** True when OPA could not be asked and the fail mode decided. */
  failed: boolean;
}

export interface OpaClient {
  readonly options: OpaOptions;
  evaluate(input: unknown): Promise<OpaDecision>;
}

export function normalizeOpaOptions(raw: unknown, prefix = "guardrails.opa"): OpaOptions | undefined {
  const rec = optRecord(prefix, raw);
  if (!rec) return undefined;
  const endpoint = reqString(`${prefix}.endpoint`, rec.endpoint);
  try {
    const u = new URL(endpoint);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new ConfigError(`${prefix}.endpoint`, "must be an http(s) URL");
  }
  return Object.freeze({
    endpoint,
    timeoutMs: optNumber(`${prefix}.timeoutMs`, rec.timeoutMs, { min: 1, max: 60_000 }) ?? 200,
    failOpen: optBool(`${prefix}.failOpen`, rec.failOpen) ?? false,
  });
}

function decisionOf(body: unknown): { allowed: boolean; reasons: string[] } | null {
  const result = (body as { result?: unknown } | null)?.result;
  if (typeof result === "boolean") return { allowed: result, reasons: result ? [] : ["opa:denied"] };
  if (result && typeof result === "object" && typeof (result as { allow?: unknown }).allow === "boolean") {
    const r = result as { allow: boolean; reasons?: unknown; deny?: unknown };
    const extra = [r.reasons, r.deny].flatMap((v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []));
    const reasons = extra.map((s) => `opa:${s}`);
    return { allowed: r.allow, reasons: r.allow ? reasons : reasons.length ? reasons : ["opa:denied"] };
  }
  return null;
}

export function createOpaClient(options: OpaOptions, fetchImpl: typeof fetch = fetch): OpaClient {
  const fail = (why: string): OpaDecision => {
    log.warn("OPA decision unavailable", { why, failOpen: options.failOpen });
    return {
      allowed: options.failOpen,
      reasons: [options.failOpen ? "opa:unavailable(fail-open)" : "opa:unavailable"],
      failed: true,
    };
  };
  return {
    options,
    async evaluate(input: unknown): Promise<OpaDecision> {
      let res: Response;
      try {
        res = await fetchImpl(options.endpoint, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (err) {
        return fail((err as Error).name === "TimeoutError" ? "timeout" : (err as Error).message);
      }
      if (res.status !== 200) {
        void res.body?.cancel().catch(() => {});
        return fail(`HTTP ${res.status}`);
      }
      let decision: ReturnType<typeof decisionOf>;
      try {
        decision = decisionOf(await res.json());
      } catch {
        return fail("invalid JSON");
      }
      return decision ? { ...decision, failed: false } : fail("undefined decision");
    },
  };
}
