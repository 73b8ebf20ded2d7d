/**
 * OpenAI-style chat message and tool types, and their validation into the
 * plain objects that chat templates see.
 *
 * Clients send `ChatMessage`s (loosely typed JSON); `normalizeMessages` checks
 * them and returns `TemplateMessage`s: content flattened to a string, the
 * `developer` role folded into `system`, tool-call arguments kept as the
 * client's string (the template layer additionally exposes them as a dict),
 * and keys that were absent left absent (templates test `'tool_calls' in message`).
 */
import { InvalidRequestError } from "../shared/errors.ts";

export type ChatRole = "system" | "developer" | "user" | "assistant" | "tool";

export const CHAT_ROLES: readonly ChatRole[] = ["system", "developer", "user", "assistant", "tool"];

export interface TextContentPart {
  type: "text";
  text: string;
}

/** Parts we recognise only to refuse them with a clear error. */
export interface ImageContentPart {
  type: "image_url" | "input_image" | "image";
  image_url?: { url: string; detail?: string } | string;
  [key: string]: unknown;
}

export interface RefusalContentPart {
  type: "refusal";
  refusal: string;
}

export type ContentPart = TextContentPart | ImageContentPart | RefusalContentPart;

export interface ToolCallFunction {
  name: string;
  /** A JSON document as a string (OpenAI). An object is accepted too and stringified. */
  arguments: string;
}

export interface ToolCall {
  id: string;
  type: "function";
  function: ToolCallFunction;
}

export interface SystemMessage {
  role: "system" | "developer";
  content: string | TextContentPart[];
  name?: string;
}

export interface UserMessage {
  role: "user";
  content: string | ContentPart[];
  name?: string;
}

