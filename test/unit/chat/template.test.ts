import { describe, expect, test } from "bun:test";
import { InvalidRequestError } from "../../../src/shared/errors.ts";
import { ChatTemplateError, createChatTemplate, normalizeMessages } from "../../../src/chat/index.ts";
import { CHATML_MINIMAL, LLAMA31_TEMPLATE, QWEN25_TEMPLATE, QWEN3_TEMPLATE, WEATHER_TOOL } from "./fixtures.ts";

const TOKENS = { bos: "<s>", eos: "</s>" };

function renderError(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error("expected an InvalidRequestError");
}

const TOOL_CONVERSATION = [
  { role: "system", content: "You are helpful." },
  { role: "user", content: "Weather in Paris?" },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }],
  },
  { role: "tool", tool_call_id: "call_1", content: '{"temp": 21}' },
];

describe("ChatML", () => {
  test("renders the minimal ChatML template", () => {
    const t = createChatTemplate(CHATML_MINIMAL, TOKENS);
    const out = t.render({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Bye" },
      ],
      addGenerationPrompt: true,
    });
    expect(out).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(t.family).toBe("chatml");
    expect(t.toolFormat).toBe("generic");
    expect(t.supportsTools).toBe(false);
  });

  test("add_generation_prompt false, text parts joined, developer becomes system", () => {
    const t = createChatTemplate(CHATML_MINIMAL, TOKENS);
    const out = t.render({
      messages: [
        { role: "developer", content: [{ type: "text", text: "Rule 1" }, { type: "text", text: "Rule 2" }] },
        { role: "user", content: [{ type: "text", text: "Q" }] },
      ],
      addGenerationPrompt: false,
    });
    expect(out).toBe("<|im_start|>system\nRule 1\nRule 2<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n");
  });
});

