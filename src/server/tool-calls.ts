/**
 * Tool calling for a chat request: validates tools and tool_choice, decides
 * how tools reach the prompt (the model's template, or the documented generic
 * format), and, for `required` or a named function, builds a grammar that only
 * admits valid calls whose arguments match each tool's parameter schema; for
 * `auto` the same grammar is lazy: it applies once the model starts a call.
 */
import {
  getToolFormat,
  injectGenericToolPrompt,
  normalizeMessages,
  normalizeTools,
  type ChatTemplate,
  type ToolDefinition,
  type ToolFormat,
  type TemplateMessage,
} from "../chat/index";
import { jsonSchemaToGbnf, validateGbnf } from "../grammar/index";
import { InvalidRequestError } from "../shared/errors";

export type ToolMode = { kind: "auto" } | { kind: "required" } | { kind: "named"; name: string };

export interface ToolPlan {
  tools: ToolDefinition[];
  mode: ToolMode;
  format: ToolFormat;
  /** Tools for the template, or null when they were written into the messages (generic format). */
  templateTools: ToolDefinition[] | null;
  messages: TemplateMessage[];
  /** With `triggers`, the grammar is lazy (tool_choice auto): it applies from the first trigger on. */
  grammar?: { text: string; root: string; triggers?: string[] };
  toolNames: string[];
}

export const TOOL_GRAMMAR_ROOT = "tool-calls";

function parseChoice(choice: unknown, names: Set<string>): ToolMode | "none" {
  if (choice === undefined || choice === null || choice === "auto") return { kind: "auto" };
  if (choice === "none") return "none";
  if (choice === "required") return { kind: "required" };
  const c = choice as { type?: unknown; function?: { name?: unknown } };
  if (c && typeof c === "object" && c.type === "function" && typeof c.function?.name === "string") {
    if (!names.has(c.function.name)) throw new InvalidRequestError(`tool_choice names '${c.function.name}', which is not in tools`, "tool_choice");
    return { kind: "named", name: c.function.name };
  }
  throw new InvalidRequestError('tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":...}}', "tool_choice");
}

/** The JSON Schema of one call {"name": <tool>, "<argumentsKey>": <parameters>} for the given tools. */
function callSchema(tools: ToolDefinition[], argumentsKey: string) {
  const variants = tools.map((t) => ({
    type: "object",
    properties: {
      name: { const: t.function.name },
      [argumentsKey]: t.function.parameters ?? { type: "object", additionalProperties: true },
    },
    required: ["name", argumentsKey],
    additionalProperties: false,
  }));
  return variants.length === 1 ? variants[0] : { anyOf: variants };
}

/** GBNF: the format's wrapper around one or more calls; `root` is one call. */
export function toolGrammar(tools: ToolDefinition[], format: ToolFormat, parallel: boolean): { text: string; root: string } {
  const shape = format.rootGrammarShape;
  const calls = jsonSchemaToGbnf(callSchema(tools, shape.argumentsKey), { propOrder: ["name", shape.argumentsKey], param: "tools" });
  const lit = (s: string) => (s ? JSON.stringify(s) : "");
  const many = parallel && shape.multiple ? ` ( ${lit(shape.separator) || '""'} root )*` : "";
  const text = `${calls}\n${TOOL_GRAMMAR_ROOT} ::= ${[lit(shape.prefix), "root" + many, lit(shape.suffix)].filter(Boolean).join(" ")}\n`;
  validateGbnf(text, TOOL_GRAMMAR_ROOT);
  return { text, root: TOOL_GRAMMAR_ROOT };
}

/**
 * tool_choice auto: the same grammar, engaged lazily when the output reaches
 * one of the format's triggers. A trigger the wrapper does not begin with
 * (Llama 3's <|python_tag|> before a bare JSON call) becomes an optional lead.
 */
export function lazyToolGrammar(tools: ToolDefinition[], format: ToolFormat, parallel: boolean): { text: string; root: string; triggers: string[] } {
  const base = toolGrammar(tools, format, parallel);
  const start = `${format.rootGrammarShape.prefix}{"`;
  const leads = format.triggers.filter((t) => !start.startsWith(t) && !t.startsWith(start));
  if (!leads.length) return { ...base, triggers: [...format.triggers] };
  const root = `${TOOL_GRAMMAR_ROOT}-lazy`;
  const text = `${base.text}${root} ::= ( ${leads.map((t) => JSON.stringify(t)).join(" | ")} )? ${TOOL_GRAMMAR_ROOT}\n`;
  validateGbnf(text, root);
  return { text, root, triggers: [...format.triggers] };
}

/** The tool plan of a request, or undefined when it has no tools (or tool_choice none). */
export function planTools(
  req: { tools?: unknown; tool_choice?: unknown; parallel_tool_calls?: boolean; messages: unknown },
  template: ChatTemplate,
): ToolPlan | undefined {
  const hasTools = Array.isArray(req.tools) ? req.tools.length > 0 : req.tools != null;
  if (!hasTools) {
    if (req.tool_choice != null && req.tool_choice !== "none" && req.tool_choice !== "auto") throw new InvalidRequestError("tool_choice requires tools", "tool_choice");
    return undefined;
  }
  const tools = normalizeTools(req.tools);
  const names = new Set(tools.map((t) => t.function.name));
  const choice = parseChoice(req.tool_choice, names);
  if (choice === "none") return undefined;
  const offered = choice.kind === "named" ? tools.filter((t) => t.function.name === choice.name) : tools;
  const parallel = req.parallel_tool_calls !== false;
  const messages = normalizeMessages(req.messages);
  const useTemplate = template.supportsTools;
  const format = getToolFormat(useTemplate ? template.toolFormat : "generic");
  const toolChoice = choice.kind === "named" ? { type: "function" as const, function: { name: choice.name } } : choice.kind;
  return {
    tools,
    mode: choice,
    format,
    templateTools: useTemplate ? offered : null,
    messages: useTemplate ? messages : injectGenericToolPrompt(messages, offered, { toolChoice, parallelToolCalls: parallel }),
    grammar: choice.kind === "auto" ? lazyToolGrammar(offered, format, parallel) : toolGrammar(offered, format, parallel && choice.kind !== "named"),
    toolNames: offered.map((t) => t.function.name),
  };
}
