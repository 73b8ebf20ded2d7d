/** The public face of the tool-call engine: a stream parser and a whole-text parse for a format. */
import { ToolCallEngine, type EngineConfig, type EngineEvent } from "./engine.ts";
import type { ParseResult, ParsedToolCall, ToolParseOptions, ToolStreamEvent, ToolStreamParser } from "./types.ts";

export type { EngineConfig } from "./engine.ts";

function publicEvents(events: EngineEvent[]): ToolStreamEvent[] {
  const out: ToolStreamEvent[] = [];
  for (const e of events) {
    if (e.type === "end_call" || e.type === "abort") continue;
    const last = out[out.length - 1];
    if (e.type === "content" && last?.type === "content") last.text += e.text;
    else if (e.type === "tool_call_args" && last?.type === "tool_call_args" && last.index === e.index) last.text += e.text;
    else out.push({ ...e });
  }
  return out;
}

export function createEngineStreamParser(cfg: EngineConfig, options?: ToolParseOptions): ToolStreamParser {
  const engine = new ToolCallEngine(cfg, options);
  let ended = false;
  return {
    push(delta: string): ToolStreamEvent[] {
      if (ended) throw new Error("tool stream parser: push() after end()");
      engine.push(delta);
      return publicEvents(engine.take());
    },
    end(): ToolStreamEvent[] {
      if (ended) return [];
      ended = true;
      engine.end();
      return publicEvents(engine.take());
    },
  };
}

export function engineParse(cfg: EngineConfig, text: string, options?: ToolParseOptions): ParseResult {
  const engine = new ToolCallEngine(cfg, options);
  engine.push(text);
  engine.end();
  type Rec = { name: string; args: string; done: boolean; raw: string | null };
  const segments: (string | Rec)[] = [];
  const byIndex = new Map<number, Rec>();
  for (const e of engine.take()) {
    switch (e.type) {
      case "content":
        segments.push(e.text);
        break;
      case "tool_call_start": {
        const rec: Rec = { name: e.name, args: "", done: false, raw: null };
        byIndex.set(e.index, rec);
        segments.push(rec);
        break;
      }
      case "tool_call_args":
        byIndex.get(e.index)!.args += e.text;
        break;
      case "end_call":
        byIndex.get(e.index)!.done = true;
        break;
      case "abort":
        byIndex.get(e.index)!.raw = e.raw;
        break;
    }
  }
  let content = "";
  const toolCalls: ParsedToolCall[] = [];
  for (const s of segments) {
    if (typeof s === "string") content += s;
    else if (s.done) toolCalls.push({ name: s.name, arguments: s.args });
    else content += s.raw ?? "";
  }
  return { content, toolCalls };
}
