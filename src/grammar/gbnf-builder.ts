/**
 * Accumulates named GBNF rules with deterministic names, content-based
 * de-duplication, a rule limit and rollback, and emits bounded repetitions in
 * a form llama.cpp expands exactly (it silently turns `{m,n}` with n > 2000
 * into `{m,}`, so larger counts are decomposed into blocks).
 */
import { InvalidRequestError } from "../shared/errors";
import { isAtom, mapNames, needsParens, sanitizeRuleName } from "./gbnf-text";

/** llama.cpp's MAX_REPETITION_THRESHOLD. */
export const LLAMA_MAX_REPETITION = 2000;
/** Block size used to decompose repetition counts above the threshold. */
const BLOCK = 1000;

export class GrammarBuilder {
  private readonly bodies = new Map<string, string>(); // name → body
  private readonly byBody = new Map<string, string>(); // body → name
  private readonly order: string[] = [];
  private readonly reserved = new Set<string>();
  private readonly log: Array<{ name: string; key?: string; map?: Map<string, string> }> = [];

  constructor(readonly maxRules: number, readonly param = "response_format") {}

  get size(): number {
    return this.order.length;
  }

  /** Reserve a fresh unique name derived from `hint` (body defined later). */
  reserve(hint: string): string {
    const base = sanitizeRuleName(hint);
    let name = base;
    for (let i = 2; this.reserved.has(name); i++) name = `${base}-${i}`;
    this.reserved.add(name);
    this.order.push(name);
    this.log.push({ name });
    if (this.order.length > this.maxRules) {
      throw new InvalidRequestError(
        `JSON Schema too complex: the grammar needs more than maxRules=${this.maxRules} rules`,
        this.param,
        "unsupported_schema",
      );
    }
    return name;
  }

  define(name: string, body: string): void {
    this.bodies.set(name, body);
    if (!this.byBody.has(body)) this.byBody.set(body, name);
  }

  /** A rule with this body (reusing an identical existing one). */
  add(hint: string, body: string): string {
    const existing = this.byBody.get(body);
    if (existing !== undefined) return existing;
    const name = this.reserve(hint);
    this.define(name, body);
    return name;
  }

  /** Remember a key → name association that rollback must undo. */
  remember(map: Map<string, string>, key: string, name: string): void {
    map.set(key, name);
    this.log.push({ name: "", key, map });
  }

  mark(): number {
    return this.log.length;
  }

  rollback(mark: number): void {
    while (this.log.length > mark) {
      const entry = this.log.pop()!;
      if (entry.map) {
        entry.map.delete(entry.key!);
        continue;
      }
      const body = this.bodies.get(entry.name);
      if (body !== undefined && this.byBody.get(body) === entry.name) this.byBody.delete(body);
      this.bodies.delete(entry.name);
      this.reserved.delete(entry.name);
      const i = this.order.lastIndexOf(entry.name);
      if (i >= 0) this.order.splice(i, 1);
    }
  }

  /** `expr` as an atom: itself when atomic, else a rule holding it. */
  atom(hint: string, expr: string): string {
    return isAtom(expr) ? expr : this.add(hint, expr);
  }

  /**
   * `expr` repeated between min and max times (max may be Infinity), exactly
   * as llama.cpp will expand it. Returns a sequence expression ("" when it
   * can only be empty).
   */
  repeat(hint: string, expr: string, min: number, max: number): string {
    if (max < min) throw new Error("assertion failed: repeat max < min");
    if (max === 0) return "";
    const unit = this.atom(hint, expr);
    return this.rep(hint, unit, min, max);
  }

