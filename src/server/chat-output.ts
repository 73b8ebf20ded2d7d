/**
 * Shapes generated text into chat message content and OpenAI tool calls:
 * whole messages for non-streaming responses, and `delta` objects for
 * streaming ones (id/type/name first, then argument fragments by index).
 */
import { randomId } from "../shared/ids";
import type { ToolPlan } from "./tool-calls";

export interface ChatMessageOut {
  role: "assistant";
  content: string | null;
  refusal: null;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
}

const callId = () => randomId("call").replace("call-", "call_");

/** The final assistant message; tool calls are parsed out when the request offered tools. */
export function finalMessage(text: string, tools: ToolPlan | undefined): { message: ChatMessageOut; toolCalls: boolean } {
  if (!tools) return { message: { role: "assistant", content: text, refusal: null }, toolCalls: false };
  const parsed = tools.format.parse(text, { toolNames: tools.toolNames });
  if (!parsed.toolCalls.length) return { message: { role: "assistant", content: text, refusal: null }, toolCalls: false };
  return {
    message: {
      role: "assistant",
      content: parsed.content.trim() ? parsed.content : null,
      refusal: null,
      tool_calls: parsed.toolCalls.map((c) => ({ id: callId(), type: "function", function: { name: c.name, arguments: c.arguments } })),
    },
    toolCalls: true,
  };
}

/** Turns streamed text into chat deltas. */
export class ChatStreamShaper {
  private readonly parser;
  toolCalls = 0;

  constructor(tools: ToolPlan | undefined) {
    this.parser = tools?.format.createStreamParser({ toolNames: tools.toolNames });
  }

  push(text: string): object[] {
    if (!this.parser) return text ? [{ content: text }] : [];
    return this.deltas(this.parser.push(text));
  }

  end(): object[] {
    return this.parser ? this.deltas(this.parser.end()) : [];
  }

  private deltas(events: ReturnType<NonNullable<ChatStreamShaper["parser"]>["push"]>): object[] {
    const out: object[] = [];
    for (const e of events) {
      if (e.type === "content") {
        if (e.text) out.push({ content: e.text });
      } else if (e.type === "tool_call_start") {
        this.toolCalls++;
        out.push({ tool_calls: [{ index: e.index, id: callId(), type: "function", function: { name: e.name, arguments: "" } }] });
      } else if (e.type === "tool_call_args") {
        out.push({ tool_calls: [{ index: e.index, function: { arguments: e.text } }] });
      }
    }
    return out;
  }
}