export interface AssistantMessage {
  role: "assistant";
  content?: string | (TextContentPart | RefusalContentPart)[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  /** Reasoning text of an earlier turn (Qwen3 / DeepSeek-R1 templates read it). */
  reasoning_content?: string;
}

export interface ToolMessage {
  role: "tool";
  content: string | TextContentPart[];
  tool_call_id: string;
  /** Not in OpenAI's schema; filled from the matching assistant tool call when absent. */
  name?: string;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface JsonSchema {
  [key: string]: unknown;
}

export interface FunctionDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
  strict?: boolean;
}

export interface ToolDefinition {
  type: "function";
  function: FunctionDefinition;
}

export type ToolChoice =
  | "none"
  | "auto"
  | "required"
  | { type: "function"; function: { name: string } };

/** A tool call as the template sees it (HF convention: the OpenAI shape). */
export interface TemplateToolCall {
  id?: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A validated message, ready for a chat template. Absent keys are absent, not undefined. */
export interface TemplateMessage {
  /** "developer" only when NormalizeOptions.developerAsSystem is false. */
  role: "system" | "developer" | "user" | "assistant" | "tool";
  /** null only for an assistant turn that has tool calls and no text (llama.cpp's convention). */
  content: string | null;
  name?: string;
  tool_calls?: TemplateToolCall[];
  tool_call_id?: string;
  reasoning_content?: string;
}

export interface NormalizeOptions {
  /** Fold the `developer` role into `system` (templates do not know `developer`). Default true. */
  developerAsSystem?: boolean;
  /** Separator when joining several text parts. Default "\n" (as llama.cpp and vLLM do). */
  textPartSeparator?: string;
}

const IMAGE_PART_TYPES = new Set(["image_url", "input_image", "image"]);
const AUDIO_PART_TYPES = new Set(["input_audio", "audio"]);
const FILE_PART_TYPES = new Set(["file", "input_file"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Flatten `content` (string, array of parts, or null) to a string; null/undefined stays null. */
export function flattenContent(content: unknown, param: string, separator = "\n"): string | null {
  if (content === null || content === undefined) return null;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) {
    throw new InvalidRequestError(`${param} must be a string or an array of content parts`, param);
  }
  const texts: string[] = [];
  content.forEach((part, j) => {
    const p = `${param}[${j}]`;
    if (!isRecord(part) || typeof part.type !== "string") {
      throw new InvalidRequestError(`${p} must be an object with a "type"`, p);
    }
    if (part.type === "text" || part.type === "input_text" || part.type === "output_text") {
      if (typeof part.text !== "string") throw new InvalidRequestError(`${p}.text must be a string`, `${p}.text`);
      texts.push(part.text);
    } else if (part.type === "refusal") {
      if (typeof part.refusal !== "string") throw new InvalidRequestError(`${p}.refusal must be a string`, `${p}.refusal`);
      texts.push(part.refusal);
    } else if (IMAGE_PART_TYPES.has(part.type)) {
      throw new InvalidRequestError("image input is not supported by this model", p, "unsupported_content");
    } else if (AUDIO_PART_TYPES.has(part.type)) {
      throw new InvalidRequestError("audio input is not supported by this model", p, "unsupported_content");
    } else if (FILE_PART_TYPES.has(part.type)) {
      throw new InvalidRequestError("file input is not supported by this model", p, "unsupported_content");
    } else {
      throw new InvalidRequestError(`unsupported content part type "${part.type}"`, `${p}.type`);
    }
  });
  return texts.join(separator);
}

function normalizeToolCalls(raw: unknown, param: string): TemplateToolCall[] {
  if (!Array.isArray(raw)) throw new InvalidRequestError(`${param} must be an array`, param);
  return raw.map((tc, k) => {
    const p = `${param}[${k}]`;
    if (!isRecord(tc)) throw new InvalidRequestError(`${p} must be an object`, p);
    if (tc.type !== undefined && tc.type !== "function") {
      throw new InvalidRequestError(`${p}.type must be "function"`, `${p}.type`);
    }
    const fn = tc.function;
    if (!isRecord(fn)) throw new InvalidRequestError(`${p}.function must be an object`, `${p}.function`);
    if (typeof fn.name !== "string" || fn.name === "") {
      throw new InvalidRequestError(`${p}.function.name must be a non-empty string`, `${p}.function.name`);
    }
    let args: string;
    if (typeof fn.arguments === "string") args = fn.arguments;
    else if (fn.arguments === undefined || fn.arguments === null) args = "{}";
    else if (isRecord(fn.arguments)) args = JSON.stringify(fn.arguments);
    else throw new InvalidRequestError(`${p}.function.arguments must be a JSON string`, `${p}.function.arguments`);
    const out: TemplateToolCall = { type: "function", function: { name: fn.name, arguments: args } };
    if (tc.id !== undefined && tc.id !== null) {
      if (typeof tc.id !== "string") throw new InvalidRequestError(`${p}.id must be a string`, `${p}.id`);
      return { id: tc.id, ...out };
    }
    return out;
  });
}

/**
 * Validate client messages and convert them for a chat template.
 * Throws InvalidRequestError (with `param` pointing at the offending field).
 */
export function normalizeMessages(messages: unknown, options: NormalizeOptions = {}): TemplateMessage[] {
  const developerAsSystem = options.developerAsSystem ?? true;
  const sep = options.textPartSeparator ?? "\n";
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidRequestError("messages must be a non-empty array", "messages");
  }
  const callNames = new Map<string, string>();
  return messages.map((m, i): TemplateMessage => {
    const p = `messages[${i}]`;
    if (!isRecord(m)) throw new InvalidRequestError(`${p} must be an object`, p);
    const role = m.role;
    if (typeof role !== "string" || !(CHAT_ROLES as readonly string[]).includes(role)) {
      throw new InvalidRequestError(
        `${p}.role must be one of ${CHAT_ROLES.join(", ")}` + (typeof role === "string" ? ` (got "${role}")` : ""),
        `${p}.role`,
      );
    }
    if (m.name !== undefined && typeof m.name !== "string") {
      throw new InvalidRequestError(`${p}.name must be a string`, `${p}.name`);
    }
    const content = flattenContent(m.content, `${p}.content`, sep);
    const out: TemplateMessage = {
      role: role === "developer" && developerAsSystem ? "system" : (role as TemplateMessage["role"]),
      content,
    };
    if (typeof m.name === "string") out.name = m.name;

    if (role === "assistant") {
      if (m.tool_calls !== undefined && m.tool_calls !== null) {
        const calls = normalizeToolCalls(m.tool_calls, `${p}.tool_calls`);
        if (calls.length > 0) {
          out.tool_calls = calls;
          for (const c of calls) if (c.id !== undefined) callNames.set(c.id, c.function.name);
        }
      }
      if (out.content === null || out.content === "") out.content = out.tool_calls ? null : "";
      if (m.reasoning_content !== undefined && m.reasoning_content !== null) {
        if (typeof m.reasoning_content !== "string") {
          throw new InvalidRequestError(`${p}.reasoning_content must be a string`, `${p}.reasoning_content`);
        }
        out.reasoning_content = m.reasoning_content;
      }
    } else {
      if (content === null) throw new InvalidRequestError(`${p}.content is required`, `${p}.content`);
      if (m.tool_calls !== undefined && m.tool_calls !== null) {
        throw new InvalidRequestError(`${p}.tool_calls is only allowed on assistant messages`, `${p}.tool_calls`);
      }
    }

    if (role === "tool") {
      if (m.tool_call_id !== undefined && m.tool_call_id !== null) {
        if (typeof m.tool_call_id !== "string") {
          throw new InvalidRequestError(`${p}.tool_call_id must be a string`, `${p}.tool_call_id`);
        }
        out.tool_call_id = m.tool_call_id;
        if (out.name === undefined) {
          const name = callNames.get(m.tool_call_id);
          if (name !== undefined) out.name = name;
        }
      }
    }
    return out;
  });
}

const TOOL_NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Validate a `tools` array (OpenAI shape). Returns [] for null/undefined. */
export function normalizeTools(tools: unknown): ToolDefinition[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new InvalidRequestError("tools must be an array", "tools");
  const seen = new Set<string>();
  return tools.map((t, i): ToolDefinition => {
    const p = `tools[${i}]`;
    if (!isRecord(t)) throw new InvalidRequestError(`${p} must be an object`, p);
    if (t.type !== "function") throw new InvalidRequestError(`${p}.type must be "function"`, `${p}.type`);
    const fn = t.function;
    if (!isRecord(fn)) throw new InvalidRequestError(`${p}.function must be an object`, `${p}.function`);
    if (typeof fn.name !== "string" || !TOOL_NAME_RE.test(fn.name)) {
      throw new InvalidRequestError(
        `${p}.function.name must be 1-64 characters of letters, digits, "_", "-", "." or ":"`,
        `${p}.function.name`,
      );
    }
    if (seen.has(fn.name)) throw new InvalidRequestError(`duplicate tool name "${fn.name}"`, `${p}.function.name`);
    seen.add(fn.name);
    const out: FunctionDefinition = { name: fn.name };
    if (fn.description !== undefined && fn.description !== null) {
      if (typeof fn.description !== "string") {
        throw new InvalidRequestError(`${p}.function.description must be a string`, `${p}.function.description`);
      }
      out.description = fn.description;
    }
    if (fn.parameters !== undefined && fn.parameters !== null) {
      if (!isRecord(fn.parameters)) {
        throw new InvalidRequestError(`${p}.function.parameters must be a JSON schema object`, `${p}.function.parameters`);
      }
      out.parameters = fn.parameters;
    }
    if (fn.strict !== undefined && fn.strict !== null) {
      if (typeof fn.strict !== "boolean") {
        throw new InvalidRequestError(`${p}.function.strict must be a boolean`, `${p}.function.strict`);
      }
      out.strict = fn.strict;
    }
    return { type: "function", function: out };
  });
}
