/**
 * Streaming guardrail: a filter between the engine's text deltas and the
 * client. It releases only text that cannot be part of a blocked match and
 * reports a block as soon as one is decidable, even when the match is split
 * across deltas.
 *
 * What is held back (the rest is released at once):
 * - a trailing suffix that could still grow into a blocklist term (it starts
 *   at a word boundary and is a prefix of a term), so a blocked word is never
 *   sent in part;
 * - a match that ends exactly at the end of the text so far (the next delta may
 *   extend the word, "bad" → "badge"; it is confirmed by that delta or `end()`);
 * - when regex or block-action PII rules exist, the trailing run of
 *   non-whitespace (a regex cannot be predicted from its prefix, so this is
 *   word-level best effort: a match spanning whitespace, such as a spaced card
 *   number, can have its leading words sent before it is decidable).
 *
 * On a block, `release` is the text before the match, so what a client sees
 * before the policy error does not depend on how the engine chunked the text.
 * Left context is a window of released text (default max(256, 2 × longest
 * term)); a match longer than that can be missed mid-stream, and `end()`
 * rechecks the whole text (up to `maxAccumulate` characters) with every rule.
 */
import type { CompiledRules, Finding } from "./rules.ts";
import { scan } from "./rules.ts";

export type GuardrailAction = "allow" | "block" | "redact" | "log";

export interface GuardrailVerdict {
  allowed: boolean;
  action: GuardrailAction;
  reasons: string[];
  redactedText?: string;
  latencyMs: number;
}

export interface StreamStep {
  /** Text now safe to send. */
  release: string;
  /** The block verdict once something blocked is seen (on every later call too); null while allowed. */
  verdict: GuardrailVerdict | null;
}

export interface StreamChecker {
  /** Feed a delta. */
  push(delta: string): StreamStep;
  /** The stream ended: confirm pending matches, check the whole text, release what is left. */
  end(): StreamStep & { verdict: GuardrailVerdict };
  readonly blocked: boolean;
}

export interface StreamCheckerOptions {
  window?: number;
  maxAccumulate?: number;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Every prefix of every term, lower-cased with whitespace runs as one space (as the blocklist regex matches them). */
function termPrefixes(terms: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of terms) {
    const norm = t.toLowerCase();
    for (let i = 1; i <= norm.length; i++) out.add(norm.slice(0, i));
  }
  return out;
}

export function createStreamCheckerFor(
  compiled: CompiledRules,
  fullCheck: (text: string) => GuardrailVerdict,
  options: StreamCheckerOptions = {},
): StreamChecker {
  const window = Math.max(options.window ?? 256, 2 * compiled.longestTerm + 2);
  const maxAccumulate = options.maxAccumulate ?? 256 * 1024;
  const rules = compiled.blockRules;
  const prefixes = termPrefixes(compiled.settings.blocklist);
  const holdWords = rules.some((r) => r.kind !== "blocklist");
  // Raw text may spell a term's single spaces as longer whitespace runs.
  const lookback = 4 * compiled.longestTerm;
  let sent = ""; // the tail of released text: left context for matches
  let truncated = false; // `sent` lost its beginning
  let pending = ""; // received, not yet released
  let full = "";
  let overflow = false;
  let verdict: GuardrailVerdict | null = null;

  const block = (found: readonly Finding[], t0: number): StreamStep => {
    const start = Math.min(...found.map((f) => f.start));
    const release = pending.slice(0, Math.max(0, start - sent.length));
    pending = "";
    verdict = { allowed: false, action: "block", reasons: [...new Set(found.map((f) => f.label))], latencyMs: performance.now() - t0 };
    return { release, verdict };
  };

  /** Where in `buf` the text that must wait begins. */
  const holdFrom = (buf: string, deferred: readonly Finding[]): number => {
    let at = buf.length;
    for (const f of deferred) at = Math.min(at, f.start);
    for (let i = Math.max(0, buf.length - lookback); i < at; i++) {
      if (i > 0 && WORD_CHAR.test(buf[i - 1])) continue;
      if (prefixes.has(buf.slice(i).toLowerCase().replace(/\s+/g, " "))) {
        at = i;
        break;
      }
    }
    if (holdWords) {
      let ws = buf.length;
      while (ws > 0 && !/\s/.test(buf[ws - 1])) ws--;
      at = Math.min(at, ws);
    }
    // Never hold more than a window: what falls out of it is released.
    return Math.max(at, buf.length - window);
  };

  const releaseUpTo = (n: number): string => {
    const release = pending.slice(0, n);
    pending = pending.slice(n);
    sent += release;
    if (sent.length > window) {
      sent = sent.slice(sent.length - window);
      truncated = true;
    }
    return release;
  };

  return {
    get blocked() {
      return verdict !== null && !verdict.allowed;
    },
    push(delta: string): StreamStep {
      if (verdict) return { release: "", verdict };
      if (!overflow) {
        if (full.length + delta.length <= maxAccumulate) full += delta;
        else overflow = true;
      }
      if (!rules.length) return { release: delta, verdict: null };
      const t0 = performance.now();
      pending += delta;
      const buf = sent + pending;
      const found = scan(rules, buf, { skipAtStart: truncated });
      const confirmed = found.filter((f) => f.end < buf.length);
      if (confirmed.length) return block(confirmed, t0);
      return { release: releaseUpTo(Math.max(0, holdFrom(buf, found) - sent.length)), verdict: null };
    },
    end() {
      if (verdict) return { release: "", verdict };
      const t0 = performance.now();
      const found = rules.length ? scan(rules, sent + pending, { skipAtStart: truncated }) : [];
      if (found.length) return block(found, t0) as StreamStep & { verdict: GuardrailVerdict };
      const v = overflow ? { allowed: true, action: "allow" as const, reasons: [], latencyMs: performance.now() - t0 } : fullCheck(full);
      verdict = v;
      return { release: v.allowed ? releaseUpTo(pending.length) : "", verdict: v };
    },
  };
}
