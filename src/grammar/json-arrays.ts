/**
 * Array grammars: `items` (all elements), tuples (`prefixItems`, or draft-7
 * array `items` + `additionalItems`, canonicalised before this point),
 * minItems / maxItems. uniqueItems is only accepted when it cannot matter.
 */
import { seqExpr } from "./gbnf-text";
import { type Ctx, tryCompile } from "./json-objects";
import { type Schema, nonNegInt, ptrJoin, unsat, unsupported } from "./schema-keywords";

export function arrayExpr(ctx: Ctx, s: Schema, ptr: string, hint: string, depth: number): string {
  const { b, param, ws } = ctx;
  const minItems = nonNegInt(s, "minItems", ptr, param) ?? 0;
  let maxItems = nonNegInt(s, "maxItems", ptr, param) ?? Infinity;
  if (minItems > maxItems) unsat(ptr, param, "minItems is greater than maxItems");
  if (s.uniqueItems === true && maxItems > 1) unsupported("uniqueItems", ptr, param, "uniqueness of array elements cannot be enforced by a grammar");

  const prefix = (s.prefixItems ?? []) as unknown[];
  // What follows the tuple: absent after a tuple = none unless allowed or needed.
  let rest: unknown = s.items;
  if (rest === undefined) rest = prefix.length === 0 || ctx.allowAdditional || minItems > prefix.length ? true : false;

  const positional: string[] = [];
  for (let i = 0; i < prefix.length && i < maxItems; i++) {
    const e = tryCompile(ctx, prefix[i], ptrJoin(ptr, "prefixItems", i), `${hint}-${i}`, depth + 1);
    if (e === null) {
      maxItems = i; // no valid element at position i: the array stops before it
      break;
    }
    positional.push(e);
  }
  let restExpr: string | null = null;
  if (rest !== false && maxItems > prefix.length) {
    restExpr = tryCompile(ctx, rest, ptrJoin(ptr, "items"), `${hint}-item`, depth + 1);
  }
  if (restExpr === null) maxItems = Math.min(maxItems, Math.max(positional.length, 0));
  if (positional.length < prefix.length) maxItems = Math.min(maxItems, positional.length);
  if (minItems > maxItems) unsat(ptr, param, "no array satisfies minItems with the allowed elements");

  const sep = seqExpr([`","`, ws]);
  // Content from position i on, i elements already written.
  const from = (i: number): string => {
    if (i < positional.length && i < maxItems) {
      const el = seqExpr([i > 0 ? sep : "", positional[i], ws]);
      const body = seqExpr([el, from(i + 1)]);
      return i < minItems ? body : `(${body})?`;
    }
    if (restExpr === null || maxItems <= i) return "";
    const lo = Math.max(0, minItems - i);
    const hi = maxItems - i;
    const unit = seqExpr([restExpr, ws]);
    const more = b.atom(`${hint}-more`, seqExpr([sep, unit]));
    if (i > 0) return b.repeat(`${hint}-more`, more, lo, hi);
    const body = seqExpr([unit, b.repeat(`${hint}-more`, more, Math.max(0, lo - 1), hi - 1)]);
    return lo === 0 ? `(${body})?` : body;
  };
  return b.add(hint, seqExpr([`"["`, ws, from(0), `"]"`]));
}
