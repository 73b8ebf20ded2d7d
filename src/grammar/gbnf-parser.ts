/**
 * A GBNF parser that mirrors llama.cpp's llama_grammar_parser (src/llama-grammar.cpp)
 * element for element — including how groups and repetitions are expanded
 * into synthesized rules — and is stricter wherever llama.cpp would accept a
 * grammar silently but wrongly (repetition bounds over its threshold, tokens
 * without a vocabulary, duplicate rules, empty classes) or crash (left
 * recursion it fails to detect). llama.cpp aborts or only logs on bad
 * grammars, so this validator is the guard: anything it accepts, llama.cpp
 * accepts with the same meaning.
 */
import { InvalidRequestError } from "../shared/errors";
import { findLeftRecursion } from "./gbnf-analysis";
import { GT, type GrammarElement, type ParsedGrammar, type SourcePos } from "./gbnf-types";

export { GT, type GrammarElement, type ParsedGrammar, type SourcePos } from "./gbnf-types";
export { findLeftRecursion, nullableRules, productiveRules } from "./gbnf-analysis";

const MAX_REPETITION_THRESHOLD = 2000;
const MAX_ELEMENTS = 4_000_000;

class GbnfError extends Error {
  constructor(readonly pos: number, message: string) {
    super(message);
  }
}

function lineCol(text: string, pos: number): SourcePos {
  let line = 1;
  let start = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, column: [...text.slice(start, pos)].length + 1 };
}

function invalid(text: string, pos: number, message: string): InvalidRequestError {
  const { line, column } = lineCol(text, pos);
  return new InvalidRequestError(`invalid grammar at line ${line} column ${column}: ${message}`, "grammar", "invalid_grammar");
}

const isDigit = (c: string) => c >= "0" && c <= "9";
const isWord = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "-" || isDigit(c);

class Parser {
  readonly symbolIds = new Map<string, number>();
  readonly rules: GrammarElement[][] = [];
  readonly owner: number[] = [];
  /** Offset of each user rule's definition. */
  readonly definedOffset = new Map<number, number>();
  readonly firstRef = new Map<number, number>();
  private elements = 0;

  constructor(readonly src: string) {}

  at(i: number): string {
    return i < this.src.length ? this.src[i] : "";
  }

  fail(pos: number, msg: string): never {
    throw new GbnfError(pos, msg);
  }

  symbol(name: string): number {
    let id = this.symbolIds.get(name);
    if (id === undefined) {
      id = this.symbolIds.size;
      this.symbolIds.set(name, id);
    }
    return id;
  }

  generate(base: string, owner: number): number {
    const id = this.symbolIds.size;
    this.symbolIds.set(`${base}_${id}`, id);
    this.owner[id] = owner;
    return id;
  }

  addRule(id: number, rule: GrammarElement[]): void {
    this.elements += rule.length;
    if (this.elements > MAX_ELEMENTS) this.fail(0, "grammar is too large once repetitions are expanded");
    this.rules[id] = rule;
  }

  space(pos: number, newlineOk: boolean): number {
    for (;;) {
      const c = this.at(pos);
      if (c === " " || c === "\t" || (newlineOk && (c === "\r" || c === "\n"))) pos++;
      else if (c === "#") {
        while (pos < this.src.length && this.src[pos] !== "\r" && this.src[pos] !== "\n") pos++;
      } else return pos;
    }
  }

  name(pos: number): number {
    let end = pos;
    while (isWord(this.at(end))) end++;
    if (end === pos) this.fail(pos, "expecting name");
    return end;
  }

  int(pos: number): number {
    let end = pos;
    while (isDigit(this.at(end))) end++;
    if (end === pos) this.fail(pos, "expecting integer");
    return end;
  }

  hex(pos: number, size: number): [number, number] {
    let value = 0;
    for (let i = 0; i < size; i++) {
      const c = this.at(pos + i);
      if (!/^[0-9a-fA-F]$/.test(c)) this.fail(pos, `expecting ${size} hex chars`);
      value = value * 16 + parseInt(c, 16);
    }
    return [value, pos + size];
  }

  char(pos: number): [number, number] {
    const c = this.at(pos);
    if (c === "\\") {
      const e = this.at(pos + 1);
      switch (e) {
        case "x": return this.hex(pos + 2, 2);
        case "u": return this.hex(pos + 2, 4);
        case "U": return this.hex(pos + 2, 8);
        case "t": return [9, pos + 2];
        case "r": return [13, pos + 2];
        case "n": return [10, pos + 2];
        case "\\": case "\"": case "[": case "]": case "-":
          return [e.charCodeAt(0), pos + 2];
        default:
          this.fail(pos, "unknown escape");
      }
    }
    if (c === "") this.fail(pos, "unexpected end of input");
    const cp = this.src.codePointAt(pos)!;
    if (cp >= 0xd800 && cp <= 0xdfff) this.fail(pos, "invalid UTF-8 (lone surrogate)");
    return [cp, pos + (cp > 0xffff ? 2 : 1)];
  }

