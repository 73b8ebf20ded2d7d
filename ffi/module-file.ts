/**
 * Which shared library a native address lies in, from Linux's /proc/self/maps.
 * ggml's CPU backend is a module loaded at run time (one of several CPU
 * variants) and hands out only some of its functions through the backend
 * registry; the file found here lets bun:ffi open that same module (already
 * loaded, so the same instance) for the others it exports. backends.ts reads
 * the same map to tell which CPU variant ggml loaded.
 */
import { readFileSync } from "node:fs";

/** The mapped file holding `address` in a maps listing, or undefined (anonymous memory, no match). */
export function mappedFileAt(maps: string, address: bigint): string | undefined {
  for (const line of maps.split("\n")) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(line);
    if (!m) continue;
    if (address >= BigInt(`0x${m[1]}`) && address < BigInt(`0x${m[2]}`)) return m[3].trim();
  }
  return undefined;
}

/** This process's memory map (/proc/self/maps); undefined off Linux or when unreadable. */
export function processMaps(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return readFileSync("/proc/self/maps", "utf8");
  } catch {
    return undefined;
  }
}

/** The library file this process has mapped at `address`; undefined off Linux or when unknown. */
export function moduleFileOf(address: number | bigint): string | undefined {
  const maps = processMaps();
  return maps === undefined ? undefined : mappedFileAt(maps, BigInt(address));
}
