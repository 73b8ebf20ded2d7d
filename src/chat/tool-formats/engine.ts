/**
 * The tool-call scanner shared by every format: a character-level state
 * machine over model output that separates content from tool calls.
 *
 * It is fed one UTF-16 unit at a time, so its events do not depend on how the
 * output was split into deltas; `parse()` runs the same machine over the whole
 * text, so streaming and non-streaming agree.
 *
 * Content is emitted as soon as it cannot be the start of an opening marker.
 * A call is *committed* (tool_call_start emitted) once its name is known and
 * its arguments key has been seen (or its object closed without arguments);
 * argument JSON is then streamed in compact fragments as it arrives.
 *
 * Malformed calls:
 *  - before commit (bad JSON, no name, not a call after all): the text held
 *    back for the call is released as content, in both modes;
 *  - after commit, once the arguments are complete (e.g. a missing "}" or
 *    close tag, junk after the arguments): the call stands and the text from
 *    the break on is content, in both modes;
 *  - after commit, arguments incomplete (broken JSON inside them, or output
 *    truncated): parse() turns the whole call back into content; a stream
 *    parser cannot take back fragments it already sent, so the call stays
 *    partial and the text from the break on is streamed as content.
 * Whitespace after a call (between calls, or trailing) is dropped.
 */
import { Feed, JsonScanner, isWs } from "./json-scanner.ts";
import { ARG_KEYS, KNOWN_KEYS, V11_ARGS, V11_CALL_ID, allWs, argumentsText, isNameChar } from "./engine-text.ts";
import type { EngineConfig, SectionKind, ToolParseOptions, ToolStreamEvent } from "./types.ts";

export type { EngineConfig, SectionKind } from "./types.ts";

export type EngineEvent =
  | ToolStreamEvent
  | { type: "end_call"; index: number }
  | { type: "abort"; index: number; raw: string };

const enum M {
  Content,
  TagOpen, // after a tagged / python_tag marker, before "{"
  Wrapper, // inside the call object
  Close, // after a tagged call, expecting the close tag
  MistralOpen, // after [TOOL_CALLS]
  MistralArrStart, // after [TOOL_CALLS][
  MistralAfterElem, // after an array element
  MistralElemStart, // after "," in the array
  V11Name,
  V11Tag,
  V11Id,
  V11Args,
}

const enum W {
  Open,
  KeyOrEnd,
  Key,
  Colon,
  ValueStart,
  Value,
  After,
  KeyStart,
}

const enum K {
  Name,
  Args,
  Skip,
}

type After = "close" | "content" | "array" | "bare";

export class ToolCallEngine {
  private events: EngineEvent[] = [];
  private mode = M.Content;
  private readonly maxMarker: number;
  private readonly toolNames: ReadonlySet<string> | null;

  // Content state.
  private hold = "";
  private atStart = true;
  private afterCall = false;
  private afterBare = false;

  // Current call.
  private raw = "";
  private after: After = "content";
  private closeTag = "";
  private strict = false;
  private committed = false;
  private index = -1;
  private nextIndex = 0;
  private name: string | null = null;
  private argsSeen = false;
  private argsStreaming = false;
  private argsComplete = false;
  private argsBuf = "";
  private w = W.Open;
  private kind = K.Skip;
  private sc: JsonScanner = new JsonScanner();
  private closePos = 0;
  private closeBuf = "";
  private v11Name = "";
  private v11Tag = "";

  constructor(
    private readonly cfg: EngineConfig,
    options: ToolParseOptions = {},
  ) {
    this.maxMarker = Math.max(...cfg.openers.map((o) => o.marker.length));
    this.toolNames = options.toolNames ? new Set(options.toolNames) : null;
  }

  /** Events produced since the last call. */
  take(): EngineEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  push(text: string): void {
    for (let i = 0; i < text.length; i++) this.feed(text[i]!);
  }

  end(): void {
    switch (this.mode) {
      case M.Content:
        if (!(this.afterCall && allWs(this.hold, this.afterBare))) this.emitContent(this.hold);
        this.hold = "";
        break;
      case M.Close:
      case M.MistralAfterElem:
      case M.MistralElemStart:
        break; // the calls are complete; drop the partial close tag / separator
      case M.V11Args:
        if (this.sc.completeAtEnd) {
          this.valueDone();
          this.callComplete();
          break;
        }
        this.abandon();
        break;
      default:
        this.abandon();
    }
    this.mode = M.Content;
    this.hold = "";
  }

