import { describe, expect, test } from "bun:test";
import {
  TOOL_FORMATS,
  detectToolFormat,
  genericFormat,
  hermesFormat,
  llama3Format,
  mistralFormat,
  templateSupportsTools,
  type ParseResult,
  type ToolFormat,
  type ToolParseOptions,
  type ToolStreamEvent,
} from "../../../src/chat/index.ts";
import { CHATML_MINIMAL, LLAMA31_TEMPLATE, QWEN25_TEMPLATE } from "./fixtures.ts";

/** Fold stream events into a ParseResult, checking their order on the way. */
function collect(events: ToolStreamEvent[]): ParseResult {
  let content = "";
  const calls: { name: string; arguments: string }[] = [];
  for (const e of events) {
    if (e.type === "content") {
      expect(e.text.length).toBeGreaterThan(0);
      content += e.text;
    } else if (e.type === "tool_call_start") {
      expect(e.index).toBe(calls.length);
      calls.push({ name: e.name, arguments: "" });
    } else {
      expect(e.index).toBe(calls.length - 1);
      calls[e.index]!.arguments += e.text;
    }
  }
  return { content, toolCalls: calls };
}

function stream(format: ToolFormat, chunks: string[], options?: ToolParseOptions): ParseResult {
  const p = format.createStreamParser(options);
  const events: ToolStreamEvent[] = [];
  for (const c of chunks) events.push(...p.push(c));
  events.push(...p.end());
  return collect(events);
}

/** Deterministic PRNG for the random-split property. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Streaming in any split equals parse(): every single split point, one char at a time, and random splits. */
function expectStreamMatchesParse(format: ToolFormat, text: string, options?: ToolParseOptions): ParseResult {
  const full = format.parse(text, options);
  for (let i = 0; i <= text.length; i++) {
    const got = stream(format, [text.slice(0, i), text.slice(i)], options);
    if (JSON.stringify(got) !== JSON.stringify(full)) {
      throw new Error(`split at ${i} of ${JSON.stringify(text)}:\n${JSON.stringify(got)}\n!= ${JSON.stringify(full)}`);
    }
  }
  expect(stream(format, text.split(""), options)).toEqual(full);
  const r = rng(text.length);
  for (let k = 0; k < 20; k++) {
    const chunks: string[] = [];
    let i = 0;
    while (i < text.length) {
      const n = 1 + Math.floor(r() * 7);
      chunks.push(text.slice(i, i + n));
      i += n;
    }
    expect(stream(format, chunks, options)).toEqual(full);
  }
  return full;
}

const ARGS = '{"city": "Paris", "days": [1, 2.5e-3, -0], "opts": {"metric": true, "x": null}, "q": "say \\"hi\\" \\u00e9 😀"}';
const ARGS_COMPACT = '{"city":"Paris","days":[1,2.5e-3,-0],"opts":{"metric":true,"x":null},"q":"say \\"hi\\" \\u00e9 😀"}';

