/**
 * Tool-call output formats by model family, and picking one for a template.
 */
import { genericFormat } from "./generic.ts";
import { hermesFormat } from "./hermes.ts";
import { llama3Format } from "./llama3.ts";
import { mistralFormat } from "./mistral.ts";
import type { ToolFormat, ToolFormatName } from "./types.ts";

export const TOOL_FORMATS: Readonly<Record<ToolFormatName, ToolFormat>> = Object.freeze({
  hermes: hermesFormat,
  llama3: llama3Format,
  mistral: mistralFormat,
  generic: genericFormat,
});

export function getToolFormat(name: ToolFormatName): ToolFormat {
  const f = TOOL_FORMATS[name];
  if (!f) throw new Error(`unknown tool format "${name}"`);
  return f;
}

/**
 * The format a model with this chat template most likely emits:
 *  - mentions <tool_call>                                  → hermes
 *  - mentions [TOOL_CALLS]                                 → mistral
 *  - mentions <|python_tag|>, or "parameters" alongside
 *    Llama 3 header markers                                → llama3
 *  - anything else, or no template                         → generic
 * "generic" means: inject the tools as text (injectGenericToolPrompt) rather
 * than relying on the template.
 */
export function detectToolFormat(templateSource: string | null | undefined): ToolFormatName {
  if (!templateSource) return "generic";
  if (templateSource.includes("<tool_call>")) return "hermes";
  if (templateSource.includes("[TOOL_CALLS]")) return "mistral";
  if (templateSource.includes("<|python_tag|>")) return "llama3";
  if (templateSource.includes('"parameters"') && templateSource.includes("<|start_header_id|>")) return "llama3";
  return "generic";
}

/** True when the template refers to a `tools` variable (renders tool definitions itself). */
export function templateSupportsTools(source: string | null | undefined): boolean {
  return !!source && /\btools\b/.test(source);
}

export type { ToolFormat, ToolFormatName } from "./types.ts";
