/**
 * Builds the prefix cache's RAM and disk tiers from the engine settings. The
 * disk store's fingerprint ties saved KV state to the exact model file,
 * llama.cpp build and KV layout, so a file from anything else is never loaded.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { KvRamStore } from "../cache/kv-ram-store";
import type { EngineInit } from "../engine/messages";
import type { Logger } from "../shared/logger";
import { KvFileStore } from "./kv-file-store";
import type { PrefixCacheTiers } from "./prefix-cache";
import { cacheTiersEnabled, type Runner } from "./runner";

/** Prefixes shorter than this are recomputed rather than snapshotted (a decode of them is cheap). */
const MIN_TIER_TOKENS = 32;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** What KV state depends on: the model's metadata and size, the libllama build, the KV layout settings. */
export function kvFingerprint(runner: Runner, init: EngineInit): string {
  const m = runner.model;
  const lib = runner.binding.location.llamaPath;
  const parts = { v: 1, meta: m.metadata, size: m.sizeBytes, nParams: m.nParams, lib: { path: lib, size: fileSize(lib) }, flashAttn: init.flashAttn };
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** The tiers, or null when neither is configured. The scratch sequence is the context's last sequence id. */
export function createCacheTiers(runner: Runner, init: EngineInit, log: Logger): PrefixCacheTiers | null {
  if (!cacheTiersEnabled(init)) return null;
  const ram = init.cacheRamBytes > 0 ? new KvRamStore(init.cacheRamBytes) : undefined;
  const disk = init.cacheDiskPath
    ? KvFileStore.open({ dir: init.cacheDiskPath, maxBytes: init.cacheDiskMaxBytes, fingerprint: kvFingerprint(runner, init), log: log.child("kv-disk") })
    : undefined;
  if (disk) log.info("prefix cache disk tier", { path: init.cacheDiskPath, ...disk.stats() });
  return { ram, disk, scratch: runner.ctx.nSeqMax - 1, residentTokens: init.cacheResidentTokens, minTokens: MIN_TIER_TOKENS };
}
