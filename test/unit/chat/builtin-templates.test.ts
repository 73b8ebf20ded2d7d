import { describe, expect, test } from "bun:test";
import {
  BUILTIN_TEMPLATES,
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_FAMILIES,
  createChatTemplate,
  detectTemplateFamily,
  getBuiltinTemplate,
} from "../../../src/chat/index.ts";
import { CHATML_MINIMAL, LLAMA31_TEMPLATE, QWEN25_TEMPLATE } from "./fixtures.ts";

const CONVERSATION = [
  { role: "system", content: "S" },
  { role: "user", content: "U1" },
  { role: "assistant", content: "A1" },
  { role: "user", content: "U2" },
];

const EXPECTED: Record<string, string> = {
  chatml:
    "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n" +
    "<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n",
  llama2: "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]",
  llama3:
    "<s><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>" +
    "<|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>" +
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
  mistral: "<s>[INST] S\n\nU1 [/INST] A1</s>[INST] U2 [/INST]",
  gemma:
    "<s><start_of_turn>user\nS\n\nU1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n" +
    "<start_of_turn>user\nU2<end_of_turn>\n<start_of_turn>model\n",
  phi3: "<|system|>\nS<|end|>\n<|user|>\nU1<|end|>\n<|assistant|>\nA1<|end|>\n<|user|>\nU2<|end|>\n<|assistant|>\n",
  zephyr: "<|system|>\nS</s>\n<|user|>\nU1</s>\n<|assistant|>\nA1</s>\n<|user|>\nU2</s>\n<|assistant|>\n",
};

describe("built-in templates", () => {
  test("default is chatml", () => {
    expect(DEFAULT_TEMPLATE_NAME).toBe("chatml");
    expect(getBuiltinTemplate()).toBe(BUILTIN_TEMPLATES.chatml);
    expect(() => getBuiltinTemplate("nope")).toThrow(/unknown built-in chat template/);
  });

  for (const family of TEMPLATE_FAMILIES) {
    test(`${family}: renders and is recognised as itself`, () => {
      const t = createChatTemplate(BUILTIN_TEMPLATES[family], { bos: "<s>", eos: "</s>" });
      expect(t.render({ messages: CONVERSATION })).toBe(EXPECTED[family]!);
      expect(detectTemplateFamily(BUILTIN_TEMPLATES[family])).toBe(family);
      expect(t.family).toBe(family);
      expect(t.toolFormat).toBe("generic");
      // Null content (an assistant turn that only called tools) renders as empty text.
      const out = t.render({
        messages: [
          { role: "user", content: "U" },
          { role: "assistant", tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "user", content: "V" },
        ],
      });
      expect(out).toContain("V");
    });
  }

  test("detectTemplateFamily on real templates", () => {
    expect(detectTemplateFamily(QWEN25_TEMPLATE)).toBe("chatml");
    expect(detectTemplateFamily(CHATML_MINIMAL)).toBe("chatml");
    expect(detectTemplateFamily(LLAMA31_TEMPLATE)).toBe("llama3");
    expect(detectTemplateFamily("{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}")).toBe("mistral");
    expect(detectTemplateFamily("{{ '<|user|>\\n' + c + eos_token }}")).toBe("zephyr");
    expect(detectTemplateFamily("{% for m in messages %}{{ m.content }}{% endfor %}")).toBeNull();
  });
});
