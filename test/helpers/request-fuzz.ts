/**
 * Seeded random requests for the OpenAI endpoints: odd, wrong or hostile values in every field
 * (wrong types, huge and negative numbers, lone surrogates, 100 kB strings, bad grammars and
 * schemas, non-JSON bodies, wrong content types). The fuzz test sends them and checks the answers.
 */
export interface FuzzRequest {
  path: "/v1/chat/completions" | "/v1/completions";
  headers: Record<string, string>;
  body: string;
}

export function fuzzRequests(count: number, seed0: number): FuzzRequest[] {
  let seed = seed0;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T,>(a: T[]): T => a[Math.floor(rnd() * a.length)];
  const weird = (): unknown => pick<any>([
    null, true, false, 0, -1, 1, 2, 1e308, -1e308, 2 ** 31, 2 ** 53, -(2 ** 31), 0.5, 1e-320, "", "x", "NaN", "Infinity", "-1", "\u0000", "\ud800", "é".repeat(5000),
    [], [1], [[]], [null], ["a", 1], {}, { a: 1 }, { role: "user" }, [{}], [[1, 2], [3]], [2 ** 40], [-5], ["<|im_start|>"], "a".repeat(100000),
  ]);
  const msg = (): unknown => pick<any>([
    { role: "user", content: "Hi" }, { role: "system", content: "S" }, { role: "assistant", content: "A" }, { role: "tool", content: "T", tool_call_id: "1" },
    { role: "user", content: [{ type: "text", text: "hi" }] }, { role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] },
    { role: "bogus", content: "x" }, { role: "user" }, { content: "x" }, { role: "user", content: weird() }, weird(),
    { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{" } }] },
    { role: "assistant", tool_calls: weird() },
  ]);
  const FIELDS: Record<string, () => unknown> = {
    model: () => pick<any>(["stories260K-chatml", "nope", weird()]),
    max_tokens: () => pick<any>([1, 4, 16, 0, -1, 5000, 1e9, weird()]),
    max_completion_tokens: () => pick<any>([4, -3, weird()]),
    temperature: () => pick<any>([0, 0.7, 2, 3, -1, weird()]),
    top_p: () => pick<any>([0, 0.5, 1, 1.5, weird()]), top_k: () => pick<any>([0, 1, 40, -1, 1e9, weird()]),
    min_p: () => pick<any>([0.1, 2, weird()]), n: () => pick<any>([1, 2, 0, weird()]),
    stop: () => pick<any>(["\n", ["a", "b"], [""], Array(20).fill("x"), weird()]),
    seed: () => pick<any>([1, -1, 2 ** 40, weird()]),
    stream: () => pick<any>([true, false, weird()]),
    stream_options: () => pick<any>([{ include_usage: true }, { include_usage: "yes" }, weird()]),
    logprobs: () => pick<any>([true, false, 3, weird()]), top_logprobs: () => pick<any>([0, 5, 20, 21, -1, weird()]),
    logit_bias: () => pick<any>([{ "1": 100 }, { "-5": 1 }, { "999999": 1 }, { a: 1 }, { "1": "x" }, { "1": 1e308 }, weird()]),
    presence_penalty: () => pick<any>([0, 2, -3, weird()]), frequency_penalty: () => pick<any>([0, 1, weird()]),
    repeat_penalty: () => pick<any>([1.1, 0, -1, weird()]), ignore_eos: () => pick<any>([true, weird()]),
    response_format: () => pick<any>([{ type: "json_object" }, { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] } } },
      { type: "json_schema", json_schema: { schema: { type: "string", pattern: "(" } } }, { type: "json_schema", json_schema: { schema: { $ref: "#/x" } } }, { type: "text" }, { type: "bogus" }, weird()]),
    tools: () => pick<any>([[{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } } }], [{ type: "function" }], [{}], weird()]),
    tool_choice: () => pick<any>(["auto", "none", "required", { type: "function", function: { name: "f" } }, { type: "function", function: { name: "zz" } }, weird()]),
    grammar: () => pick<any>(['root ::= "a"', "root ::= (", weird()]),
    user: () => weird(), suffix: () => weird(), echo: () => weird(), best_of: () => weird(), parallel_tool_calls: () => weird(),
  };
  function body(chat: boolean): string {
    if (rnd() < 0.05) return pick(["{", "", "null", "[]", "1", '"x"', "{\"model\":", "\u0000", "{\"a\":1}".repeat(3)]);
    const b: Record<string, unknown> = { model: "stories260K-chatml", max_tokens: 8 };
    if (chat) b.messages = rnd() < 0.8 ? Array.from({ length: 1 + Math.floor(rnd() * 3) }, msg) : weird();
    else b.prompt = rnd() < 0.7 ? pick<any>(["Once", ["a", "b"], [1, 2, 3], [[1, 2], [3]], "", [], [2 ** 40], [-1], ["x", 5]]) : weird();
    const keys = Object.keys(FIELDS);
    for (let k = Math.floor(rnd() * 5); k > 0; k--) { const f = pick(keys); b[f] = FIELDS[f](); }
    if (rnd() < 0.1) delete b[pick(Object.keys(b))];
    return JSON.stringify(b);
  }
  const out: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    const chat = rnd() < 0.6;
    const headers: Record<string, string> = { "content-type": pick(["application/json", "application/json", "text/plain", "application/x-www-form-urlencoded"]) };
    if (rnd() < 0.1) {
      const v = String(weird());
      if (/^[\x20-\x7e]{0,200}$/.test(v)) headers["x-priority"] = v;
    }
    out.push({ path: chat ? "/v1/chat/completions" : "/v1/completions", headers, body: body(chat) });
  }
  return out;
}
