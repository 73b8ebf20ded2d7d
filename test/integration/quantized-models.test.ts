/**
 * Q8_0 models through the real server, with a prompt long enough for the CPU backend's
 * tiled matrix kernels (AMX on Sapphire Rapids and later). At the pinned llama.cpp those
 * kernels killed the process with SIGILL on an AMX CPU unless the build carries
 * llama.cpp/patches/ggml-amx-tile-config.diff (see ffi/backends.ts): on such a machine this
 * test is what catches a build without it. Run against the library the server picks and,
 * when it is installed and not already that one, the npm prebuilt.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MODELS_DIR, SYNTHETIC } from "../helpers/models";
import { REPO, startTestServer, type TestServer } from "../helpers/server";
import { locateLibrary } from "../../ffi/library";

const STORIES_Q8 = join(MODELS_DIR, "stories260K-q8_0.gguf");
const NPM_DIR = join(REPO, "node_modules", "@node-llama-cpp", `${process.platform}-${process.arch}`, "bins", `${process.platform}-${process.arch}`);

const libraries: [string, Record<string, string>][] = [["default library", {}]];
if (existsSync(NPM_DIR) && locateLibrary().dir !== NPM_DIR) libraries.push(["npm prebuilt", { INFERFLUX_LLAMA_LIB: NPM_DIR }]);

const LONG_PROMPT = "The quick brown fox jumps over the lazy dog while the cat sleeps. ".repeat(24);

async function complete(url: string, model: string, prompt: string) {
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt, max_tokens: 8, temperature: 0 }),
  });
  return { status: r.status, body: (await r.json()) as any };
}

for (const [label, env] of libraries) {
  describe.skipIf(!existsSync(SYNTHETIC) || !existsSync(STORIES_Q8))(`Q8_0 models (${label})`, () => {
    const servers: TestServer[] = [];
    afterAll(async () => Promise.all(servers.map((s) => s.stop())));

    for (const path of [SYNTHETIC, STORIES_Q8]) {
      const model = path.split("/").pop()!.replace(/\.gguf$/, "");
      test(`${model}: a ${LONG_PROMPT.length}-character prompt is answered and the server stays up`, async () => {
        const server = await startTestServer(["--model", path, "--threads", "2", "--ctx-size", "2048", "--set", "cache.enabled=false"], { ...env, INFERFLUX_LOG_LEVEL: "info" });
        servers.push(server);
        const long = await complete(server.url, model, LONG_PROMPT);
        expect(long.status).toBe(200);
        expect(long.body.usage.prompt_tokens).toBeGreaterThan(200);
        expect(long.body.usage.completion_tokens).toBeGreaterThan(0);
        expect(server.proc.exitCode).toBeNull();
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        // The same answer twice: the kernels are deterministic, not reading stale tile state.
        expect((await complete(server.url, model, LONG_PROMPT)).body.choices[0].text).toBe(long.body.choices[0].text);
        // The log names the CPU module that ran it.
        expect(server.logs()).toMatch(/"msg":"libllama loaded".*"cpuVariant":"[\w.]+"/);
      }, 60_000);
    }
  });
}
