/**
 * Crash-safe file replacement: write a temp file in the same directory
 * (mode 0600), fsync it, rename it over the target, fsync the directory.
 * A reader (or a restart after SIGKILL) sees the old or the new file, whole.
 */
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function tmpPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${tmpPrefix(path)}${process.pid}-${crypto.randomUUID().slice(0, 8)}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  let dh;
  try {
    dh = await open(dir, "r");
    await dh.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    await dh?.close().catch(() => {});
  }
}

/** Remove temp files left by writers killed mid-write (older than `olderThanMs`). */
export function cleanStaleTemps(path: string, olderThanMs = 60_000): number {
  const dir = dirname(path);
  const prefix = tmpPrefix(path);
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const cutoff = Date.now() - olderThanMs;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      const full = join(dir, name);
      if (statSync(full).mtimeMs < cutoff) {
        unlinkSync(full);
        removed++;
      }
    } catch {
      // raced with another cleaner
    }
  }
  return removed;
}
