/**
 * The JSON Schema contract run, shared by the integration test and
 * bench/schema-contract.ts: every schema of the corpus, several seeds, through
 * /v1/chat/completions with response_format json_schema (strict); each
 * complete output is parsed and validated with ajv.
 */
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import corpus from "../fixtures/schemas/corpus.json";

export const CORPUS = corpus as { name: string; schema: object }[];

export interface ContractResult {
  total: number;
  valid: number;
  /** Cut off by max_tokens: finish_reason "length" with completion_tokens == max_tokens. */
  truncated: number;
  /** Truncated outputs whose usage did not say max_tokens (must be none). */
  badTruncations: string[];
  /** Complete outputs that did not parse or validate, or requests that failed (must be none). */
  invalid: string[];
}

export async function runSchemaContract(
  url: string,
  options: { model: string; seeds: number[]; maxTokens: number; concurrency?: number; onProgress?: (done: number, total: number) => void },
): Promise<ContractResult> {
  const ajv7 = addFormats(new Ajv({ strict: false }));
  const ajv2020 = addFormats(new Ajv2020({ strict: false }));
  const validatorFor = (schema: object) => (String((schema as { $schema?: string }).$schema).includes("draft-07") ? ajv7 : ajv2020).compile(schema);
  const r: ContractResult = { total: 0, valid: 0, truncated: 0, badTruncations: [], invalid: [] };
  const jobs = CORPUS.flatMap((e) => options.seeds.map((seed) => ({ e, seed })));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { e, seed } = jobs[next++];
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: options.model, seed, temperature: 0.8, max_tokens: options.maxTokens,
          messages: [{ role: "user", content: `Give me ${e.name} as JSON.` }],
          response_format: { type: "json_schema", json_schema: { name: "x", schema: e.schema, strict: true } },
        }),
      });
      const body = (await res.json()) as any;
      r.total++;
      options.onProgress?.(r.total, jobs.length);
      const tag = `${e.name}#${seed}`;
      if (res.status !== 200) {
        r.invalid.push(`${tag}: HTTP ${res.status} ${body.error?.message}`);
        continue;
      }
      const choice = body.choices[0];
      if (choice.finish_reason === "length") {
        r.truncated++;
        if (body.usage.completion_tokens !== options.maxTokens) r.badTruncations.push(`${tag}: length after ${body.usage.completion_tokens} tokens`);
        continue;
      }
      if (choice.finish_reason !== "stop") {
        r.invalid.push(`${tag}: finish_reason ${choice.finish_reason}`);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(choice.message.content);
      } catch {
        r.invalid.push(`${tag}: not JSON: ${choice.message.content.slice(0, 80)}`);
        continue;
      }
      const validate = validatorFor(e.schema);
      if (validate(value)) r.valid++;
      else r.invalid.push(`${tag}: ${JSON.stringify(validate.errors?.[0])} in ${choice.message.content.slice(0, 120)}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return r;
}

export function describeContract(r: ContractResult, maxTokens: number): string {
  const pct = (n: number, d: number) => `${((n / Math.max(1, d)) * 100).toFixed(2)}%`;
  return `schema contract: ${CORPUS.length} schemas, ${r.total} outputs, ${r.valid} valid, ${r.truncated} truncated at max_tokens ${maxTokens} (finish_reason length), ${r.invalid.length} invalid; valid overall ${pct(r.valid, r.total)}, valid among complete ${pct(r.valid, r.total - r.truncated)}`;
}
