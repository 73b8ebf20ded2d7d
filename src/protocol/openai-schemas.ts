/**
 * Request schemas of the OpenAI-compatible endpoints (typebox = JSON Schema),
 * used both to validate bodies and to document them in OpenAPI.
 * Extensions beyond OpenAI (top_k, min_p, repeat_penalty, ignore_eos, priority, grammar) follow llama-server's names.
 */
import { Type as T, type Static } from "@sinclair/typebox";

const Num = (min: number, max: number, description?: string) => T.Number({ minimum: min, maximum: max, description });
const Stop = T.Union([T.String(), T.Array(T.String(), { maxItems: 16 }), T.Null()], { description: "Up to 16 stop strings" });

const SamplingFields = {
  model: T.String({ description: "Model id (see GET /v1/models)" }),
  temperature: T.Optional(T.Union([Num(0, 2), T.Null()])),
  top_p: T.Optional(T.Union([Num(0, 1), T.Null()])),
  n: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 128 }), T.Null()])),
  stream: T.Optional(T.Union([T.Boolean(), T.Null()])),
  stream_options: T.Optional(T.Union([T.Object({ include_usage: T.Optional(T.Boolean()) }), T.Null()])),
  stop: T.Optional(Stop),
  max_tokens: T.Optional(T.Union([T.Integer({ minimum: 1 }), T.Null()])),
  presence_penalty: T.Optional(T.Union([Num(-2, 2), T.Null()])),
  frequency_penalty: T.Optional(T.Union([Num(-2, 2), T.Null()])),
  logit_bias: T.Optional(T.Union([T.Record(T.String(), Num(-100, 100)), T.Null()])),
  seed: T.Optional(T.Union([T.Integer(), T.Null()])),
  user: T.Optional(T.String()),
  // llama.cpp-style extensions
  top_k: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000 })),
  min_p: T.Optional(Num(0, 1)),
  // Divides positive logits (as a 32-bit float): 0, or a value that rounds to 0 like 1e-320, makes them
  // infinite, and sampling from infinities stalled the engine for seconds or ended in a 500.
  repeat_penalty: T.Optional(Num(0.01, 10, "0.01 to 10; 1 = off, below 1 favours repeats")),
  repeat_last_n: T.Optional(T.Integer({ minimum: -1, maximum: 1_000_000 })),
  ignore_eos: T.Optional(T.Boolean()),
  priority: T.Optional(T.Integer({ minimum: -100, maximum: 100, description: "Higher runs first" })),
};

/** llama-server's lazy grammar: free output until a trigger word appears, then the grammar from the trigger on. */
const LazyGrammarFields = {
  grammar_lazy: T.Optional(T.Boolean({ description: "With grammar: constrain only from the first trigger on" })),
  grammar_triggers: T.Optional(
    T.Array(T.Union([T.String({ minLength: 1, maxLength: 256 }), T.Object({ type: T.Literal("word"), value: T.String({ minLength: 1, maxLength: 256 }) })]), { minItems: 1, maxItems: 16 }),
  ),
};

const TextPart = T.Object({ type: T.Literal("text"), text: T.String() });
const ImagePart = T.Object({ type: T.Literal("image_url"), image_url: T.Unknown() });
const Content = T.Union([T.String(), T.Array(T.Union([TextPart, ImagePart])), T.Null()]);

const ToolCall = T.Object({
  id: T.String(),
  type: T.Literal("function"),
  function: T.Object({ name: T.String(), arguments: T.String() }),
});

export const ChatMessageSchema = T.Object({
  role: T.Union([T.Literal("system"), T.Literal("developer"), T.Literal("user"), T.Literal("assistant"), T.Literal("tool")]),
  content: T.Optional(Content),
  name: T.Optional(T.String()),
  tool_calls: T.Optional(T.Array(ToolCall)),
  tool_call_id: T.Optional(T.String()),
});

export const ChatCompletionRequestSchema = T.Object({
  ...SamplingFields,
  messages: T.Array(ChatMessageSchema, { minItems: 1 }),
  max_completion_tokens: T.Optional(T.Union([T.Integer({ minimum: 1 }), T.Null()])),
  logprobs: T.Optional(T.Union([T.Boolean(), T.Null()])),
  top_logprobs: T.Optional(T.Union([T.Integer({ minimum: 0, maximum: 20 }), T.Null()])),
  response_format: T.Optional(T.Unknown()),
  tools: T.Optional(T.Unknown()),
  tool_choice: T.Optional(T.Unknown()),
  parallel_tool_calls: T.Optional(T.Boolean()),
  grammar: T.Optional(T.String()),
  ...LazyGrammarFields,
});

export const CompletionRequestSchema = T.Object({
  ...SamplingFields,
  prompt: T.Union([
    T.String(),
    T.Array(T.String(), { minItems: 1 }),
    T.Array(T.Integer(), { minItems: 1 }),
    T.Array(T.Array(T.Integer(), { minItems: 1 }), { minItems: 1 }),
  ]),
  echo: T.Optional(T.Union([T.Boolean(), T.Null()])),
  logprobs: T.Optional(T.Union([T.Integer({ minimum: 0, maximum: 20 }), T.Null()])),
  suffix: T.Optional(T.Union([T.String(), T.Null()])),
  best_of: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 1 }), T.Null()])),
  response_format: T.Optional(T.Unknown()),
  grammar: T.Optional(T.String()),
  ...LazyGrammarFields,
});

export type ChatMessage = Static<typeof ChatMessageSchema>;
export type ChatCompletionRequest = Static<typeof ChatCompletionRequestSchema>;
export type CompletionRequest = Static<typeof CompletionRequestSchema>;