  private rep(hint: string, unit: string, min: number, max: number): string {
    if (max === Infinity) {
      if (min === 1) return `${unit}+`;
      const fixed = this.fixed(hint, unit, min);
      return [fixed, `${unit}*`].filter(Boolean).join(" ");
    }
    if (max <= LLAMA_MAX_REPETITION) {
      if (min === max) return this.fixed(hint, unit, min);
      if (min === 0 && max === 1) return `${unit}?`;
      return `${unit}{${min},${max}}`;
    }
    const fixed = this.fixed(hint, unit, min);
    const upto = this.upTo(hint, unit, max - min);
    return [fixed, upto].filter(Boolean).join(" ");
  }

  /** Exactly k copies. */
  private fixed(hint: string, unit: string, k: number): string {
    if (k === 0) return "";
    if (k === 1) return unit;
    if (k <= LLAMA_MAX_REPETITION) return `${unit}{${k}}`;
    this.guardCount(k);
    const block = this.add(`${hint}-x${BLOCK}`, `${unit}{${BLOCK}}`);
    return [this.fixed(hint, block, Math.floor(k / BLOCK)), this.fixed(hint, unit, k % BLOCK)].filter(Boolean).join(" ");
  }

  /** Between 0 and n copies, unambiguously. */
  private upTo(hint: string, unit: string, n: number): string {
    if (n === 0) return "";
    if (n <= LLAMA_MAX_REPETITION) return n === 1 ? `${unit}?` : `${unit}{0,${n}}`;
    this.guardCount(n);
    const block = this.add(`${hint}-x${BLOCK}`, `${unit}{${BLOCK}}`);
    const q = Math.floor(n / BLOCK);
    const r = n % BLOCK;
    const tail = `${unit}{0,${BLOCK - 1}}`;
    if (r === BLOCK - 1) return [this.upTo(hint, block, q), tail].filter(Boolean).join(" ");
    const a = [this.upTo(hint, block, q - 1), tail].filter(Boolean).join(" ");
    const b = [this.fixed(hint, block, q), this.upTo(hint, unit, r)].filter(Boolean).join(" ");
    return `(${a} | ${b})`;
  }

  private guardCount(n: number): void {
    if (!Number.isSafeInteger(n) || n > 1e12) {
      throw new InvalidRequestError(`repetition count ${n} is too large`, this.param, "unsupported_schema");
    }
  }

  /**
   * The grammar text: `root` first, then rules in creation order. Alias rules
   * (body = one rule name) are folded away, and a rule used only by `root` as
   * its whole body is moved into it.
   */
  render(root = "root"): string {
    const names = [root, ...this.order.filter((n) => n !== root)];
    const bodies = new Map<string, string>();
    for (const name of names) {
      const body = this.bodies.get(name);
      if (body === undefined) throw new Error(`assertion failed: rule ${name} has no body`);
      bodies.set(name, body);
    }
    const isName = (b: string) => /^[a-zA-Z0-9-]+$/.test(b);
    const uses = new Map<string, number>();
    for (const body of bodies.values()) mapNames(body, (t) => (uses.set(t, (uses.get(t) ?? 0) + 1), t));
    // An alias rule (body = one other rule) takes over that rule's body and name,
    // except root, which only absorbs a rule nothing else uses.
    const renamed = new Map<string, string>();
    const current = (n: string): string => {
      while (renamed.has(n)) n = renamed.get(n)!;
      return n;
    };
    for (const name of [...bodies.keys()]) {
      for (;;) {
        const body = bodies.get(name);
        if (body === undefined || !isName(body)) break;
        const target = current(body);
        if (target === name || target === root || !bodies.has(target)) break;
        if (name === root && (uses.get(target) ?? 0) > 1) break;
        bodies.set(name, bodies.get(target)!);
        bodies.delete(target);
        renamed.set(target, name);
      }
    }
    if (renamed.size) for (const [name, body] of bodies) bodies.set(name, mapNames(body, current));
    return [...bodies].map(([name, body]) => `${name} ::= ${body}`).join("\n") + "\n";
  }
}

/** Wrap in parentheses when the expression is an alternation. */
export function paren(expr: string): string {
  return needsParens(expr) ? `(${expr})` : expr;
}
