/**
 * Hermes / Qwen tool calls (Qwen2.5, Qwen3, Hermes 2/3, and most ChatML models
 * trained for tools):
 *
 *   <tool_call>
 *   {"name": "get_weather", "arguments": {"city": "Paris"}}
 *   </tool_call>
 *   <tool_call>
 *   ...
 *
 * Text may precede the first call. The parser accepts any whitespace inside
 * the tags, a missing close tag at the end, and "parameters" for "arguments".
 */
import { createEngineStreamParser, engineParse, type EngineConfig } from "./engine-api.ts";
import type { ToolFormat } from "./types.ts";

export const HERMES_OPEN = "<tool_call>";
export const HERMES_CLOSE = "</tool_call>";

const config: EngineConfig = {
  openers: [{ marker: HERMES_OPEN, section: "tagged", closeTag: HERMES_CLOSE }],
  bareJson: false,
};

export const hermesFormat: ToolFormat = {
  name: "hermes",
  triggers: [HERMES_OPEN],
  rootGrammarShape: {
    prefix: `${HERMES_OPEN}\n`,
    suffix: `\n${HERMES_CLOSE}`,
    multiple: true,
    separator: `\n${HERMES_CLOSE}\n${HERMES_OPEN}\n`,
    nameKey: "name",
    argumentsKey: "arguments",
  },
  parse: (text, options) => engineParse(config, text, options),
  createStreamParser: (options) => createEngineStreamParser(config, options),
};
