/**
 * Compile guardrail settings into scanning rules and run them.
 *
 * - blocklist: one case-insensitive regex of all terms with Unicode word
 *   boundaries (a term is not matched inside a longer word; spaces in a term
 *   match any whitespace run). Action: block.
 * - regexes: "pattern" (flag i) or "/pattern/flags". Action: block.
 * - pii: one detector per kind (pii.ts) with a configurable action.
 */
import { ConfigError } from "../../shared/errors.ts";
import { type GuardrailSettings, PII_KINDS, type PiiAction, type PiiKind } from "../types.ts";
import { isRecord } from "../util.ts";
import { PII_DETECTORS } from "./pii.ts";

export type RuleAction = "block" | "redact" | "log";

export interface Rule {
  readonly label: string;
  readonly kind: "blocklist" | "regex" | PiiKind;
  readonly action: RuleAction;
  readonly re: RegExp;
  readonly validate?: (match: string) => boolean;
  /** Index in PII priority order; -1 for non-PII rules. */
  readonly priority: number;
}

export interface Finding {
  readonly rule: Rule;
  readonly label: string;
  readonly start: number;
  readonly end: number;
}

export interface CompiledRules {
  readonly settings: GuardrailSettings;
  readonly rules: readonly Rule[];
  /** Rules whose action is block (what the stream checker watches). */
  readonly blockRules: readonly Rule[];
  readonly longestTerm: number;
}

const PII_ACTIONS: readonly PiiAction[] = ["block", "redact", "log", "off"];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function parseUserRegex(key: string, raw: string): RegExp {
  const m = /^\/(.+)\/([a-z]*)$/s.exec(raw);
  const source = m ? m[1] : raw;
  const flags = new Set((m ? m[2] : "i").split(""));
  flags.delete("y");
  flags.add("g");
  try {
    return new RegExp(source, [...flags].join(""));
  } catch (err) {
    throw new ConfigError(key, `invalid regular expression: ${(err as Error).message}`);
  }
}

/** Validate and normalise settings (throws ConfigError naming the key). */
export function normalizeSettings(raw: Partial<GuardrailSettings> | undefined, prefix = "guardrails"): GuardrailSettings {
  const blocklist: string[] = [];
  const list = raw?.blocklist ?? [];
  if (!Array.isArray(list)) throw new ConfigError(`${prefix}.blocklist`, "must be a list of strings");
  list.forEach((t, i) => {
    if (typeof t !== "string" || t.trim() === "") throw new ConfigError(`${prefix}.blocklist[${i}]`, "must be a non-empty string");
    const term = t.trim().replace(/\s+/g, " ");
    if (!blocklist.includes(term)) blocklist.push(term);
  });
  const regexes = raw?.regexes ?? [];
  if (!Array.isArray(regexes)) throw new ConfigError(`${prefix}.regexes`, "must be a list of strings");
  regexes.forEach((r, i) => {
    if (typeof r !== "string" || r === "") throw new ConfigError(`${prefix}.regexes[${i}]`, "must be a non-empty string");
    parseUserRegex(`${prefix}.regexes[${i}]`, r);
  });
  const pii: Partial<Record<PiiKind, PiiAction>> = {};
  const rawPii = raw?.pii ?? {};
  if (!isRecord(rawPii)) throw new ConfigError(`${prefix}.pii`, "must be an object of kind: action");
  for (const [kind, action] of Object.entries(rawPii)) {
    if (!PII_ACTIONS.includes(action as PiiAction)) {
      throw new ConfigError(`${prefix}.pii.${kind}`, "must be one of block, redact, log, off");
    }
    const kinds: readonly string[] = kind === "ip" ? ["ipv4", "ipv6"] : [kind];
    for (const k of kinds) {
      if (!(PII_KINDS as readonly string[]).includes(k)) {
        throw new ConfigError(`${prefix}.pii.${kind}`, `unknown PII kind (expected ${PII_KINDS.join(", ")} or ip)`);
      }
      pii[k as PiiKind] = action as PiiAction;
    }
  }
  return Object.freeze({ blocklist: Object.freeze(blocklist), regexes: Object.freeze([...regexes]), pii: Object.freeze(pii) });
}

export function compileRules(settings: GuardrailSettings, prefix = "guardrails"): CompiledRules {
  const rules: Rule[] = [];
  const terms = [...settings.blocklist].sort((a, b) => b.length - a.length);
  if (terms.length) {
    const alternatives = terms.map((t) => escapeRegExp(t).replace(/ /g, "\\s+")).join("|");
    const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives})(?![\\p{L}\\p{N}_])`, "giu");
    rules.push({ label: "blocklist", kind: "blocklist", action: "block", re, priority: -1 });
  }
  settings.regexes.forEach((r, i) => {
    rules.push({ label: `regex:${i}`, kind: "regex", action: "block", re: parseUserRegex(`${prefix}.regexes[${i}]`, r), priority: -1 });
  });
  PII_DETECTORS.forEach((d, priority) => {
    const action = settings.pii[d.kind];
    if (!action || action === "off") return;
    rules.push({ label: `pii:${d.kind}`, kind: d.kind, action, re: new RegExp(d.source, d.flags), validate: d.validate, priority });
  });
  return Object.freeze({
    settings,
    rules: Object.freeze(rules),
    blockRules: Object.freeze(rules.filter((r) => r.action === "block")),
    longestTerm: terms.reduce((n, t) => Math.max(n, t.length), 0),
  });
}

export interface ScanOptions {
  /** Matches ending exactly at the end of the text are undecided (more text may follow). */
  deferAtEnd?: boolean;
  /** Ignore matches starting at 0 (the text is a window whose left context is unknown). */
  skipAtStart?: boolean;
  /** Stop at the first finding. */
  firstOnly?: boolean;
}

/** Run rules over text; overlapping PII findings keep only the higher-priority kind. */
export function scan(rules: readonly Rule[], text: string, options: ScanOptions = {}): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const re = rule.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        re.lastIndex = start + 1;
        continue;
      }
      if ((options.deferAtEnd && end === text.length) || (options.skipAtStart && start === 0)) continue;
      if (rule.validate && !rule.validate(m[0])) {
        re.lastIndex = start + 1;
        continue;
      }
      const label = rule.kind === "blocklist" ? `blocklist:${m[0].toLowerCase().replace(/\s+/g, " ")}` : rule.label;
      findings.push({ rule, label, start, end });
      if (options.firstOnly) return findings;
    }
  }
  return resolveOverlaps(findings);
}

function resolveOverlaps(findings: Finding[]): Finding[] {
  const pii = findings.filter((f) => f.rule.priority >= 0);
  if (pii.length < 2) return findings;
  pii.sort((a, b) => a.rule.priority - b.rule.priority || a.start - b.start);
  const kept: Finding[] = [];
  for (const f of pii) if (!kept.some((k) => f.start < k.end && k.start < f.end)) kept.push(f);
  return findings.filter((f) => f.rule.priority < 0 || kept.includes(f));
}

/** Replace redact-action findings with `[REDACTED:<kind>]`. */
export function redact(text: string, findings: readonly Finding[]): string {
  const spans = findings.filter((f) => f.rule.action === "redact").sort((a, b) => a.start - b.start);
  let out = "";
  let pos = 0;
  for (const f of spans) {
    if (f.start < pos) continue;
    out += `${text.slice(pos, f.start)}[REDACTED:${f.rule.kind}]`;
    pos = f.end;
  }
  return out + text.slice(pos);
}
