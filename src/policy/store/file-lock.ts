/**
 * An advisory lock between processes that share one policy store file: a
 * `<file>.lock` created with O_EXCL holding the owner's pid and host. A lock
 * whose owner process is gone (same host) or that is older than staleMs is
 * broken, so a crashed writer never blocks the others for long.
 */
import { link, open, readFile, unlink, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

export interface FileLockOptions {
  timeoutMs?: number;
  staleMs?: number;
}

function ownerGone(text: string): boolean {
  const [pidText, host] = text.split(" ");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

const EMPTY_STALE_MS = 1000;

/**
 * Creates `path` holding `content`, failing with EEXIST when it exists, in one
 * step: the content goes to a private temp file that is then hard-linked into
 * place. (Creating the lock and writing the owner afterwards left an empty,
 * ownerless lock when the process died in between, blocking every other
 * writer until the lock went stale.)
 */
async function createWithContent(path: string, content: string, tmp: string): Promise<void> {
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Runs fn while holding the lock; throws when it cannot be taken within timeoutMs. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, o: FileLockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  const staleMs = o.staleMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      // Named like the store's own temp files, so a crash's leftover is cleaned up with them.
      const tmp = join(dirname(path), `.${basename(path)}.tmp-lock-${process.pid}-${Math.random().toString(36).slice(2)}`);
      await createWithContent(lockPath, `${process.pid} ${hostname()} ${Date.now()}`, tmp);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const text = await readFile(lockPath, "utf8").catch(() => "");
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      // A lock is never empty (see createWithContent); an empty one is a leftover of an older build.
      if ((text && ownerGone(text)) || (!text && age > EMPTY_STALE_MS) || age > staleMs) {
        await unlink(lockPath).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error(`policy store is locked by another process (${lockPath})`);
      await Bun.sleep(Math.min(50, 2 + attempt * 2));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}
