/**
 * Built-in chat templates, used when a model has no `tokenizer.chat_template`,
 * and recognition of a template's family from its markers.
 *
 * The sources follow the published Hugging Face templates of each family, made
 * tolerant: a null `content` (assistant turn that only calls tools) renders as
 * "", and families without a system role fold the system prompt into the first
 * user turn instead of raising. None of them renders `tools`; pair them with the
 * generic tool format (tool-formats/generic.ts), which injects tools as text.
 */

export type TemplateFamily = "chatml" | "llama2" | "llama3" | "mistral" | "gemma" | "phi3" | "zephyr";

export const TEMPLATE_FAMILIES: readonly TemplateFamily[] = ["chatml", "llama2", "llama3", "mistral", "gemma", "phi3", "zephyr"];

export const DEFAULT_TEMPLATE_NAME: TemplateFamily = "chatml";

/** `content` as a string ("" for null / non-string). */
const C = "(message['content'] if message['content'] is string else '')";

const CHATML =
  "{%- for message in messages %}" +
  `{{- '<|im_start|>' + message['role'] + '\\n' + ${C} + '<|im_end|>' + '\\n' }}` +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

// Meta's Llama-2-chat template: system prompt in <<SYS>> inside the first [INST].
const LLAMA2 =
  "{%- if messages[0]['role'] == 'system' %}" +
  "{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}" +
  "{%- else %}{%- set system_message = '' %}{%- set loop_messages = messages %}{%- endif %}" +
  "{%- for message in loop_messages %}" +
  `{%- set content = ${C} %}` +
  "{%- if loop.index0 == 0 and system_message %}" +
  "{%- set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + content %}" +
  "{%- endif %}" +
  "{%- if message['role'] == 'assistant' %}{{- ' ' + content | trim + ' ' + eos_token }}" +
  "{%- else %}{{- bos_token + '[INST] ' + content | trim + ' [/INST]' }}{%- endif %}" +
  "{%- endfor %}";

const LLAMA3 =
  "{{- bos_token }}" +
  "{%- for message in messages %}" +
  `{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + ${C} | trim + '<|eot_id|>' }}` +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

// Mistral instruct (v0.1-v0.3 style): no system role; it is prepended to the first user turn.
const MISTRAL =
  "{{- bos_token }}" +
  "{%- if messages[0]['role'] == 'system' %}" +
  "{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}" +
  "{%- else %}{%- set system_message = '' %}{%- set loop_messages = messages %}{%- endif %}" +
  "{%- set ns = namespace(first_user=true) %}" +
  "{%- for message in loop_messages %}" +
  `{%- set content = ${C} %}` +
  "{%- if message['role'] == 'assistant' %}{{- ' ' + content + eos_token }}" +
  "{%- else %}" +
  "{%- if ns.first_user and system_message %}{%- set content = system_message + '\\n\\n' + content %}{%- endif %}" +
  "{%- set ns.first_user = false %}" +
  "{{- '[INST] ' + content + ' [/INST]' }}" +
  "{%- endif %}" +
  "{%- endfor %}";

// Gemma: roles user/model; the system prompt is prepended to the first user turn (as Gemma 3 does).
const GEMMA =
  "{{- bos_token }}" +
  "{%- if messages[0]['role'] == 'system' %}" +
  "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}{%- set loop_messages = messages[1:] %}" +
  "{%- else %}{%- set first_user_prefix = '' %}{%- set loop_messages = messages %}{%- endif %}" +
  "{%- for message in loop_messages %}" +
  "{%- set role = 'model' if message['role'] == 'assistant' else 'user' %}" +
  `{%- set content = ${C} %}` +
  "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + content | trim + '<end_of_turn>\\n' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}";

// Phi-3: <|system|> / <|user|> / <|assistant|> turns closed by <|end|>.
const PHI3 =
  "{%- for message in messages %}" +
  `{%- set content = ${C} %}` +
  "{%- if message['role'] == 'system' %}{{- '<|system|>\\n' + content + '<|end|>\\n' }}" +
  "{%- elif message['role'] == 'assistant' %}{{- '<|assistant|>\\n' + content + '<|end|>\\n' }}" +
  "{%- else %}{{- '<|user|>\\n' + content + '<|end|>\\n' }}{%- endif %}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- else %}{{- eos_token }}{%- endif %}";

// Zephyr: the same role tags, each turn closed by eos_token.
const ZEPHYR =
  "{%- for message in messages %}" +
  `{%- set content = ${C} %}` +
  "{%- if message['role'] == 'system' %}{{- '<|system|>\\n' + content + eos_token + '\\n' }}" +
  "{%- elif message['role'] == 'assistant' %}{{- '<|assistant|>\\n' + content + eos_token + '\\n' }}" +
  "{%- else %}{{- '<|user|>\\n' + content + eos_token + '\\n' }}{%- endif %}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- endif %}";

export const BUILTIN_TEMPLATES: Readonly<Record<TemplateFamily, string>> = Object.freeze({
  chatml: CHATML,
  llama2: LLAMA2,
  llama3: LLAMA3,
  mistral: MISTRAL,
  gemma: GEMMA,
  phi3: PHI3,
  zephyr: ZEPHYR,
});

/**
 * Strings that end an assistant turn in each family's text form. The worker
 * should stop on the model's end-of-generation tokens anyway; these are useful
 * as extra stop strings when a template is used with a model it was not made for.
 */
export const BUILTIN_STOP_STRINGS: Readonly<Record<TemplateFamily, readonly string[]>> = Object.freeze({
  chatml: ["<|im_end|>"],
  llama2: ["[INST]"],
  llama3: ["<|eot_id|>", "<|eom_id|>"],
  mistral: ["[INST]"],
  gemma: ["<end_of_turn>"],
  phi3: ["<|end|>"],
  zephyr: ["<|user|>"],
});

export function isTemplateFamily(name: string): name is TemplateFamily {
  return (TEMPLATE_FAMILIES as readonly string[]).includes(name);
}

/** The Jinja source of a built-in template; throws on an unknown name. */
export function getBuiltinTemplate(name: TemplateFamily | string = DEFAULT_TEMPLATE_NAME): string {
  if (!isTemplateFamily(name)) {
    throw new Error(`unknown built-in chat template "${name}" (known: ${TEMPLATE_FAMILIES.join(", ")})`);
  }
  return BUILTIN_TEMPLATES[name];
}

/**
 * Recognise a template's family by its markers; null when none match.
 * Order matters: ChatML markers win (Qwen templates mention other syntaxes
 * only in their tool instructions), then Llama 3, Gemma, [INST] families,
 * then the <|user|> families.
 */
export function detectTemplateFamily(source: string): TemplateFamily | null {
  if (source.includes("<|im_start|>")) return "chatml";
  if (source.includes("<|start_header_id|>")) return "llama3";
  if (source.includes("<start_of_turn>")) return "gemma";
  if (source.includes("[INST]")) return source.includes("<<SYS>>") ? "llama2" : "mistral";
  if (source.includes("<|user|>")) return source.includes("<|end|>") ? "phi3" : "zephyr";
  return null;
}