  // ---------------------------------------------------------------- events

  private emitContent(text: string): void {
    if (text === "") return;
    const last = this.events[this.events.length - 1];
    if (last && last.type === "content") last.text += text;
    else this.events.push({ type: "content", text });
    this.atStart = false;
    this.afterCall = false;
  }

  private emitArgs(text: string): void {
    if (text === "") return;
    const last = this.events[this.events.length - 1];
    if (last && last.type === "tool_call_args" && last.index === this.index) last.text += text;
    else this.events.push({ type: "tool_call_args", index: this.index, text });
  }

  // ---------------------------------------------------------------- dispatch

  private feed(c: string): void {
    if (this.mode === M.Content) {
      this.contentChar(c);
      return;
    }
    this.raw += c;
    switch (this.mode) {
      case M.TagOpen:
        if (isWs(c)) return;
        if (c === "{") return this.startWrapper(c);
        return this.fail(c);
      case M.Wrapper:
        return this.wrapperChar(c);
      case M.Close:
        return this.closeChar(c);
      case M.MistralOpen:
        if (isWs(c)) return;
        if (c === "[") {
          this.mode = M.MistralArrStart;
          return;
        }
        if (c === "{") {
          this.after = "content";
          return this.startWrapper(c);
        }
        if (isNameChar(c)) {
          this.v11Name = c;
          this.mode = M.V11Name;
          return;
        }
        return this.fail(c);
      case M.MistralArrStart:
      case M.MistralElemStart:
        if (isWs(c)) return;
        if (c === "{") {
          this.after = "array";
          return this.startWrapper(c);
        }
        if (c === "]" && this.mode === M.MistralArrStart) return this.toContentAfterCall(false);
        return this.fail(c);
      case M.MistralAfterElem:
        if (isWs(c)) return;
        if (c === ",") {
          this.resetCall();
          this.raw = c;
          this.mode = M.MistralElemStart;
          return;
        }
        if (c === "]") return this.toContentAfterCall(false);
        // Missing "]": the calls stand; the rest is content.
        this.raw = "";
        this.toContentAfterCall(false);
        return this.contentChar(c);
      case M.V11Name:
        if (isNameChar(c)) {
          this.v11Name += c;
          return;
        }
        if (c === "[") {
          this.v11Tag = c;
          this.mode = M.V11Tag;
          return;
        }
        return this.fail(c);
      case M.V11Tag:
        this.v11Tag += c;
        if (this.v11Tag === V11_ARGS) {
          this.name = this.v11Name;
          this.argsSeen = true;
          this.commit();
          this.sc = new JsonScanner();
          this.kind = K.Args;
          this.argsStreaming = false;
          this.mode = M.V11Args;
          return;
        }
        if (this.v11Tag === V11_CALL_ID) {
          this.mode = M.V11Id;
          return;
        }
        if (V11_ARGS.startsWith(this.v11Tag) || V11_CALL_ID.startsWith(this.v11Tag)) return;
        return this.fail(c);
      case M.V11Id:
        if (c === "[") {
          this.v11Tag = c;
          this.mode = M.V11Tag;
        }
        return;
      case M.V11Args:
        return this.v11ArgsChar(c);
    }
  }

  // ---------------------------------------------------------------- content

  private contentChar(c: string): void {
    this.hold += c;
    const hold = this.hold;
    for (const op of this.cfg.openers) {
      if (hold.endsWith(op.marker)) {
        const before = hold.slice(0, hold.length - op.marker.length);
        this.hold = "";
        if (this.afterCall && allWs(before, this.afterBare)) this.raw = before + op.marker;
        else {
          this.emitContent(before);
          this.raw = op.marker;
        }
        this.startSection(op.section, op.closeTag ?? "");
        return;
      }
    }
    if (
      this.cfg.bareJson &&
      c === "{" &&
      ((this.atStart && allWs(hold.slice(0, -1), false)) || (this.afterCall && this.afterBare && allWs(hold.slice(0, -1), true)))
    ) {
      this.hold = "";
      this.raw = hold;
      this.resetCall();
      this.strict = true;
      this.after = "bare";
      this.mode = M.Wrapper;
      this.w = W.KeyOrEnd;
      return;
    }
    // Hold back the longest suffix that could still become a marker.
    let keep = 0;
    for (let k = Math.min(hold.length, this.maxMarker - 1); k > 0 && keep === 0; k--) {
      const tail = hold.slice(hold.length - k);
      for (const op of this.cfg.openers) {
        if (op.marker.startsWith(tail)) {
          keep = k;
          break;
        }
      }
    }
    const rest = hold.slice(0, hold.length - keep);
    if (this.afterCall && allWs(rest, this.afterBare)) return;
    if (this.cfg.bareJson && this.atStart && allWs(rest, false)) return;
    this.emitContent(rest);
    this.hold = hold.slice(rest.length);
  }