describe("Qwen2.5 template with tools", () => {
  const t = createChatTemplate(QWEN25_TEMPLATE, { bos: "", eos: "<|im_end|>" });

  test("metadata", () => {
    expect(t.family).toBe("chatml");
    expect(t.toolFormat).toBe("hermes");
    expect(t.supportsTools).toBe(true);
  });

  test("renders tools, assistant tool_calls and tool results", () => {
    const out = t.render({ messages: TOOL_CONVERSATION, tools: [WEATHER_TOOL] });
    expect(out).toBe(
      "<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
        '{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city", ' +
        '"parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}\n' +
        "</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n' +
        "<|im_start|>assistant\n",
    );
  });

  test("consecutive tool results share one user turn; parallel calls all rendered", () => {
    const out = t.render({
      messages: [
        { role: "user", content: "Paris and Rome?" },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            { id: "a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "a", content: "21" },
        { role: "tool", tool_call_id: "b", content: "25" },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(out).toContain(
      '<|im_start|>assistant\nChecking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n',
    );
    expect(out).toContain("<|im_start|>user\n<tool_response>\n21\n</tool_response>\n<tool_response>\n25\n</tool_response><|im_end|>\n");
  });

  test("without tools: default system prompt", () => {
    const out = t.render({ messages: [{ role: "user", content: "Hi" }] });
    expect(out).toBe(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    // An empty tools array is the same as none.
    expect(t.render({ messages: [{ role: "user", content: "Hi" }], tools: [] })).toBe(out);
  });
});

describe("Qwen3 template", () => {
  const t = createChatTemplate(QWEN3_TEMPLATE, { bos: "", eos: "<|im_end|>" });
  const messages = [
    { role: "user", content: "Weather?" },
    {
      role: "assistant",
      content: "<think>\nhmm\n</think>\n\nOk.",
      tool_calls: [{ id: "1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }],
    },
    { role: "tool", tool_call_id: "1", content: "21" },
    { role: "assistant", content: "It is 21.", reasoning_content: "easy" },
    { role: "user", content: "Thanks" },
  ];

  test("reverse slicing, namespace, string methods; reasoning of past turns dropped; enable_thinking=false", () => {
    const out = t.render({ messages, tools: [WEATHER_TOOL], extra: { enable_thinking: false } });
    expect(out).toContain(
      '<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\nOk.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\n<tool_response>\n21\n</tool_response><|im_end|>\n<|im_start|>assistant\nIt is 21.<|im_end|>\n" +
        "<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    );
    expect(out.endsWith("<think>\n\n</think>\n\n")).toBe(true);
  });

  test("reasoning_content of turns after the last user query is kept", () => {
    const out = t.render({ messages: messages.slice(0, 4), addGenerationPrompt: false });
    expect(out).toContain("<|im_start|>assistant\n<think>\neasy\n</think>\n\nIt is 21.<|im_end|>\n");
    expect(out).toContain("<|im_start|>assistant\n<think>\nhmm\n</think>\n\nOk.\n<tool_call>");
  });
});

describe("Llama 3.1 template", () => {
  const t = createChatTemplate(LLAMA31_TEMPLATE, { bos: "<|begin_of_text|>", eos: "<|eot_id|>" });

  test("metadata", () => {
    expect(t.family).toBe("llama3");
    expect(t.toolFormat).toBe("llama3");
    expect(t.supportsTools).toBe(true);
  });

  test("plain conversation", () => {
    const out = t.render({ messages: [{ role: "system", content: " Be nice. " }, { role: "user", content: "Hi" }] });
    expect(out).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe nice.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  test("tools in the first user message, tool call as JSON with parameters, ipython result", () => {
    const out = t.render({ messages: TOOL_CONVERSATION, tools: [WEATHER_TOOL] });
    expect(out).toContain("Environment: ipython\n");
    expect(out).toContain('{\n    "type": "function",\n    "function": {\n        "name": "get_weather",');
    expect(out).toContain("\n\nWeather in Paris?<|eot_id|>");
    expect(out).toContain(
      '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>',
    );
    expect(out).toContain('<|start_header_id|>ipython<|end_header_id|>\n\n"{\\"temp\\": 21}"<|eot_id|>');
    expect(out.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n")).toBe(true);
  });

  test("extra variables (chat_template_kwargs) reach the template", () => {
    const out = t.render({
      messages: [{ role: "user", content: "Hi" }],
      tools: [WEATHER_TOOL],
      extra: { tools_in_user_message: false, date_string: "01 Jan 2025" },
    });
    expect(out).toContain("Today Date: 01 Jan 2025\n\nYou have access to the following functions.");
    expect(out).toContain("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  });

  test("the template's raise_exception becomes InvalidRequestError", () => {
    const err = renderError(() =>
      t.render({
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            tool_calls: [
              { id: "1", type: "function", function: { name: "a", arguments: "{}" } },
              { id: "2", type: "function", function: { name: "b", arguments: "{}" } },
            ],
          },
        ],
      }),
    );
    expect(err.message).toBe("This model only supports single tool-calls at once!");
    expect(err.status).toBe(400);
  });
});

describe("template context", () => {
  test("raise_exception with a roles-must-alternate check", () => {
    const src =
      "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
      "{{ message['content'] }}{% endfor %}";
    const t = createChatTemplate(src, TOKENS);
    expect(t.render({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] })).toBe("ab");
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] }));
    expect(err.message).toBe("Conversation roles must alternate user/assistant/user/assistant/...");
    expect(err.code).toBe("chat_template_error");
  });

  test("tool-call arguments are a dict that prints as the original string", () => {
    const src =
      "{% set a = messages[1].tool_calls[0].function.arguments %}" +
      "{{ a | tojson }}|{{ a }}|{{ 'x' + a }}|{{ a.city }}|{{ a is mapping }}|{% for k, v in a | items %}{{ k }}={{ v }}{% endfor %}";
    const t = createChatTemplate(src, TOKENS);
    const out = t.render({
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: '{"city":"Paris"}' } }] },
      ],
    });
    expect(out).toBe('{"city": "Paris"}|{"city":"Paris"}|x{"city":"Paris"}|Paris|true|city=Paris');
  });

  test("arguments that are not a JSON object stay a string", () => {
    const t = createChatTemplate("{{ messages[0].tool_calls[0].function.arguments is string }}", TOKENS);
    const out = t.render({
      messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "not json" } }] }],
    });
    expect(out).toBe("true");
  });

  test("assistant tool-call turns have null content; other absent keys stay absent", () => {
    const src =
      "{% for m in messages %}{{ m.role }}:{{ m.content is none }}:{{ 'tool_calls' in m }}:{{ m.name if m.name is defined else '-' }};{% endfor %}";
    const t = createChatTemplate(src, TOKENS);
    expect(t.render({ messages: TOOL_CONVERSATION })).toBe(
      "system:false:false:-;user:false:false:-;assistant:true:true:-;tool:false:false:get_weather;",
    );
  });

  test("bos/eos tokens, tools = none when absent, strftime_now", () => {
    const t = createChatTemplate(
      "{{ bos_token }}{{ tools is none }}{{ strftime_now('%d %b %Y %H:%M') }}{{ eos_token }}",
      TOKENS,
      { now: () => new Date(2024, 6, 5, 9, 3) },
    );
    expect(t.render({ messages: [{ role: "user", content: "x" }] })).toBe("<s>true05 Jul 2024 09:03</s>");
  });

  test("no access to JavaScript globals", () => {
    const t = createChatTemplate("[{{ process }}{{ globalThis }}{{ require }}{{ Bun }}]", TOKENS);
    expect(t.render({ messages: [{ role: "user", content: "x" }] })).toBe("[]");
  });

  test("extra may not override reserved names", () => {
    const t = createChatTemplate(CHATML_MINIMAL, TOKENS);
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "x" }], extra: { messages: [] } }));
    expect(err.param).toBe("chat_template_kwargs");
    const t2 = createChatTemplate("{{ enable_thinking }}", TOKENS);
    expect(t2.render({ messages: [{ role: "user", content: "x" }], extra: { enable_thinking: false } })).toBe("false");
  });

  test("image parts are refused", () => {
    const t = createChatTemplate(CHATML_MINIMAL, TOKENS);
    const err = renderError(() =>
      t.render({
        messages: [
          { role: "user", content: [{ type: "text", text: "what is this" }, { type: "image_url", image_url: { url: "data:," } }] },
        ],
      }),
    );
    expect(err.message).toBe("image input is not supported by this model");
    expect(err.param).toBe("messages[0].content[1]");
  });

  test("runtime errors in the template are request errors", () => {
    const t = createChatTemplate("{{ messages[0].content + none }}", TOKENS);
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "x" }] }));
    expect(err.message).toContain("chat template failed to render");
  });
});

