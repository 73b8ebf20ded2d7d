/**
 * Guardrails over real HTTP: blocked prompts are refused (400
 * content_policy_violation) on chat and completions, streamed or not; a
 * completion that generates a blocked word is refused when collected and
 * cut off with an error event when streamed (nothing after the word); admin
 * changes apply within 250 ms.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";
import { api, MODEL_ID, runCli, sseEvents, tempDir, writeConfig } from "../helpers/policy-helpers";

const ADMIN_KEY = "guard-admin-key-0123456789";
const GEN_KEY = "guard-gen-key-0123456789";
const ENV_BLOCKLIST = ["forbiddenfruit", "contraband"];
const STORY = "Once upon a time";

describe.skipIf(!haveModels)("guardrails", () => {
  const tmp = tempDir("guard");
  let server: TestServer;
  let client: OpenAI;
  let baseline = ""; // the greedy completion of STORY with nothing blocked

  beforeAll(async () => {
    const config = writeConfig(tmp.path("server.yaml"), {
      auth: { api_keys: [{ key: ADMIN_KEY, scopes: ["admin"] }, { key: GEN_KEY, scopes: ["generate", "read"] }] },
      runtime: { ctx_size: 1024, parallel: 2 },
    });
    server = await startTestServer(["--config", config, "--model", STORIES_CHATML], { INFERFLUX_GUARDRAIL_BLOCKLIST: ENV_BLOCKLIST.join(",") });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: GEN_KEY, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  const setBlocklist = (blocklist: string[]) => api(server.url, "PUT", "/v1/admin/guardrails", { key: ADMIN_KEY, body: { blocklist } });
  const complete = (extra: object = {}) =>
    api(server.url, "POST", "/v1/completions", { key: GEN_KEY, body: { model: MODEL_ID, prompt: STORY, max_tokens: 40, temperature: 0, ...extra } });
  const chat = (content: string, extra: object = {}) =>
    api(server.url, "POST", "/v1/chat/completions", { key: GEN_KEY, body: { model: MODEL_ID, messages: [{ role: "user", content }], max_tokens: 40, temperature: 0, ...extra } });

  function expectViolation(r: { status: number; json: any; text: string }, direction: "prompt" | "completion") {
    expect(r.status, r.text).toBe(400);
    expect(r.json.error.code).toBe("content_policy_violation");
    expect(r.json.error.type).toBe("invalid_request_error");
    expect(r.json.error.message).toContain(direction);
  }

  test("the configured blocklist (INFERFLUX_GUARDRAIL_BLOCKLIST) is in effect", async () => {
    const g = await api(server.url, "GET", "/v1/admin/guardrails", { key: ADMIN_KEY });
    expect(g.status).toBe(200);
    expect(g.json.blocklist).toEqual(ENV_BLOCKLIST);
  });

  test("a blocked word in the prompt → 400 content_policy_violation (chat and completions, streamed or not)", async () => {
    expectViolation(await complete({ prompt: "I ate the forbiddenfruit today" }), "prompt");
    expectViolation(await complete({ prompt: "Some CONTRABAND here", stream: true }), "prompt");
    expectViolation(await chat("Where is the Contraband?"), "prompt");
    const streamed = await chat("forbiddenfruit please", { stream: true });
    expectViolation(streamed, "prompt");
    expect(streamed.headers.get("content-type")).toContain("application/json");
    // In any message of the conversation, the system prompt included.
    const sys = await api(server.url, "POST", "/v1/chat/completions", {
      key: GEN_KEY,
      body: { model: MODEL_ID, max_tokens: 4, messages: [{ role: "system", content: "talk about contraband" }, { role: "user", content: "hello" }] },
    });
    expectViolation(sys, "prompt");
    // Through the openai SDK: a BadRequestError carrying the code.
    const err = await client.chat.completions.create({ model: MODEL_ID, messages: [{ role: "user", content: "forbiddenfruit" }], max_tokens: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.code).toBe("content_policy_violation");
    // Clean prompts pass.
    expect((await chat("Hello there", { max_tokens: 2 })).status).toBe(200);
  });

  test("a completion that generates a blocked word: 400 when collected, cut off with an error event when streamed", async () => {
    const base = await complete();
    expect(base.status).toBe(200);
    baseline = base.json.choices[0].text;
    expect(baseline).toMatch(/\bpark\b/); // the greedy story: "..., there was a little girl named Lily. She loved to play outside in the park..."
    expect((await setBlocklist([...ENV_BLOCKLIST, "park"])).status).toBe(200);

    // Non-streaming: no partial text, a policy error.
    const blocked = await complete();
    expectViolation(blocked, "completion");
    expect(blocked.text).not.toContain("Lily");

    // Streaming (raw SSE).
    const s = await complete({ stream: true });
    expect(s.status).toBe(200);
    const events = sseEvents(s.text);
    expect(events[events.length - 1]).toBe("[DONE]");
    const last = events[events.length - 2] as any;
    expect(last.error?.code).toBe("content_policy_violation");
    expect(last.error?.type).toBe("invalid_request_error");
    const chunks = events.slice(0, -2) as any[];
    for (const c of chunks) {
      expect(c.error).toBeUndefined();
      expect(c.choices[0].finish_reason).toBeNull();
    }
    const text = chunks.map((c) => c.choices[0].text).join("");
    // Exactly the greedy text before the blocked word: no part of it is sent, whatever the chunking.
    expect(text).toBe(baseline.slice(0, baseline.search(/\bpark\b/)));
    expect(text.length).toBeGreaterThan(0);

    // Streaming through the openai SDK: the error event surfaces as an APIError.
    const stream = await client.completions.create({ model: MODEL_ID, prompt: STORY, max_tokens: 40, temperature: 0, stream: true });
    let sdkText = "";
    const sdkErr = await (async () => {
      for await (const chunk of stream) sdkText += chunk.choices[0]?.text ?? "";
    })().catch((e) => e);
    expect(sdkErr).toBeInstanceOf(OpenAI.APIError);
    expect(JSON.stringify(sdkErr.error ?? sdkErr.message)).toContain("content_policy_violation");
    expect(sdkText).toBe(text);
  });

  test("a blocked word that is the last token: the stream ends with the error, not with a finish chunk", async () => {
    expect((await setBlocklist(ENV_BLOCKLIST)).status).toBe(200);
    // How many tokens until the story says "park": count them with logprobs (streamed chunks may hold several tokens).
    const probe = await complete({ logprobs: 0, max_tokens: 40 });
    const tokens: string[] = JSON.parse(probe.text).choices[0].logprobs.tokens;
    let n = 0;
    let acc = "";
    for (const t of tokens) {
      n++;
      acc += t;
      if (/\bpark$/.test(acc)) break;
    }
    expect(acc).toMatch(/\bpark$/);
    expect((await setBlocklist([...ENV_BLOCKLIST, "park"])).status).toBe(200);
    expectViolation(await complete({ max_tokens: n }), "completion");
    const s = await complete({ max_tokens: n, stream: true });
    const events = sseEvents(s.text) as any[];
    const text = events.filter((e) => typeof e === "object" && e.choices).map((e) => e.choices[0].text).join("");
    expect(text).toBe(acc.slice(0, acc.search(/\bpark$/))); // the run ended on the blocked word, and none of it was sent
    expect(events[events.length - 2]?.error?.code).toBe("content_policy_violation");
    // The final verdict comes before the finish chunk: no finished choice precedes the error.
    const finishes = events.filter((e) => typeof e === "object" && e.choices?.[0]?.finish_reason).map((e) => e.choices[0].finish_reason);
    expect(finishes).toEqual([]);
  });

  test("chat output is checked too (streamed and not)", async () => {
    expect((await setBlocklist(ENV_BLOCKLIST)).status).toBe(200);
    const base = await chat(STORY);
    expect(base.status).toBe(200);
    const content: string = base.json.choices[0].message.content;
    // A word that occurs once, with text before it.
    const words = [...content.matchAll(/[A-Za-z]{4,}/g)].map((m) => ({ w: m[0], at: m.index! }));
    const pick = words.filter((x) => x.at > 0 && words.filter((y) => y.w.toLowerCase() === x.w.toLowerCase()).length === 1).pop();
    expect(pick).toBeDefined();
    const word = pick!.w;
    expect((await setBlocklist([...ENV_BLOCKLIST, word.toLowerCase()])).status).toBe(200);

    expectViolation(await chat(STORY), "completion");
    const s = await chat(STORY, { stream: true });
    expect(s.status).toBe(200);
    const events = sseEvents(s.text);
    expect(events[events.length - 1]).toBe("[DONE]");
    expect((events[events.length - 2] as any).error?.code).toBe("content_policy_violation");
    const text = (events.slice(0, -2) as any[]).map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
    expect(text).toBe(content.slice(0, pick!.at)); // the text before the blocked word, none of the word
  });

  test("admin changes take effect in < 250 ms, both ways", async () => {
    const t0 = performance.now();
    expect((await setBlocklist([...ENV_BLOCKLIST, "zephyrine"])).status).toBe(200);
    const r = await complete({ prompt: "the zephyrine wind", max_tokens: 1 });
    const addMs = performance.now() - t0;
    expectViolation(r, "prompt");
    expect(addMs).toBeLessThan(250);

    const t1 = performance.now();
    expect((await setBlocklist(ENV_BLOCKLIST)).status).toBe(200);
    const ok = await complete({ prompt: "the zephyrine wind", max_tokens: 1 });
    const removeMs = performance.now() - t1;
    expect(ok.status).toBe(200);
    expect(removeMs).toBeLessThan(250);

    // The output side too: "park" blocked right after the PUT.
    const t2 = performance.now();
    expect((await setBlocklist([...ENV_BLOCKLIST, "park"])).status).toBe(200);
    expectViolation(await complete(), "completion");
    expect(performance.now() - t2).toBeLessThan(1000); // includes generating ~25 tokens on a shared CPU
  });

  test("invalid admin input is refused and changes nothing; the CLI sets the blocklist", async () => {
    expect((await setBlocklist(ENV_BLOCKLIST)).status).toBe(200);
    for (const body of [{ blocklist: [""] }, { blocklist: "park" }, { blocklist: [42] }, { regexes: ["("] }, [1, 2]]) {
      const r = await api(server.url, "PUT", "/v1/admin/guardrails", { key: ADMIN_KEY, body });
      expect(r.status, `${JSON.stringify(body)} → ${r.text}`).toBe(400);
    }
    expect((await api(server.url, "GET", "/v1/admin/guardrails", { key: ADMIN_KEY })).json.blocklist).toEqual(ENV_BLOCKLIST);
    // Only admins may change guardrails.
    expect((await api(server.url, "PUT", "/v1/admin/guardrails", { key: GEN_KEY, body: { blocklist: [] } })).status).toBe(403);

    const cli = await runCli(["admin", "guardrails", "--set", "alpha,beta gamma", "--port", String(server.port), "--api-key", ADMIN_KEY]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).blocklist).toEqual(["alpha", "beta gamma"]);
    expectViolation(await complete({ prompt: "say beta   gamma", max_tokens: 1 }), "prompt");
    expect((await complete({ prompt: "forbiddenfruit", max_tokens: 1 })).status).toBe(200); // the list was replaced
  }, 20_000);
});
