/**
 * Finds the libllama build to load, in this order:
 *   1. INFERFLUX_LLAMA_LIB (a directory holding libllama and ggml),
 *   2. a local source build under llama.cpp/build/<backend>/bin,
 *   3. the prebuilt npm package @node-llama-cpp/<platform>@3.22.1.
 * and prepares a directory of unversioned names for TinyCC to link the shim against.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The llama.cpp release whose llama.h this binding was written against (see llama.cpp/VERSION). */
export const PINNED_PACKAGE_VERSION = "3.22.1";
export const PINNED_LLAMA_TAG = "v0.5.0";

export const REPO_ROOT = resolve(import.meta.dir, "..");

export interface LibraryLocation {
  /** Directory with libllama, libggml, libggml-base and the backend libraries. */
  dir: string;
  source: "env" | "source-build" | "npm";
  llamaPath: string;
  ggmlPath: string;
  ggmlBasePath: string;
}

const EXT = process.platform === "darwin" ? "dylib" : process.platform === "win32" ? "dll" : "so";

/** The npm prebuilt package names per platform, as node-llama-cpp names them. */
function npmPlatformPackages(): string[] {
  const { platform, arch } = process;
  if (platform === "linux") return [`linux-${arch}`];
  if (platform === "darwin") return arch === "arm64" ? ["mac-arm64-metal"] : ["mac-x64"];
  if (platform === "win32") return [`win-${arch}`];
  return [];
}

/** Finds a library file by stem: libllama.so, libllama.v0.5.0.so, libllama.0.dylib ... */
function findLib(dir: string, stem: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir);
  const exact = `${stem}.${EXT}`;
  if (names.includes(exact)) return join(dir, exact);
  const versioned = names.filter((n) => n.startsWith(`${stem}.`) && n.endsWith(`.${EXT}`) && /^\.v?[\d.]+$/.test(n.slice(stem.length, -EXT.length - 1)));
  return versioned.length ? join(dir, versioned.sort()[0]) : undefined;
}

function locationIn(dir: string, source: LibraryLocation["source"]): LibraryLocation | undefined {
  const llamaPath = findLib(dir, "libllama");
  const ggmlPath = findLib(dir, "libggml");
  const ggmlBasePath = findLib(dir, "libggml-base");
  if (!llamaPath || !ggmlPath || !ggmlBasePath) return undefined;
  return { dir, source, llamaPath, ggmlPath, ggmlBasePath };
}

/** Resolves the library directory; throws with every place it looked when none is usable. */
export function locateLibrary(env: Record<string, string | undefined> = process.env): LibraryLocation {
  const tried: string[] = [];
  const fromEnv = env.INFERFLUX_LLAMA_LIB;
  if (fromEnv) {
    const loc = locationIn(resolve(fromEnv), "env");
    if (loc) return loc;
    throw new Error(`INFERFLUX_LLAMA_LIB=${fromEnv} holds no libllama/libggml/libggml-base`);
  }
  const buildRoot = join(REPO_ROOT, "llama.cpp", "build");
  for (const backend of ["cuda", "rocm", "vulkan", "metal", "cpu"]) {
    const dir = join(buildRoot, backend, "bin");
    tried.push(dir);
    const loc = locationIn(dir, "source-build");
    if (loc) return loc;
  }
  for (const pkg of npmPlatformPackages()) {
    const dir = join(REPO_ROOT, "node_modules", "@node-llama-cpp", pkg, "bins", pkg);
    tried.push(dir);
    const loc = locationIn(dir, "npm");
    if (loc) return loc;
  }
  throw new Error(
    `no libllama found; looked in ${tried.join(", ")}. Run 'npm ci' (installs @node-llama-cpp/<platform>@${PINNED_PACKAGE_VERSION}), ` +
      `build one with 'bash llama.cpp/build.sh cpu', or set INFERFLUX_LLAMA_LIB`,
  );
}

/**
 * TinyCC links with -lllama -lggml -lggml-base, so it needs unversioned names.
 * The npm package ships versioned ones; make a directory of links in a cache,
 * keyed by the library paths and sizes, created atomically (temp dir + rename).
 */
export function prepareLinkDir(loc: LibraryLocation): string {
  const key = createHash("sha256")
    .update("v2|" + [loc.llamaPath, loc.ggmlPath, loc.ggmlBasePath].map((p) => `${p}:${statSync(p).size}`).join("|"))
    .digest("hex")
    .slice(0, 16);
  // Every sibling by its own name too: libllama's NEEDED entries (libggml.v0.5.0.so)
  // resolve through $ORIGIN, which is this directory when TinyCC dlopens the link.
  const aliases = new Map<string, string>([
    [`libllama.${EXT}`, loc.llamaPath],
    [`libggml.${EXT}`, loc.ggmlPath],
    [`libggml-base.${EXT}`, loc.ggmlBasePath],
  ]);
  // Includes soname links such as libggml.so.0 (source builds) and libggml.v0.5.0.so (npm).
  for (const name of readdirSync(loc.dir)) if (name.includes(`.${EXT}`) && !aliases.has(name)) aliases.set(name, join(loc.dir, name));
  return cachedLinkDir(`link-${key}`, aliases);
}

/**
 * A directory of symbolic links (name -> target) under the cache, made once per name and
 * atomically (temp dir + rename), so a directory that exists is complete even when several
 * processes race to make it.
 */
export function cachedLinkDir(name: string, links: Iterable<[string, string]>): string {
  const base = cacheRoot();
  const dir = join(base, name);
  if (existsSync(dir)) return dir;
  mkdirSync(base, { recursive: true });
  const tmp = join(base, `.${name}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  for (const [link, target] of links) symlinkSync(target, join(tmp, link));
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  return dir;
}

export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const home = homedir();
  const root = xdg ? join(xdg, "inferflux") : home ? join(home, ".cache", "inferflux") : join(tmpdir(), "inferflux-cache");
  return root;
}
