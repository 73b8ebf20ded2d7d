/**
 * Llama 3.1 / 3.2 / 3.3 JSON tool calls. The model answers with a single JSON
 * object instead of text:
 *
 *   {"name": "get_weather", "parameters": {"city": "Paris"}}
 *
 * optionally preceded by <|python_tag|> (when the detokenizer renders special
 * tokens). Several calls may be separated by ";" (Llama 3.2 does this).
 *
 * A bare object is a call only when it opens the output (after whitespace) or
 * directly follows another call, and only if its keys are name / parameters /
 * arguments / type / id before the call is recognised; with
 * ToolParseOptions.toolNames, its "name" must be one of the request's tools.
 * Anything else (say, a JSON answer the user asked for) is content.
 * After <|python_tag|> the object is always taken as a call.
 */
import { createEngineStreamParser, engineParse, type EngineConfig } from "./engine-api.ts";
import type { ToolFormat } from "./types.ts";

export const LLAMA3_PYTHON_TAG = "<|python_tag|>";

const config: EngineConfig = {
  openers: [{ marker: LLAMA3_PYTHON_TAG, section: "python_tag" }],
  bareJson: true,
};

export const llama3Format: ToolFormat = {
  name: "llama3",
  triggers: [LLAMA3_PYTHON_TAG, '{"name"'],
  rootGrammarShape: {
    prefix: "",
    suffix: "",
    multiple: false,
    separator: "; ",
    nameKey: "name",
    argumentsKey: "parameters",
  },
  parse: (text, options) => engineParse(config, text, options),
  createStreamParser: (options) => createEngineStreamParser(config, options),
};
