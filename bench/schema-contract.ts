/**
 * Issue 4's contract goal, measured: the whole schema corpus (test/fixtures/schemas)
 * x several seeds through the real server with response_format json_schema,
 * each complete output validated with ajv. Prints the valid rate overall and
 * among complete (not max_tokens-truncated) outputs.
 *
 *   ./node_modules/.bin/bun bench/schema-contract.ts [--max-tokens N] [--seeds 1,2,3] [--model PATH]
 *
 * The fixture models are story models that know nothing of JSON: inside a free
 * string they write on until the token limit, so the overall rate depends on
 * max_tokens; among complete outputs it must be 100%.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, installCleanupHandlers, startInferFlux, stopServer } from "./lib/servers.ts";
import { benchThreads, MODELS, REPO } from "./lib/common.ts";
import { describeContract, runSchemaContract } from "../test/helpers/schema-contract.ts";

const { values } = parseArgs({ options: { "max-tokens": { type: "string" }, seeds: { type: "string" }, model: { type: "string" } } });
const maxTokens = Number(values["max-tokens"] ?? 1024);
const seeds = (values.seeds ?? "1,2,3").split(",").map(Number);
const model = values.model ?? join(MODELS, "stories260K-chatml.gguf");

installCleanupHandlers();
const s = await startInferFlux(REPO, { model, threads: benchThreads(), parallel: 8, ctxSize: 8 * (maxTokens + 512), port: freePort(), logPath: join(REPO, "bench/results/schema-contract.log") }, undefined, [], 180_000);
try {
  const t0 = performance.now();
  const r = await runSchemaContract(s.baseUrl, { model: s.modelId, seeds, maxTokens });
  console.log(describeContract(r, maxTokens) + ` (${seeds.length} seeds, ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  for (const line of [...r.invalid, ...r.badTruncations].slice(0, 20)) console.log(`  ${line}`);
  process.exitCode = r.invalid.length + r.badTruncations.length > 0 ? 1 : 0;
} finally {
  await stopServer(s);
}
