/**
 * The generic tool format: InferFlux's own convention for models whose chat
 * template has no tool support (or a tool syntax we do not parse).
 *
 * The tools are described in a section of the system prompt
 * (buildGenericToolSystemPrompt), and the model is told to answer with
 *
 *   <tool_call>{"name": "<tool name>", "arguments": {<arguments>}}</tool_call>
 *
 * one block per call, blocks one after another, nothing after them. The
 * conversation history is rewritten to the same convention
 * (injectGenericToolPrompt): an assistant turn's tool_calls become such blocks
 * in its text, and tool results become a user turn of
 *
 *   <tool_response name="<tool name>">
 *   <result text>
 *   </tool_response>
 *
 * blocks (consecutive results merged into one turn), so the template only ever
 * sees system/user/assistant text. Do not pass `tools` to the template as well.
 *
 * Output parsing is the Hermes parser with compact markers: whitespace inside
 * the tags is optional, text before the first call is content.
 */
import { minifyJson } from "./json-scanner.ts";
import { createEngineStreamParser, engineParse, type EngineConfig } from "./engine-api.ts";
import type { ToolFormat } from "./types.ts";
import type { TemplateMessage, ToolChoice, ToolDefinition } from "../types.ts";

export const GENERIC_OPEN = "<tool_call>";
export const GENERIC_CLOSE = "</tool_call>";

const config: EngineConfig = {
  openers: [{ marker: GENERIC_OPEN, section: "tagged", closeTag: GENERIC_CLOSE }],
  bareJson: false,
};

export const genericFormat: ToolFormat = {
  name: "generic",
  triggers: [GENERIC_OPEN],
  rootGrammarShape: {
    prefix: GENERIC_OPEN,
    suffix: GENERIC_CLOSE,
    multiple: true,
    separator: `${GENERIC_CLOSE}\n${GENERIC_OPEN}`,
    nameKey: "name",
    argumentsKey: "arguments",
  },
  parse: (text, options) => engineParse(config, text, options),
  createStreamParser: (options) => createEngineStreamParser(config, options),
};

export interface GenericToolPromptOptions {
  /** Default "auto". "none" yields no section; a named function lists only that tool and requires it. */
  toolChoice?: ToolChoice;
  /** Default true. When false the model is told to make at most one call. */
  parallelToolCalls?: boolean;
}

/**
 * The system-prompt section describing `tools` and the call syntax; "" when
 * there is nothing to describe (no tools, or tool_choice "none").
 */
export function buildGenericToolSystemPrompt(tools: readonly ToolDefinition[], options: GenericToolPromptOptions = {}): string {
  const choice = options.toolChoice ?? "auto";
  if (choice === "none" || tools.length === 0) return "";
  const forced = typeof choice === "object" ? choice.function.name : null;
  const listed = forced === null ? tools : tools.filter((t) => t.function.name === forced);
  if (listed.length === 0) return "";
  const lines = listed.map((t) => {
    const d: Record<string, unknown> = { name: t.function.name };
    if (t.function.description !== undefined) d.description = t.function.description;
    d.parameters = t.function.parameters ?? { type: "object", properties: {} };
    return JSON.stringify(d);
  });
  const parts = [
    "# Tools",
    "",
    "You can call the following tools. Each is described by a JSON object with its name, what it does and a JSON schema of its arguments:",
    "<tools>",
    ...lines,
    "</tools>",
    "",
    `To call a tool, write a ${GENERIC_OPEN} block holding a JSON object with the tool's name and its arguments, exactly like this:`,
    `${GENERIC_OPEN}{"name": "<tool name>", "arguments": {"<argument name>": <argument value>}}${GENERIC_CLOSE}`,
  ];
  if (options.parallelToolCalls === false) parts.push("Call at most one tool per turn.");
  else parts.push("To call several tools, write one block per call, one after another.");
  parts.push(
    'Write nothing after your tool calls: their results will come back to you in <tool_response name="<tool name>"> blocks.',
  );
  if (forced !== null) parts.push(`You must call the tool "${forced}" now.`);
  else if (choice === "required") parts.push("You must call at least one tool now.");
  else parts.push(`If no tool is needed, answer normally, without any ${GENERIC_OPEN} block.`);
  return parts.join("\n");
}

function callBlock(name: string, args: string): string {
  const a = minifyJson(args);
  const argsJson = a !== null && a.startsWith("{") ? a : JSON.stringify(a ?? args);
  return `${GENERIC_OPEN}{"name": ${JSON.stringify(name)}, "arguments": ${argsJson}}${GENERIC_CLOSE}`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

/**
 * Rewrite normalized messages for a template without tool support: add the
 * tool section to the system prompt (appended to a leading system message, or
 * as a new one) and turn tool calls and tool results into text (see the file
 * comment). Returns new messages; the input is not modified.
 */
export function injectGenericToolPrompt(
  messages: readonly TemplateMessage[],
  tools: readonly ToolDefinition[],
  options: GenericToolPromptOptions = {},
): TemplateMessage[] {
  const out: TemplateMessage[] = [];
  let toolTurn: TemplateMessage | null = null;
  for (const m of messages) {
    if (m.role === "tool") {
      const attr = m.name !== undefined ? ` name="${escapeAttr(m.name)}"` : "";
      const block = `<tool_response${attr}>\n${m.content ?? ""}\n</tool_response>`;
      if (toolTurn) toolTurn.content += "\n" + block;
      else {
        toolTurn = { role: "user", content: block };
        out.push(toolTurn);
      }
      continue;
    }
    toolTurn = null;
    if (m.role === "assistant" && m.tool_calls && m.tool_calls.length > 0) {
      const blocks = m.tool_calls.map((tc) => callBlock(tc.function.name, tc.function.arguments)).join("\n");
      const { tool_calls: _dropped, ...rest } = m;
      out.push({ ...rest, content: m.content ? `${m.content}\n${blocks}` : blocks });
      continue;
    }
    out.push({ ...m });
  }
  const section = buildGenericToolSystemPrompt(tools, options);
  if (section !== "") {
    const first = out[0];
    if (first && first.role === "system") out[0] = { ...first, content: first.content ? `${first.content}\n\n${section}` : section };
    else out.unshift({ role: "system", content: section });
  }
  return out;
}