describe("hermes", () => {
  const cases: [string, ParseResult][] = [
    ["Just text, with < and <tool and <tool_cal in it.", { content: "Just text, with < and <tool and <tool_cal in it.", toolCalls: [] }],
    [
      `Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": ${ARGS}}\n</tool_call>`,
      { content: "Let me check.\n", toolCalls: [{ name: "get_weather", arguments: ARGS_COMPACT }] },
    ],
    [
      '<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": {}}\n</tool_call>\n',
      { content: "", toolCalls: [{ name: "a", arguments: '{"x":1}' }, { name: "b", arguments: "{}" }] },
    ],
    // Arguments before the name; no arguments; arguments as a JSON string; "parameters"; extra keys.
    ['<tool_call>{"arguments": {"x": [1]}, "name": "f"}</tool_call>', { content: "", toolCalls: [{ name: "f", arguments: '{"x":[1]}' }] }],
    ['<tool_call>{"name": "f"}</tool_call>', { content: "", toolCalls: [{ name: "f", arguments: "{}" }] }],
    [
      '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>',
      { content: "", toolCalls: [{ name: "f", arguments: '{"x":1}' }] },
    ],
    ['<tool_call>{"id": "z", "name": "f", "parameters": {"y": 2}, "extra": [1, {"k": 0}]}</tool_call>', { content: "", toolCalls: [{ name: "f", arguments: '{"y":2}' }] }],
    // Missing close tag at the end of output; text after a call.
    ['<tool_call>\n{"name": "f", "arguments": {"a": "b"}}', { content: "", toolCalls: [{ name: "f", arguments: '{"a":"b"}' }] }],
    ['<tool_call>{"name": "f", "arguments": {}}</tool_call>\nDone.', { content: "\nDone.", toolCalls: [{ name: "f", arguments: "{}" }] }],
    ['<tool_call>{"name": "f", "arguments": {}}</tool_c', { content: "", toolCalls: [{ name: "f", arguments: "{}" }] }],
    // Numbers at the end of the arguments object.
    ['<tool_call>{"name": "f", "arguments": {"n": 10}, "k": 5}</tool_call>', { content: "", toolCalls: [{ name: "f", arguments: '{"n":10}' }] }],
    // Malformed before the call is recognised: verbatim content.
    ["x <tool_call>{bad json}</tool_call> y", { content: "x <tool_call>{bad json}</tool_call> y", toolCalls: [] }],
    ["<tool_call>{'name': 'f'}</tool_call>", { content: "<tool_call>{'name': 'f'}</tool_call>", toolCalls: [] }],
    ['<tool_call>{"foo": 1}</tool_call>', { content: '<tool_call>{"foo": 1}</tool_call>', toolCalls: [] }],
    ['<tool_call>{"name": 3, "arguments": {}}</tool_call>', { content: '<tool_call>{"name": 3, "arguments": {}}</tool_call>', toolCalls: [] }],
    ["text <tool_call>", { content: "text <tool_call>", toolCalls: [] }],
    ["<tool_call>\nplain", { content: "<tool_call>\nplain", toolCalls: [] }],
    // A broken call followed by a good one.
    [
      '<tool_call>{oops}</tool_call><tool_call>{"name": "g", "arguments": {"ok": true}}</tool_call>',
      { content: "<tool_call>{oops}</tool_call>", toolCalls: [{ name: "g", arguments: '{"ok":true}' }] },
    ],
  ];

  for (const [text, expected] of cases) {
    test(`parse + stream: ${JSON.stringify(text).slice(0, 70)}`, () => {
      expect(hermesFormat.parse(text)).toEqual(expected);
      expectStreamMatchesParse(hermesFormat, text);
    });
  }

  test("content is streamed as soon as it cannot start a marker", () => {
    const p = hermesFormat.createStreamParser();
    expect(p.push("Hello <to")).toEqual([{ type: "content", text: "Hello " }]);
    expect(p.push("x and <")).toEqual([{ type: "content", text: "<tox and " }]);
    expect(p.push("tool_call>")).toEqual([]);
    expect(p.push('\n{"name": "get_weather", "arguments": {"city": "Pa')).toEqual([
      { type: "tool_call_start", index: 0, name: "get_weather" },
      { type: "tool_call_args", index: 0, text: '{"city":"Pa' },
    ]);
    expect(p.push('ris"}}\n</tool_call>')).toEqual([{ type: "tool_call_args", index: 0, text: 'ris"}' }]);
    expect(p.end()).toEqual([]);
  });

  test("the name is announced before the arguments are complete", () => {
    const p = hermesFormat.createStreamParser();
    expect(p.push('<tool_call>{"name": "f", "arguments": ')).toEqual([{ type: "tool_call_start", index: 0, name: "f" }]);
    expect(p.push("{")).toEqual([{ type: "tool_call_args", index: 0, text: "{" }]);
  });

  test("malformed JSON after the call began: parse gives content, the stream cannot retract", () => {
    const text = '<tool_call>{"name": "f", "arguments": {"a": 1,,}}</tool_call> tail';
    expect(hermesFormat.parse(text)).toEqual({ content: text, toolCalls: [] });
    const s = stream(hermesFormat, [text]);
    expect(s.toolCalls).toEqual([{ name: "f", arguments: '{"a":1,' }]);
    expect(s.content).toBe(",}}</tool_call> tail");
  });

  test("truncated output inside a call: parse gives content, stream leaves the call partial", () => {
    const text = 'ok <tool_call>{"name": "f", "arguments": {"city": "Par';
    expect(hermesFormat.parse(text)).toEqual({ content: text, toolCalls: [] });
    expect(stream(hermesFormat, [text])).toEqual({ content: "ok ", toolCalls: [{ name: "f", arguments: '{"city":"Par' }] });
  });

  test("mutated calls: never throw; stream equals parse whenever the streamed calls are complete", () => {
    const r = rng(7);
    const seeds: [ToolFormat, string][] = [
      [hermesFormat, 'Hi <tool_call>\n{"name": "f", "arguments": {"a": [1, "x"], "b": {"c": null}}}\n</tool_call>\n<tool_call>{"name": "g"}</tool_call>'],
      [mistralFormat, 'Hi [TOOL_CALLS][{"name": "f", "arguments": {"a": [1, "x"]}}, {"name": "g", "arguments": {}}]'],
      [mistralFormat, '[TOOL_CALLS]f[ARGS]{"a": [1, "x"]}[TOOL_CALLS]g[CALL_ID]abc[ARGS]{}'],
      [llama3Format, ' {"name": "f", "parameters": {"a": [1, "x"], "b": true}}; <|python_tag|>{"name": "g", "parameters": {}}'],
    ];
    const junk = ["{", "}", '"', ",", ":", "[", "]", " ", "x", "\\", "<tool_call>", "</tool_call>", "[TOOL_CALLS]", "1"];
    let withCalls = 0;
    let partial = 0;
    for (let k = 0; k < 1500; k++) {
      const [f, seed] = seeds[k % seeds.length]!;
      let text = seed;
      const edits = 1 + Math.floor(r() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(r() * (text.length + 1));
        const op = r();
        if (op < 0.4) text = text.slice(0, at) + text.slice(at + 1);
        else if (op < 0.8) text = text.slice(0, at) + junk[Math.floor(r() * junk.length)] + text.slice(at);
        else text = text.slice(0, at);
      }
      const full = f.parse(text);
      const s = stream(f, text.split(""));
      const complete = s.toolCalls.every((c) => {
        try {
          return typeof JSON.parse(c.arguments) === "object";
        } catch {
          return false;
        }
      });
      if (complete) expect(s).toEqual(full);
      else partial++;
      if (full.toolCalls.length > 0) withCalls++;
    }
    expect(withCalls).toBeGreaterThan(500);
    expect(partial).toBeGreaterThan(0);
  });

  test("complete arguments stand even when the wrapper breaks after them", () => {
    expect(hermesFormat.parse('<tool_call>{"name": "f", "arguments": {"a": 1}')).toEqual({
      content: "",
      toolCalls: [{ name: "f", arguments: '{"a":1}' }],
    });
    const text = '<tool_call>{"name": "f", "arguments": {"a": 1} junk</tool_call>';
    expect(expectStreamMatchesParse(hermesFormat, text)).toEqual({
      content: "junk</tool_call>",
      toolCalls: [{ name: "f", arguments: '{"a":1}' }],
    });
  });
});

