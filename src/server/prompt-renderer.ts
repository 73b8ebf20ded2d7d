/**
 * Renders chat messages into the prompt text for the loaded model: the
 * configured template, else the model's own tokenizer.chat_template, else a
 * built-in (ChatML). Template errors in a request are 400s.
 */
import { createChatTemplate, ChatTemplateError, type ChatTemplate } from "../chat/template";
import { BUILTIN_STOP_STRINGS, DEFAULT_TEMPLATE_NAME, getBuiltinTemplate } from "../chat/builtin-templates";
import type { ModelInfo } from "../engine/messages";
import { InferFluxError, InvalidRequestError } from "../shared/errors";
import type { Logger } from "../shared/logger";

export interface RenderedPrompt {
  text: string;
  /** Whether the tokenizer should add BOS (false when the template already wrote it). */
  addSpecial: boolean;
}

export class PromptRenderer {
  readonly template: ChatTemplate;
  readonly origin: "config" | "model" | "builtin";
  readonly stopStrings: readonly string[];

  constructor(private readonly info: ModelInfo, override: string, log: Logger) {
    const tokens = { bos: info.bosText, eos: info.eosText };
    let source = override || info.chatTemplate || "";
    let origin: PromptRenderer["origin"] = override ? "config" : info.chatTemplate ? "model" : "builtin";
    let template: ChatTemplate | undefined;
    if (source) {
      try {
        template = createChatTemplate(source, tokens);
      } catch (e) {
        if (origin === "config") throw e;
        log.warn("the model's chat template does not parse; using the built-in ChatML template", { error: (e as Error).message });
      }
    }
    if (!template) {
      source = getBuiltinTemplate(DEFAULT_TEMPLATE_NAME);
      origin = "builtin";
      template = createChatTemplate(source, tokens);
    }
    this.template = template;
    this.origin = origin;
    this.stopStrings = template.family ? [...(BUILTIN_STOP_STRINGS[template.family] ?? [])] : [];
    log.info("chat template", { origin, family: template.family });
  }

  renderChat(messages: readonly unknown[], tools?: readonly unknown[] | null): RenderedPrompt {
    let text: string;
    try {
      text = this.template.render({ messages, tools: tools ?? null, addGenerationPrompt: true });
    } catch (e) {
      if (e instanceof InferFluxError) throw e;
      if (e instanceof ChatTemplateError) throw new InvalidRequestError(e.message, "messages", "template_error");
      throw new InvalidRequestError(`the chat template failed on these messages: ${(e as Error).message}`, "messages", "template_error");
    }
    const addSpecial = !(this.info.bosText && text.startsWith(this.info.bosText));
    return { text, addSpecial };
  }
}