describe("template limits", () => {
  test("syntax errors are reported at creation", () => {
    expect(() => createChatTemplate("{% if x %}never closed", TOKENS)).toThrow(ChatTemplateError);
    expect(() => createChatTemplate("{{ 'a' + }}", TOKENS)).toThrow(ChatTemplateError);
    expect(() => createChatTemplate("   ", TOKENS)).toThrow(ChatTemplateError);
  });

  test("output cap", () => {
    const t = createChatTemplate(CHATML_MINIMAL, TOKENS, { maxOutputChars: 1000 });
    expect(t.render({ messages: [{ role: "user", content: "x".repeat(500) }] }).length).toBeLessThan(1000);
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "x".repeat(2000) }] }));
    expect(err.code).toBe("prompt_too_large");
    expect(err.message).toContain("1000");
  });

  test("exponential string growth stops at the cap", () => {
    const src =
      "{% set ns = namespace(s='x') %}{% for i in range(200) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
    const t = createChatTemplate(src, TOKENS);
    const started = performance.now();
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "x" }] }));
    expect(err.code).toBe("prompt_too_large");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("long loops hit the time budget", () => {
    const src = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    const t = createChatTemplate(src, TOKENS, { timeBudgetMs: 100 });
    const started = performance.now();
    const err = renderError(() => t.render({ messages: [{ role: "user", content: "x" }] }));
    expect(err.message).toMatch(/took longer than 100 ms|evaluation steps/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test("huge range() is refused", () => {
    const t = createChatTemplate("{% for i in range(1000000000) %}x{% endfor %}", TOKENS);
    expect(renderError(() => t.render({ messages: [{ role: "user", content: "x" }] })).code).toBe("prompt_too_large");
  });

  test("infinite macro recursion is stopped", () => {
    const t = createChatTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", TOKENS);
    expect(renderError(() => t.render({ messages: [{ role: "user", content: "x" }] })).code).toBe("prompt_too_large");
  });
});

describe("normalizeMessages", () => {
  test("validation errors name the field", () => {
    const bad: [unknown, string][] = [
      [[], "messages"],
      ["x", "messages"],
      [[{ role: "wizard", content: "x" }], "messages[0].role"],
      [[{ role: "user" }], "messages[0].content"],
      [[{ role: "user", content: 5 }], "messages[0].content"],
      [[{ role: "user", content: [{ type: "text" }] }], "messages[0].content[0].text"],
      [[{ role: "user", content: [{ type: "input_audio" }] }], "messages[0].content[0]"],
      [[{ role: "assistant", tool_calls: [{ type: "function", function: { arguments: "{}" } }] }], "messages[0].tool_calls[0].function.name"],
      [[{ role: "user", content: "x", tool_calls: [] }], "messages[0].tool_calls"],
    ];
    for (const [messages, param] of bad) {
      const err = renderError(() => normalizeMessages(messages));
      expect(err.param).toBe(param);
    }
  });

  test("shapes", () => {
    const out = normalizeMessages([
      { role: "developer", content: "d" },
      { role: "assistant", content: "" },
      { role: "assistant", tool_calls: [{ id: "x", function: { name: "f", arguments: { a: 1 } } }] },
      { role: "tool", tool_call_id: "x", content: [{ type: "text", text: "r" }] },
    ]);
    expect(out).toEqual([
      { role: "system", content: "d" },
      { role: "assistant", content: "" },
      { role: "assistant", content: null, tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
      { role: "tool", content: "r", tool_call_id: "x", name: "f" },
    ]);
    expect(normalizeMessages([{ role: "developer", content: "d" }], { developerAsSystem: false })[0]!.role).toBe("developer");
  });
});
