import { expect, test } from "bun:test";
import { getToolFormat } from "../../../src/chat/index";
import { lazyToolGrammar, TOOL_GRAMMAR_ROOT, toolGrammar } from "../../../src/server/tool-calls";
import { validateGbnf } from "../../../src/grammar/index";

const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];

test("tool_choice auto: the tool grammar becomes lazy on the format's triggers", () => {
  for (const name of ["hermes", "mistral", "generic"] as const) {
    const format = getToolFormat(name);
    const lazy = lazyToolGrammar(tools, format, true);
    // The wrapper begins with the trigger: the grammar applies unchanged from it.
    expect(lazy.root).toBe(TOOL_GRAMMAR_ROOT);
    expect(lazy.text).toBe(toolGrammar(tools, format, true).text);
    expect(lazy.triggers).toEqual([...format.triggers]);
  }
  // Llama 3: a bare JSON call, or one after <|python_tag|>, which becomes an optional lead.
  const llama3 = lazyToolGrammar(tools, getToolFormat("llama3"), true);
  expect(llama3.root).toBe(`${TOOL_GRAMMAR_ROOT}-lazy`);
  expect(llama3.text).toContain(`${TOOL_GRAMMAR_ROOT}-lazy ::= ( "<|python_tag|>" )? ${TOOL_GRAMMAR_ROOT}`);
  expect(() => validateGbnf(llama3.text, llama3.root)).not.toThrow();
});
