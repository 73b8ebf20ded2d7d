/**
 * The OpenAI API over the real server on stories260K-chatml, driven by the
 * official `openai` SDK: streaming vs non-streaming, concurrency, seeds,
 * stop strings, logprobs, cancellation and health under load.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { metric, startTestServer, type TestServer } from "../helpers/server";

const MODEL = "stories260K-chatml";
let server: TestServer;
let client: OpenAI;

describe.skipIf(!haveModels)("OpenAI API (stories260K-chatml)", () => {
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML, "--parallel", "4", "--ctx-size", "4096"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  }, 60_000);
  afterAll(async () => server?.stop());

  const greedy = async (prompt: string, max = 40) =>
    (await client.completions.create({ model: MODEL, prompt, max_tokens: max, temperature: 0 })).choices[0].text;

  test("greedy completion matches the model's known continuation", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
    expect(r.choices[0].text.startsWith(", there was a little girl named Lily. She loved to play outside")).toBe(true);
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 24, total_tokens: 29 });
    expect((r.usage as any).prompt_tokens_details.cached_tokens).toBe(0);
  });

  test("streaming equals non-streaming at temperature 0 (completions and chat)", async () => {
    const whole = await greedy("The little dog", 50);
    let streamed = "";
    let finish: string | null = null;
    const s = await client.completions.create({ model: MODEL, prompt: "The little dog", max_tokens: 50, temperature: 0, stream: true });
    for await (const c of s) {
      streamed += c.choices[0]?.text ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(whole);
    expect(finish).toBe("length");

    const messages = [{ role: "user" as const, content: "Tell me a story" }];
    const chat = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 40, temperature: 0 });
    let chatStreamed = "";
    let usage: any;
    const cs = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 40, temperature: 0, stream: true, stream_options: { include_usage: true } });
    for await (const c of cs) {
      chatStreamed += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(chatStreamed).toBe(chat.choices[0].message.content!);
    expect(usage.completion_tokens).toBe(chat.usage!.completion_tokens);
    expect(usage.prompt_tokens).toBe(chat.usage!.prompt_tokens);
  });

  test("8 concurrent requests give the same greedy text as each alone", async () => {
    const prompts = ["Once upon a time", "The cat", "Tom had a ball", "One day", "Lily saw a bird", "The sun was", "A big dog", "Sam and Mia"];
    const alone: string[] = [];
    for (const p of prompts) alone.push(await greedy(p));
    const together = await Promise.all(prompts.map((p) => greedy(p)));
    expect(together).toEqual(alone);
  });

  test("the same seed gives the same sampled text, whatever runs beside it", async () => {
    const req = { model: MODEL, prompt: "Once upon a time", max_tokens: 40, temperature: 0.9, top_p: 0.95, seed: 1234 };
    const first = (await client.completions.create(req)).choices[0].text;
    const noise = Array.from({ length: 3 }, (_, i) => client.completions.create({ ...req, seed: i, prompt: "The dog" }));
    const again = (await client.completions.create(req)).choices[0].text;
    await Promise.all(noise);
    expect(again).toBe(first);
    const other = (await client.completions.create({ ...req, seed: 99 })).choices[0].text;
    expect(other).not.toBe(first);
  });

  test("stop strings end generation and are never streamed, even in part", async () => {
    const full = await greedy("Once upon a time", 30); // ", there was a little girl named Lily. ..."
    expect(full).toContain("little girl");
    const r = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 30, temperature: 0, stop: ["girl"] });
    expect(r.choices[0].text).toBe(full.slice(0, full.indexOf("girl")));
    expect(r.choices[0].finish_reason).toBe("stop");
    let streamed = "";
    const s = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 30, temperature: 0, stop: ["girl named"], stream: true as const });
    for await (const c of s) streamed += c.choices[0]?.text ?? "";
    expect(streamed).toBe(full.slice(0, full.indexOf("girl named")));
    expect(streamed.endsWith("gi")).toBe(false);
  });

  test("logprobs: chat top_logprobs and completion logprobs are consistent", async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
    const lp = r.choices[0].logprobs!.content!;
    expect(lp.length).toBe(5);
    for (const t of lp) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs.length).toBe(3);
      // Greedy: the chosen token is the most likely one.
      expect(t.logprob).toBeCloseTo(t.top_logprobs[0].logprob, 5);
    }
    expect(lp.map((t) => t.token).join("")).toBe(r.choices[0].message.content!);
    const c = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 4, temperature: 0, logprobs: 2 });
    expect(c.choices[0].logprobs!.tokens!.join("")).toBe(c.choices[0].text);
    expect(c.choices[0].logprobs!.top_logprobs!.length).toBe(4);
  });

  test("ignore_eos and max_tokens: generation runs to the limit", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "The end.", max_tokens: 300, temperature: 0, ignore_eos: true } as any);
    expect(r.usage!.completion_tokens).toBe(300);
    expect(r.choices[0].finish_reason).toBe("length");
  });

  test("cancelling a stream mid-way frees its sequence", async () => {
    const ctl = new AbortController();
    const s = (await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 2000, temperature: 0, stream: true, ignore_eos: true } as any, { signal: ctl.signal })) as unknown as AsyncIterable<any>;
    let n = 0;
    try {
      for await (const _ of s) if (++n === 5) ctl.abort();
    } catch {}
    let running = NaN;
    for (let i = 0; i < 50; i++) {
      running = await metric(server.url, "inferflux_engine_running_sequences");
      if (running === 0) break;
      await Bun.sleep(20);
    }
    expect(running).toBe(0);
    // The server still serves.
    expect((await greedy("Once upon a time", 5)).length).toBeGreaterThan(0);
  });

  test("/healthz keeps answering fast while 8 streams run", async () => {
    const streams = Array.from({ length: 8 }, async (_, i) => {
      const s = (await client.completions.create({ model: MODEL, prompt: `Story ${i}:`, max_tokens: 400, temperature: 0, stream: true, ignore_eos: true, stream_options: { include_usage: true } } as any)) as unknown as AsyncIterable<any>;
      let n = 0;
      for await (const c of s) if (c.usage) n = c.usage.completion_tokens;
      return n;
    });
    await Bun.sleep(50);
    const lat: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      const r = await fetch(`${server.url}/healthz`);
      await r.arrayBuffer();
      lat.push(performance.now() - t);
      expect(r.status).toBe(200);
    }
    const counts = await Promise.all(streams);
    lat.sort((a, b) => a - b);
    console.log(`healthz under 8 streams: p50 ${lat[50].toFixed(3)} ms, p99 ${lat[98].toFixed(3)} ms`);
    expect(counts).toEqual(Array(8).fill(400));
    expect(lat[50]).toBeLessThan(20);
  });

  test("GET /v1/models lists the loaded model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([MODEL]);
    const m = await client.models.retrieve(MODEL);
    expect(m.id).toBe(MODEL);
  });
});
