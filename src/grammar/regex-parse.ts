/**
 * A parser for the ECMAScript regular expression subset that can be turned
 * into a grammar: characters, escapes, classes, groups, alternation,
 * quantifiers and the ^ $ anchors. Lookarounds, backreferences, word
 * boundaries and Unicode property escapes are refused with an error naming
 * the construct.
 */
import { InvalidRequestError } from "../shared/errors";
import { type CpSet, MAX_CP, complementSet, normSet, unionSet } from "./gbnf-text";

export type RNode =
  | { k: "set"; set: CpSet }
  | { k: "seq"; items: RNode[] }
  | { k: "alt"; alts: RNode[] }
  | { k: "rep"; item: RNode; min: number; max: number }
  | { k: "bol" }
  | { k: "eol" };

export const DIGIT: CpSet = [[0x30, 0x39]];
export const WORD: CpSet = normSet([[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]);
export const SPACE: CpSet = normSet([
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
]);
/** `.` without the s flag: anything but line terminators. */
export const DOT: CpSet = complementSet([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);
export const ANY: CpSet = [[0, MAX_CP]];

const SYNTAX = "^$\\.*+?()[]{}|/-";

export class RegexError extends InvalidRequestError {
  constructor(readonly pattern: string, readonly detail: string, param = "response_format") {
    super(`unsupported pattern ${JSON.stringify(pattern)}: ${detail}`, param, "unsupported_schema");
  }
}

class RegexParser {
  private i = 0;
  private readonly cps: number[];

  constructor(readonly pattern: string, readonly param: string) {
    this.cps = [...pattern].map((c) => c.codePointAt(0)!);
  }

  private fail(msg: string): never {
    throw new RegexError(this.pattern, msg, this.param);
  }

  private peek(o = 0): string {
    const cp = this.cps[this.i + o];
    return cp === undefined ? "" : String.fromCodePoint(cp);
  }

  parse(): RNode {
    const node = this.alternation();
    if (this.i < this.cps.length) this.fail(`unmatched ')' at offset ${this.i}`);
    return node;
  }

  private alternation(): RNode {
    const alts = [this.sequence()];
    while (this.peek() === "|") {
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0] : { k: "alt", alts };
  }

  private sequence(): RNode {
    const items: RNode[] = [];
    while (this.i < this.cps.length && this.peek() !== "|" && this.peek() !== ")") {
      const atom = this.atom();
      const q = this.quantifier();
      if (q) {
        if (atom.k === "bol" || atom.k === "eol") this.fail("quantifier applied to an anchor");
        items.push({ k: "rep", item: atom, min: q[0], max: q[1] });
      } else items.push(atom);
    }
    return items.length === 1 ? items[0] : { k: "seq", items };
  }

  private readInt(): number | null {
    let s = "";
    while (/[0-9]/.test(this.peek())) {
      s += this.peek();
      this.i++;
    }
    return s === "" ? null : Number(s);
  }

  private quantifier(): [number, number] | null {
    const c = this.peek();
    let q: [number, number] | null = null;
    if (c === "*") q = [0, Infinity];
    else if (c === "+") q = [1, Infinity];
    else if (c === "?") q = [0, 1];
    if (q) this.i++;
    else if (c === "{") {
      const save = this.i;
      this.i++;
      const min = this.readInt();
      let max: number | null = min;
      if (min !== null && this.peek() === ",") {
        this.i++;
        max = this.readInt() ?? Infinity;
      }
      if (min === null || this.peek() !== "}") {
        this.i = save; // Annex B: a lone '{' is a literal
        return null;
      }
      this.i++;
      if (max! < min) this.fail("numbers out of order in {} quantifier");
      q = [min, max!];
    }
    if (!q) return null;
    if (this.peek() === "?") this.i++; // lazy: same language
    const n = this.peek();
    if (n === "*" || n === "+" || n === "?" || (n === "{" && /^\{\d+(,\d*)?\}/.test(this.rest()))) this.fail("nothing to repeat");
    return q;
  }

  private rest(): string {
    return String.fromCodePoint(...this.cps.slice(this.i, this.i + 32));
  }

  private atom(): RNode {
    const c = this.peek();
    this.i++;
    switch (c) {
      case "^": return { k: "bol" };
      case "$": return { k: "eol" };
      case ".": return { k: "set", set: DOT };
      case "(": return this.group();
      case "[": return { k: "set", set: this.charClass() };
      case "\\": return this.escapeAtom();
      case "*": case "+": case "?": this.fail("nothing to repeat");
      case "{":
        if (/^\d+(,\d*)?\}/.test(this.rest())) this.fail("nothing to repeat");
    }
    const cp = this.cps[this.i - 1];
    return { k: "set", set: [[cp, cp]] };
  }

  private group(): RNode {
    if (this.peek() === "?") {
      const next = this.peek(1);
      const next2 = this.peek(2);
      if (next === ":") this.i += 2;
      else if (next === "=") this.fail("lookahead (?=...) is not supported");
      else if (next === "!") this.fail("negative lookahead (?!...) is not supported");
      else if (next === "<" && next2 === "=") this.fail("lookbehind (?<=...) is not supported");
      else if (next === "<" && next2 === "!") this.fail("negative lookbehind (?<!...) is not supported");
      else if (next === "<") {
        this.i += 2;
        while (this.i < this.cps.length && this.peek() !== ">") this.i++;
        if (this.peek() !== ">") this.fail("unterminated group name");
        this.i++;
      } else this.fail("inline modifiers (?...) are not supported");
    }
    const inner = this.alternation();
    if (this.peek() !== ")") this.fail("unterminated group");
    this.i++;
    return inner;
  }

  private escapeAtom(): RNode {
    const c = this.peek();
    if (c === "b") this.fail("word boundary \\b is not supported");
    if (c === "B") this.fail("non-word boundary \\B is not supported");
    if (/[1-9]/.test(c)) this.fail(`backreference \\${c} is not supported`);
    if (c === "k" && this.peek(1) === "<") this.fail("named backreference \\k<...> is not supported");
    return { k: "set", set: this.escapeSet(false) };
  }

  /** After a backslash: the set of code points the escape stands for. */
  private escapeSet(inClass: boolean): CpSet {
    const c = this.peek();
    if (c === "") this.fail("\\ at end of pattern");
    this.i++;
    const single = (cp: number): CpSet => [[cp, cp]];
    switch (c) {
      case "d": return DIGIT;
      case "D": return complementSet(DIGIT);
      case "w": return WORD;
      case "W": return complementSet(WORD);
      case "s": return SPACE;
      case "S": return complementSet(SPACE);
      case "t": return single(9);
      case "n": return single(10);
      case "v": return single(11);
      case "f": return single(12);
      case "r": return single(13);
      case "b": if (inClass) return single(8); break;
      case "0":
        if (/[0-9]/.test(this.peek())) this.fail("octal escapes are not supported");
        return single(0);
      case "c": {
        const l = this.peek();
        if (!/[a-zA-Z]/.test(l)) this.fail("invalid \\c escape");
        this.i++;
        return single(l.charCodeAt(0) % 32);
      }
      case "x": return single(this.hex(2));
      case "u": {
        if (this.peek() === "{") {
          this.i++;
          let s = "";
          while (/[0-9a-fA-F]/.test(this.peek())) {
            s += this.peek();
            this.i++;
          }
          if (this.peek() !== "}" || s === "" || parseInt(s, 16) > MAX_CP) this.fail("invalid \\u{...} escape");
          this.i++;
          return single(parseInt(s, 16));
        }
        const hi = this.hex(4);
        if (hi >= 0xd800 && hi <= 0xdbff && this.peek() === "\\" && this.peek(1) === "u") {
          const save = this.i;
          this.i += 2;
          const lo = this.hex(4);
          if (lo >= 0xdc00 && lo <= 0xdfff) return single(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
          this.i = save;
        }
        return single(hi);
      }
      case "p": case "P": this.fail(`Unicode property escape \\${c}{...} is not supported`);
    }
    if (SYNTAX.includes(c) || !/[a-zA-Z0-9]/.test(c)) return single(c.codePointAt(0)!);
    this.fail(`invalid escape \\${c}`);
  }

  private hex(n: number): number {
    let s = "";
    for (let k = 0; k < n; k++) {
      const h = this.peek();
      if (!/[0-9a-fA-F]/.test(h)) this.fail("invalid hexadecimal escape");
      s += h;
      this.i++;
    }
    return parseInt(s, 16);
  }

  private charClass(): CpSet {
    let negate = false;
    if (this.peek() === "^") {
      negate = true;
      this.i++;
    }
    const parts: CpSet[] = [];
    while (this.peek() !== "]") {
      if (this.i >= this.cps.length) this.fail("unterminated character class");
      const [loSet, lo] = this.classAtom();
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== "") {
        this.i++;
        const [hiSet, hi] = this.classAtom();
        if (lo === null || hi === null) this.fail("invalid range in character class");
        if (hi < lo) this.fail("range out of order in character class");
        parts.push([[lo, hi]]);
        void hiSet;
      } else parts.push(loSet);
    }
    this.i++;
    const set = unionSet(...parts);
    return negate ? complementSet(set) : set;
  }

  /** [set, single code point or null when the atom is a class escape]. */
  private classAtom(): [CpSet, number | null] {
    const c = this.peek();
    if (c === "\\") {
      this.i++;
      const set = this.escapeSet(true);
      const single = set.length === 1 && set[0][0] === set[0][1] && !/[dDwWsS]/.test(this.peekBack()) ? set[0][0] : null;
      return [set, single];
    }
    this.i++;
    const cp = this.cps[this.i - 1];
    return [[[cp, cp]], cp];
  }

  private peekBack(): string {
    return String.fromCodePoint(this.cps[this.i - 1]);
  }
}

/** Parse an ECMAScript pattern (JSON Schema `pattern`) into an AST. */
export function parseRegex(pattern: string, param = "response_format"): RNode {
  if (typeof pattern !== "string") throw new RegexError(String(pattern), "pattern must be a string", param);
  return new RegexParser(pattern, param).parse();
}
