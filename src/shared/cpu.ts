/** Physical core count (not hardware threads): llama.cpp decodes fastest with one thread per core. */
import { cpus } from "node:os";
import { readFileSync } from "node:fs";

let cached: number | undefined;

export function physicalCores(): number {
  if (cached) return cached;
  cached = linuxPhysicalCores() ?? Math.max(1, cpus().length);
  return cached;
}

function linuxPhysicalCores(): number | undefined {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    let phys = "0";
    for (const line of info.split("\n")) {
      const [k, v] = line.split(":").map((s) => s?.trim());
      if (k === "physical id") phys = v;
      else if (k === "core id") cores.add(`${phys}:${v}`);
    }
    return cores.size || undefined;
  } catch {
    return undefined;
  }
}