  alternates(pos: number, ruleName: string, ruleId: number, owner: number, nested: boolean): number {
    const rule: GrammarElement[] = [];
    pos = this.sequence(pos, ruleName, rule, owner, nested);
    while (this.at(pos) === "|") {
      rule.push({ type: GT.ALT, value: 0 });
      pos = this.space(pos + 1, true);
      pos = this.sequence(pos, ruleName, rule, owner, nested);
    }
    rule.push({ type: GT.END, value: 0 });
    this.addRule(ruleId, rule);
    return pos;
  }

  sequence(pos: number, ruleName: string, rule: GrammarElement[], owner: number, nested: boolean): number {
    let lastSymStart = rule.length;
    let nPrevRules = 1;

    const repeat = (at: number, min: number, max: number) => {
      const noMax = max === Infinity;
      if (lastSymStart === rule.length) this.fail(at, "expecting preceding item to */+/?/{");
      const prev = rule.slice(lastSymStart);
      let totalRules = 1;
      if (!noMax && max > 0) totalRules = max;
      else if (min > 0) totalRules = min;
      if (nPrevRules * totalRules > MAX_REPETITION_THRESHOLD) {
        this.fail(at, "number of rules that are going to be repeated multiplied by the new repetition exceeds sane defaults");
      }
      if (min === 0) rule.length = lastSymStart;
      else for (let i = 1; i < min; i++) rule.push(...prev);
      let lastRec = 0;
      const nOpt = noMax ? 1 : max - min;
      for (let i = 0; i < nOpt; i++) {
        const rec: GrammarElement[] = [...prev];
        const recId = this.generate(ruleName, owner);
        if (i > 0 || noMax) rec.push({ type: GT.RULE_REF, value: noMax ? recId : lastRec });
        rec.push({ type: GT.ALT, value: 0 }, { type: GT.END, value: 0 });
        this.addRule(recId, rec);
        lastRec = recId;
      }
      if (nOpt > 0) rule.push({ type: GT.RULE_REF, value: lastRec });
      nPrevRules *= totalRules;
    };

    while (pos < this.src.length) {
      const c = this.at(pos);
      const start = pos;
      if (c === "\"") {
        pos++;
        lastSymStart = rule.length;
        nPrevRules = 1;
        while (this.at(pos) !== "\"") {
          if (pos >= this.src.length) this.fail(pos, "unexpected end of input");
          const [cp, next] = this.char(pos);
          pos = next;
          rule.push({ type: GT.CHAR, value: cp });
        }
        pos = this.space(pos + 1, nested);
      } else if (c === "[") {
        pos++;
        let startType: number = GT.CHAR;
        if (this.at(pos) === "^") {
          pos++;
          startType = GT.CHAR_NOT;
        }
        lastSymStart = rule.length;
        nPrevRules = 1;
        while (this.at(pos) !== "]") {
          if (pos >= this.src.length) this.fail(pos, "unexpected end of input");
          const itemStart = pos;
          const [cp, next] = this.char(pos);
          pos = next;
          rule.push({ type: lastSymStart < rule.length ? GT.CHAR_ALT : startType, value: cp });
          if (this.at(pos) === "-" && this.at(pos + 1) !== "]") {
            if (pos + 1 >= this.src.length) this.fail(pos + 1, "unexpected end of input");
            const [hi, after] = this.char(pos + 1);
            if (hi < cp) this.fail(itemStart, "character range is out of order");
            pos = after;
            rule.push({ type: GT.CHAR_RNG_UPPER, value: hi });
          }
        }
        if (lastSymStart === rule.length) this.fail(start, "empty character class");
        pos = this.space(pos + 1, nested);
      } else if (c === "<" || c === "!") {
        this.fail(pos, "token references (<...>) are not supported");
      } else if (isWord(c)) {
        const end = this.name(pos);
        const id = this.symbol(this.src.slice(pos, end));
        if (!this.firstRef.has(id)) this.firstRef.set(id, pos);
        pos = this.space(end, nested);
        lastSymStart = rule.length;
        nPrevRules = 1;
        rule.push({ type: GT.RULE_REF, value: id });
      } else if (c === "(") {
        pos = this.space(pos + 1, true);
        const before = this.symbolIds.size;
        const sub = this.generate(ruleName, owner);
        pos = this.alternates(pos, ruleName, sub, owner, true);
        nPrevRules = Math.max(1, this.symbolIds.size - before);
        lastSymStart = rule.length;
        rule.push({ type: GT.RULE_REF, value: sub });
        if (this.at(pos) !== ")") this.fail(pos, "expecting ')'");
        pos = this.space(pos + 1, nested);
      } else if (c === ".") {
        lastSymStart = rule.length;
        nPrevRules = 1;
        rule.push({ type: GT.CHAR_ANY, value: 0 });
        pos = this.space(pos + 1, nested);
      } else if (c === "*" || c === "+" || c === "?") {
        pos = this.space(pos + 1, nested);
        if (c === "*") repeat(start, 0, Infinity);
        else if (c === "+") repeat(start, 1, Infinity);
        else repeat(start, 0, 1);
      } else if (c === "{") {
        pos = this.space(pos + 1, nested);
        if (!isDigit(this.at(pos))) this.fail(pos, "expecting an int");
        let end = this.int(pos);
        const min = Number(this.src.slice(pos, end));
        pos = this.space(end, nested);
        let max = Infinity;
        if (this.at(pos) === "}") {
          max = min;
          pos = this.space(pos + 1, nested);
        } else if (this.at(pos) === ",") {
          pos = this.space(pos + 1, nested);
          if (isDigit(this.at(pos))) {
            end = this.int(pos);
            max = Number(this.src.slice(pos, end));
            pos = this.space(end, nested);
          }
          if (this.at(pos) !== "}") this.fail(pos, "expecting '}'");
          pos = this.space(pos + 1, nested);
        } else {
          this.fail(pos, "expecting ','");
        }
        if (min > MAX_REPETITION_THRESHOLD) this.fail(start, "number of repetitions exceeds sane defaults (2000)");
        // llama.cpp silently drops an upper bound above the threshold: refuse instead.
        if (max !== Infinity && max > MAX_REPETITION_THRESHOLD) {
          this.fail(start, "repetition upper bound exceeds 2000 (llama.cpp would ignore it)");
        }
        if (max < min) this.fail(start, "repetition upper bound is below the lower bound");
        repeat(start, min, max);
      } else {
        break;
      }
    }
    return pos;
  }

