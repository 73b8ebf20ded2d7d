/**
 * Chat templates: a model's Jinja `tokenizer.chat_template` (or a built-in
 * fallback), parsed once and rendered per request.
 *
 * Rendering runs in @huggingface/jinja's interpreter, which has no access to
 * the filesystem or to JavaScript globals: a template sees only the variables
 * we give it. On top of that we enforce budgets, because a template (or a huge
 * request) must not be able to hang or exhaust the process:
 *  - every string value and the final prompt are capped (maxOutputChars);
 *  - the total size of strings a render builds is capped (64x the output cap);
 *  - evaluation steps, nesting depth (recursive macros) and wall time are capped;
 *  - `range()` is capped at 1,000,000 elements, arrays likewise.
 *
 * Errors: a syntax error in the template throws ChatTemplateError at creation
 * (model load). Anything that goes wrong while rendering a request, including
 * `raise_exception(...)` and budget overruns, throws InvalidRequestError.
 *
 * Template context (as Hugging Face transformers provides it):
 *   messages, tools (null when none), add_generation_prompt, bos_token,
 *   eos_token, raise_exception(msg), strftime_now(fmt), range, namespace,
 *   true/false/none (+ Python spellings), and every key of `extra`
 *   (chat_template_kwargs, e.g. enable_thinking) unless it is one of those.
 * Tool-call `function.arguments` that parse as a JSON object are given to the
 * template as a dict (so `arguments | tojson` and `arguments | items` work)
 * whose string form is the client's original string (so `'...' + arguments`
 * and `{{ arguments }}` print the JSON text).
 */
import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { InvalidRequestError } from "../shared/errors.ts";
import { detectTemplateFamily, type TemplateFamily } from "./builtin-templates.ts";
import { detectToolFormat, templateSupportsTools } from "./tool-formats/index.ts";
import type { ToolFormatName } from "./tool-formats/types.ts";
import {
  normalizeMessages,
  normalizeTools,
  type ChatMessage,
  type NormalizeOptions,
  type TemplateMessage,
  type ToolDefinition,
} from "./types.ts";

export interface SpecialTokens {
  bos: string;
  eos: string;
}

export interface ChatTemplateOptions {
  /** Cap on the rendered prompt and on any string built while rendering. Default 4 MiB (in UTF-16 units). */
  maxOutputChars?: number;
  /** Wall-clock budget for one render, in ms. Default 2000. */
  timeBudgetMs?: number;
  /** Cap on interpreter evaluation steps for one render. Default 5,000,000. */
  maxSteps?: number;
  /** Cap on evaluation nesting (guards recursive macros). Default 400. */
  maxDepth?: number;
  /** Clock for strftime_now (tests). Default: the system clock, local time. */
  now?: () => Date;
  /** Passed to normalizeMessages. */
  normalize?: NormalizeOptions;
}

export interface RenderInput {
  /** Client messages (validated here; already-normalized TemplateMessages pass unchanged). */
  messages: readonly ChatMessage[] | readonly TemplateMessage[] | readonly unknown[];
  tools?: readonly ToolDefinition[] | readonly unknown[] | null;
  /** Default true. */
  addGenerationPrompt?: boolean;
  /** Extra template variables (chat_template_kwargs). Reserved names are refused. */
  extra?: Record<string, unknown>;
}

export interface ChatTemplate {
  readonly source: string;
  /** Best guess of the prompt family (chatml, llama3, ...), null when unknown. */
  readonly family: TemplateFamily | null;
  /** Tool-call output format the model most likely emits (see detectToolFormat). */
  readonly toolFormat: ToolFormatName;
  /** True when the template itself renders `tools`. */
  readonly supportsTools: boolean;
  render(input: RenderInput): string;
}

/** The template's own source is broken (a model-load problem, not a request problem). */
export class ChatTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChatTemplateError";
  }
}

/** Names the renderer provides; `extra` may not override them. */
export const RESERVED_TEMPLATE_VARIABLES: ReadonlySet<string> = new Set([
  "messages",
  "tools",
  "add_generation_prompt",
  "bos_token",
  "eos_token",
  "raise_exception",
  "strftime_now",
  "range",
  "namespace",
  "true",
  "false",
  "none",
  "True",
  "False",
  "None",
]);

const DEFAULTS = {
  maxOutputChars: 4 * 1024 * 1024,
  timeBudgetMs: 2000,
  maxSteps: 5_000_000,
  maxDepth: 400,
};
const MAX_ARRAY_LENGTH = 1_000_000;
const PRODUCED_FACTOR = 64;

/** Thrown by the template's raise_exception(); its message goes to the client verbatim. */
class TemplateRaise extends Error {}
/** A render budget was exceeded. */
class TemplateBudget extends Error {}

type Statement = Parameters<Interpreter["evaluate"]>[0];
type RuntimeValue = ReturnType<Interpreter["evaluate"]>;

