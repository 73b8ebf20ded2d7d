/**
 * Mistral tool calls (Mistral 7B v0.3, Nemo, Small, Large ...):
 *
 *   [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]
 *
 * Elements may carry an "id" (ignored). Text may precede [TOOL_CALLS]. The
 * parser also accepts a single object without the brackets, and the newer
 * (v11 tokenizer: Small 3.2, Devstral, Magistral) form
 *
 *   [TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}
 *   [TOOL_CALLS]get_weather[CALL_ID]abc123xyz[ARGS]{...}
 *
 * repeated once per call; the grammar shape describes the array form.
 */
import { createEngineStreamParser, engineParse, type EngineConfig } from "./engine-api.ts";
import type { ToolFormat } from "./types.ts";

export const MISTRAL_TOOL_CALLS = "[TOOL_CALLS]";

const config: EngineConfig = {
  openers: [{ marker: MISTRAL_TOOL_CALLS, section: "mistral" }],
  bareJson: false,
};

export const mistralFormat: ToolFormat = {
  name: "mistral",
  triggers: [MISTRAL_TOOL_CALLS],
  rootGrammarShape: {
    prefix: `${MISTRAL_TOOL_CALLS}[`,
    suffix: "]",
    multiple: true,
    separator: ", ",
    nameKey: "name",
    argumentsKey: "arguments",
  },
  parse: (text, options) => engineParse(config, text, options),
  createStreamParser: (options) => createEngineStreamParser(config, options),
};
