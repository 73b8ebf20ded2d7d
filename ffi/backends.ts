/**
 * Chooses the directory ggml loads its backend modules from (CPU variants, CUDA, Metal,
 * Vulkan), leaving out CPU variants that would crash on this machine, and tells which CPU
 * variant was loaded.
 *
 * Why: at the pinned llama.cpp, ggml_tile_config_init (ggml-cpu/amx/mmq.cpp) fills a tile
 * configuration on the stack that only the LDTILECFG intrinsic reads, and GCC 12 drops the
 * stores as dead: LDTILECFG loads zeros, and on a CPU with AMX (Sapphire Rapids and later)
 * the first Q4_0/Q4_1/Q8_0 matrix product of a prompt dies with SIGILL (upstream
 * ggml-org/llama.cpp PR 26954). build.sh builds carry our fix
 * (llama.cpp/patches/ggml-amx-tile-config.diff) and say so in inferflux-build.txt; a
 * build.sh build made before it, on an AMX CPU, gets its AMX variant left out (portable
 * builds) or a warning (single-module builds). The npm prebuilt's sapphirerapids variant
 * was compiled with the stores in place (checked with objdump) and is used as it is.
 * INFERFLUX_CPU_VARIANT=<name> forces one variant of a multi-variant directory.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cachedLinkDir, type LibraryLocation } from "./library";
import { processMaps } from "./module-file";

/** CPU variants of the prebuilt that contain the AMX kernels (GGML_CPU_ALL_VARIANTS, x86). */
export const AMX_CPU_VARIANTS = ["sapphirerapids"];
/** The name our fix carries in inferflux-build.txt's source_patches. */
export const AMX_PATCH = "ggml-amx-tile-config.diff";

export interface BackendPlan {
  /** Where ggml_backend_load_all_from_path looks. */
  dir: string;
  /** CPU variants left out, and why (empty when nothing is). */
  excluded: string[];
  reason?: string;
  /** Left out because INFERFLUX_CPU_VARIANT chose another. */
  forced?: boolean;
  /** A problem the plan cannot avoid (an unpatched single-module build on an AMX CPU). */
  warning?: string;
}

export interface BackendFacts {
  /** File names in the library directory. */
  files: string[];
  /** The host CPU's feature flags (/proc/cpuinfo on Linux; empty elsewhere). */
  cpuFlags: Set<string>;
  /** inferflux-build.txt of a source build, when there is one. */
  buildInfo?: string;
  env: Record<string, string | undefined>;
}

const VARIANT_FILE = /^libggml-cpu-(.+)\.(so|dylib|dll)$/;

/** CPU variant names in a library directory: libggml-cpu-icelake.so -> icelake. */
export function cpuVariants(files: string[]): string[] {
  return files.flatMap((f) => VARIANT_FILE.exec(f)?.[1] ?? []).sort();
}

export function hostHasAmx(cpuFlags: Set<string>): boolean {
  return cpuFlags.has("amx_tile") || cpuFlags.has("amx_int8");
}

/** Decides which CPU variants to leave out. Pure: the tests drive it with made-up facts. */
export function planExclusions(facts: BackendFacts): Omit<BackendPlan, "dir"> {
  const variants = cpuVariants(facts.files);
  const forced = facts.env.INFERFLUX_CPU_VARIANT?.trim();
  if (forced && forced !== "auto") {
    if (!variants.includes(forced)) {
      throw new Error(
        `INFERFLUX_CPU_VARIANT=${forced}: no libggml-cpu-${forced} in the library directory` +
          (variants.length ? ` (it has: ${variants.join(", ")})` : " (it has a single CPU module)"),
      );
    }
    return { excluded: variants.filter((v) => v !== forced), reason: `INFERFLUX_CPU_VARIANT=${forced}`, forced: true };
  }
  // Only build.sh builds (they leave inferflux-build.txt) are known to lack the fix.
  if (!facts.buildInfo || facts.buildInfo.includes(AMX_PATCH) || !hostHasAmx(facts.cpuFlags)) return { excluded: [] };
  const amx = variants.filter((v) => AMX_CPU_VARIANTS.includes(v));
  if (amx.length) {
    return {
      excluded: amx,
      reason: "this CPU has AMX and the build predates InferFlux's AMX fix (its AMX kernels crash); rebuild with 'bash llama.cpp/build.sh'",
    };
  }
  if (variants.length === 0 && /^cpu_mode=host$/m.test(facts.buildInfo)) {
    return {
      excluded: [],
      warning:
        "this CPU has AMX and the source build predates InferFlux's AMX fix: Q4_0/Q8_0 prompts may crash with SIGILL; " +
        "rebuild with 'bash llama.cpp/build.sh cpu'",
    };
  }
  return { excluded: [] };
}

function readCpuFlags(): Set<string> {
  if (process.platform !== "linux") return new Set();
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => /^flags\s*:/.test(l));
    return new Set(line ? line.slice(line.indexOf(":") + 1).trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** The plan for a library location, with a directory of links that omits the excluded variants. */
export function planBackends(loc: LibraryLocation, env: Record<string, string | undefined> = process.env): BackendPlan {
  const files = readdirSync(loc.dir);
  const buildInfoPath = join(loc.dir, "inferflux-build.txt");
  const buildInfo = existsSync(buildInfoPath) ? readFileSync(buildInfoPath, "utf8") : undefined;
  const plan = planExclusions({ files, cpuFlags: readCpuFlags(), buildInfo, env });
  if (!plan.excluded.length) return { dir: loc.dir, ...plan };
  return { dir: filteredDir(loc.dir, files, plan.excluded), ...plan };
}

/**
 * ggml picks among the libggml-<backend>-*.so files of one directory, so the way to leave one
 * out is a directory of links to all the others (links, not copies: the same files, so the
 * modules' $ORIGIN dependencies resolve to libraries already loaded).
 */
function filteredDir(dir: string, files: string[], excluded: string[]): string {
  const key = Bun.hash(`${dir}|${excluded.join(",")}|${files.join(",")}`).toString(16);
  const skip = new Set(excluded);
  const kept = files.filter((name) => !skip.has(VARIANT_FILE.exec(name)?.[1] ?? ""));
  return cachedLinkDir(`backends-${key}`, kept.map((name) => [name, join(dir, name)]));
}

/** The CPU variant this process mapped (Linux: from /proc/self/maps), e.g. "icelake"; undefined when unknown. */
export function loadedCpuVariant(): string | undefined {
  const maps = processMaps();
  if (maps === undefined) return undefined;
  return /libggml-cpu-([^/\s]+?)\.so/.exec(maps)?.[1] ?? (/libggml-cpu\.so/.test(maps) ? "native" : undefined);
}