/** Node types whose string result is an existing value, not a newly built one. */
const NON_PRODUCING = new Set(["Identifier", "MemberExpression", "StringLiteral"]);

class GuardedInterpreter extends Interpreter {
  private steps = 0;
  private nextClockCheck = 64;
  private depth = 0;
  private produced = 0;
  private readonly deadline: number;
  private readonly maxProduced: number;

  constructor(
    env: Environment,
    private readonly limits: typeof DEFAULTS,
  ) {
    super(env);
    this.deadline = performance.now() + limits.timeBudgetMs;
    this.maxProduced = limits.maxOutputChars * PRODUCED_FACTOR;
  }

  override evaluate(statement: Statement, environment: Environment): RuntimeValue {
    if (++this.steps > this.limits.maxSteps) {
      throw new TemplateBudget(`chat template exceeded ${this.limits.maxSteps} evaluation steps`);
    }
    if (this.steps >= this.nextClockCheck) {
      this.nextClockCheck = this.steps + 64;
      if (performance.now() > this.deadline) {
        throw new TemplateBudget(`chat template took longer than ${this.limits.timeBudgetMs} ms to render`);
      }
    }
    if (this.depth >= this.limits.maxDepth) {
      throw new TemplateBudget("chat template recursion is too deep");
    }
    this.depth++;
    let value: RuntimeValue;
    try {
      value = super.evaluate(statement, environment);
    } finally {
      this.depth--;
    }
    if (value.type === "StringValue") {
      const len = (value.value as string).length;
      if (len > this.limits.maxOutputChars) {
        throw new TemplateBudget(`rendered prompt exceeds ${this.limits.maxOutputChars} characters`);
      }
      if (statement && !NON_PRODUCING.has(statement.type)) {
        this.produced += len;
        if (this.produced > this.maxProduced) {
          throw new TemplateBudget(`chat template built more than ${this.maxProduced} characters of text`);
        }
      }
    } else if (value.type === "ArrayValue") {
      const len = (value.value as unknown[]).length;
      if (len > MAX_ARRAY_LENGTH) {
        throw new TemplateBudget(`chat template built an array longer than ${MAX_ARRAY_LENGTH}`);
      }
      // A built array is about to be iterated: count its elements as work, since
      // a loop with an empty body evaluates nothing per element.
      if (statement && !NON_PRODUCING.has(statement.type)) this.steps += len;
    }
    return value;
  }
}

function cappedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (![start, stop, step].every((n) => typeof n === "number" && Number.isInteger(n))) {
    throw new Error("range() arguments must be integers");
  }
  if (step === 0) throw new Error("range() step must not be zero");
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (count > MAX_ARRAY_LENGTH) throw new TemplateBudget(`range() longer than ${MAX_ARRAY_LENGTH}`);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = start + i * step;
  return out;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime for the directives chat templates use (English names, local time). */
export function strftime(date: Date, format: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return format.replace(/%[a-zA-Z%]/g, (tok) => {
    switch (tok) {
      case "%Y": return String(date.getFullYear());
      case "%y": return pad(date.getFullYear() % 100);
      case "%m": return pad(date.getMonth() + 1);
      case "%d": return pad(date.getDate());
      case "%e": return String(date.getDate()).padStart(2, " ");
      case "%b": return MONTHS[date.getMonth()]!.slice(0, 3);
      case "%B": return MONTHS[date.getMonth()]!;
      case "%a": return DAYS[date.getDay()]!.slice(0, 3);
      case "%A": return DAYS[date.getDay()]!;
      case "%H": return pad(date.getHours());
      case "%I": return pad(((date.getHours() + 11) % 12) + 1);
      case "%p": return date.getHours() < 12 ? "AM" : "PM";
      case "%M": return pad(date.getMinutes());
      case "%S": return pad(date.getSeconds());
      case "%j": {
        const start = new Date(date.getFullYear(), 0, 1);
        return pad(Math.floor((date.getTime() - start.getTime()) / 86_400_000) + 1, 3);
      }
      case "%%": return "%";
      default: return tok;
    }
  });
}

