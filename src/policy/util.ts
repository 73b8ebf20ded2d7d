/**
 * Small helpers shared by the policy parts: base62, CRC32, SHA-256, canonical
 * JSON, deep freezing and option validation that throws ConfigError naming
 * the option key.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../shared/errors.ts";

export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `length` uniformly random base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < length) out += BASE62[b % 62];
    }
  }
  return out;
}

/** Fixed-width base62 of a non-negative integer (left-padded with "0"). */
export function base62Fixed(value: number, width: number): string {
  let v = Math.floor(value);
  let out = "";
  while (v > 0) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, "0");
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  const bytes = new TextEncoder().encode(text);
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with object keys sorted recursively; undefined members are dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Mask an identifier for listings and metrics: first 4 characters and a fixed tail. */
export function maskId(id: string): string {
  return id.length <= 4 ? "****" : `${id.slice(0, 4)}****`;
}

// ---- option validation ---------------------------------------------------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function optRecord(key: string, v: unknown): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new ConfigError(key, "must be an object");
  return v;
}

export function optString(key: string, v: unknown, minLength = 1): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length < minLength) {
    throw new ConfigError(key, `must be a string of at least ${minLength} character(s)`);
  }
  return v;
}

export function reqString(key: string, v: unknown, minLength = 1): string {
  const s = optString(key, v, minLength);
  if (s === undefined) throw new ConfigError(key, "is required");
  return s;
}

export function optBool(key: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new ConfigError(key, "must be true or false");
  return v;
}

/** A finite number in [min, max]; integers only unless `integer` is false. */
export function optNumber(
  key: string,
  v: unknown,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  if (v === undefined || v === null) return undefined;
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = opts;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new ConfigError(key, `must be ${integer ? "an integer" : "a number"} between ${min} and ${max}`);
  }
  return v;
}

export function optStringArray(key: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ConfigError(key, "must be a list of strings");
  return v.map((item, i) => reqString(`${key}[${i}]`, item));
}

/** Validate per-minute limits; null/undefined fields are dropped. */
export function parseLimits(key: string, v: unknown): { requestsPerMinute?: number; tokensPerMinute?: number } {
  const rec = optRecord(key, v) ?? {};
  const out: { requestsPerMinute?: number; tokensPerMinute?: number } = {};
  const rpm = optNumber(`${key}.requestsPerMinute`, rec.requestsPerMinute, { min: 1 });
  const tpm = optNumber(`${key}.tokensPerMinute`, rec.tokensPerMinute, { min: 1 });
  if (rpm !== undefined) out.requestsPerMinute = rpm;
  if (tpm !== undefined) out.tokensPerMinute = tpm;
  return out;
}
