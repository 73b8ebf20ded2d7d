/**
 * Tokenizes prompts, reusing the tokens of an earlier prompt that opens the
 * same way. libllama's tokenizer takes about 6 µs a token on the engine
 * thread, between steps: 10 ms for a 1,500-token system prompt, which agents
 * and multi-turn chats resend on every call. Here only what follows the
 * shared opening is tokenized.
 *
 * Exact, not approximate: with a SentencePiece (SPM) vocabulary that adds a
 * dummy space prefix and has no token with a space after another character,
 * no token can span a position k where text[k] is a space and text[k-1] is
 * not (such a token would contain "x "). The tokenizer's merges on either
 * side are then independent, so
 *   tokens(text) = tokens(text[0, k)) ++ tokens(text[k + 1, ...), no BOS)
 * where the dummy space of the second call stands for text[k]. Special-token
 * texts (matched before the SPM merges: user-defined tokens always, control
 * tokens with parseSpecial) must not change the picture: none may contain a
 * space or strip whitespace, and k is never right after the last byte or
 * right before the first byte any of them can have. splitRules works these
 * out from the vocabulary; where they do not hold, prompts are tokenized whole.
 */

export interface TokenizerBackend {
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): ArrayLike<number>;
  /** Bytes of the token's text: its leading SPM space included; with `special`, a control token's own text, else 0. */
  pieceLength(token: number, special: boolean): number;
  /** The BOS token, and whether tokenizing with addSpecial puts it first. */
  bos: number;
  addBos: boolean;
  /** Whether the token is one that tokenizing matches as a whole special text (user-defined; with parseSpecial also control, unknown). */
  isMatchedSpecial(token: number, parseSpecial: boolean): boolean;
}

/** Bytes a special-token text may end or start with: no split right after / before them. */
export interface SplitRule {
  lastBytes: Uint8Array;
  firstBytes: Uint8Array;
}

export interface PromptTokenizerOptions {
  /** Per mode (parseSpecial false / true): how to split, or null where splitting is not exact. */
  rules: { plain: SplitRule | null; special: SplitRule | null };
  /** Prompts shorter than this (UTF-8 bytes) are tokenized whole and not remembered. */
  minBytes?: number;
  /** Remembered prompts (least recently used go first). */
  maxEntries?: number;
}

interface Entry {
  bytes: Uint8Array;
  addSpecial: boolean;
  parseSpecial: boolean;
  tokens: number[];
  /** ends[i]: byte offset in the text just after token i (the dummy space counts as byte -1). */
  ends: Int32Array;
}

const SPACE = 0x20;
const decoder = new TextDecoder();

export class PromptTokenizer {
  private readonly entries: Entry[] = [];
  private readonly minBytes: number;
  private readonly maxEntries: number;
  /** Tokens reused instead of tokenized (for stats and tests). */
  reusedTokens = 0;

