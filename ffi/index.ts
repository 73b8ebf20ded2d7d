/**
 * Loads libllama and ggml once per thread: locate the library, compile the
 * shim, load backends, route llama.cpp's log through our logger.
 * Only src/worker/ (and tests of this binding) import this module.
 */
import { dlopen, JSCallback, FFIType, CString, type Pointer } from "bun:ffi";
import type { Logger } from "../src/shared/logger";
import { locateLibrary, prepareLinkDir, type LibraryLocation } from "./library";
import { ggmlSymbols, llamaSymbols } from "./symbols";
import { compileShim, type Shim } from "./shim";
import { loadedCpuVariant, planBackends } from "./backends";

export type LlamaSymbols = ReturnType<typeof dlopen<typeof llamaSymbols>>["symbols"];
export type GgmlSymbols = ReturnType<typeof dlopen<typeof ggmlSymbols>>["symbols"];

export interface LlamaBinding {
  llama: LlamaSymbols;
  ggml: GgmlSymbols;
  shim: Shim;
  location: LibraryLocation;
  /** Backend registries that loaded, e.g. ["CPU"] or ["CUDA", "CPU"]. */
  backends: string[];
  /** Devices as "name: description". */
  devices: string[];
  /** The CPU module loaded ("icelake", "native" for a single-module build), when it can be told. */
  cpuVariant?: string;
}

let loaded: LlamaBinding | undefined;
let logCallback: JSCallback | undefined;

// ggml log levels: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 cont
const GGML_LEVEL = ["debug", "debug", "info", "warn", "error", "debug"] as const;
/** Warnings libllama prints on paths taken on purpose (an interrupted decode drops its last ubatch): logged at debug. */
const EXPECTED_WARNINGS = [/^decode: removing memory module entries/];

/** Loads the binding (idempotent within a thread). Throws with a clear message when the library is missing or mismatched. */
export function loadLlama(logger: Logger): LlamaBinding {
  if (loaded) return loaded;
  process.env.GGML_NO_BACKTRACE ??= "1"; // a GGML abort must not launch gdb
  const location = locateLibrary();
  const linkDir = prepareLinkDir(location);
  const shim = compileShim(linkDir);
  const { symbols: llama } = dlopen(location.llamaPath, llamaSymbols);
  const { symbols: ggml } = dlopen(location.ggmlPath, ggmlSymbols);
  installLogger(shim, logger.child("llama.cpp"));
  const plan = planBackends(location);
  // Forced by the operator: worth a line, not a warning.
  if (plan.excluded.length) logger[plan.forced ? "info" : "warn"]("CPU variants left out", { excluded: plan.excluded, reason: plan.reason });
  if (plan.warning) logger.warn(plan.warning);
  ggml.ggml_backend_load_all_from_path(Buffer.from(plan.dir + "\0"));
  llama.llama_backend_init();
  const backends: string[] = [];
  for (let i = 0; i < Number(ggml.ggml_backend_reg_count()); i++) {
    backends.push(String(ggml.ggml_backend_reg_name(ggml.ggml_backend_reg_get(i))));
  }
  const devices: string[] = [];
  for (let i = 0; i < Number(ggml.ggml_backend_dev_count()); i++) {
    const dev = ggml.ggml_backend_dev_get(i);
    devices.push(`${ggml.ggml_backend_dev_name(dev)}: ${ggml.ggml_backend_dev_description(dev)}`);
  }
  const cpuVariant = loadedCpuVariant();
  logger.info("libllama loaded", { path: location.llamaPath, source: location.source, backends, cpuVariant, devices });
  loaded = { llama, ggml, shim, location, backends, devices, cpuVariant };
  return loaded;
}

/**
 * llama.cpp logs in fragments (level 5 = continuation); collect a line and
 * emit it at the level of the fragment that began it. threadsafe: ggml may
 * log from its worker threads. The callback runs later on this thread, so the
 * shim hands it a heap copy of the text, freed here once read.
 */
function installLogger(shim: Shim, log: Logger): void {
  let pending = "";
  let pendingLevel: (typeof GGML_LEVEL)[number] = "info";
  logCallback = new JSCallback(
    (level: number, text: Pointer | null) => {
      if (!text) return;
      const chunk = new CString(text).toString();
      shim.ifx_free(text);
      if (level !== 5) pendingLevel = GGML_LEVEL[level] ?? "info";
      pending += chunk;
      if (!pending.endsWith("\n")) return;
      const line = pending.trimEnd();
      pending = "";
      if (!line) return;
      log[pendingLevel === "warn" && EXPECTED_WARNINGS.some((re) => re.test(line)) ? "debug" : pendingLevel](line);
    },
    { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.void, threadsafe: true },
  );
  shim.ifx_log_set(logCallback.ptr);
}

export { locateLibrary, prepareLinkDir } from "./library";
