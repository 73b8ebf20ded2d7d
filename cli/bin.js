#!/usr/bin/env node
// The `inferflux` / `inferctl` executable. InferFlux runs on Bun: under Bun this
// imports the CLI directly; under Node (npx) it re-runs itself with the Bun
// binary that `npm ci` installed from the npm package `bun`.
import { join, dirname } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "main.ts");
if (typeof globalThis.Bun !== "undefined") {
  await import(entry);
} else {
  const { spawn } = await import("node:child_process");
  const root = dirname(here);
  const candidates = [
    process.env.INFERFLUX_BUN,
    join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun"),
    join(root, "node_modules", "bun", "bin", "bun.exe"),
  ].filter(Boolean);
  const bun = candidates.find((p) => existsSync(p)) || "bun";
  const child = spawn(bun, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
  child.on("error", (e) => {
    console.error(`inferflux: cannot start Bun (${bun}): ${e.message}. Run 'npm ci' in ${root} first.`);
    process.exit(1);
  });
}
