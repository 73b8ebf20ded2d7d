/**
 * The policy store: one file holding all mutable policy state (format.ts),
 * replaced atomically on every change (atomic.ts). State snapshots are deep-
 * frozen and replaced whole. Writes are serialized; before each write the file
 * is re-read if another process changed it, and `pollMs` watching reloads
 * external changes (compared by inode, mtime and size) and notifies listeners.
 */
import { existsSync, mkdirSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { withFileLock } from "./file-lock.ts";
import { ConfigError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/logger.ts";
import { deepFreeze, optNumber, optRecord, optString } from "../util.ts";
import { atomicWriteFile, cleanStaleTemps } from "./atomic.ts";
import { DEFAULT_SCRYPT, type DecodedStore, decodeStore, encodeEncrypted, encodePlain, KeyCache, type KdfHeader, newKdf, type ScryptParams } from "./format.ts";
import { emptyState, type PolicyState, validateState } from "./state.ts";

const log = createLogger("policy.store");

export interface PolicyStoreOptions {
  /** The store file; without it state lives in memory only. */
  path?: string;
  /** Encrypt with AES-256-GCM under a scrypt-derived key. */
  passphrase?: string;
  /** Poll the file for external changes every this many ms (0 = never). Default 1000. */
  pollMs?: number;
  scrypt?: Partial<ScryptParams>;
}

export type ChangeSource = "local" | "external";
export type ChangeListener = (state: Readonly<PolicyState>, source: ChangeSource) => void;

interface FileStamp {
  ino: number;
  mtimeMs: number;
  size: number;
}

const sameStamp = (a: FileStamp | null, b: FileStamp | null) =>
  !!a && !!b && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;

function parseScrypt(raw: unknown): ScryptParams {
  const rec = optRecord("store.scrypt", raw) ?? {};
  const N = optNumber("store.scrypt.N", rec.N, { min: 2, max: 1 << 22 }) ?? DEFAULT_SCRYPT.N;
  if ((N & (N - 1)) !== 0) throw new ConfigError("store.scrypt.N", "must be a power of two");
  return {
    N,
    r: optNumber("store.scrypt.r", rec.r, { min: 1, max: 64 }) ?? DEFAULT_SCRYPT.r,
    p: optNumber("store.scrypt.p", rec.p, { min: 1, max: 16 }) ?? DEFAULT_SCRYPT.p,
  };
}

/** Read and decrypt a store file without opening a store (CLI, tests). */
export async function readPolicyFile(path: string, passphrase?: string): Promise<DecodedStore> {
  return decodeStore(await readFile(path, "utf8"), passphrase ? new KeyCache(passphrase) : null);
}

export class PolicyStore {
  readonly path: string | null;
  private readonly keys: KeyCache | null;
  private readonly scrypt: ScryptParams;
  private readonly pollMs: number;
  private current: Readonly<PolicyState> = deepFreeze(emptyState());
  private id: string = crypto.randomUUID();
  private kdf: KdfHeader | null = null;
  private stamp: FileStamp | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private readonly listeners = new Set<ChangeListener>();

  private constructor(o: PolicyStoreOptions) {
    this.path = optString("store.path", o.path) ?? null;
    const pass = optString("store.passphrase", o.passphrase, 8);
    this.keys = pass ? new KeyCache(pass) : null;
    this.scrypt = parseScrypt(o.scrypt);
    this.pollMs = optNumber("store.pollMs", o.pollMs, { max: 3_600_000 }) ?? 1000;
  }

  static async open(options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    const s = new PolicyStore(options);
    if (s.path) await s.init(s.path);
    return s;
  }

  private async init(path: string): Promise<void> {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new ConfigError("store.path", `cannot create directory: ${(err as Error).message}`);
    }
    cleanStaleTemps(path);
    if (existsSync(path)) {
      const decoded = await this.load(path);
      this.adopt(decoded);
      if (this.keys && !decoded.encrypted) {
        log.info("encrypting plaintext policy store", { path });
        await this.write(this.current);
      }
    } else {
      await this.write(this.current);
    }
    if (this.pollMs > 0) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref?.();
    }
  }

  private async load(path: string): Promise<DecodedStore> {
    const before = await this.statFile(path);
    const decoded = await decodeStore(await readFile(path, "utf8"), this.keys);
    this.stamp = before;
    return decoded;
  }

  private adopt(d: DecodedStore): void {
    this.id = d.storeId;
    this.kdf = d.kdf;
    this.current = deepFreeze(d.state);
  }

  private async statFile(path: string): Promise<FileStamp | null> {
    try {
      const s = await stat(path);
      return { ino: s.ino, mtimeMs: s.mtimeMs, size: s.size };
    } catch {
      return null;
    }
  }

  private kdfForWrite(): KdfHeader {
    const k = this.kdf;
    if (k && k.N === this.scrypt.N && k.r === this.scrypt.r && k.p === this.scrypt.p) return k;
    this.kdf = newKdf(this.scrypt);
    return this.kdf;
  }

  private async write(state: Readonly<PolicyState>): Promise<void> {
    if (!this.path) return;
    const text = this.keys
      ? await encodeEncrypted(state as PolicyState, this.id, this.kdfForWrite(), this.keys)
      : encodePlain(state as PolicyState, this.id);
    await atomicWriteFile(this.path, text);
    this.stamp = await this.statFile(this.path);
  }

  /** The current state (deep-frozen; replaced whole on every change). */
  get state(): Readonly<PolicyState> {
    return this.current;
  }

  get storeId(): string {
    return this.id;
  }

  get encrypted(): boolean {
    return this.keys !== null;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(source: ChangeSource): void {
    for (const l of this.listeners) {
      try {
        l(this.current, source);
      } catch (err) {
        log.error("policy change listener failed", { error: (err as Error).message });
      }
    }
  }

  /** Reload when the file changed on disk; true when new state was adopted. */
  private async reloadIfChanged(): Promise<boolean> {
    if (!this.path) return false;
    const now = await this.statFile(this.path);
    if (!now || sameStamp(now, this.stamp)) return false;
    const decoded = await this.load(this.path);
    if (decoded.storeId !== this.id) {
      throw new ConfigError("policy_store", `store id changed on disk (${this.id} → ${decoded.storeId}); refusing to load`);
    }
    if (decoded.state.revision === this.current.revision && decoded.state.updatedAt === this.current.updatedAt) return false;
    this.adopt(decoded);
    this.emit("external");
    return true;
  }

  /** Check the file now (what the poll timer does). Serialized with writes. */
  reload(): Promise<boolean> {
    const run = this.queue.then(() => this.reloadIfChanged());
    this.queue = run.catch(() => {});
    return run;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.reload();
    } catch (err) {
      // Keep serving the last good state; remember the bad file so we do not retry it every tick.
      if (this.path) this.stamp = await this.statFile(this.path);
      log.error("policy store reload failed; keeping the previous state", { error: (err as Error).message });
    } finally {
      this.polling = false;
    }
  }

  /**
   * Apply a change: the mutator edits a mutable copy (or returns a new state).
   * The new state is written atomically, then swapped in and listeners are
   * notified. A throwing mutator or a failed write changes nothing.
   */
  update(mutator: (draft: PolicyState) => PolicyState | void): Promise<Readonly<PolicyState>> {
    const apply = async () => {
      await this.reloadIfChanged();
      const draft = structuredClone(this.current) as PolicyState;
      const next = validateState(mutator(draft) ?? draft);
      next.revision = this.current.revision + 1;
      next.updatedAt = new Date().toISOString();
      await this.write(next);
      this.current = deepFreeze(next);
      this.emit("local");
      return this.current;
    };
    // Read-modify-write under a lock shared with other processes on the same file: no lost updates.
    const run = this.queue.then(() => (this.path ? withFileLock(this.path, apply) : apply()));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Stop watching; pending writes still complete. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queue;
  }
}

export function createPolicyStore(options: PolicyStoreOptions = {}): Promise<PolicyStore> {
  return PolicyStore.open(options);
}
