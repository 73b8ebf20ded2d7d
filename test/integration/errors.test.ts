/**
 * Bad input gets OpenAI-shaped errors with the right status, and the server
 * keeps serving: malformed JSON, wrong types, unknown model, overflow,
 * unsupported options, a full admission queue, and no model at all.
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";

const MODEL = "stories260K-chatml";

async function post(url: string, path: string, body: string | object, headers: Record<string, string> = { "content-type": "application/json" }) {
  const r = await fetch(url + path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text, headers: r.headers };
}

function expectError(res: { status: number; json: any }, status: number, param?: string | null) {
  expect(res.status).toBe(status);
  expect(typeof res.json?.error?.message).toBe("string");
  expect(typeof res.json?.error?.type).toBe("string");
  expect("code" in res.json.error).toBe(true);
  expect("param" in res.json.error).toBe(true);
  if (param !== undefined) expect(res.json.error.param).toBe(param);
}

describe.skipIf(!haveModels)("error handling", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML, "--ctx-size", "1024", "--parallel", "2", "--max-queue", "1"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  const chat = (extra: object) => ({ model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, ...extra });

  test("malformed and non-object JSON bodies are 400", async () => {
    for (const body of ["{bad", "", "[1,2]", "42", "null", '"str"', "{\"model\":", "\u0000\u0001"]) {
      const r = await post(server.url, "/v1/chat/completions", body);
      expectError(r, 400);
      expect(r.json.error.type).toBe("invalid_request_error");
    }
    expectError(await post(server.url, "/v1/completions", "model=x", { "content-type": "application/x-www-form-urlencoded" }), 400);
  });

  test("wrong types and ranges name the field", async () => {
    const cases: [object, string][] = [
      [chat({ temperature: "hot" }), "temperature"],
      [chat({ temperature: 7 }), "temperature"],
      [chat({ max_tokens: -1 }), "max_tokens"],
      [chat({ max_tokens: 1.5 }), "max_tokens"],
      [chat({ top_p: 2 }), "top_p"],
      // Infinite logits: a 500 with a grammar, or an engine stalled for seconds (1e-320 is 0 as a 32-bit float).
      [chat({ repeat_penalty: 0, grammar: 'root ::= "a"' }), "repeat_penalty"],
      [chat({ repeat_penalty: 1e-320 }), "repeat_penalty"],
      [chat({ stream: "yes" }), "stream"],
      [chat({ stop: [1, 2] }), "stop"],
      [chat({ logit_bias: { "1": 500 } }), "logit_bias"],
      [chat({ messages: [] }), "messages"],
      [chat({ messages: [{ role: "wizard", content: "x" }] }), "messages[0].role"],
      [chat({ messages: "hello" }), "messages"],
      [{ messages: [{ role: "user", content: "x" }] }, "model"],
      [chat({ model: 42 }), "model"],
    ];
    for (const [body, param] of cases) expectError(await post(server.url, "/v1/chat/completions", body), 400, param);
    expectError(await post(server.url, "/v1/completions", { model: MODEL }), 400, "prompt");
    expectError(await post(server.url, "/v1/completions", { model: MODEL, prompt: [] }), 400, "prompt");
  });

  test("semantic errors: unknown model 404, bad token ids, n > 1, unsupported options", async () => {
    expectError(await post(server.url, "/v1/chat/completions", chat({ model: "gpt-4" })), 404, "model");
    expect((await post(server.url, "/v1/chat/completions", chat({ model: "gpt-4" }))).json.error.code).toBe("model_not_found");
    expectError(await post(server.url, "/v1/completions", { model: MODEL, prompt: [1, 99999] }), 400);
    expectError(await post(server.url, "/v1/completions", { model: MODEL, prompt: [-3] }), 400);
    expectError(await post(server.url, "/v1/chat/completions", chat({ logit_bias: { "99999": 1 } })), 400, "logit_bias");
    expectError(await post(server.url, "/v1/chat/completions", chat({ logit_bias: { abc: 1 } })), 400, "logit_bias");
    expectError(await post(server.url, "/v1/chat/completions", chat({ n: 2 })), 400, "n");
    expectError(await post(server.url, "/v1/chat/completions", chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] })), 400);
    expectError(await post(server.url, "/v1/chat/completions", chat({ stop: [""] })), 400, "stop");
    expectError(await post(server.url, "/v1/chat/completions", chat({ top_logprobs: 2 })), 400, "top_logprobs");
    expectError(await post(server.url, "/v1/completions", { model: MODEL, prompt: ["a", "b"] }), 400, "prompt");
  });

  test("a prompt longer than the context is 400 with the token counts, never truncated", async () => {
    const long = "word ".repeat(3000);
    const r = await post(server.url, "/v1/completions", { model: MODEL, prompt: long, max_tokens: 5 });
    expectError(r, 400);
    expect(r.json.error.code).toBe("context_length_exceeded");
    expect(r.json.error.message).toMatch(/1024 tokens/);
    expect(r.json.error.message).toMatch(/\d{4} tokens/);
    const s = await post(server.url, "/v1/completions", { model: MODEL, prompt: long, max_tokens: 5, stream: true });
    expectError(s, 400);
  });

  test("unknown routes are 404 in the same shape; health probes answer", async () => {
    const r = await fetch(`${server.url}/v1/nothing`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error.code).toBe("unknown_route");
    for (const p of ["/healthz", "/livez", "/readyz"]) expect((await fetch(server.url + p)).status).toBe(200);
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(spec.paths["/v1/chat/completions"]).toBeDefined();
  });

  test("a full admission queue answers 429 with Retry-After", async () => {
    // parallel 2 + max-queue 1: a fourth concurrent request is refused.
    const long = { model: MODEL, prompt: "Once upon a time", max_tokens: 600, ignore_eos: true, temperature: 0 };
    const inflight = [0, 1, 2].map(() => post(server.url, "/v1/completions", long));
    await Bun.sleep(30);
    const r = await post(server.url, "/v1/completions", long);
    expectError(r, 429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const done = await Promise.all(inflight);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
  });

  test("after all of the above, the server still serves", async () => {
    const r = await post(server.url, "/v1/completions", { model: MODEL, prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].text.length).toBeGreaterThan(0);
  });
});

describe("no model loaded", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer([], { INFERFLUX_MODEL_PATH: "" }, false);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("readyz is 503 and inference is 503 with a clear message", async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    const r = await post(server.url, "/v1/chat/completions", { model: "any", messages: [{ role: "user", content: "x" }] });
    expectError(r, 503);
    expect(r.json.error.message).toMatch(/no model is loaded/);
    expect(((await (await fetch(`${server.url}/v1/models`)).json()) as any).data).toEqual([]);
  });
});

describe.skipIf(!haveModels)("oversized bodies", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML, "--set", "server.max_body_bytes=65536"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("a body over server.max_body_bytes is a JSON 413, and the server keeps serving", async () => {
    const big = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "a".repeat(100_000) }] });
    const r = await post(server.url, "/v1/chat/completions", big);
    expectError(r, 413);
    expect(r.json.error.code).toBe("body_too_large");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("a model path that does not exist", () => {
  test("serve stops with a message naming the path", () => {
    const p = Bun.spawnSync([process.execPath, resolve(import.meta.dir, "../../cli/main.ts"), "serve", "--model", "/nonexistent/model.gguf", "--port", "0"], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    expect(p.exitCode).not.toBe(0);
    expect(p.stdout.toString() + p.stderr.toString()).toContain("model file /nonexistent/model.gguf does not exist");
  });
});