  private startSection(section: SectionKind, closeTag: string): void {
    this.resetCall();
    this.closeTag = closeTag;
    switch (section) {
      case "tagged":
        this.after = "close";
        this.mode = M.TagOpen;
        break;
      case "python_tag":
        this.after = "bare";
        this.mode = M.TagOpen;
        break;
      case "mistral":
        this.after = "content";
        this.mode = M.MistralOpen;
        break;
    }
  }

  private resetCall(): void {
    this.strict = false;
    this.committed = false;
    this.index = -1;
    this.name = null;
    this.argsSeen = false;
    this.argsStreaming = false;
    this.argsComplete = false;
    this.argsBuf = "";
    this.kind = K.Skip;
  }

  private toContentAfterCall(bare: boolean): void {
    this.mode = M.Content;
    this.hold = "";
    this.raw = "";
    this.afterCall = true;
    this.afterBare = bare;
    this.atStart = false;
  }

  // ---------------------------------------------------------------- failure

  /** The call cannot be completed at `c` (which is not part of it). */
  private fail(c: string): void {
    this.raw = this.raw.slice(0, -1);
    this.abandon();
    this.contentChar(c);
  }

  /** The call cannot be completed; `c` (already in raw) belongs to the broken text. */
  private failConsumed(): void {
    this.abandon();
  }

  private abandon(): void {
    const raw = this.raw;
    this.raw = "";
    this.mode = M.Content;
    this.hold = "";
    this.afterCall = false;
    if (this.committed && this.argsComplete) {
      // Name and complete arguments: the call stands; what broke is after it.
      this.events.push({ type: "end_call", index: this.index });
      this.atStart = false;
    } else if (this.committed) {
      this.events.push({ type: "abort", index: this.index, raw });
      this.atStart = false;
    } else {
      this.emitContent(raw);
    }
    this.resetCall();
  }

  // ---------------------------------------------------------------- call object

  private startWrapper(_c: string): void {
    this.mode = M.Wrapper;
    this.w = W.KeyOrEnd;
  }

  private commit(): void {
    if (this.committed || this.name === null) return;
    this.committed = true;
    this.index = this.nextIndex++;
    this.events.push({ type: "tool_call_start", index: this.index, name: this.name });
    if (this.argsBuf !== "") {
      this.emitArgs(this.argsBuf);
      this.argsBuf = "";
    }
  }

  private flushArgs(): void {
    const out = this.sc.out;
    if (out === "") return;
    this.sc.out = "";
    if (this.committed) this.emitArgs(out);
    else this.argsBuf += out;
  }

  private wrapperChar(c: string): void {
    switch (this.w) {
      case W.KeyOrEnd:
        if (isWs(c)) return;
        if (c === "}") return this.callComplete();
        if (c === '"') return this.startKey(c);
        return this.fail(c);
      case W.KeyStart:
        if (isWs(c)) return;
        if (c === '"') return this.startKey(c);
        return this.fail(c);
      case W.Key: {
        const r = this.sc.feed(c);
        if (r === Feed.Error) return this.fail(c);
        if (r === Feed.Done) {
          const key = JSON.parse(this.sc.out) as string;
          this.w = W.Colon;
          return this.onKey(key);
        }
        return;
      }
      case W.Colon:
        if (isWs(c)) return;
        if (c === ":") {
          this.w = W.ValueStart;
          return;
        }
        return this.fail(c);
      case W.ValueStart:
        if (isWs(c)) return;
        if (this.kind === K.Name && c !== '"') return this.fail(c);
        this.sc = new JsonScanner();
        this.argsStreaming = this.kind === K.Args && c === "{";
        this.w = W.Value;
        return this.valueChar(c);
      case W.Value:
        return this.valueChar(c);
      case W.After:
        if (isWs(c)) return;
        if (c === ",") {
          this.w = W.KeyStart;
          return;
        }
        if (c === "}") return this.callComplete();
        return this.fail(c);
      default:
        return this.fail(c);
    }
  }

