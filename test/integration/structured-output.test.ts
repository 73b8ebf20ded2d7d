/**
 * response_format, raw grammars and tool calls through the real server:
 * outputs always parse and validate (ajv), failures are 400s that name the
 * problem, truncation is reported as finish_reason "length".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";

const MODEL = "stories260K-chatml";
const ajv = addFormats(new Ajv({ strict: false }));

describe.skipIf(!haveModels)("structured output and tools", () => {
  let server: TestServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML, "--parallel", "4", "--ctx-size", "4096"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  }, 60_000);
  afterAll(async () => server?.stop());

  const person = {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1, maxLength: 12 },
      age: { type: "integer", minimum: 0, maximum: 120 },
      email: { type: "string", format: "email", maxLength: 40 },
      tags: { type: "array", items: { enum: ["a", "b", "c"] }, minItems: 1, maxItems: 3 },
    },
    required: ["name", "age", "email", "tags"],
    additionalProperties: false,
  };

  test("json_schema output parses and validates, for several seeds", async () => {
    const validate = ajv.compile(person);
    for (const seed of [1, 2, 3, 4]) {
      const r = await client.chat.completions.create({
        model: MODEL, messages: [{ role: "user", content: "Describe a person" }], max_tokens: 300, temperature: 0.8, seed,
        response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
      });
      expect(r.choices[0].finish_reason).toBe("stop");
      const value = JSON.parse(r.choices[0].message.content!);
      expect(validate(value)).toBe(true);
    }
  });

  test("json_object gives a JSON object; truncation says length", async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 200, temperature: 0, response_format: { type: "json_object" } });
    if (r.choices[0].finish_reason === "stop") expect(typeof JSON.parse(r.choices[0].message.content!)).toBe("object");
    const t = await client.chat.completions.create({
      model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 3, temperature: 0,
      response_format: { type: "json_schema", json_schema: { name: "p", schema: person } },
    });
    expect(t.choices[0].finish_reason).toBe("length");
  });

  test("a raw GBNF grammar constrains completions; a bad one is a 400 with line and column", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "Answer:", max_tokens: 10, grammar: 'root ::= ("yes" | "no") "."' } as any);
    expect(["yes.", "no."]).toContain(r.choices[0].text);
    const bad = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt: "x", grammar: 'root ::= "a" foo' }) });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as any;
    expect(body.error.code).toBe("invalid_grammar");
    expect(body.error.message).toMatch(/line 1 column/);
  });

  test("unsupported schema keywords fail closed with the keyword and pointer", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { not: { type: "string" } } } } } } }),
    });
    expect(res.status).toBe(400);
    const e = ((await res.json()) as any).error;
    expect(e.type).toBe("invalid_request_error");
    expect(e.message).toContain('"not"');
    expect(e.message).toContain("/properties/a");
  });

  const tools = [
    { type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["c", "f"] } }, required: ["city", "unit"], additionalProperties: false } } },
    { type: "function" as const, function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string", maxLength: 8 } }, required: ["tz"], additionalProperties: false } } },
  ];

  test("tool_choice required gives valid calls whose arguments match the schema", async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Weather in Paris?" }], tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 200, temperature: 0.8, seed });
      const c = r.choices[0];
      expect(c.finish_reason).toBe("tool_calls");
      expect(c.message.tool_calls!.length).toBeGreaterThan(0);
      for (const call of c.message.tool_calls!) {
        if (call.type !== "function") throw new Error("not a function call");
        const tool = tools.find((t) => t.function.name === call.function.name)!;
        expect(tool).toBeDefined();
        expect(call.id).toMatch(/^call_/);
        expect(ajv.validate(tool.function.parameters, JSON.parse(call.function.arguments))).toBe(true);
      }
    }
  });

  test("a named tool_choice calls exactly that tool, and streaming deltas rebuild the same call", async () => {
    const req = { model: MODEL, messages: [{ role: "user" as const, content: "time?" }], tools, tool_choice: { type: "function" as const, function: { name: "get_time" } }, max_tokens: 100, temperature: 0 };
    const whole = await client.chat.completions.create(req);
    const calls = whole.choices[0].message.tool_calls!;
    expect(calls.length).toBe(1);
    if (calls[0].type !== "function") throw new Error("not a function call");
    expect(calls[0].function.name).toBe("get_time");
    const stream = await client.chat.completions.create({ ...req, stream: true });
    const built: { name: string; args: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        if (d.id) built[d.index] = { name: d.function!.name!, args: "" };
        if (d.function?.arguments) built[d.index].args += d.function.arguments;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(built).toEqual([{ name: "get_time", args: calls[0].function.arguments }]);
  });

  test("history with assistant tool calls and tool results renders; bad tool_choice is a 400", async () => {
    const r = await client.chat.completions.create({
      model: MODEL, max_tokens: 10, temperature: 0, tools,
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: '{"temp": 21}' },
      ],
    });
    expect(r.choices[0].message.role).toBe("assistant");
    const bad = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], tools, tool_choice: { type: "function", function: { name: "nope" } } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.param).toBe("tool_choice");
  });
  test("a lazy grammar leaves the output free until its trigger, then constrains it from the trigger on", async () => {
    const complete = async (extra: object) => {
      const r = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, prompt: "Once upon a time", max_tokens: 60, temperature: 0, ...extra }),
      });
      return { status: r.status, json: (await r.json()) as any };
    };
    const base = (await complete({})).json.choices[0].text as string;
    const at = base.indexOf(" Lily");
    expect(at).toBeGreaterThan(0); // the greedy story names Lily after a few words
    const lazy = await complete({ grammar: 'root ::= " Lily was a cat."', grammar_lazy: true, grammar_triggers: [{ type: "word", value: " Lily" }] });
    expect(lazy.status).toBe(200);
    expect(lazy.json.choices[0].text).toBe(`${base.slice(0, at)} Lily was a cat.`);
    expect(lazy.json.choices[0].finish_reason).toBe("stop"); // the grammar is complete: only end-of-generation is left
    // A trigger that never appears leaves the output free.
    const never = await complete({ grammar: 'root ::= "x"', grammar_lazy: true, grammar_triggers: ["zebra-crossing"] });
    expect(never.json.choices[0].text).toBe(base);
    // Inconsistent lazy settings are 400s naming the field.
    const noTriggers = await complete({ grammar: 'root ::= "x"', grammar_lazy: true });
    expect([noTriggers.status, noTriggers.json.error.param]).toEqual([400, "grammar_triggers"]);
    const noLazy = await complete({ grammar: 'root ::= "x"', grammar_triggers: ["a"] });
    expect([noLazy.status, noLazy.json.error.param]).toEqual([400, "grammar_triggers"]);
    const noGrammar = await complete({ grammar_lazy: true, grammar_triggers: ["a"] });
    expect([noGrammar.status, noGrammar.json.error.param]).toEqual([400, "grammar_lazy"]);
  });

  test("constrained output stays valid UTF-8 even when byte tokens are pushed hard (no overlong forms, no surrogates)", async () => {
    // stories260K's byte tokens: <0xNN> is id 3 + NN. Push leads that only form invalid sequences (C1: overlong,
    // ED A0..BF: surrogates, F5: out of range) and stray continuation bytes; the grammar alone would count them as characters.
    const bias: Record<string, number> = {};
    for (const byte of [0xc1, 0xed, 0xa0, 0xbf, 0x80, 0xf5]) bias[String(3 + byte)] = 30;
    const schema = { type: "object", properties: { s: { type: "string", maxLength: 24 } }, required: ["s"], additionalProperties: false };
    const validate = ajv.compile(schema);
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = await client.chat.completions.create({
        model: MODEL, seed, temperature: 1, max_tokens: 200, logit_bias: bias,
        messages: [{ role: "user", content: "Say something." }],
        response_format: { type: "json_schema", json_schema: { name: "s", schema, strict: true } },
      });
      const text = r.choices[0].message.content!;
      expect(text).not.toContain("\uFFFD");
      if (r.choices[0].finish_reason === "stop") expect(validate(JSON.parse(text))).toBe(true);
    }
  });
});
