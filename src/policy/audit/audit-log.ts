/**
 * The audit log writer: one canonical JSON line per event, hash-chained (see
 * record.ts), appended to `path`. `log()` is synchronous and only buffers;
 * lines are appended in batches (appendFile + fdatasync) off the request path.
 * `close()` flushes everything. Size-based rotation moves audit.log →
 * audit.log.1 → … → audit.log.<keep>; the chain continues across files.
 * A torn last line left by a crash is truncated on open (it was never
 * acknowledged) and the chain resumes from the last complete line.
 */
import { existsSync, mkdirSync } from "node:fs";
import { type FileHandle, open, rename, rm, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/logger.ts";
import { optBool, optNumber, optString } from "../util.ts";
import { type AuditEventInput, type AuditRecord, buildRecord, GENESIS_HASH, recordLine } from "./record.ts";

const log = createLogger("policy.audit");

export interface AuditLogOptions {
  /** File to append to; without it events are only hashed and handed to `onEvent`. */
  path?: string;
  /** Keep raw prompt/completion text in the log (otherwise only their SHA-256). */
  debugMode?: boolean;
  /** Rotate when the file would grow past this many bytes (0 = never). Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files to keep. Default 5. */
  keep?: number;
  /** Delay before a buffered batch is written. Default 25 ms. */
  flushIntervalMs?: number;
  /** fdatasync after every batch. Default true. */
  fsync?: boolean;
  onEvent?: (record: AuditRecord) => void;
}

/** Read the last complete line of a file; `tornAt` is where an unterminated tail begins. */
async function readTail(path: string): Promise<{ last: string | null; tornAt: number | null }> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    let pos = size; // acc holds bytes [pos, size)
    let acc = Buffer.alloc(0);
    let end = -1; // absolute index of the last "\n"
    let start = -1; // absolute index of the "\n" before it
    while (pos > 0) {
      const len = Math.min(65536, pos);
      const chunk = Buffer.alloc(len);
      await fh.read(chunk, 0, len, pos - len);
      pos -= len;
      acc = Buffer.concat([chunk, acc]);
      if (end < 0) {
        const t = acc.lastIndexOf(10);
        if (t >= 0) end = pos + t;
      }
      if (end >= 0 && end - pos - 1 >= 0) {
        const s = acc.lastIndexOf(10, end - pos - 1);
        if (s >= 0) {
          start = pos + s;
          break;
        }
      }
    }
    const tornAt = size === 0 || end === size - 1 ? null : end + 1;
    const last = end >= 0 ? acc.subarray(start + 1 - pos, end - pos).toString("utf8") : null;
    return { last, tornAt };
  } finally {
    await fh.close();
  }
}

function hashOf(line: string | null): string | null {
  if (!line) return null;
  try {
    const h = (JSON.parse(line) as { hash?: unknown }).hash;
    return typeof h === "string" && /^[0-9a-f]{64}$/.test(h) ? h : null;
  } catch {
    return null;
  }
}

export class AuditLog {
  private prevHash = GENESIS_HASH;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private fh: FileHandle | null = null;
  private size = 0;
  private closed = false;
  readonly path: string | null;
  private readonly debugMode: boolean;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly flushIntervalMs: number;
  private readonly fsync: boolean;
  private readonly onEvent?: (record: AuditRecord) => void;

  private constructor(o: AuditLogOptions) {
    this.path = optString("audit.path", o.path) ?? null;
    this.debugMode = optBool("audit.debugMode", o.debugMode) ?? false;
    this.maxBytes = optNumber("audit.maxBytes", o.maxBytes) ?? 100 * 1024 * 1024;
    this.keep = optNumber("audit.keep", o.keep, { max: 1000 }) ?? 5;
    this.flushIntervalMs = optNumber("audit.flushIntervalMs", o.flushIntervalMs, { max: 60_000 }) ?? 25;
    this.fsync = optBool("audit.fsync", o.fsync) ?? true;
    if (o.onEvent !== undefined && typeof o.onEvent !== "function") throw new ConfigError("audit.onEvent", "must be a function");
    this.onEvent = o.onEvent;
  }

