/**
 * An incremental JSON validator and minifier, fed one UTF-16 unit at a time.
 *
 * It accepts exactly one JSON value (RFC 8259), optionally preceded by
 * whitespace, and appends the value's compact form to `out`: the input with
 * insignificant whitespace removed, every token verbatim (strings keep their
 * escapes, numbers their spelling). One leniency: raw control characters
 * inside strings (models write raw newlines in code arguments) are accepted
 * and written escaped, so `out` is always valid JSON. Feeding the same text in any chunking gives
 * the same output, which is what lets streamed argument fragments concatenate
 * to the non-streamed result.
 */

export enum Feed {
  /** The character was consumed; the value continues. */
  More,
  /** The character was consumed and completed the value. */
  Done,
  /** The value was already complete (a number); the character is not part of it. */
  DoneUnconsumed,
  /** The character cannot continue a JSON value. */
  Error,
}

const enum S {
  Value,
  ArrValueOrEnd,
  ObjKeyOrEnd,
  ObjKey,
  Colon,
  AfterValue,
  Str,
  StrEsc,
  StrHex,
  Num,
  Lit,
  Done,
  Failed,
}

// Number DFA states.
const enum N {
  Minus, // after '-'
  Zero, // '0' (accepting)
  Int, // [1-9][0-9]* (accepting)
  Dot, // after '.'
  Frac, // accepting
  Exp, // after e/E
  ExpSign, // after e+ / e-
  ExpDigits, // accepting
}

const MAX_DEPTH = 256;

const CONTROL_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