describe("llama3", () => {
  const cases: [string, ParseResult, ToolParseOptions?][] = [
    [`{"name": "get_weather", "parameters": ${ARGS}}`, { content: "", toolCalls: [{ name: "get_weather", arguments: ARGS_COMPACT }] }],
    ['\n  {"type": "function", "name": "f", "parameters": {"a": 1}}', { content: "", toolCalls: [{ name: "f", arguments: '{"a":1}' }] }],
    ['<|python_tag|>{"name": "f", "parameters": {"a": 1}}', { content: "", toolCalls: [{ name: "f", arguments: '{"a":1}' }] }],
    [
      'Sure.<|python_tag|>{"name": "f", "arguments": {}}; {"name": "g", "parameters": {"b": "c"}}',
      { content: "Sure.", toolCalls: [{ name: "f", arguments: "{}" }, { name: "g", arguments: '{"b":"c"}' }] },
    ],
    ['{"name": "f", "parameters": {}}\n{"name": "g", "parameters": {}}', { content: "", toolCalls: [{ name: "f", arguments: "{}" }, { name: "g", arguments: "{}" }] }],
    ["Hello there! {not a call}", { content: "Hello there! {not a call}", toolCalls: [] }],
    ["  Hi", { content: "  Hi", toolCalls: [] }],
    ["   ", { content: "   ", toolCalls: [] }],
    // JSON answers that are not calls.
    ['{"result": 5}', { content: '{"result": 5}', toolCalls: [] }],
    ['{"name": "Bob", "age": 3}', { content: '{"name": "Bob", "age": 3}', toolCalls: [] }],
    [
      '{"name": "Bob", "parameters": {}}',
      { content: '{"name": "Bob", "parameters": {}}', toolCalls: [] },
      { toolNames: ["get_weather"] },
    ],
    ['{"name": "get_weather", "parameters": {}}', { content: "", toolCalls: [{ name: "get_weather", arguments: "{}" }] }, { toolNames: ["get_weather"] }],
    ["<|python_tag|>brave_search.call(query=\"x\")", { content: "<|python_tag|>brave_search.call(query=\"x\")", toolCalls: [] }],
  ];
  for (const [text, expected, options] of cases) {
    test(`parse + stream: ${JSON.stringify(text).slice(0, 70)}`, () => {
      expect(llama3Format.parse(text, options)).toEqual(expected);
      expectStreamMatchesParse(llama3Format, text, options);
    });
  }

  test("leading whitespace and a possible call are held; text is released", () => {
    const p = llama3Format.createStreamParser();
    expect(p.push("  ")).toEqual([]);
    expect(p.push("The answer")).toEqual([{ type: "content", text: "  The answer" }]);
  });
});