  static async open(options: AuditLogOptions = {}): Promise<AuditLog> {
    const a = new AuditLog(options);
    if (a.path) await a.recover(a.path);
    return a;
  }

  private async recover(path: string): Promise<void> {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new ConfigError("audit.path", `cannot create directory: ${(err as Error).message}`);
    }
    if (existsSync(path)) {
      const tail = await readTail(path);
      if (tail.tornAt !== null) {
        log.warn("audit log ends with a torn line; truncating it", { path, at: tail.tornAt });
        await truncate(path, tail.tornAt);
      }
      this.prevHash = hashOf(tail.last) ?? GENESIS_HASH;
      if (tail.last && !hashOf(tail.last)) log.warn("last audit line has no valid hash; chain restarts", { path });
    } else if (existsSync(`${path}.1`)) {
      this.prevHash = hashOf((await readTail(`${path}.1`)).last) ?? GENESIS_HASH;
    }
    this.fh = await open(path, "a", 0o600);
    this.size = (await this.fh.stat()).size;
  }

  /** The hash of the last record (what the next one chains from). */
  get lastHash(): string {
    return this.prevHash;
  }

  /** Record an event. Synchronous: the line is chained now and written shortly after. */
  log(input: AuditEventInput): AuditRecord {
    const record = buildRecord(input, this.prevHash, this.debugMode);
    if (this.closed) {
      log.warn("audit event after close dropped", { type: input.type, id: record.id });
      return record;
    }
    this.prevHash = record.hash;
    try {
      this.onEvent?.(record);
    } catch (err) {
      log.warn("audit onEvent hook failed", { error: (err as Error).message });
    }
    if (!this.path) return record;
    const line = recordLine(record);
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 1 << 20) void this.flush().catch(() => {});
    else if (!this.timer) this.timer = setTimeout(() => void this.flush().catch(() => {}), this.flushIntervalMs);
    return record;
  }

  /** Write everything buffered so far (batches are serialized). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const run = this.chain.then(() => this.writePending());
    this.chain = run.catch(() => {});
    return run;
  }

  private async writePending(): Promise<void> {
    if (!this.fh || this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let i = 0;
    try {
      while (i < lines.length) {
        const batch: string[] = [];
        let bytes = 0;
        for (; i < lines.length; i++) {
          const n = Buffer.byteLength(lines[i]);
          if (this.maxBytes > 0 && this.size + bytes + n > this.maxBytes && (this.size > 0 || bytes > 0)) break;
          batch.push(lines[i]);
          bytes += n;
        }
        if (batch.length) {
          await this.fh.appendFile(batch.join(""));
          if (this.fsync) await this.fh.datasync();
          this.size += bytes;
        }
        if (i < lines.length) await this.rotate();
      }
    } catch (err) {
      this.pending = lines.slice(i).concat(this.pending);
      this.pendingBytes = this.pending.reduce((n, l) => n + l.length, 0);
      log.error("audit write failed; will retry", { error: (err as Error).message });
      throw err;
    }
  }

  private async rotate(): Promise<void> {
    const path = this.path as string;
    await this.fh?.close();
    this.fh = null;
    if (this.keep === 0) {
      await rm(path, { force: true });
    } else {
      await rm(`${path}.${this.keep}`, { force: true });
      for (let n = this.keep - 1; n >= 1; n--) {
        if (existsSync(`${path}.${n}`)) await rename(`${path}.${n}`, `${path}.${n + 1}`);
      }
      await rename(path, `${path}.1`);
    }
    this.fh = await open(path, "a", 0o600);
    this.size = 0;
  }

  /** Flush every buffered line and close the file. Later events are dropped with a warning. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.fh?.close();
    this.fh = null;
  }
}

export function createAuditLog(options: AuditLogOptions = {}): Promise<AuditLog> {
  return AuditLog.open(options);
}

