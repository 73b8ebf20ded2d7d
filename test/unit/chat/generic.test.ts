import { describe, expect, test } from "bun:test";
import {
  BUILTIN_TEMPLATES,
  buildGenericToolSystemPrompt,
  createChatTemplate,
  genericFormat,
  injectGenericToolPrompt,
  normalizeMessages,
  normalizeTools,
} from "../../../src/chat/index.ts";
import { WEATHER_TOOL } from "./fixtures.ts";

const TIME_TOOL = { type: "function" as const, function: { name: "now" } };

describe("generic tool prompt", () => {
  test("describes the tools and the call syntax", () => {
    const p = buildGenericToolSystemPrompt([WEATHER_TOOL, TIME_TOOL]);
    expect(p).toContain("<tools>\n" + JSON.stringify({ name: "get_weather", description: WEATHER_TOOL.function.description, parameters: WEATHER_TOOL.function.parameters }));
    expect(p).toContain('{"name":"now","parameters":{"type":"object","properties":{}}}\n</tools>');
    expect(p).toContain('<tool_call>{"name": "<tool name>", "arguments": {"<argument name>": <argument value>}}</tool_call>');
    expect(p).toContain("If no tool is needed, answer normally");
  });

  test("tool_choice and parallel_tool_calls", () => {
    expect(buildGenericToolSystemPrompt([WEATHER_TOOL], { toolChoice: "none" })).toBe("");
    expect(buildGenericToolSystemPrompt([])).toBe("");
    expect(buildGenericToolSystemPrompt([WEATHER_TOOL], { toolChoice: "required" })).toContain("You must call at least one tool now.");
    const forced = buildGenericToolSystemPrompt([WEATHER_TOOL, TIME_TOOL], { toolChoice: { type: "function", function: { name: "now" } } });
    expect(forced).toContain('You must call the tool "now" now.');
    expect(forced).not.toContain("get_weather");
    expect(buildGenericToolSystemPrompt([WEATHER_TOOL], { parallelToolCalls: false })).toContain("Call at most one tool per turn.");
  });

  test("injection rewrites tool turns as text and adds the section to the system prompt", () => {
    const messages = normalizeMessages([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "a", type: "function", function: { name: "get_weather", arguments: '{ "city": "Paris" }' } },
          { id: "b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "a", content: "21C" },
      { role: "tool", tool_call_id: "b", content: "25C" },
    ]);
    const out = injectGenericToolPrompt(messages, normalizeTools([WEATHER_TOOL]));
    expect(out).toHaveLength(4);
    expect(out[0]!.role).toBe("system");
    expect(out[0]!.content!.startsWith("Be brief.\n\n# Tools\n")).toBe(true);
    expect(out[2]).toEqual({
      role: "assistant",
      content:
        'Checking.\n<tool_call>{"name": "get_weather", "arguments": {"city":"Paris"}}</tool_call>\n' +
        '<tool_call>{"name": "get_weather", "arguments": {"city":"Rome"}}</tool_call>',
    });
    expect(out[3]).toEqual({
      role: "user",
      content: '<tool_response name="get_weather">\n21C\n</tool_response>\n<tool_response name="get_weather">\n25C\n</tool_response>',
    });
    // The input is untouched.
    expect(messages[2]!.tool_calls).toHaveLength(2);

    // The assistant text we render is what the generic parser reads back.
    expect(genericFormat.parse(out[2]!.content!)).toEqual({
      content: "Checking.\n",
      toolCalls: [
        { name: "get_weather", arguments: '{"city":"Paris"}' },
        { name: "get_weather", arguments: '{"city":"Rome"}' },
      ],
    });

    // And a template without tool support renders it.
    const t = createChatTemplate(BUILTIN_TEMPLATES.llama2, { bos: "<s>", eos: "</s>" });
    const prompt = t.render({ messages: out });
    expect(prompt).toContain("<<SYS>>\nBe brief.\n\n# Tools");
    expect(prompt).toContain("[INST] <tool_response");
  });

  test("no system message: one is added", () => {
    const out = injectGenericToolPrompt(normalizeMessages([{ role: "user", content: "hi" }]), normalizeTools([TIME_TOOL]));
    expect(out.map((m) => m.role)).toEqual(["system", "user"]);
    expect(out[0]!.content).toContain('"name":"now"');
  });
});