  private startKey(c: string): void {
    this.sc = new JsonScanner();
    this.sc.feed(c);
    this.w = W.Key;
  }

  private onKey(key: string): void {
    if (key === "name") {
      if (this.name !== null) return this.failConsumed();
      this.kind = K.Name;
    } else if (ARG_KEYS.has(key)) {
      if (this.argsSeen) return this.failConsumed();
      this.argsSeen = true;
      this.kind = K.Args;
      this.commit();
    } else {
      if (this.strict && !this.committed && !KNOWN_KEYS.has(key)) return this.failConsumed();
      this.kind = K.Skip;
    }
  }

  private valueChar(c: string): void {
    const r = this.sc.feed(c);
    switch (r) {
      case Feed.Error:
        return this.fail(c);
      case Feed.More:
        if (this.argsStreaming) this.flushArgs();
        return;
      case Feed.Done:
        this.w = W.After;
        this.valueDone();
        return;
      case Feed.DoneUnconsumed:
        this.w = W.After;
        this.valueDone();
        // (If valueDone gave up on the call, c went out with the call's text.)
        if (this.mode === M.Wrapper) this.wrapperChar(c);
        return;
    }
  }

  /** The current value (name / arguments / other) is complete. */
  private valueDone(): void {
    if (this.kind === K.Name) {
      const name = JSON.parse(this.sc.out) as string;
      if (name === "" || (this.strict && this.toolNames !== null && !this.toolNames.has(name))) {
        return this.failConsumed();
      }
      this.name = name;
      if (this.argsSeen) this.commit();
      return;
    }
    if (this.kind === K.Args) {
      this.argsComplete = true;
      if (this.argsStreaming) return this.flushArgs();
      const text = argumentsText(this.sc);
      this.sc.out = "";
      if (this.committed) this.emitArgs(text);
      else this.argsBuf = text;
    }
  }

  /** The call object closed. */
  private callComplete(): void {
    if (this.name === null) return this.failConsumed();
    this.commit();
    if (!this.argsSeen) this.emitArgs("{}");
    this.events.push({ type: "end_call", index: this.index });
    const after = this.after;
    this.resetCall();
    this.raw = "";
    switch (after) {
      case "close":
        this.mode = M.Close;
        this.closePos = 0;
        this.closeBuf = "";
        return;
      case "array":
        this.mode = M.MistralAfterElem;
        return;
      case "bare":
        return this.toContentAfterCall(true);
      case "content":
        return this.toContentAfterCall(false);
    }
  }

  // ---------------------------------------------------------------- close tag

  private closeChar(c: string): void {
    this.raw = "";
    if (this.closePos === 0 && isWs(c)) {
      this.closeBuf += c;
      return;
    }
    if (c === this.closeTag[this.closePos]) {
      this.closeBuf += c;
      if (++this.closePos === this.closeTag.length) this.toContentAfterCall(false);
      return;
    }
    // No close tag: the call stands; re-read what we held as content.
    const held = this.closeBuf + c;
    this.toContentAfterCall(false);
    for (let i = 0; i < held.length; i++) this.contentChar(held[i]!);
  }

  // ---------------------------------------------------------------- Mistral v11

  private v11ArgsChar(c: string): void {
    if (this.sc.first === "" && isWs(c)) return;
    if (this.sc.first === "") this.argsStreaming = c === "{";
    const r = this.sc.feed(c);
    switch (r) {
      case Feed.Error:
        return this.fail(c);
      case Feed.More:
        if (this.argsStreaming) this.flushArgs();
        return;
      case Feed.Done:
        this.valueDone();
        return this.callComplete();
      case Feed.DoneUnconsumed:
        this.raw = this.raw.slice(0, -1);
        this.valueDone();
        this.callComplete();
        return this.contentChar(c);
    }
  }
}

/** Arguments given as something other than an object: a JSON string is unwrapped, null is {}. */
