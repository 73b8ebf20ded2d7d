/**
 * The disk tier of the prefix cache: KV state snapshots (opaque bytes from
 * libllama's sequence-state API) in one file each, keyed by namespace and
 * tokens, bounded in bytes (least recently used out first), kept across
 * restarts.
 *
 * A file is "<sha256 of fingerprint, namespace, tokens>.ifxkv":
 *   magic "IFXKV\x01\0\0" | u32 LE header length | header JSON | tokens (i32 LE) | payload
 * The header carries the fingerprint (model file, libllama build, KV layout),
 * the namespace, the lengths and SHA-256 hashes of tokens and payload.
 * Integrity: a file that does not parse, whose size disagrees with its header
 * or whose tokens hash is wrong is deleted at open; the payload hash is checked
 * at every load (a mismatch deletes the file). A valid file with another
 * fingerprint is foreign: never loaded, left on disk (another server may share
 * the directory). Writes are atomic: temp file, fsync, rename, fsync dir.
 *
 * Lookup is by longest common prefix, as in the RAM tier (prefix-match.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync } from "node:fs";
import { open as openAsync, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../shared/logger";
import { bestPrefixMatch } from "../cache/prefix-match";

const MAGIC = Buffer.from("IFXKV\x01\0\0", "latin1");
const EXT = ".ifxkv";
const TMP_PREFIX = ".tmp-";
/** Headers are small JSON; anything larger is not ours. */
const MAX_HEADER = 64 * 1024;

export interface KvFileStoreOptions {
  dir: string;
  maxBytes: number;
  fingerprint: string;
  log?: Logger;
}

export interface KvFileEntry {
  readonly namespace: string;
  readonly tokens: readonly number[];
  readonly file: string;
  readonly fileBytes: number;
  lastUsed: number;
}

export interface KvFileStats {
  entries: number;
  bytes: number;
  saves: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  ignoredFiles: number;
}

