/**
 * The policy store file format.
 *
 * Plaintext (no passphrase; written with mode 0600), pretty-printed JSON:
 *
 *   {"magic":"IFXPOLICY","version":1,"storeId":"<uuid>","encrypted":false,"state":{…}}
 *
 * Encrypted (passphrase set): two lines of UTF-8 text.
 *
 *   line 1: header JSON, one line:
 *     {"magic":"IFXPOLICY","version":1,"storeId":"<uuid>","encrypted":true,
 *      "cipher":"aes-256-gcm","kdf":{"name":"scrypt","N":131072,"r":8,"p":1,
 *      "salt":"<base64, 16 random bytes>"},"nonce":"<base64, 12 random bytes>"}
 *   line 2: base64(ciphertext || 16-byte GCM tag) of JSON.stringify(state)
 *
 * The AES-256 key is scrypt(passphrase, salt, N, r, p). The nonce is fresh for
 * every write. The associated data is the exact bytes of header line 1, so the
 * file's identity (magic, version, store id) and its KDF parameters and nonce
 * are all authenticated: changing any byte of either line fails decryption.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from "node:crypto";
import { ConfigError } from "../../shared/errors.ts";
import { isRecord } from "../util.ts";
import { type PolicyState, validateState } from "./state.ts";

export const STORE_MAGIC = "IFXPOLICY";
export const STORE_VERSION = 1;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 1 << 17, r: 8, p: 1 });

export interface KdfHeader extends ScryptParams {
  name: "scrypt";
  salt: string;
}

export interface DecodedStore {
  state: PolicyState;
  storeId: string;
  encrypted: boolean;
  kdf: KdfHeader | null;
}

const storeError = (msg: string) => new ConfigError("policy_store", msg);

/** Derived keys by passphrase+salt+params, so scrypt runs once per store, not per write. */
export class KeyCache {
  private readonly keys = new Map<string, Promise<Buffer>>();
  constructor(private readonly passphrase: string) {}

  derive(kdf: KdfHeader): Promise<Buffer> {
    const id = `${kdf.salt}:${kdf.N}:${kdf.r}:${kdf.p}`;
    let key = this.keys.get(id);
    if (!key) {
      key = new Promise<Buffer>((resolve, reject) => {
        const maxmem = 256 * kdf.N * kdf.r * kdf.p + (1 << 20);
        scrypt(this.passphrase, Buffer.from(kdf.salt, "base64"), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, k) =>
          err ? reject(storeError(`key derivation failed: ${err.message}`)) : resolve(k),
        );
      });
      key.catch(() => this.keys.delete(id));
      this.keys.set(id, key);
    }
    return key;
  }
}

export function newKdf(params: ScryptParams): KdfHeader {
  return { name: "scrypt", N: params.N, r: params.r, p: params.p, salt: randomBytes(16).toString("base64") };
}

export function encodePlain(state: PolicyState, storeId: string): string {
  return `${JSON.stringify({ magic: STORE_MAGIC, version: STORE_VERSION, storeId, encrypted: false, state }, null, 2)}\n`;
}

export async function encodeEncrypted(state: PolicyState, storeId: string, kdf: KdfHeader, keys: KeyCache): Promise<string> {
  const key = await keys.derive(kdf);
  const nonce = randomBytes(12);
  const header = JSON.stringify({
    magic: STORE_MAGIC,
    version: STORE_VERSION,
    storeId,
    encrypted: true,
    cipher: "aes-256-gcm",
    kdf,
    nonce: nonce.toString("base64"),
  });
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(header, "utf8"));
  const body = Buffer.concat([cipher.update(JSON.stringify(state), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${header}\n${body.toString("base64")}\n`;
}

function parseKdf(v: unknown): KdfHeader {
  if (!isRecord(v) || v.name !== "scrypt" || typeof v.salt !== "string") throw storeError("bad kdf header");
  for (const k of ["N", "r", "p"] as const) {
    if (typeof v[k] !== "number" || !Number.isInteger(v[k]) || (v[k] as number) < 1) throw storeError(`bad kdf.${k}`);
  }
  if (((v.N as number) & ((v.N as number) - 1)) !== 0 || (v.N as number) > 1 << 22) throw storeError("bad kdf.N");
  return v as unknown as KdfHeader;
}

async function decodeEncrypted(header: Record<string, unknown>, headerLine: string, body: string, keys: KeyCache | null): Promise<DecodedStore> {
  if (!keys) throw storeError("the policy store is encrypted; configure its passphrase");
  if (header.cipher !== "aes-256-gcm" || typeof header.nonce !== "string" || typeof header.storeId !== "string") {
    throw storeError("bad encrypted store header");
  }
  const kdf = parseKdf(header.kdf);
  const nonce = Buffer.from(header.nonce, "base64");
  const data = Buffer.from(body.trim(), "base64");
  if (nonce.length !== 12 || data.length < 17) throw storeError("truncated or malformed encrypted store");
  const key = await keys.derive(kdf);
  let plain: string;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAAD(Buffer.from(headerLine, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    plain = Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    throw storeError("cannot decrypt the policy store: wrong passphrase or the file was modified");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain);
  } catch {
    throw storeError("decrypted policy store is not valid JSON");
  }
  return { state: validateState(parsed), storeId: header.storeId, encrypted: true, kdf };
}

/** Decode a store file's text; throws ConfigError("policy_store") on anything wrong. */
export async function decodeStore(text: string, keys: KeyCache | null): Promise<DecodedStore> {
  const nl = text.indexOf("\n");
  const headerLine = nl >= 0 ? text.slice(0, nl) : text;
  let header: unknown;
  try {
    header = JSON.parse(headerLine);
  } catch {
    header = null;
  }
  if (isRecord(header) && header.encrypted === true) {
    if (header.magic !== STORE_MAGIC || header.version !== STORE_VERSION) throw storeError("not a policy store file (magic/version)");
    return decodeEncrypted(header, headerLine, text.slice(nl + 1), keys);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw storeError("the policy store is neither valid JSON nor an encrypted store (corrupt file?)");
  }
  if (!isRecord(doc) || doc.magic !== STORE_MAGIC || doc.version !== STORE_VERSION || typeof doc.storeId !== "string") {
    throw storeError("not a policy store file (magic/version/storeId)");
  }
  if (doc.encrypted !== false) throw storeError("bad plaintext store header");
  return { state: validateState(doc.state), storeId: doc.storeId, encrypted: false, kdf: null };
}
