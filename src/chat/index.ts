/**
 * Public API of src/chat: message types and validation, chat-template
 * rendering, built-in templates, and tool-call formats.
 */
export * from "./types.ts";
export {
  createChatTemplate,
  ChatTemplateError,
  RESERVED_TEMPLATE_VARIABLES,
  strftime,
  type ChatTemplate,
  type ChatTemplateOptions,
  type RenderInput,
  type SpecialTokens,
} from "./template.ts";
export {
  BUILTIN_STOP_STRINGS,
  BUILTIN_TEMPLATES,
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_FAMILIES,
  detectTemplateFamily,
  getBuiltinTemplate,
  isTemplateFamily,
  type TemplateFamily,
} from "./builtin-templates.ts";
export { TOOL_FORMATS, detectToolFormat, getToolFormat, templateSupportsTools } from "./tool-formats/index.ts";
export type {
  ParseResult,
  ParsedToolCall,
  RootGrammarShape,
  ToolFormat,
  ToolFormatName,
  ToolParseOptions,
  ToolStreamEvent,
  ToolStreamParser,
} from "./tool-formats/types.ts";
export {
  GENERIC_CLOSE,
  GENERIC_OPEN,
  buildGenericToolSystemPrompt,
  genericFormat,
  injectGenericToolPrompt,
  type GenericToolPromptOptions,
} from "./tool-formats/generic.ts";
export { HERMES_CLOSE, HERMES_OPEN, hermesFormat } from "./tool-formats/hermes.ts";
export { LLAMA3_PYTHON_TAG, llama3Format } from "./tool-formats/llama3.ts";
export { MISTRAL_TOOL_CALLS, mistralFormat } from "./tool-formats/mistral.ts";
export { minifyJson } from "./tool-formats/json-scanner.ts";
