/**
 * API keys.
 *
 * Generated keys look like `ifx_<keyId>_<secret>_<checksum>`: a 12-char
 * base62 public key id, a 24-char base62 secret (~142 bits) and a 6-char
 * base62 CRC-32 of everything before it, so secret scanners can recognise a
 * key and typos are rejected without a lookup. Operators may also register a
 * key of their own choosing (>= 8 printable characters, not starting with
 * `ifx_`); its id is derived: the first 12 hex chars of HMAC-SHA-256(pepper,
 * "ifx-key-id:" + key), or of SHA-256(key) when no pepper is set.
 *
 * Only HMAC-SHA-256(pepper, key) ("hmac-sha256:<hex>") or, without a pepper,
 * SHA-256(key) ("sha256:<hex>") is stored. Authentication derives the id,
 * looks the record up and compares digests with timingSafeEqual. Changing the
 * pepper invalidates every stored key.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { AuthenticationError } from "../../shared/errors.ts";
import type { ApiKeyRecord, Principal, Scope } from "../types.ts";
import { base62Fixed, crc32, randomBase62 } from "../util.ts";

export const KEY_PREFIX = "ifx";
const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 24;
const CHECKSUM_LENGTH = 6;
const MAX_KEY_LENGTH = 512;
const GENERATED_RE = /^ifx_([0-9A-Za-z]{8,12})_([0-9A-Za-z]{22,64})_([0-9A-Za-z]{6})$/;
const CUSTOM_RE = /^[\x21-\x7e]{8,512}$/;

function checksum(body: string): string {
  return base62Fixed(crc32(body), CHECKSUM_LENGTH);
}

/** A fresh generated key and its public id. The plaintext is shown once and never stored. */
export function generateApiKey(): { key: string; id: string } {
  const id = randomBase62(KEY_ID_LENGTH);
  const body = `${KEY_PREFIX}_${id}_${randomBase62(SECRET_LENGTH)}`;
  return { key: `${body}_${checksum(body)}`, id };
}

/** The id of a well-formed generated key with a valid checksum, else null. */
export function parseGeneratedKey(key: string): string | null {
  const m = GENERATED_RE.exec(key);
  if (!m) return null;
  const body = key.slice(0, key.length - CHECKSUM_LENGTH - 1);
  return checksum(body) === m[3] ? m[1] : null;
}

/** Why a custom key is unacceptable, or null when it is fine. */
export function customKeyProblem(key: string): string | null {
  if (!CUSTOM_RE.test(key)) return "must be 8 to 512 printable characters without spaces";
  if (key.startsWith(`${KEY_PREFIX}_`) && parseGeneratedKey(key) === null) {
    return `keys starting with '${KEY_PREFIX}_' must be well-formed generated keys`;
  }
  return null;
}

/**
 * The public id of a key: parsed out of generated keys, derived for custom
 * ones; null when the key cannot be valid (bad checksum, bad characters).
 */
export function keyIdFor(key: string, pepper?: string): string | null {
  if (key.length > MAX_KEY_LENGTH) return null;
  if (key.startsWith(`${KEY_PREFIX}_`)) return parseGeneratedKey(key);
  if (!CUSTOM_RE.test(key)) return null;
  const digest = pepper
    ? createHmac("sha256", pepper).update(`ifx-key-id:${key}`).digest("hex")
    : createHash("sha256").update(key).digest("hex");
  return digest.slice(0, 12);
}

/** The stored form of a key. */
export function hashApiKey(key: string, pepper?: string): string {
  return pepper
    ? `hmac-sha256:${createHmac("sha256", pepper).update(key).digest("hex")}`
    : `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

function digestFor(key: string, algorithm: string, pepper?: string): Buffer {
  if (algorithm === "hmac-sha256" && pepper) return createHmac("sha256", pepper).update(key).digest();
  if (algorithm === "sha256") return createHash("sha256").update(key).digest();
  // A peppered record without a pepper configured can never match; still do the work.
  return createHmac("sha256", "\0no-pepper").update(key).digest();
}

/** A record prepared for the request path: digest bytes, expiry and a ready principal. */
export interface KeyEntry {
  readonly record: ApiKeyRecord;
  readonly algorithm: string;
  readonly digest: Buffer;
  readonly expiresAtMs: number | null;
  readonly principal: Principal;
}

export type KeyIndex = ReadonlyMap<string, KeyEntry>;

export function principalForKey(record: ApiKeyRecord): Principal {
  return Object.freeze({
    kind: "api_key" as const,
    id: record.id,
    name: record.name,
    tenant: record.tenant,
    scopes: Object.freeze(new Set<Scope>(record.scopes)) as ReadonlySet<Scope>,
    models: record.models,
    limits: record.limits,
  });
}

/** Build the immutable lookup index used by `authenticateApiKey`. */
export function buildKeyIndex(records: readonly ApiKeyRecord[]): KeyIndex {
  const index = new Map<string, KeyEntry>();
  for (const record of records) {
    const sep = record.hash.indexOf(":");
    const algorithm = record.hash.slice(0, sep);
    index.set(record.id, Object.freeze({
      record,
      algorithm,
      digest: Buffer.from(record.hash.slice(sep + 1), "hex"),
      expiresAtMs: record.expiresAt ? Date.parse(record.expiresAt) : null,
      principal: principalForKey(record),
    }));
  }
  return index;
}

const DUMMY_DIGEST = Buffer.alloc(32);

/**
 * Verify a presented key against the index. Throws AuthenticationError (401)
 * for unknown, wrong, revoked or expired keys; returns the key's principal.
 */
export function authenticateApiKey(key: string, index: KeyIndex, pepper: string | undefined, nowMs: number): Principal {
  const id = keyIdFor(key, pepper);
  const entry = id === null ? undefined : index.get(id);
  const computed = digestFor(key, entry?.algorithm ?? (pepper ? "hmac-sha256" : "sha256"), pepper);
  const expected = entry && entry.digest.length === computed.length ? entry.digest : DUMMY_DIGEST;
  const match = timingSafeEqual(computed, expected) && entry !== undefined && expected !== DUMMY_DIGEST;
  if (!match || !entry) throw new AuthenticationError("Invalid API key", "invalid_api_key");
  if (entry.record.revoked) throw new AuthenticationError("API key has been revoked", "revoked_api_key");
  if (entry.expiresAtMs !== null && nowMs >= entry.expiresAtMs) {
    throw new AuthenticationError("API key has expired", "expired_api_key");
  }
  return entry.principal;
}