interface Header {
  v: 1;
  fingerprint: string;
  namespace: string;
  nTokens: number;
  payloadBytes: number;
  tokensSha256: string;
  payloadSha256: string;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function tokenBytes(tokens: readonly number[]): Buffer {
  const b = Buffer.alloc(tokens.length * 4);
  tokens.forEach((t, i) => b.writeInt32LE(t, i * 4));
  return b;
}

function checkKey(namespace: string, tokens: readonly number[]): void {
  if (typeof namespace !== "string") throw new RangeError("namespace must be a string");
  if (!Array.isArray(tokens) || tokens.length === 0) throw new RangeError("tokens must be a non-empty array");
  for (const t of tokens) if (!Number.isInteger(t) || t < -(2 ** 31) || t >= 2 ** 31) throw new RangeError(`token ${t} is not an int32`);
}

/** Reads a file's header and tokens; null when it is not a well-formed entry file. */
function readHead(path: string): { header: Header; tokens: number[]; size: number; mtimeMs: number } | null {
  let fd: number | undefined;
  try {
    const st = statSync(path);
    fd = openSync(path, "r");
    const pre = Buffer.alloc(12);
    if (readSync(fd, pre, 0, 12, 0) !== 12 || !pre.subarray(0, 8).equals(MAGIC)) return null;
    const hlen = pre.readUInt32LE(8);
    if (hlen > MAX_HEADER) return null;
    const hb = Buffer.alloc(hlen);
    if (readSync(fd, hb, 0, hlen, 12) !== hlen) return null;
    const header = JSON.parse(hb.toString("utf8")) as Header;
    if (header.v !== 1 || typeof header.fingerprint !== "string" || typeof header.namespace !== "string") return null;
    if (!Number.isInteger(header.nTokens) || header.nTokens < 1 || !Number.isInteger(header.payloadBytes) || header.payloadBytes < 1) return null;
    if (st.size !== 12 + hlen + header.nTokens * 4 + header.payloadBytes) return null;
    const tb = Buffer.alloc(header.nTokens * 4);
    if (readSync(fd, tb, 0, tb.length, 12 + hlen) !== tb.length || sha256(tb) !== header.tokensSha256) return null;
    const tokens = Array.from({ length: header.nTokens }, (_, i) => tb.readInt32LE(i * 4));
    return { header, tokens, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class KvFileStore {
  private readonly entries = new Map<string, KvFileEntry>(); // by file name
  private readonly byNamespace = new Map<string, Set<KvFileEntry>>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private bytes = 0;
  private counters = { saves: 0, loads: 0, loadFailures: 0, evictions: 0, ignoredFiles: 0 };
  private clock = 0;

  private constructor(private readonly options: KvFileStoreOptions) {}

  /** Opens (creating) the directory and indexes the valid entries of this fingerprint. */
  static open(options: KvFileStoreOptions): KvFileStore {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${options.maxBytes}`);
    mkdirSync(options.dir, { recursive: true });
    const store = new KvFileStore(options);
    store.scan();
    return store;
  }

  private scan(): void {
    const found: KvFileEntry[] = [];
    for (const name of readdirSync(this.options.dir)) {
      const path = join(this.options.dir, name);
      if (name.startsWith(TMP_PREFIX)) {
        this.remove(path); // left by a crash mid-write
        continue;
      }
      if (!name.endsWith(EXT)) continue;
      const head = readHead(path);
      if (!head) {
        this.counters.ignoredFiles++;
        this.options.log?.warn("removing a corrupt prefix cache file", { file: name });
        this.remove(path);
        continue;
      }
      if (head.header.fingerprint !== this.options.fingerprint) {
        this.counters.ignoredFiles++; // another model or build: not ours to load or delete
        continue;
      }
      found.push({ namespace: head.header.namespace, tokens: head.tokens, file: name, fileBytes: head.size, lastUsed: head.mtimeMs });
    }
    found.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of found) this.index(e);
    this.clock = found.length ? found[found.length - 1].lastUsed : 0;
    this.makeRoom(0);
  }

  private fileName(namespace: string, tokens: readonly number[]): string {
    const h = createHash("sha256").update(this.options.fingerprint).update("\0").update(namespace).update("\0").update(tokenBytes(tokens));
    return h.digest("hex") + EXT;
  }

  /** The entry sharing the longest prefix with `tokens` (at least `minLength`, capped at `maxLength`), as KvRamStore.bestMatch. */
  bestMatch(namespace: string, tokens: readonly number[], minLength: number, maxLength: number): { entry: KvFileEntry; length: number } | null {
    const set = this.byNamespace.get(namespace);
    return set ? bestPrefixMatch(set, tokens, minLength, maxLength) : null;
  }

  /** True when exactly this prefix is stored or being written. */
  has(namespace: string, tokens: readonly number[]): boolean {
    const name = this.fileName(namespace, tokens);
    return this.entries.has(name) || this.inFlight.has(name);
  }

  /** Reads and verifies an entry's payload; null (and the entry dropped) on any failure. */
  load(entry: KvFileEntry): Uint8Array | null {
    const path = join(this.options.dir, entry.file);
    if (this.entries.get(entry.file) !== entry) return null;
    try {
      const head = readHead(path);
      const data = readFileSync(path);
      if (!head || head.header.fingerprint !== this.options.fingerprint) throw new Error("not a valid entry any more");
      const payload = data.subarray(data.length - head.header.payloadBytes);
      if (sha256(payload) !== head.header.payloadSha256) throw new Error("payload hash mismatch");
      entry.lastUsed = ++this.clock;
      this.counters.loads++;
      return new Uint8Array(payload);
    } catch (e) {
      this.counters.loadFailures++;
      this.options.log?.warn("prefix cache file not loaded", { file: entry.file, why: (e as Error).message });
      this.unindex(entry);
      this.remove(path);
      return null;
    }
  }

  /** Stores a snapshot atomically. The payload is copied before this returns. False when skipped or failed. */
  save(namespace: string, tokens: readonly number[], payload: Uint8Array): Promise<boolean> {
    checkKey(namespace, tokens);
    const name = this.fileName(namespace, tokens);
    if (this.entries.has(name)) return Promise.resolve(false);
    const pending = this.inFlight.get(name);
    if (pending) return pending.then(() => false);
    const tb = tokenBytes(tokens);
    const body = Buffer.from(payload); // a copy: the caller may reuse its buffer
    const header: Header = { v: 1, fingerprint: this.options.fingerprint, namespace, nTokens: tokens.length, payloadBytes: body.length, tokensSha256: sha256(tb), payloadSha256: sha256(body) };
    const hb = Buffer.from(JSON.stringify(header), "utf8");
    const pre = Buffer.alloc(12);
    MAGIC.copy(pre);
    pre.writeUInt32LE(hb.length, 8);
    const size = 12 + hb.length + tb.length + body.length;
    if (size > this.options.maxBytes || body.length === 0) return Promise.resolve(false);
    const p = this.write(name, [pre, hb, tb, body]).then(
      () => {
        this.makeRoom(size);
        this.index({ namespace, tokens: [...tokens], file: name, fileBytes: size, lastUsed: ++this.clock });
        this.counters.saves++;
        return true;
      },
      (e: unknown) => {
        this.options.log?.warn("prefix cache file not saved", { file: name, error: String(e) });
        return false;
      },
    );
    this.inFlight.set(name, p);
    void p.finally(() => this.inFlight.delete(name));
    return p;
  }

  private async write(name: string, parts: Buffer[]): Promise<void> {
    const tmp = join(this.options.dir, `${TMP_PREFIX}${randomBytes(6).toString("hex")}`);
    const fh = await openAsync(tmp, "w");
    try {
      for (const b of parts) await fh.write(b);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, join(this.options.dir, name));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    const dirFd = openSync(this.options.dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  /** Waits for the writes in flight. */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight.values()]);
  }

  stats(): KvFileStats {
    return { entries: this.entries.size, bytes: this.bytes, ...this.counters };
  }

  /** Removes least recently used entries until `incoming` more bytes fit. */
  private makeRoom(incoming: number): void {
    if (this.bytes + incoming <= this.options.maxBytes) return;
    const byAge = [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of byAge) {
      if (this.bytes + incoming <= this.options.maxBytes) break;
      this.unindex(e);
      this.remove(join(this.options.dir, e.file));
      this.counters.evictions++;
    }
  }

  private index(e: KvFileEntry): void {
    this.entries.set(e.file, e);
    this.bytes += e.fileBytes;
    const set = this.byNamespace.get(e.namespace) ?? new Set<KvFileEntry>();
    set.add(e);
    this.byNamespace.set(e.namespace, set);
  }

  private unindex(e: KvFileEntry): void {
    if (!this.entries.delete(e.file)) return;
    this.bytes -= e.fileBytes;
    const set = this.byNamespace.get(e.namespace);
    set?.delete(e);
    if (set?.size === 0) this.byNamespace.delete(e.namespace);
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}