  constructor(private readonly backend: TokenizerBackend, private readonly options: PromptTokenizerOptions) {
    this.minBytes = options.minBytes ?? 512;
    this.maxEntries = options.maxEntries ?? 32;
  }

  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): number[] {
    const rule = parseSpecial ? this.options.rules.special : this.options.rules.plain;
    const bytes = rule ? Buffer.from(text, "utf8") : undefined;
    if (!rule || !bytes || bytes.length < this.minBytes) return Array.from(this.backend.tokenize(text, addSpecial, parseSpecial));
    const reuse = this.bestSplit(bytes, addSpecial, parseSpecial, rule);
    let tokens: number[];
    let ends: Int32Array;
    if (reuse) {
      const { entry, k, j } = reuse;
      const rest = this.backend.tokenize(decoder.decode(bytes.subarray(k + 1)), false, parseSpecial);
      tokens = entry.tokens.slice(0, j);
      for (let i = 0; i < rest.length; i++) tokens.push(rest[i]);
      ends = this.endsOf(tokens, j, entry.ends, k, parseSpecial, false);
      this.reusedTokens += j;
    } else {
      tokens = Array.from(this.backend.tokenize(text, addSpecial, parseSpecial));
      ends = this.endsOf(tokens, 0, undefined, -1, parseSpecial, addSpecial && this.backend.addBos);
    }
    // An entry whose pieces do not add up to its text (a normalising vocabulary) is never split.
    if (ends[ends.length - 1] === bytes.length) this.remember({ bytes, addSpecial, parseSpecial, tokens, ends });
    return tokens;
  }

  /** The remembered prompt sharing the longest opening with `bytes`, and the last safe split inside it. */
  private bestSplit(bytes: Uint8Array, addSpecial: boolean, parseSpecial: boolean, rule: SplitRule): { entry: Entry; k: number; j: number } | undefined {
    let best: Entry | undefined;
    let bestLength = 0;
    for (const e of this.entries) {
      if (e.addSpecial !== addSpecial || e.parseSpecial !== parseSpecial) continue;
      const n = commonPrefix(e.bytes, bytes);
      if (n > bestLength) {
        best = e;
        bestLength = n;
      }
    }
    if (!best || bestLength < this.minBytes / 2) return undefined;
    // k < bestLength: text[k] is shared with the entry; k + 1 < length: the rest is not empty.
    for (let k = Math.min(bestLength, bytes.length - 1) - 1; k >= 1; k--) {
      if (bytes[k] !== SPACE || bytes[k - 1] === SPACE || rule.lastBytes[bytes[k - 1]] || rule.firstBytes[bytes[k + 1]]) continue;
      const j = countEndsUpTo(best.ends, k);
      if (j === 0 || best.ends[j - 1] !== k) return undefined; // no token boundary here: not splittable after all
      this.touch(best);
      return { entry: best, k, j };
    }
    return undefined;
  }

  /**
   * Byte ends of tokens[from...], from byte `start` + 1 on. An added BOS covers
   * no text; special tokens matched in the text cover their own; the first
   * piece of text after the start or after a special token carries the dummy
   * space SPM adds there (standing for byte `start` at the start, for nothing
   * in the text after a special token).
   */
  private endsOf(tokens: number[], from: number, prefixEnds: Int32Array | undefined, start: number, parseSpecial: boolean, addedBos: boolean): Int32Array {
    const ends = new Int32Array(tokens.length);
    if (prefixEnds) ends.set(prefixEnds.subarray(0, from));
    let at = start + 1;
    let afterSpecial = true;
    for (let i = from; i < tokens.length; i++) {
      const t = tokens[i];
      if (i === 0 && addedBos && t === this.backend.bos) {
        // covers nothing; the text after it still gets the dummy space
      } else if (this.backend.isMatchedSpecial(t, parseSpecial)) {
        at += this.backend.pieceLength(t, true);
        afterSpecial = true;
      } else {
        at += this.backend.pieceLength(t, parseSpecial) - (afterSpecial ? 1 : 0);
        afterSpecial = false;
      }
      ends[i] = at;
    }
    return ends;
  }

  private remember(e: Entry): void {
    const same = this.entries.findIndex((x) => x.addSpecial === e.addSpecial && x.parseSpecial === e.parseSpecial && x.bytes.length === e.bytes.length && commonPrefix(x.bytes, e.bytes) === e.bytes.length);
    if (same >= 0) this.entries.splice(same, 1);
    this.entries.unshift(e);
    if (this.entries.length > this.maxEntries) this.entries.pop();
  }

  private touch(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i > 0) {
      this.entries.splice(i, 1);
      this.entries.unshift(e);
    }
  }
}

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Number of tokens whose end is at most k (ends is non-decreasing). */
function countEndsUpTo(ends: Int32Array, k: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const ATTR_UNKNOWN = 1 << 0;
const ATTR_CONTROL = 1 << 3;
const ATTR_USER_DEFINED = 1 << 4;
const ATTR_STRIP_OR_WORD = (1 << 7) | (1 << 8) | (1 << 9); // lstrip, rstrip, single_word

/** Whether tokenizing matches this token as a whole special text (see tokenizer_st_partition in llama-vocab.cpp). */
export function matchedSpecial(attr: number, parseSpecial: boolean): boolean {
  return (attr & (parseSpecial ? ATTR_USER_DEFINED | ATTR_CONTROL | ATTR_UNKNOWN : ATTR_USER_DEFINED)) !== 0;
}

export interface SplitVocab {
  isSpm: boolean;
  addEos: boolean;
  nTokens: number;
  attr(token: number): number;
  pieceBytes(token: number, special?: boolean): Uint8Array;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): ArrayLike<number>;
}

/**
 * Where exact splitting holds (see the file comment): an SPM vocabulary with a
 * dummy space prefix, no end-of-sequence token added, no piece with a space
 * after another character; per mode, special-token texts without spaces or
 * strip/single-word rules, whose first and last bytes are then kept apart.
 */
export function splitRules(v: SplitVocab): PromptTokenizerOptions["rules"] {
  const none = { plain: null, special: null };
  if (!v.isSpm || v.addEos) return none;
  const probe = Array.from(v.tokenize("a", false, false), (t) => decoder.decode(v.pieceBytes(t))).join("");
  if (probe !== " a") return none;
  const plain: SplitRule | null = { lastBytes: new Uint8Array(256), firstBytes: new Uint8Array(256) };
  let special: SplitRule | null = { lastBytes: new Uint8Array(256), firstBytes: new Uint8Array(256) };
  let plainOk = true;
  for (let t = 0; t < v.nTokens; t++) {
    const p = v.pieceBytes(t);
    for (let i = 1; i < p.length; i++) if (p[i] === SPACE && p[i - 1] !== SPACE) return none;
    const attr = v.attr(t);
    const matchedPlain = matchedSpecial(attr, false);
    const matchedParsed = matchedSpecial(attr, true);
    if (!matchedParsed) continue;
    const text = v.pieceBytes(t, true);
    if (text.length === 0) continue;
    const clean = (attr & ATTR_STRIP_OR_WORD) === 0 && !text.includes(SPACE) && !decoder.decode(text).includes("\u2581");
    if (matchedPlain && !clean) plainOk = false;
    if (matchedParsed && !clean) special = null;
    for (const r of [matchedPlain ? plain : null, special]) {
      if (!r) continue;
      r.firstBytes[text[0]] = 1;
      r.lastBytes[text[text.length - 1]] = 1;
    }
  }
  return { plain: plainOk ? plain : null, special };
}