  rule(pos: number): number {
    const nameEnd = this.name(pos);
    const after = this.space(nameEnd, false);
    const name = this.src.slice(pos, nameEnd);
    const id = this.symbol(name);
    if (this.definedOffset.has(id)) this.fail(pos, `rule '${name}' is defined more than once`);
    this.definedOffset.set(id, pos);
    this.owner[id] = id;
    if (this.src.slice(after, after + 3) !== "::=") this.fail(after, "expecting ::=");
    let p = this.space(after + 3, true);
    p = this.alternates(p, name, id, id, false);
    const c = this.at(p);
    if (c === "\r") p += this.at(p + 1) === "\n" ? 2 : 1;
    else if (c === "\n") p++;
    else if (p < this.src.length) this.fail(p, "expecting newline or end");
    return this.space(p, true);
  }

  parse(): void {
    const nul = this.src.indexOf("\0");
    if (nul >= 0) this.fail(nul, "NUL character in grammar");
    let pos = this.space(0, true);
    while (pos < this.src.length) pos = this.rule(pos);
    for (const [id, at] of [...this.firstRef].sort((a, b) => a[1] - b[1])) {
      if (!this.rules[id]) {
        const name = [...this.symbolIds].find(([, v]) => v === id)![0];
        this.fail(at, `undefined rule '${name}'`);
      }
    }
  }
}

/** Parse GBNF text as llama.cpp would; throws InvalidRequestError with line and column. */
export function parseGbnf(text: string): ParsedGrammar {
  if (typeof text !== "string") throw new InvalidRequestError("grammar must be a string", "grammar", "invalid_grammar");
  const p = new Parser(text);
  try {
    p.parse();
  } catch (e) {
    if (e instanceof GbnfError) throw invalid(text, e.pos, e.message);
    throw e;
  }
  const names: string[] = [];
  for (const [name, id] of p.symbolIds) names[id] = name;
  // Offsets → line/column in one pass (definitions are in text order).
  const definedAt = new Map<number, SourcePos>();
  let line = 1;
  let lineStart = 0;
  let i = 0;
  for (const [id, offset] of p.definedOffset) {
    for (; i < offset; i++) if (text[i] === "\n") { line++; lineStart = i + 1; }
    definedAt.set(id, { line, column: [...text.slice(lineStart, offset)].length + 1 });
  }
  return { symbolIds: p.symbolIds, names, rules: p.rules, owner: p.owner, definedAt };
}

/**
 * Throws InvalidRequestError("invalid grammar at line L column C: ...", "grammar",
 * "invalid_grammar") unless llama.cpp would load `text` with `rootName` as start rule.
 */
export function validateGbnf(text: string, rootName = "root"): ParsedGrammar {
  const g = parseGbnf(text);
  const rootId = g.symbolIds.get(rootName);
  if (rootId === undefined || !g.definedAt.has(rootId)) {
    throw new InvalidRequestError(`invalid grammar at line 1 column 1: grammar does not define a '${rootName}' rule`, "grammar", "invalid_grammar");
  }
  const rec = findLeftRecursion(g);
  if (rec >= 0) {
    const owner = g.owner[rec] ?? rec;
    const at = g.definedAt.get(owner) ?? { line: 1, column: 1 };
    throw new InvalidRequestError(
      `invalid grammar at line ${at.line} column ${at.column}: left recursion detected in rule '${g.names[owner]}'`,
      "grammar",
      "invalid_grammar",
    );
  }
  return g;
}