describe("mistral", () => {
  const cases: [string, ParseResult][] = [
    [
      `[TOOL_CALLS][{"name": "get_weather", "arguments": ${ARGS}, "id": "abc123def"}, {"name": "g", "arguments": {}}]`,
      { content: "", toolCalls: [{ name: "get_weather", arguments: ARGS_COMPACT }, { name: "g", arguments: "{}" }] },
    ],
    ['Let me see. [TOOL_CALLS] [ {"name":"f","arguments":{"a":[]}} ]', { content: "Let me see. ", toolCalls: [{ name: "f", arguments: '{"a":[]}' }] }],
    ['[TOOL_CALLS]{"name": "f", "arguments": {"a": 1}}', { content: "", toolCalls: [{ name: "f", arguments: '{"a":1}' }] }],
    // v11 form.
    [
      '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]g[CALL_ID]a1b2c3d4e[ARGS]{}',
      { content: "", toolCalls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }, { name: "g", arguments: "{}" }] },
    ],
    ['[TOOL_CALLS][{"name": "f", "arguments": {}}', { content: "", toolCalls: [{ name: "f", arguments: "{}" }] }],
    ["[TOOL_CALLS] oops", { content: "[TOOL_CALLS] oops", toolCalls: [] }],
    ["[TOOL_CALLS][]", { content: "", toolCalls: [] }],
    ["[TOOL_CALL is not it", { content: "[TOOL_CALL is not it", toolCalls: [] }],
    ['[TOOL_CALLS][{"name": "f", "arguments": {"a": tru}}]', { content: '[TOOL_CALLS][{"name": "f", "arguments": {"a": tru}}]', toolCalls: [] }],
  ];
  for (const [text, expected] of cases) {
    test(`parse + stream: ${JSON.stringify(text).slice(0, 70)}`, () => {
      expect(mistralFormat.parse(text)).toEqual(expected);
      if (text !== '[TOOL_CALLS][{"name": "f", "arguments": {"a": tru}}]') expectStreamMatchesParse(mistralFormat, text);
    });
  }
});

describe("generic", () => {
  test("compact markers and text before calls", () => {
    const text = 'I will look it up.<tool_call>{"name":"search","arguments":{"q":"bun"}}</tool_call><tool_call>{"name":"time","arguments":{}}</tool_call>';
    expect(expectStreamMatchesParse(genericFormat, text)).toEqual({
      content: "I will look it up.",
      toolCalls: [
        { name: "search", arguments: '{"q":"bun"}' },
        { name: "time", arguments: "{}" },
      ],
    });
  });
});

describe("format metadata", () => {
  test("triggers and grammar shapes", () => {
    expect(hermesFormat.triggers).toEqual(["<tool_call>"]);
    expect(mistralFormat.triggers).toEqual(["[TOOL_CALLS]"]);
    expect(llama3Format.triggers).toContain("<|python_tag|>");
    expect(hermesFormat.rootGrammarShape).toMatchObject({ prefix: "<tool_call>\n", suffix: "\n</tool_call>", multiple: true, argumentsKey: "arguments" });
    expect(llama3Format.rootGrammarShape).toMatchObject({ prefix: "", suffix: "", multiple: false, argumentsKey: "parameters" });
    expect(mistralFormat.rootGrammarShape).toMatchObject({ prefix: "[TOOL_CALLS][", suffix: "]", separator: ", " });
  });

  test("text built from a grammar shape parses back", () => {
    for (const f of Object.values(TOOL_FORMATS)) {
      const g = f.rootGrammarShape;
      const call = (n: string, a: string) => `{"${g.nameKey}": "${n}", "${g.argumentsKey}": ${a}}`;
      const text = g.multiple
        ? g.prefix + call("a", '{"x": 1}') + g.separator + call("b", "{}") + g.suffix
        : g.prefix + call("a", '{"x": 1}') + g.suffix;
      const expected = [{ name: "a", arguments: '{"x":1}' }];
      if (g.multiple) expected.push({ name: "b", arguments: "{}" });
      expect(f.parse(text)).toEqual({ content: "", toolCalls: expected });
      expect(text.startsWith(f.triggers[0]!) || f.triggers.some((t) => text.includes(t))).toBe(true);
    }
  });

  test("detectToolFormat / templateSupportsTools", () => {
    expect(detectToolFormat(QWEN25_TEMPLATE)).toBe("hermes");
    expect(detectToolFormat(LLAMA31_TEMPLATE)).toBe("llama3");
    expect(detectToolFormat("{{ bos_token }}{% if tools %}[AVAILABLE_TOOLS]{% endif %}[TOOL_CALLS]")).toBe("mistral");
    expect(detectToolFormat("<|python_tag|>")).toBe("llama3");
    expect(detectToolFormat(CHATML_MINIMAL)).toBe("generic");
    expect(detectToolFormat(null)).toBe("generic");
    expect(templateSupportsTools(QWEN25_TEMPLATE)).toBe(true);
    expect(templateSupportsTools(CHATML_MINIMAL)).toBe(false);
    expect(templateSupportsTools(null)).toBe(false);
  });
});
