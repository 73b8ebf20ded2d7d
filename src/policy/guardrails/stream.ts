/**
 * Streaming guardrail: fed text deltas, it reports a block as soon as a
 * blocked term, regex or block-action PII appears, even when it is split
 * across deltas. It keeps a tail window of the text seen so far and rescans
 * window + delta. A match that ends exactly at the end of the text so far is
 * undecided (the next delta may extend the word, e.g. "bad" → "badge") and is
 * confirmed by the next delta or by `end()`. Matches longer than the window
 * (default max(256, 2 × longest term)) can be missed mid-stream; `end()`
 * rechecks the whole text (up to `maxAccumulate` characters) with every rule.
 */
import type { CompiledRules } from "./rules.ts";
import { scan } from "./rules.ts";

export type GuardrailAction = "allow" | "block" | "redact" | "log";

export interface GuardrailVerdict {
  allowed: boolean;
  action: GuardrailAction;
  reasons: string[];
  redactedText?: string;
  latencyMs: number;
}

export interface StreamChecker {
  /** Feed a delta; returns the block verdict once something blocked is seen, else null. */
  push(delta: string): GuardrailVerdict | null;
  /** The stream ended: confirm pending matches and check the whole text. */
  end(): GuardrailVerdict;
  readonly blocked: boolean;
}

export interface StreamCheckerOptions {
  window?: number;
  maxAccumulate?: number;
}

export function createStreamCheckerFor(
  compiled: CompiledRules,
  fullCheck: (text: string) => GuardrailVerdict,
  options: StreamCheckerOptions = {},
): StreamChecker {
  const window = Math.max(options.window ?? 256, 2 * compiled.longestTerm + 2);
  const maxAccumulate = options.maxAccumulate ?? 256 * 1024;
  let tail = "";
  let truncated = false;
  let full = "";
  let overflow = false;
  let verdict: GuardrailVerdict | null = null;

  const blockVerdict = (labels: string[], t0: number): GuardrailVerdict => ({
    allowed: false,
    action: "block",
    reasons: [...new Set(labels)],
    latencyMs: performance.now() - t0,
  });

  const check = (text: string, final: boolean, t0: number): GuardrailVerdict | null => {
    const found = scan(compiled.blockRules, text, { deferAtEnd: !final, skipAtStart: truncated, firstOnly: true });
    return found.length ? blockVerdict(found.map((f) => f.label), t0) : null;
  };

  return {
    get blocked() {
      return verdict !== null && !verdict.allowed;
    },
    push(delta: string): GuardrailVerdict | null {
      if (verdict) return verdict;
      const t0 = performance.now();
      if (!overflow) {
        if (full.length + delta.length <= maxAccumulate) full += delta;
        else overflow = true;
      }
      const buf = tail + delta;
      verdict = compiled.blockRules.length ? check(buf, false, t0) : null;
      if (buf.length > window) {
        tail = buf.slice(buf.length - window);
        truncated = true;
      } else {
        tail = buf;
      }
      return verdict;
    },
    end(): GuardrailVerdict {
      if (verdict) return verdict;
      const t0 = performance.now();
      verdict = compiled.blockRules.length ? check(tail, true, t0) : null;
      if (!verdict) {
        verdict = overflow ? { allowed: true, action: "allow", reasons: [], latencyMs: performance.now() - t0 } : fullCheck(full);
      }
      return verdict;
    },
  };
}
