/**
 * Audit records and their hash chain. Each line is the canonical JSON (keys
 * sorted, no whitespace) of one record; `hash` = SHA-256 hex of `prevHash`
 * followed by the canonical JSON of the record without `hash`. The first line
 * of a log chains from 64 zeros; after rotation, from the last hash of the
 * previous file.
 */
import { canonicalJson, sha256Hex } from "../util.ts";

export const GENESIS_HASH = "0".repeat(64);

export type AuditEventType = "request" | "auth_failure" | "admin_change" | "policy_verdict";

export interface AuditUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens?: number;
}

/** What callers hand to `AuditLog.log`. Raw prompt/completion are hashed; kept only in debug mode. */
export interface AuditEventInput {
  type: AuditEventType;
  /** Key id or OIDC subject; never a secret. */
  actor?: string | null;
  sourceIp?: string | null;
  route?: string | null;
  model?: string | null;
  outcome?: string | null;
  status?: number | null;
  usage?: AuditUsage | null;
  latencyMs?: number | null;
  verdicts?: unknown[] | null;
  prompt?: string | null;
  completion?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditRecord {
  id: string;
  time: string;
  type: AuditEventType;
  actor: string | null;
  sourceIp: string | null;
  route: string | null;
  model: string | null;
  outcome: string | null;
  status: number | null;
  usage: AuditUsage | null;
  latencyMs: number | null;
  verdicts: unknown[] | null;
  promptSha256: string | null;
  completionSha256: string | null;
  prompt?: string;
  completion?: string;
  details?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

const KEY_LIKE = /^ifx_([0-9A-Za-z]{8,12})_[0-9A-Za-z]{22,}_[0-9A-Za-z]{6}$/;

/** Defence in depth: an actor that is a whole generated key is reduced to its key id. */
export function safeActor(actor: string | null | undefined): string | null {
  if (!actor) return null;
  const m = KEY_LIKE.exec(actor);
  return m ? m[1] : actor;
}

export function chainHash(prevHash: string, recordWithoutHash: unknown): string {
  return sha256Hex(prevHash + canonicalJson(recordWithoutHash));
}

/** Build the next record of the chain (without touching any file). */
export function buildRecord(input: AuditEventInput, prevHash: string, debugMode: boolean, now = new Date()): AuditRecord {
  const body: Omit<AuditRecord, "hash"> = {
    id: crypto.randomUUID(),
    time: now.toISOString(),
    type: input.type,
    actor: safeActor(input.actor),
    sourceIp: input.sourceIp ?? null,
    route: input.route ?? null,
    model: input.model ?? null,
    outcome: input.outcome ?? null,
    status: input.status ?? null,
    usage: input.usage ?? null,
    latencyMs: input.latencyMs ?? null,
    verdicts: input.verdicts ?? null,
    promptSha256: typeof input.prompt === "string" ? sha256Hex(input.prompt) : null,
    completionSha256: typeof input.completion === "string" ? sha256Hex(input.completion) : null,
    prevHash,
  };
  if (debugMode && typeof input.prompt === "string") body.prompt = input.prompt;
  if (debugMode && typeof input.completion === "string") body.completion = input.completion;
  if (input.details) body.details = input.details;
  // Round-trip so the stored line and the hashed form are byte-identical (drops undefined, NaN → null).
  const clean = JSON.parse(JSON.stringify(body)) as Omit<AuditRecord, "hash">;
  return { ...clean, hash: chainHash(prevHash, clean) };
}

export function recordLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}
