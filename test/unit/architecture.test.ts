/**
 * Keeps the import directions of ARCHITECTURE.md true by reading every
 * import statement under src/, ffi/ and cli/.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** The area of a file: "src/<module>", "ffi", "cli". */
function areaOf(path: string): string {
  const rel = relative(ROOT, path).split("/");
  if (rel[0] !== "src") return rel[0];
  // src/main.ts and "../main" are the composition root; anything else under src/ is its module folder.
  return rel.length > 2 || !/^main(\.ts)?$/.test(rel[1]) ? `src/${rel[1].replace(/\.ts$/, "")}` : "src/main";
}

const ALLOWED: Record<string, string[]> = {
  "src/shared": [],
  "src/config": ["src/shared"],
  "src/protocol": ["src/shared", "src/engine"], // engine message types only
  "src/grammar": ["src/shared"],
  "src/chat": ["src/shared"],
  "src/cache": ["src/shared"],
  "src/scheduler": ["src/shared", "src/cache"],
  "src/policy": ["src/shared", "src/config"],
  "src/metrics": ["src/shared"],
  "src/models": ["src/shared"],
  "src/engine": ["src/shared"],
  "src/worker": ["src/shared", "src/scheduler", "src/cache", "src/chat", "src/engine", "ffi"],
  "src/server": ["src/shared", "src/protocol", "src/policy", "src/grammar", "src/chat", "src/engine", "src/config", "src/metrics", "src/models"],
  "src/main": ["src/shared", "src/config", "src/engine", "src/server", "src/metrics", "src/policy"],
  ffi: ["src/shared"],
  cli: ["src/main", "src/config", "src/shared", "src/server", "src/policy"],
};

describe("architecture", () => {
  const all = [...files(join(ROOT, "src")), ...files(join(ROOT, "ffi")), ...files(join(ROOT, "cli"))];
  test("imports go only the allowed ways; elysia only in src/server; ffi only from src/worker", () => {
    const problems: string[] = [];
    for (const f of all) {
      const area = areaOf(f);
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'\n]*?from\s+["']([^"']+)["']/g)) {
        const spec = m[1];
        if (spec === "elysia" || spec.startsWith("@elysiajs/")) {
          if (area !== "src/server") problems.push(`${relative(ROOT, f)} imports ${spec}`);
          continue;
        }
        if (!spec.startsWith(".")) continue;
        const target = areaOf(resolve(dirname(f), spec));
        if (target === area) continue;
        if (!(ALLOWED[area] ?? []).includes(target)) problems.push(`${relative(ROOT, f)} (${area}) imports ${spec} (${target})`);
      }
    }
    expect(problems).toEqual([]);
  });
});