/** A Map whose string form is the original JSON text (see the file comment). */
class RawJsonMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]>, private readonly raw: string) {
    super(entries);
  }
  override toString(): string {
    return this.raw;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parse tool-call arguments to a dict when they are a JSON object. */
function argumentsAsObject(raw: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(raw);
    return isPlainObject(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Parse `source` once. Throws ChatTemplateError when it is not valid Jinja.
 */
export function createChatTemplate(
  source: string,
  specialTokens: SpecialTokens,
  options: ChatTemplateOptions = {},
): ChatTemplate {
  if (typeof source !== "string" || source.trim() === "") {
    throw new ChatTemplateError("chat template is empty");
  }
  let template: Template;
  try {
    template = new Template(source);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ChatTemplateError(`chat template does not parse: ${msg}`, { cause: err });
  }
  const limits = {
    maxOutputChars: options.maxOutputChars ?? DEFAULTS.maxOutputChars,
    timeBudgetMs: options.timeBudgetMs ?? DEFAULTS.timeBudgetMs,
    maxSteps: options.maxSteps ?? DEFAULTS.maxSteps,
    maxDepth: options.maxDepth ?? DEFAULTS.maxDepth,
  };
  const now = options.now ?? (() => new Date());
  const program = template.parsed;

  function render(input: RenderInput): string {
    const messages = normalizeMessages(input.messages, options.normalize);
    const tools: ToolDefinition[] = normalizeTools(input.tools);
    const extra = input.extra ?? {};
    if (!isPlainObject(extra)) throw new InvalidRequestError("chat_template_kwargs must be an object", "chat_template_kwargs");
    for (const key of Object.keys(extra)) {
      if (RESERVED_TEMPLATE_VARIABLES.has(key)) {
        throw new InvalidRequestError(`chat_template_kwargs may not set "${key}"`, "chat_template_kwargs");
      }
    }

    // Tool-call arguments → dicts where they parse; remember the raw strings.
    const rawArgs: (string | null)[][] = [];
    const templateMessages = messages.map((m, i) => {
      rawArgs[i] = [];
      if (!m.tool_calls) return m;
      return {
        ...m,
        tool_calls: m.tool_calls.map((tc, k) => {
          const obj = argumentsAsObject(tc.function.arguments);
          rawArgs[i]![k] = obj ? tc.function.arguments : null;
          return { ...tc, function: { ...tc.function, arguments: obj ?? tc.function.arguments } };
        }),
      };
    });

    const env = new Environment();
    for (const [k, v] of [["true", true], ["false", false], ["none", null], ["True", true], ["False", false], ["None", null]] as const) {
      env.set(k, v);
    }
    env.set("range", cappedRange);
    env.set("strftime_now", (fmt: unknown) => strftime(now(), String(fmt)));
    env.set("raise_exception", (msg: unknown) => {
      throw new TemplateRaise(String(msg));
    });
    env.set("bos_token", specialTokens.bos);
    env.set("eos_token", specialTokens.eos);
    env.set("add_generation_prompt", input.addGenerationPrompt ?? true);
    env.set("tools", tools.length > 0 ? tools : null);
    for (const [k, v] of Object.entries(extra)) {
      if (typeof v === "function") continue;
      env.set(k, v);
    }
    const messagesValue = env.set("messages", templateMessages);
    patchArguments(messagesValue, rawArgs);

    let result: RuntimeValue;
    try {
      result = new GuardedInterpreter(env, limits).run(program);
    } catch (err) {
      throw toRequestError(err);
    }
    const out = String(result.value ?? "");
    if (out.length > limits.maxOutputChars) {
      throw new InvalidRequestError(`rendered prompt exceeds ${limits.maxOutputChars} characters`, "messages", "prompt_too_large");
    }
    return out;
  }

  return {
    source,
    family: detectTemplateFamily(source),
    toolFormat: detectToolFormat(source),
    supportsTools: templateSupportsTools(source),
    render,
  };
}

/** Give dict-valued arguments the client's JSON string as their string form. */
function patchArguments(messagesValue: RuntimeValue, rawArgs: (string | null)[][]): void {
  type V = { type: string; value: unknown; toString(): string };
  const get = (obj: V | undefined, key: string): V | undefined =>
    obj && obj.type === "ObjectValue" ? ((obj.value as Map<string, V>).get(key) ?? undefined) : undefined;
  const list = (messagesValue as V).value as V[];
  rawArgs.forEach((raws, i) => {
    raws.forEach((raw, k) => {
      if (raw === null || raw === undefined) return;
      const calls = get(list[i], "tool_calls");
      if (!calls || calls.type !== "ArrayValue") return;
      const args = get(get((calls.value as V[])[k], "function"), "arguments");
      if (!args || args.type !== "ObjectValue") return;
      args.value = new RawJsonMap(args.value as Map<string, unknown>, raw);
      args.toString = () => raw;
    });
  });
}

function toRequestError(err: unknown): InvalidRequestError {
  if (err instanceof InvalidRequestError) return err;
  if (err instanceof TemplateRaise) {
    return new InvalidRequestError(err.message, "messages", "chat_template_error");
  }
  if (err instanceof TemplateBudget) {
    return new InvalidRequestError(err.message, "messages", "prompt_too_large");
  }
  if (err instanceof RangeError) {
    // Stack overflow inside the interpreter, or a string too large for the engine.
    return new InvalidRequestError(`chat template failed to render: ${err.message}`, "messages", "prompt_too_large");
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new InvalidRequestError(`chat template failed to render: ${msg}`, "messages", "chat_template_error");
}
