/**
 * The contract every tool-call output format implements.
 */

export type ToolFormatName = "hermes" | "llama3" | "mistral" | "generic";

export interface ParsedToolCall {
  name: string;
  /** The arguments as compact JSON: the model's JSON with insignificant whitespace removed. */
  arguments: string;
}

export interface ParseResult {
  /** Everything that is not a tool call (text between/around calls, malformed calls verbatim). */
  content: string;
  toolCalls: ParsedToolCall[];
}

export type ToolStreamEvent =
  | { type: "content"; text: string }
  /** A call begins; sent once its name is known (OpenAI: id, type and name in the first delta). */
  | { type: "tool_call_start"; index: number; name: string }
  /** A fragment of the call's compact argument JSON; fragments of one call concatenate to it. */
  | { type: "tool_call_args"; index: number; text: string };

export interface ToolStreamParser {
  /** Feed generated text; returns the events it completes (adjacent fragments merged). */
  push(delta: string): ToolStreamEvent[];
  /** End of generation: flush whatever was held back. */
  end(): ToolStreamEvent[];
}

export interface ToolParseOptions {
  /**
   * The request's tool names. Used where a call is recognised only by its
   * shape (Llama 3 bare JSON): an object whose "name" is not one of these is
   * content. Marker-delimited calls are reported whatever their name.
   */
  toolNames?: readonly string[];
}

/**
 * The text a format wraps calls in, for building a grammar that forces valid calls:
 *
 *   prefix call (separator call)* suffix        when multiple
 *   prefix call suffix                          otherwise
 *
 * where call is a JSON object {"<nameKey>": "<tool name>", "<argumentsKey>": <arguments object>}
 * with the keys in that order. Whitespace is exactly as given here (the
 * parsers are lenient about whitespace around the JSON).
 */
export interface RootGrammarShape {
  prefix: string;
  suffix: string;
  multiple: boolean;
  /** Between consecutive calls when multiple (includes closing/reopening wrappers). */
  separator: string;
  nameKey: "name";
  argumentsKey: "arguments" | "parameters";
}

export interface ToolFormat {
  readonly name: ToolFormatName;
  /** Literal strings that begin a tool call in the model's output (lazy-grammar triggers). */
  readonly triggers: readonly string[];
  readonly rootGrammarShape: RootGrammarShape;
  /** Parse a complete output. Never throws; malformed calls come back as content. */
  parse(text: string, options?: ToolParseOptions): ParseResult;
  createStreamParser(options?: ToolParseOptions): ToolStreamParser;
}

/** How the text after an opening marker is structured. */
export type SectionKind =
  /** `<marker> {call} <closeTag>` (Hermes / generic). */
  | "tagged"
  /** `<|python_tag|>{call}` (Llama 3). */
  | "python_tag"
  /** `[TOOL_CALLS][{call}, ...]`, or `[TOOL_CALLS]{call}`, or `[TOOL_CALLS]name[ARGS]{args}` (Mistral). */
  | "mistral";

export interface EngineConfig {
  openers: readonly { marker: string; section: SectionKind; closeTag?: string }[];
  /** A bare JSON object at the start of the output (or right after a call) may be a call (Llama 3). */
  bareJson: boolean;
}
