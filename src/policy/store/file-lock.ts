/**
 * An advisory lock between processes that share one policy store file: a
 * `<file>.lock` created with O_EXCL holding the owner's pid and host. A lock
 * whose owner process is gone (same host) or that is older than staleMs is
 * broken, so a crashed writer never blocks the others for long.
 */
import { open, readFile, unlink, stat } from "node:fs/promises";
import { hostname } from "node:os";

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

/** Runs fn while holding the lock; throws when it cannot be taken within timeoutMs. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, o: FileLockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  const staleMs = o.staleMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lockPath, "wx", 0o600);
      await fh.writeFile(`${process.pid} ${hostname()} ${Date.now()}`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const text = await readFile(lockPath, "utf8").catch(() => "");
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if ((text && ownerGone(text)) || age > staleMs) {
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