function isWs(c: string): boolean {
  return c === " " || c === "\n" || c === "\r" || c === "\t";
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isHex(c: string): boolean {
  return (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");
}

export class JsonScanner {
  /** Compact text of the value so far. Callers may read and reset it. */
  out = "";
  /** The first non-whitespace character of the value ("{", "[", '"', "-", "0".."9", "t", "f", "n"), once seen. */
  first = "";
  private readonly stack: number[] = []; // 0 = object, 1 = array
  private s = S.Value;
  private strIsKey = false;
  private hexLeft = 0;
  private num = N.Int;
  private lit = "";
  private litPos = 0;

  get done(): boolean {
    return this.s === S.Done;
  }

  /** True when the value is a complete number waiting for a terminator (end of input completes it). */
  get completeAtEnd(): boolean {
    return this.s === S.Done || (this.s === S.Num && this.stack.length === 0 && this.numAccepting());
  }

  private numAccepting(): boolean {
    return this.num === N.Zero || this.num === N.Int || this.num === N.Frac || this.num === N.ExpDigits;
  }

  private valueEnd(): Feed {
    if (this.stack.length === 0) {
      this.s = S.Done;
      return Feed.Done;
    }
    this.s = S.AfterValue;
    return Feed.More;
  }

  private fail(): Feed {
    this.s = S.Failed;
    return Feed.Error;
  }

  private startValue(c: string): Feed {
    if (this.first === "") this.first = c;
    switch (c) {
      case "{":
        if (this.stack.length >= MAX_DEPTH) return this.fail();
        this.stack.push(0);
        this.out += c;
        this.s = S.ObjKeyOrEnd;
        return Feed.More;
      case "[":
        if (this.stack.length >= MAX_DEPTH) return this.fail();
        this.stack.push(1);
        this.out += c;
        this.s = S.ArrValueOrEnd;
        return Feed.More;
      case '"':
        this.out += c;
        this.strIsKey = false;
        this.s = S.Str;
        return Feed.More;
      case "t":
      case "f":
      case "n":
        this.lit = c === "t" ? "true" : c === "f" ? "false" : "null";
        this.litPos = 1;
        this.out += c;
        this.s = S.Lit;
        return Feed.More;
      default:
        if (c === "-" || isDigit(c)) {
          this.num = c === "-" ? N.Minus : c === "0" ? N.Zero : N.Int;
          this.out += c;
          this.s = S.Num;
          return Feed.More;
        }
        return this.fail();
    }
  }

  private close(c: string): Feed {
    const top = this.stack[this.stack.length - 1];
    if ((c === "}" && top !== 0) || (c === "]" && top !== 1)) return this.fail();
    this.stack.pop();
    this.out += c;
    return this.valueEnd();
  }

  feed(c: string): Feed {
    switch (this.s) {
      case S.Value:
        if (isWs(c)) return Feed.More;
        return this.startValue(c);
      case S.ArrValueOrEnd:
        if (isWs(c)) return Feed.More;
        if (c === "]") return this.close(c);
        return this.startValue(c);
      case S.ObjKeyOrEnd:
        if (isWs(c)) return Feed.More;
        if (c === "}") return this.close(c);
      // falls through
      case S.ObjKey:
        if (isWs(c)) return Feed.More;
        if (c !== '"') return this.fail();
        this.out += c;
        this.strIsKey = true;
        this.s = S.Str;
        return Feed.More;
      case S.Colon:
        if (isWs(c)) return Feed.More;
        if (c !== ":") return this.fail();
        this.out += c;
        this.s = S.Value;
        return Feed.More;
      case S.AfterValue:
        if (isWs(c)) return Feed.More;
        if (c === ",") {
          this.out += c;
          this.s = this.stack[this.stack.length - 1] === 0 ? S.ObjKey : S.Value;
          return Feed.More;
        }
        if (c === "}" || c === "]") return this.close(c);
        return this.fail();
      case S.Str:
        if (c === '"') {
          this.out += c;
          if (this.strIsKey) {
            this.s = S.Colon;
            return Feed.More;
          }
          return this.valueEnd();
        }
        if (c === "\\") {
          this.out += c;
          this.s = S.StrEsc;
          return Feed.More;
        }
        // Raw control characters are not allowed in JSON strings, but models
        // write raw newlines in long string arguments: accept and escape them.
        if (c < " ") this.out += CONTROL_ESCAPES[c] ?? "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
        else this.out += c;
        return Feed.More;
      case S.StrEsc:
        if (c === "u") {
          this.out += c;
          this.hexLeft = 4;
          this.s = S.StrHex;
          return Feed.More;
        }
        if ('"\\/bfnrt'.includes(c)) {
          this.out += c;
          this.s = S.Str;
          return Feed.More;
        }
        return this.fail();
      case S.StrHex:
        if (!isHex(c)) return this.fail();
        this.out += c;
        if (--this.hexLeft === 0) this.s = S.Str;
        return Feed.More;
      case S.Num:
        return this.feedNumber(c);
      case S.Lit:
        if (c !== this.lit[this.litPos]) return this.fail();
        this.out += c;
        if (++this.litPos === this.lit.length) return this.valueEnd();
        return Feed.More;
      case S.Done:
        return Feed.DoneUnconsumed;
      default:
        return Feed.Error;
    }
  }

  private feedNumber(c: string): Feed {
    let next: N | -1 = -1;
    const d = isDigit(c);
    switch (this.num) {
      case N.Minus:
        if (d) next = c === "0" ? N.Zero : N.Int;
        break;
      case N.Zero:
        if (c === ".") next = N.Dot;
        else if (c === "e" || c === "E") next = N.Exp;
        break;
      case N.Int:
        if (d) next = N.Int;
        else if (c === ".") next = N.Dot;
        else if (c === "e" || c === "E") next = N.Exp;
        break;
      case N.Dot:
        if (d) next = N.Frac;
        break;
      case N.Frac:
        if (d) next = N.Frac;
        else if (c === "e" || c === "E") next = N.Exp;
        break;
      case N.Exp:
        if (d) next = N.ExpDigits;
        else if (c === "+" || c === "-") next = N.ExpSign;
        break;
      case N.ExpSign:
      case N.ExpDigits:
        if (d) next = N.ExpDigits;
        break;
    }
    if (next !== -1) {
      this.num = next;
      this.out += c;
      return Feed.More;
    }
    // c terminates the number (or is an error).
    if (!this.numAccepting()) return this.fail();
    if (this.stack.length === 0) {
      this.s = S.Done;
      return Feed.DoneUnconsumed;
    }
    this.s = S.AfterValue;
    return this.feed(c);
  }
}

/**
 * Minify a complete JSON text (one value, surrounding whitespace allowed);
 * null when it is not JSON (raw control characters in strings are tolerated
 * and escaped, see above).
 */
export function minifyJson(text: string): string | null {
  const sc = new JsonScanner();
  let i = 0;
  for (; i < text.length; i++) {
    const r = sc.feed(text[i]!);
    if (r === Feed.Error) return null;
    if (r === Feed.Done) {
      i++;
      break;
    }
    if (r === Feed.DoneUnconsumed) break;
  }
  if (!sc.completeAtEnd) return null;
  for (; i < text.length; i++) if (!isWs(text[i]!)) return null;
  return sc.out;
}

export { isWs };
